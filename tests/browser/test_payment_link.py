"""The payment link on the panel (issue 17), in English and French, in a real browser against
the demo (service, Postgres and both emulators): where the QuickBooks company takes online
payments, the invoice shows QuickBooks' InvoiceLink with a Copy button.

Copying goes through ``navigator.clipboard``, which Pipedrive's cross-origin iframe may not be
allowed to use (no ``clipboard-write`` permission): the panel then selects the link for the
user to copy by hand. Both paths are driven here with the Clipboard API stubbed in the panel's
frame, so the outcome does not depend on how headless Chromium grants the permission."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, FrameLocator, Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import US_REALM
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import (
    SLOW,
    TEXT,
    axe_violations,
    content_frame,
    open_form,
    pick_items,
)

LABELS = {
    "en": {"link": "Payment link", "copy": "Copy", "copied": "Copied", "manual": "Ctrl+C"},
    "fr": {"link": "Lien de paiement", "copy": "Copier", "copied": "Copié", "manual": "Ctrl+C"},
}

# In the panel's frame only: a clipboard that records what is written, or one that refuses
# (as a frame without the clipboard-write permission) with execCommand("copy") failing too.
_CLIPBOARD = """
if (location.pathname.startsWith("/ui/panel")) {
  const mode = %s;
  window.__copied = [];
  const clipboard = {
    writeText: (text) => mode === "ok"
      ? (window.__copied.push(text), Promise.resolve())
      : Promise.reject(new DOMException("Write permission denied.", "NotAllowedError")),
  };
  Object.defineProperty(Navigator.prototype, "clipboard", { get: () => clipboard });
  if (mode !== "ok") document.execCommand = () => false;
}
"""


async def _invoice_with_link(demo: DemoStack, base_url: str, page: Page, lang: str) -> None:
    await demo.emulators.admin(
        "quickbooks", "POST", f"companies/{US_REALM}/preferences", online_payments=True
    )
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, text)
    await pick_items(form)
    await form.get_by_role("button", name=text["create"]).click()
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(text["open"], timeout=SLOW)


def _link_field(panel: FrameLocator, lang: str):  # type: ignore[no-untyped-def]
    return panel.get_by_label(LABELS[lang]["link"], exact=True)


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_panel_shows_the_payment_link_and_copies_it(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    await page.context.add_init_script(_CLIPBOARD % '"ok"')
    await _invoice_with_link(demo, base_url, page, lang)
    panel = page.frame_locator("#panel-frame")
    labels = LABELS[lang]

    field = _link_field(panel, lang)
    await expect(field).to_be_visible(timeout=SLOW)
    link = await field.input_value()
    assert "/portal/app/CommerceNetwork/view/" in link
    copy = panel.locator("[data-action=copy-link]")
    await expect(copy).to_have_text(labels["copy"])

    await copy.click()

    await expect(copy).to_have_text(f"✓ {labels['copied']}")
    await expect(copy).to_have_attribute("data-copied", "copied")
    copied = await panel.locator("body").evaluate("() => window.__copied")
    assert copied == [link]
    await expect(copy).to_have_text(labels["copy"], timeout=10_000)  # the feedback goes away


async def test_without_clipboard_permission_the_link_is_selected_to_copy_by_hand(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    await page.context.add_init_script(_CLIPBOARD % '"denied"')
    await _invoice_with_link(demo, base_url, page, "en")
    panel = page.frame_locator("#panel-frame")
    field = _link_field(panel, "en")
    await expect(field).to_be_visible(timeout=SLOW)

    await panel.locator("[data-action=copy-link]").click()

    await expect(panel.locator("[data-field=copy-status]")).to_contain_text("Ctrl+C")
    await expect(field).to_be_focused()
    selected = await field.evaluate("(input) => [input.selectionStart, input.selectionEnd]")
    assert selected == [0, len(await field.input_value())]
    await expect(panel.locator("[data-action=copy-link]")).to_have_attribute(
        "data-copied", "manual"
    )


async def test_a_company_without_online_payments_shows_no_payment_link(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    text = TEXT["en"]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, text)
    await pick_items(form)
    await form.get_by_role("button", name=text["create"]).click()
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(text["open"], timeout=SLOW)
    await expect(panel.locator("[data-field=payment-link]")).to_have_count(0)


async def test_in_headless_chromium_copy_either_copies_or_selects_the_link(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    """No stub: the real Clipboard API in the demo's cross-origin panel frame. The page may
    read the clipboard (granted here); whichever way the frame's write goes, the user ends
    with the link copied, or selected and told how to copy it."""
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await _invoice_with_link(demo, base_url, page, "en")
    panel = page.frame_locator("#panel-frame")
    field = _link_field(panel, "en")
    await expect(field).to_be_visible(timeout=SLOW)
    link = await field.input_value()
    copy = panel.locator("[data-action=copy-link]")

    await copy.click()

    await expect(copy).to_have_attribute("data-copied", re.compile("^(copied|manual)$"))
    if await copy.get_attribute("data-copied") == "copied":
        await page.bring_to_front()
        assert await page.evaluate("() => navigator.clipboard.readText()") == link
    else:
        await expect(panel.locator("[data-field=copy-status]")).to_contain_text("Ctrl+C")


async def test_the_payment_link_passes_an_automated_accessibility_check(
    demo: DemoStack, base_url: str, browser: Browser
) -> None:
    await demo.emulators.admin(
        "quickbooks", "POST", f"companies/{US_REALM}/preferences", online_payments=True
    )
    # axe-core is injected as an inline script, which the pages' CSP rightly forbids.
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/?deal=3")
        panel = await content_frame(page, "#panel-frame")
        await panel.wait_for_selector("main[aria-busy=false]")
        await panel.click("#new-invoice")
        form = await content_frame(page, "#modal-frame")
        await form.wait_for_selector("#invoice-form:not([hidden])")
        await form.click("#create")
        await panel.wait_for_selector("[data-field=payment-link]", timeout=SLOW)
        assert await axe_violations(panel) == []
    finally:
        await context.close()
