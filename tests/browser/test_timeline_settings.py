"""The deal timeline's entry kind on the settings page, in English and French (issue 16): an
admin chooses done activities over notes, saves, and finds the choice kept."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import user_id
from tests.browser.test_demo_ui import TEXT

ADMINS = {"en": "Alice Admin", "fr": "Camille Laurent"}
LABELS = {
    "en": ("Each entry is", "A done activity on the deal"),
    "fr": ("Chaque entrée est", "Une activité terminée sur l\u2019affaire"),
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_admin_chooses_activities_for_the_deal_timeline(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text, (label, activity) = TEXT[lang], LABELS[lang]
    admin = await user_id(demo, ADMINS[lang])
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={admin}"
    )
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("#connection-state")).to_contain_text(text["connected"])
    # (a select's accessible name also carries its chosen option: matched on the label)
    kind = settings.get_by_label(label)
    await expect(kind).to_have_value("TIMELINE_ENTRY_KIND_NOTE")

    await kind.select_option(label=activity)
    await settings.get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
    await page.reload()

    kept = page.frame_locator("#settings-frame").get_by_label(label)
    await expect(kept).to_have_value("TIMELINE_ENTRY_KIND_ACTIVITY")
    # Back to notes, as the other browser tests expect the demo company.
    await kept.select_option("TIMELINE_ENTRY_KIND_NOTE")
    await page.frame_locator("#settings-frame").get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
