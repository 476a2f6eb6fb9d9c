"""Pipedrive's deal visibility in a real browser, in English and French (issue 16): a user the
deal is hidden from gets the panel's "access denied" state with the reason in her language and
no invoice; an admin sees the deal's invoices. And what a panel load costs in Pipedrive reads."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import SLOW, TEXT
from tests.browser.test_live_panel import create_elsewhere

USERS = {"en": ("Alice Admin", "Carol Sales"), "fr": ("Camille Laurent", "Bruno Martin")}
HIDDEN = {
    "en": "Pipedrive does not show you this deal",
    "fr": "Pipedrive ne vous montre pas cette affaire",
}


async def permitted_reads(demo: DemoStack) -> int:
    log = await demo.emulators.admin("pipedrive", "GET", "requests?path=/permittedUsers")
    return len(log["requests"])


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_deal_hidden_from_a_user_shows_her_no_invoice_and_says_why(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    admin, member = [await user_id(demo, name) for name in USERS[lang]]
    await create_elsewhere(demo, f"hidden-{lang}")
    await demo.emulators.admin("pipedrive", "PATCH", "deals/3", visible_to=1)
    try:
        await page.goto(f"{base_url}/?deal=3&user={member}")
        panel = page.frame_locator("#panel-frame")
        await expect(panel.locator("body")).to_have_attribute(
            "data-state", "permission-denied", timeout=SLOW
        )
        await expect(panel.locator("#state")).to_contain_text(HIDDEN[lang])
        await expect(panel.locator("li.invoice")).to_have_count(0)

        await page.goto(f"{base_url}/?deal=3&user={admin}")
        invoice = page.frame_locator("#panel-frame").locator("li.invoice").first
        await expect(invoice.locator(".status")).to_have_text(text["open"], timeout=SLOW)
    finally:
        await demo.emulators.admin("pipedrive", "PATCH", "deals/3", visible_to=3)


async def test_a_panel_load_costs_a_user_seven_pipedrive_reads_and_an_admin_none(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    admin, member = [await user_id(demo, name) for name in USERS["en"]]
    await create_elsewhere(demo, "reads-1")
    counted = {}
    for who, user in (("member", member), ("admin", admin)):
        await demo.emulators.admin("pipedrive", "DELETE", "requests")
        await page.goto(f"{base_url}/?deal=3&user={user}")
        panel = page.frame_locator("#panel-frame")
        await expect(panel.locator("body[data-live=on]")).to_have_count(1, timeout=SLOW)
        await expect(panel.locator("li.invoice").first).to_be_visible()
        await asyncio.sleep(1)  # the stream's first reload has settled
        counted[who] = await permitted_reads(demo)
        await page.goto("about:blank")
    print(f"Pipedrive permittedUsers reads per panel load: {counted}")
    # ListInvoices, ListInstallments, GetDealInvoicing and ListInvoiceEvents, the stream, and
    # the reload the stream's "ready" makes (ListInvoices, ListInstallments).
    assert counted == {"member": 7, "admin": 0}
