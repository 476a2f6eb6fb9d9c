"""The deal fields in the settings, in a real browser, in English and in French: an admin sees
that they do not exist yet, presses "Create deal fields", and the page says they exist once
the job has made them in Pipedrive (the emulator), where each of the four exists once."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import shoot, user_id
from tests.browser.test_demo_ui import SLOW

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "user": "Alice Admin",
        "heading": "Deal fields in Pipedrive",
        "missing": "The deal fields do not exist yet.",
        "create": "Create deal fields",
        "ready": "The deal fields exist in Pipedrive.",
    },
    "fr": {
        "user": "Camille Laurent",
        "heading": "Champs de l\u2019affaire dans Pipedrive",
        "missing": "Les champs de l\u2019affaire n\u2019existent pas encore.",
        "create": "Créer les champs de l\u2019affaire",
        "ready": "Les champs de l\u2019affaire existent dans Pipedrive.",
    },
}


async def fields_created(demo: DemoStack) -> list[Any]:
    log = await demo.emulators.admin(
        "pipedrive", "GET", "requests?path=/api/v2/dealFields&method=POST"
    )
    return [r for r in log["requests"] if r["status"] == 200]


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_admin_creates_the_deal_fields_from_the_settings(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    url = f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={user}"
    await page.goto(url)
    settings = page.frame_locator("#settings-frame")
    section = settings.locator("#deal-fields")
    await expect(section.get_by_role("heading", name=text["heading"])).to_be_visible(timeout=SLOW)
    await expect(section.get_by_role("status")).to_have_text(text["missing"])
    await shoot(page, f"{lang}-deal-fields-missing")

    await section.get_by_role("button", name=text["create"]).click()

    await expect(section.get_by_role("status")).to_have_text(text["ready"], timeout=SLOW)
    await expect(section.get_by_role("button", name=text["create"])).to_be_hidden()
    assert len(await fields_created(demo)) == 4

    await page.reload()  # the state is the service's, not the page's
    await expect(settings.locator("#deal-fields").get_by_role("status")).to_have_text(
        text["ready"], timeout=SLOW
    )
    await expect(settings.locator("#deal-fields-create")).to_be_hidden()
