"""The live panel in a real browser, in English and French (issue 16): with its stream open the
panel does not poll, and still shows an invoice created elsewhere and a payment recorded in
QuickBooks without any refresh (an invoice menu open meanwhile stays open); with the stream gone
it falls back to polling."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import SLOW, TEXT
from tests.e2e.test_ui_api import call

DEAL = f"companies/{DEMO_COMPANY}/deals/3"
PAID = {"en": "Paid", "fr": "Payée"}


async def create_elsewhere(demo: DemoStack, request_id: str) -> str:
    """An invoice for the deal created by another caller of the API; its QuickBooks id."""
    status, _, body = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": DEAL,
            "requestId": request_id,
            "invoice": {
                "customer": {"displayName": f"Live {request_id}"},
                "currencyCode": "USD",
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
    )
    assert status == 200, body
    return str(body["invoice"]["quickbooksInvoiceId"])


async def pay(demo: DemoStack, quickbooks_id: str, amount: str) -> None:
    await demo.emulators.admin(
        "quickbooks",
        "POST",
        f"companies/{US_REALM}/payments",
        invoice_id=quickbooks_id,
        amount=amount,
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_panel_shows_changes_as_they_happen_and_polls_only_without_its_stream(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("body[data-live=on]")).to_have_count(1, timeout=SLOW)
    invoices = panel.locator("li.invoice")

    first = await create_elsewhere(demo, f"live-{lang}-1")
    await expect(invoices).to_have_count(1, timeout=SLOW)
    await expect(invoices.first.locator(".status")).to_have_text(text["open"])
    # A payment arriving while the invoice's menu is open redraws the invoice, menu still open.
    await invoices.first.get_by_role("button", name=re.compile(text["actions"])).click()
    await pay(demo, first, "50.00")
    await expect(invoices.first.locator(".status")).to_have_text(text["partial"], timeout=SLOW)
    await expect(invoices.first.get_by_role("menuitem", name=text["void"])).to_be_visible()
    await expect(invoices.first.get_by_role("menuitem").first).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(panel.locator("body[data-live=on]")).to_have_count(1)  # never fell back

    # The feed stops (its database connection lost, say): the panel says nothing, polls, and
    # still follows what happens.
    await demo.service.container.gateways.deal_changes().close()  # type: ignore[union-attr]
    await expect(panel.locator("body[data-live=off]")).to_have_count(1, timeout=SLOW)
    await pay(demo, first, "100.00")
    await expect(invoices.first.locator(".status")).to_have_text(PAID[lang], timeout=SLOW)
    await expect(panel.locator("#error")).to_be_hidden()
