"""A company that switched QuickBooks companies (disconnected, then connected another one)
sees its earlier invoices on the deal as they were, said to be of a QuickBooks company no
longer connected, with nothing offered that would act on the new company's invoice of the
same id. In English and French, in a real browser against the demo."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import INTL_REALM
from tests.browser.test_demo_ui import SLOW, TEXT
from tests.browser.test_payment_link import _invoice_with_link

NOTICE = {
    "en": "Made in a QuickBooks company that is no longer connected",
    "fr": "Créée dans une société QuickBooks qui n\u2019est plus connectée",
}
OPEN_IN_QUICKBOOKS = {"en": "Open in QuickBooks", "fr": "Ouvrir dans QuickBooks"}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_invoice_of_the_former_quickbooks_company_is_shown_but_not_acted_on(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    await _invoice_with_link(demo, base_url, page, lang)  # open, with a payment link
    panel = page.frame_locator("#panel-frame")
    invoice = panel.locator("li.invoice").first
    await expect(invoice.locator("[data-field=payment-link]")).to_be_visible()
    await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
    await expect(invoice.get_by_role("menuitem", name=OPEN_IN_QUICKBOOKS[lang])).to_be_visible()
    await expect(invoice.get_by_role("menuitem", name=text["void"])).to_be_enabled()

    # The company connects another QuickBooks company (as after Disconnect and Connect).
    store = demo.service.container.gateways.token_store()
    await demo.emulators.connect_quickbooks(store, INTL_REALM)
    await page.reload()

    invoice = page.frame_locator("#panel-frame").locator("li.invoice").first
    await expect(invoice.locator("[data-field=other-company]")).to_contain_text(
        NOTICE[lang], timeout=SLOW
    )
    await expect(invoice.locator(".status")).to_have_text(text["open"])  # as last seen
    await expect(invoice.locator("[data-field=payment-link]")).to_have_count(0)
    await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
    await expect(invoice.get_by_role("menuitem", name=text["void"])).to_be_disabled()
    await expect(invoice.get_by_role("menuitem", name=text["pdf"])).to_be_disabled()
    await expect(invoice.get_by_role("menuitem", name=OPEN_IN_QUICKBOOKS[lang])).to_have_count(0)
