"""Bulk invoicing in a real browser, in English and in French: an admin opens "Invoice won
deals" from the settings (a custom modal), sees the month's won deals without an invoice, and
invoices them in one click. Each row shows its outcome as QuickBooks answers: the invoice, or
why the deal was not invoiced (no products), in the user's language; QuickBooks has exactly one
invoice per invoiced deal, and the list, loaded again, offers only the deal left. A sales rep
(no admin) selects deals in Pipedrive's deals list and invoices the won ones among them from
the list's action."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import shoot, user_id
from tests.browser.test_demo_ui import SLOW, axe_violations, content_frame, quickbooks_invoices
from tests.browser.test_invoice_templates import page  # noqa: F401 - the fixture (axe allowed)

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "user": "Alice Admin",
        "open": "Invoice won deals…",
        "title": "Invoice won deals",
        "found": "Won deals without an invoice: 3.",
        "invoice": "Invoice selected deals (3)",
        "confirm": "Create 3 invoices",
        "no_lines": "The deal has no products; add at least one line.",
        "not_invoiced": "Not invoiced",
        "finished": "Invoices created: 2. Not invoiced: 1.",
        "left": "Won deals without an invoice: 1. Already invoiced: 2.",
        "open_state": "Open",
    },
    "fr": {
        "user": "Camille Laurent",
        "open": "Facturer les affaires gagnées…",
        "title": "Facturer les affaires gagnées",
        "found": "Affaires gagnées sans facture : 3.",
        "invoice": "Facturer la sélection (3)",
        "confirm": "Créer 3 factures",
        "no_lines": "L\u2019affaire n\u2019a pas de produits : ajoutez au moins une ligne.",
        "not_invoiced": "Non facturée",
        "finished": "Factures créées : 2. Non facturées : 1.",
        "left": "Affaires gagnées sans facture : 1. Déjà facturées : 2.",
        "open_state": "Ouverte",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_admin_invoices_the_months_won_deals_in_one_click(
    demo: DemoStack,
    base_url: str,
    page: Page,  # noqa: F811
    lang: str,
) -> None:
    text = TEXT[lang]
    # Won this month: deal 1 (seeded won), 3, and 6, which has no products.
    for deal in ("3", "6"):
        await demo.emulators.admin("pipedrive", "PATCH", f"deals/{deal}", status="won")
    await demo.emulators.admin("pipedrive", "PATCH", "deals/1", currency="USD")
    user = await user_id(demo, text["user"])
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={user}"
    )
    settings = page.frame_locator("#settings-frame")
    await settings.get_by_role("button", name=text["open"]).click()

    bulk = page.frame_locator("#modal-frame")
    await expect(bulk.get_by_role("heading", level=1)).to_have_text(text["title"])
    await expect(bulk.locator("#summary")).to_have_text(text["found"], timeout=SLOW)
    rows = bulk.locator("#deals tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.locator("td.title")).to_have_text(
        ["Empty opportunity", "Initech TPS automation", "Globex website relaunch"]
    )
    await shoot(page, f"{lang}-bulk-invoicing")
    assert await axe_violations(await content_frame(page, "#modal-frame")) == []

    await bulk.get_by_role("button", name=text["invoice"]).click()
    await page.locator("#confirm").get_by_role("button", name=text["confirm"]).click()

    await expect(bulk.locator("#progress")).to_have_text(text["finished"], timeout=SLOW)
    empty = rows.filter(has_text="Empty opportunity").locator(".outcome")
    await expect(empty).to_contain_text(text["not_invoiced"])
    await expect(empty.locator(".reason")).to_have_text(text["no_lines"])
    for title in ("Initech TPS automation", "Globex website relaunch"):
        outcome = rows.filter(has_text=title).locator(".outcome")
        await expect(outcome.locator(".status")).to_have_text(text["open_state"])
        await expect(outcome.get_by_role("link")).to_have_attribute(
            "href", re.compile(r"/app/invoice\?txnId=\d+$")
        )
        await expect(rows.filter(has_text=title).get_by_role("checkbox")).to_be_disabled()
    await shoot(page, f"{lang}-bulk-invoicing-done")
    assert await axe_violations(await content_frame(page, "#modal-frame")) == []
    invoices = await quickbooks_invoices(demo)
    assert len(invoices) == 2

    # Opened again: only the deal left to invoice is offered.
    await page.locator("#modal-close").click()
    await settings.get_by_role("button", name=text["open"]).click()
    await expect(bulk.locator("#summary")).to_have_text(text["left"], timeout=SLOW)
    await expect(bulk.locator("#deals tbody tr td.title")).to_have_text(["Empty opportunity"])
    assert len(await quickbooks_invoices(demo)) == 2


SELECTED: dict[str, dict[str, str]] = {
    "en": {
        "user": "Carol Sales",
        "found": "Won deals without an invoice among those selected: 2. Not won, so left out: 1.",
        "invoice": "Invoice selected deals (2)",
        "confirm": "Create 2 invoices",
        "finished": "Invoices created: 2. Not invoiced: 0.",
        "none_chosen": "No deal is selected: select deals in the deals list, "
        "then invoice them from its actions menu.",
    },
    "fr": {
        "user": "Bruno Martin",
        "found": "Affaires gagnées sans facture parmi celles sélectionnées : 2. "
        "Non gagnées, donc laissées de côté : 1.",
        "invoice": "Facturer la sélection (2)",
        "confirm": "Créer 2 factures",
        "finished": "Factures créées : 2. Non facturées : 0.",
        "none_chosen": "Aucune affaire n\u2019est sélectionnée : sélectionnez des affaires dans "
        "la liste, puis facturez-les depuis son menu d\u2019actions.",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_sales_rep_invoices_the_won_deals_selected_in_the_deals_list(
    demo: DemoStack,
    base_url: str,
    page: Page,  # noqa: F811
    lang: str,
) -> None:
    text = SELECTED[lang]
    await demo.emulators.admin("pipedrive", "PATCH", "deals/3", status="won")
    await demo.emulators.admin("pipedrive", "PATCH", "deals/1", currency="USD")
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/deals/list?user={user}")
    # The list's action without a usable selection: nothing is offered, never the month's.
    await page.locator("#list-invoice").evaluate("button => (button.disabled = false)")
    await page.locator("#list-invoice").click()
    bulk = page.frame_locator("#modal-frame")
    await expect(bulk.locator("#summary")).to_have_text(text["none_chosen"], timeout=SLOW)
    await expect(bulk.locator("#deals")).to_be_hidden()
    await page.locator("#modal-close").click()

    # Won: Globex website relaunch (seeded) and Initech; lost: Globex hardware.
    for title in ("Globex website relaunch", "Initech TPS automation", "Globex hardware"):
        await page.get_by_role("checkbox", name=f"Select {title}").check()
    await page.get_by_role("button", name="dealbooks: invoice selected deals").click()

    await expect(bulk.locator("#summary")).to_have_text(text["found"], timeout=SLOW)
    await expect(bulk.locator("input[name=month]")).to_be_hidden()
    rows = bulk.locator("#deals tbody tr")
    await expect(rows.locator("td.title")).to_have_text(
        ["Initech TPS automation", "Globex website relaunch"]
    )
    await shoot(page, f"{lang}-bulk-invoicing-selected")
    assert await axe_violations(await content_frame(page, "#modal-frame")) == []

    await bulk.get_by_role("button", name=text["invoice"]).click()
    await page.locator("#confirm").get_by_role("button", name=text["confirm"]).click()
    await expect(bulk.locator("#progress")).to_have_text(text["finished"], timeout=SLOW)
    invoices = await quickbooks_invoices(demo)
    assert len(invoices) == 2
