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


SET_LABELS = {
    "en": "Pipedrive permission sets whose members also void invoices",
    "fr": "Ensembles de droits Pipedrive dont les membres annulent aussi des factures",
}
LOCALES = {"en": "en_US", "fr": "fr_FR"}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_action_granted_to_a_permission_set_shows_to_its_members_only(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text, labels = TEXT[lang], LABELS[lang]
    admin = await user_id(demo, USERS[lang][0])
    company = (await demo.emulators.admin("pipedrive", "GET", "demo"))["demo"]["company_id"]
    # Two users of the page's language who are not admins, new to the service (it keeps what
    # Pipedrive says of a user for 10 minutes): one will be in the set, the other not.
    seeded = await demo.emulators.admin(
        "pipedrive",
        "POST",
        "seed",
        company_id=company,
        users=[
            {
                "name": f"{who} {lang}",
                "email": f"{who}-{lang}@acme-demo.test",
                "locale": LOCALES[lang],
            }
            for who in ("member", "other")
        ],
    )
    member, other = [u["id"] for u in seeded["users"]]
    billing = await demo.emulators.admin(
        "pipedrive", "POST", f"companies/{company}/permission-sets", name=f"Billing {lang}"
    )
    await demo.emulators.admin(
        "pipedrive", "PATCH", f"users/{member}", permission_set_id=billing["id"]
    )
    await create_elsewhere(demo, f"permission-sets-{lang}")
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={admin}"
    )
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("#connection-state")).to_contain_text(text["connected"])
    # (a listbox's name also carries its chosen options: matched on the label's text)
    sets = settings.get_by_label(SET_LABELS[lang])
    await expect(sets).to_be_disabled()
    await settings.get_by_label(labels["void"], exact=True).check()
    await sets.select_option(label=f"Billing {lang} (sales)")
    await settings.get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
    await page.reload()
    await expect(settings.get_by_label(SET_LABELS[lang])).to_have_values([billing["id"]])

    for user, may_void in ((member, True), (other, False)):
        await page.goto(f"{base_url}/?deal=3&user={user}")
        panel = page.frame_locator("#panel-frame")
        invoice = panel.locator("li.invoice").first
        await expect(invoice.locator(".status")).to_have_text(text["open"], timeout=SLOW)
        await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
        await expect(invoice.get_by_role("menuitem", name=text["void"])).to_have_count(
            1 if may_void else 0
        )
