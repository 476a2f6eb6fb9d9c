"""Who may act on invoices, in a real browser, in English and French (issue 16): an admin keeps
creating and voiding for admins in the settings; a user who is not an admin then sees neither
"+ Invoice" nor "Void", and still sends; the admin still sees both."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import SLOW, TEXT
from tests.browser.test_live_panel import create_elsewhere

USERS = {"en": ("Alice Admin", "Carol Sales"), "fr": ("Camille Laurent", "Bruno Martin")}
LABELS = {
    "en": {
        "create": "Only admins create invoices",
        "void": "Only admins void invoices",
        "send": "Send by email",
    },
    "fr": {
        "create": "Seuls les administrateurs créent des factures",
        "void": "Seuls les administrateurs annulent des factures",
        "send": "Envoyer par e-mail",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_actions_kept_for_admins_are_hidden_from_other_users(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text, labels = TEXT[lang], LABELS[lang]
    admin, member = [await user_id(demo, name) for name in USERS[lang]]
    await create_elsewhere(demo, f"permissions-{lang}")
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={admin}"
    )
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("#connection-state")).to_contain_text(text["connected"])
    await settings.get_by_label(labels["create"], exact=True).check()
    await settings.get_by_label(labels["void"], exact=True).check()
    await settings.get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])

    for user, is_admin in ((member, False), (admin, True)):
        await page.goto(f"{base_url}/?deal=3&user={user}")
        panel = page.frame_locator("#panel-frame")
        invoice = panel.locator("li.invoice").first
        await expect(invoice.locator(".status")).to_have_text(text["open"], timeout=SLOW)
        await expect(panel.get_by_role("button", name=text["new"])).to_be_visible(visible=is_admin)
        await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
        await expect(invoice.get_by_role("menuitem", name=text["void"])).to_have_count(
            1 if is_admin else 0
        )
        await expect(invoice.get_by_role("menuitem", name=labels["send"])).to_have_count(1)
