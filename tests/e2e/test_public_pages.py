"""The public pages (landing, privacy, terms, support, install guide) served by the real gateway
of the demo stack, in English and French, with nothing loaded from another origin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from entrypoints.demo import DemoStack

pytestmark = pytest.mark.e2e
PAGES = ["/welcome", "/privacy", "/terms", "/support", "/docs"]
TITLES = {
    ("/welcome", "en"): "QuickBooks Online invoices from your Pipedrive deals",
    ("/welcome", "fr"): "Des factures QuickBooks Online depuis vos affaires Pipedrive",
    ("/privacy", "en"): "Privacy policy",
    ("/privacy", "fr"): "Politique de confidentialité",
    ("/terms", "en"): "Terms of use",
    ("/terms", "fr"): "Conditions d&#x27;utilisation",
    ("/support", "en"): "Support",
    ("/support", "fr"): "Assistance",
    ("/docs", "en"): "Install guide",
    ("/docs", "fr"): "Guide d&#x27;installation",
}
# An asset from another origin: a stylesheet, script, image, frame or font by absolute URL.
EXTERNAL_ASSET = re.compile(
    r"<(?:link|script|img|iframe|source|video|audio)\b[^>]*\b(?:href|src|srcset)\s*=\s*"
    r"[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def fetch(
    http: aiohttp.ClientSession, url: str, **headers: str
) -> tuple[aiohttp.ClientResponse, str]:
    async with http.get(url, headers=headers, allow_redirects=False) as response:
        return response, await response.text()


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("language", ["en", "fr"])
async def test_each_public_page_answers_in_english_and_french_with_only_local_assets(
    demo: DemoStack, http: aiohttp.ClientSession, path: str, language: str
) -> None:
    base = demo.settings.public_url
    by_query, page = await fetch(http, f"{base}{path}?lang={language}")
    by_header, same = await fetch(
        http, f"{base}{path}", **{"Accept-Language": f"{language};q=0.9, de;q=0.8"}
    )

    for response in (by_query, by_header):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert page == same
    assert f'<html lang="{language}">' in page
    assert TITLES[(path, language)] in page
    assert not EXTERNAL_ASSET.search(page), EXTERNAL_ASSET.search(page)
    assert "<script" not in page
    for href in ("/welcome", "/docs", "/support", "/privacy", "/terms"):  # the shared footer
        assert f'href="{href}' in page
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheets == ["/public/site.css"]
    css, text = await fetch(http, base + stylesheets[0])
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "http" not in text
    assert "@import" not in text


async def test_the_landing_page_offers_the_demo_as_the_trial(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    _, page = await fetch(http, f"{demo.settings.public_url}/welcome")
    assert "Try it: the demo" in page
    assert 'href="/"' in page  # this gateway serves the demo
    for step in ("Deal.", "Invoice.", "Status on the deal."):  # the flow, in order
        assert step in page


async def test_a_language_nobody_asked_for_falls_back_to_english(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    _, page = await fetch(
        http, f"{demo.settings.public_url}/privacy?lang=xx", **{"Accept-Language": "de, es;q=0.5"}
    )
    assert '<html lang="en">' in page


async def test_support_says_not_signed_in_then_the_connection_once_signed_in(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    base = demo.settings.public_url
    response, page = await fetch(http, f"{base}/support")
    assert "You are not signed in." in page
    assert 'href="/oauth/quickbooks/launch"' in page
    assert "no-store" in response.headers["Cache-Control"]
    _, french = await fetch(http, f"{base}/support?lang=fr")
    assert "Vous n&#x27;êtes pas connecté." in french

    # Sign in through Pipedrive, from the support page's link.
    async with http.get(f"{base}/oauth/quickbooks/launch") as landed:
        assert landed.status == 200
    _, page = await fetch(http, f"{base}/support")
    assert "not signed in" not in page
    assert 'data-state="connected"' in page
    assert "QuickBooks: connected to Demo Books (US)." in page
    _, french = await fetch(http, f"{base}/support", **{"Accept-Language": "fr-CA,fr;q=0.9"})
    assert "QuickBooks : connecté à Demo Books (US)." in french


async def test_a_forged_session_cookie_is_not_signed_in(
    demo: DemoStack, http: aiohttp.ClientSession
) -> None:
    _, page = await fetch(
        http,
        f"{demo.settings.public_url}/support",
        Cookie="dealbooks_session=eyJjIjoiMTMwMDAwMDEiLCJ1IjoiMjEwMDAwMDEiLCJleHAiOjk5OTk5OTk5OTl9.forged",
    )
    assert "You are not signed in." in page
