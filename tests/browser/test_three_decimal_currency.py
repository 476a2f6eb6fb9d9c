"""A deal in a currency ISO 4217 gives 3 decimals (KWD), invoiced in a real browser: the form's
live figures have the 2 decimals QuickBooks keeps [O], not Intl's 3, and QuickBooks records
the total the form showed."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import INTL_REALM
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import SLOW, TEXT, open_form

KWD_FIGURE = re.compile(r"^KWD\s[\d,]+\.\d\d$")  # en-US: "KWD 3.00", never "KWD 3.002"


async def test_a_kwd_invoice_shows_two_decimals_and_quickbooks_records_its_total(
    demo_uk: DemoStack, page: Page
) -> None:
    demo = demo_uk
    await demo.emulators.admin(
        "quickbooks", "POST", f"companies/{INTL_REALM}/preferences", home_currency="KWD"
    )
    await demo.emulators.admin("pipedrive", "PATCH", "deals/1", currency="KWD")
    await demo.emulators.admin(
        "pipedrive", "POST", "deals/1/products", name="Widgets", item_price=1.0005, quantity=3
    )
    user = await user_id(demo, TEXT["en"]["user"])
    await page.goto(f"{demo.settings.public_url}/?deal=1&user={user}")  # Globex
    form = await open_form(page, TEXT["en"])
    await expect(form.locator("select[name=currency]")).to_have_value("KWD")
    lines = form.locator(".line[data-kind=item]")
    for index in range(await lines.count()):
        await lines.nth(index).locator("select[name=itemId]").select_option(index=1)
        await lines.nth(index).get_by_label("Tax code").select_option(label="20.0% S")
    # 3 x 1.0005 = 3.0015: 3.00 as QuickBooks keeps it (Intl's KWD digits would say 3.002).
    await expect(lines.last.locator(".amount")).to_have_text(re.compile(r"^KWD\s3\.00$"))
    for figure in ("subtotal", "tax", "total"):
        await expect(form.locator(f"#{figure}")).to_have_text(KWD_FIGURE)
    form_total = await form.locator("#total").text_content()
    await form.get_by_role("button", name=TEXT["en"]["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT["en"]["open"], timeout=SLOW)
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{INTL_REALM}/invoices")
    (created,) = found["invoices"]
    assert created["CurrencyRef"]["value"] == "KWD"
    assert Decimal(str(created["TotalAmt"])) == Decimal(re.sub(r"[^\d.]", "", form_total or ""))
    await expect(panel.locator("li.invoice [data-field=total]")).to_have_text(KWD_FIGURE)
    await expect(panel.locator("li.invoice [data-field=mismatch]")).to_have_count(0)
