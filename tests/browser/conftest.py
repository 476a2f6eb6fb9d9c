"""The demo stack on free ports and headless Chromium (Debian's, driven by Playwright).

Screenshots go to ``test-artifacts/browser/`` (kept by CI as the tests' artefacts).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from entrypoints.demo import DemoStack
from entrypoints.emulated import INTL_REALM
from entrypoints.settings import AppSettings
from tests.support.demo import demo_stack

# Debian's chromium; `make test` installs it when missing (the Makefile reads the same variable).
CHROMIUM = os.environ.get("DEALBOOKS_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture
def app_settings(database_url: str) -> AppSettings:
    return replace(AppSettings(), database_url=database_url, shutdown_grace_seconds=1.0)


@pytest.fixture
async def demo(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[DemoStack]:
    async with demo_stack(app_settings) as stack:
        yield stack


@pytest.fixture
async def demo_uk(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[DemoStack]:
    """The demo connected to the UK QuickBooks company (VAT, GBP, EUR added)."""
    async with demo_stack(app_settings, INTL_REALM) as stack:
        yield stack


@pytest.fixture
def base_url(demo: DemoStack) -> str:
    return demo.settings.public_url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (one stat, before any I/O starts)
        pytest.fail(
            f"{CHROMIUM} is missing: `make chromium` installs it (as root), or says how",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1400, "height": 1000}, accept_downloads=True, locale="en-US"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The pages must not reach beyond the demo: no external requests at all.
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(("http://127.0.0.1", "about:", "blob:", "data:"))
            else outside.append(request.url)
        ),
    )
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not outside, f"requests outside the demo: {outside}"


async def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
