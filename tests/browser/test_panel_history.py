"""The panel's history past its first page and for one invoice (issue 16), in English and
French, in a real browser against the demo (service, Postgres and both emulators)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import US_REALM
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import SLOW, TEXT, open_form, pick_items, quickbooks_invoices

PAYMENTS = 20  # with the two invoices' own events, more than the panel's first page of 20

LABELS = {
    "en": {"older": "Show older", "all": "All invoices", "invoice": "Invoice {number}"},
    "fr": {
        "older": "Afficher les plus anciens",
        "all": "Toutes les factures",
        "invoice": "Facture {number}",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_history_pages_back_and_follows_one_invoice(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text, labels = TEXT[lang], LABELS[lang]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    panel = page.frame_locator("#panel-frame")
    for count in (1, 2):  # two invoices on the deal
        form = await open_form(page, text)
        await pick_items(form)
        await form.get_by_role("button", name=text["create"]).click()
        # Open, not only listed: the live panel lists an invoice while it is being created.
        await expect(panel.locator(".status[data-state=OPEN]")).to_have_count(count, timeout=SLOW)
    first, second = sorted(await quickbooks_invoices(demo), key=lambda i: int(i["Id"]))
    history = panel.locator("#history li")
    payments = panel.locator("#history li[data-type=payment_received]")
    for paid in range(1, PAYMENTS + 1):  # in QuickBooks, each seen before the next is made
        await demo.emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=second["Id"],
            amount="1.00",
        )
        await expect(payments).to_have_count(paid, timeout=SLOW)
    more = panel.get_by_role("button", name=labels["older"])
    await expect(more).to_be_visible()
    await expect(panel.locator("#history li[data-type=creation_requested]")).to_have_count(0)

    await more.click()  # the older events, below: every creation of both invoices
    await expect(panel.locator("#history li[data-type=creation_requested]")).to_have_count(2)
    await expect(more).to_be_hidden()

    # One invoice's history: the first one's has no payment at all.
    select = panel.locator("#history-filter")
    await expect(select.locator("option").first).to_have_text(labels["all"])
    await select.select_option(label=labels["invoice"].format(number=first["DocNumber"]))
    await expect(payments).to_have_count(0)
    await expect(panel.locator("#history li[data-type=creation_requested]")).to_have_count(1)
    await expect(history.first).to_contain_text(labels["invoice"].format(number=first["DocNumber"]))
    await expect(more).to_be_hidden()
