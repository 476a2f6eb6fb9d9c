"""Shares of a deal, a deposit received and an installment schedule in a real browser, in
English and in French: 30 % of the deal on the lines (each saying so), a deposit that QuickBooks
(the emulator) records and takes off the balance, then the rest scheduled 30/40/30 from today:
the first invoice is created at once and the panel lists the schedule with each state."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import shoot, user_id
from tests.browser.test_demo_ui import SLOW, open_form, pick_items, quickbooks_invoices
from tests.browser.test_demo_ui import TEXT as DEMO_TEXT
from tests.e2e.polling import eventually

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "kind": "Invoice",
        "percentage": "A percentage of the deal",
        "schedule": "A schedule of installments",
        "value": "Percentage (%)",
        "apply": "Apply to the lines",
        "summary": re.compile(r"^This invoice asks for \$2,901\.00 of the deal's \$9,670\.00"),
        "deposit": "Deposit received",
        "balance": re.compile(r"^\$2,801\.00"),
        "schedule_button": "Schedule installments",
        "scheduled": "3 installments scheduled.",
        "heading": "Installments",
        "first": re.compile(r"^1 of 3 · 30 % · \$2,030\.70 · .* · Invoice \d+$"),
        "second": re.compile(r"^2 of 3 · 40 % · \$2,707\.60 · .* · Scheduled$"),
        "refused": re.compile(r"^1 of 3 · 30 % · .* · Refused: .+ Retry$"),
        "retry": "Retry",
        "cancel": "Cancel the installments to come",
        "cancel_ok": "Cancel them",
        "cancelled": re.compile(r" · Cancelled$"),
    },
    "fr": {
        "kind": "Facturer",
        "percentage": "Un pourcentage de l\u2019affaire",
        "schedule": "Un échéancier",
        "value": "Pourcentage (%)",
        "apply": "Appliquer aux lignes",
        "summary": re.compile(
            r"^Cette facture demande 2\u202f901,00\u00a0\$US sur les 9\u202f670,00"
        ),
        "deposit": "Acompte reçu",
        "balance": re.compile(r"^2\u202f801,00\u00a0\$US"),
        "schedule_button": "Planifier les échéances",
        "scheduled": "3 échéances planifiées.",
        "heading": "Échéances",
        "first": re.compile(r"^1 sur 3 · 30 % · 2\u202f030,70\u00a0\$US · .* · Facture \d+$"),
        "second": re.compile(r"^2 sur 3 · 40 % · 2\u202f707,60\u00a0\$US · .* · Planifiée$"),
        "refused": re.compile(r"^1 sur 3 · 30 % · .* · Refusée : .+ Relancer$"),
        "retry": "Relancer",
        "cancel": "Annuler les échéances à venir",
        "cancel_ok": "Les annuler",
        "cancelled": re.compile(r" · Annulée$"),
    },
}


async def set_default_item(page: Page, base_url: str, demo_text: dict[str, Any], user: int) -> None:
    """Lines without a matching QuickBooks item use the first item: what the job's invoices,
    prepared from the deal, need."""
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={user}"
    )
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("#connection-state")).to_contain_text(demo_text["connected"])
    await settings.locator("select[name=defaultItem]").select_option(index=1)
    await settings.get_by_role("button", name=demo_text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(demo_text["saved"])


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_deposit_share_then_the_rest_in_installments(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text, demo_text = TEXT[lang], DEMO_TEXT[lang]
    user = await user_id(demo, demo_text["user"])
    await set_default_item(page, base_url, demo_text, user)
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, demo_text)

    # 30 % of the deal: the lines are scaled by the server, each saying which share it is.
    await form.locator("select[name=shareKind]").select_option(label=text["percentage"])
    await form.get_by_label(text["value"], exact=True).fill("30")
    await form.get_by_role("button", name=text["apply"]).click()
    await expect(form.locator("#share-summary")).to_have_text(text["summary"])
    description = form.locator("[data-field='lines[0].description']")
    await expect(description).to_have_value(re.compile(r"^30 % of deal '"))

    # A deposit received: the balance due is the total less it.
    await form.get_by_label(text["deposit"], exact=True).fill("100")
    await expect(form.locator("#balance-due")).to_have_text(text["balance"])
    await shoot(page, f"{lang}-installments-share")
    await pick_items(form)
    await form.get_by_role("button", name=demo_text["create"]).click()
    [deposit] = await eventually(lambda: quickbooks_invoices(demo), lambda found: len(found) == 1)
    total = Decimal(str(deposit["TotalAmt"]))
    assert Decimal(str(deposit["Deposit"])) == Decimal("100.00")
    assert Decimal(str(deposit["Balance"])) == total - Decimal("100.00")
    assert deposit["Line"][0]["Description"].startswith("30 % of deal '")

    # The rest (6,769.00 before tax) in three installments from today: the first at once.
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice")).to_have_count(1, timeout=SLOW)
    form = await open_form(page, demo_text)
    await form.locator("select[name=shareKind]").select_option(label=text["schedule"])
    await expect(form.locator(".installment")).to_have_count(3)
    await shoot(page, f"{lang}-installments-schedule")
    # QuickBooks refuses the first installment's invoice once: the panel says so, with Retry.
    await demo.emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={"method": "POST", "path": "/invoice$", "status": 400, "count": 1},
    )
    await form.get_by_role("button", name=text["schedule_button"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["scheduled"])

    section = panel.locator("#installments-section")
    await expect(section.get_by_role("heading", name=text["heading"])).to_be_visible(timeout=SLOW)
    items = section.locator("li")
    await expect(items).to_have_count(3)
    await expect(items.nth(0)).to_have_text(text["refused"], timeout=SLOW)
    await items.nth(0).get_by_role("button", name=text["retry"]).click()
    await expect(items.nth(0)).to_have_text(text["first"], timeout=SLOW)
    await expect(items.nth(1)).to_have_text(text["second"])
    await shoot(page, f"{lang}-installments-panel")
    created = await eventually(lambda: quickbooks_invoices(demo), lambda found: len(found) == 2)
    first = next(i for i in created if i["Id"] != deposit["Id"])
    assert first["Line"][0]["Description"].startswith("Installment 1 of 3 (30 %) of deal '")

    # The installments to come cancelled: nothing more is invoiced, the invoice made stays.
    await section.get_by_role("button", name=text["cancel"]).click()
    await page.locator("#confirm").get_by_role("button", name=text["cancel_ok"]).click()
    await expect(items.nth(1)).to_have_text(text["cancelled"], timeout=SLOW)
    await expect(items.nth(2)).to_have_text(text["cancelled"])
    await expect(items.nth(0)).to_have_text(text["first"])
    await expect(section.get_by_role("button", name=text["cancel"])).to_have_count(0)
    assert len(await quickbooks_invoices(demo)) == 2
