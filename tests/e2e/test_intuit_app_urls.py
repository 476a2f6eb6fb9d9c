"""The URLs Intuit's portal asks for (launch, disconnected, reconnect) and the rule that a URL
carrying a code or a token answers with a redirect, end to end: the demo stack (the service, its
gateway, both emulators, Postgres), a browser-like client with a cookie jar following each hop.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest
from yarl import URL

from domain.connection import ConnectionStatus, Vendor
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, INTL_REALM, US_REALM
from tests.support.demo import disconnect_quickbooks, ui_token

pytestmark = pytest.mark.e2e
ADMIN = "21000001"  # Alice Admin
MEMBER = "21000002"  # Bruno Martin, not an admin


@dataclass
class Browser:
    """One browser: its cookies, and the redirects it followed."""

    demo: DemoStack
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return self.demo.settings.public_url

    async def get(self, url: str, **headers: str) -> aiohttp.ClientResponse:
        if url.startswith("/"):
            url = self.base + url
        async with self.http.get(url, headers=headers, allow_redirects=False) as response:
            await response.read()
            return response

    async def follow(self, url: str, hops: int = 10) -> list[aiohttp.ClientResponse]:
        """Each answer from ``url`` until one is not a redirect."""
        chain = [await self.get(url)]
        while chain[-1].status in (301, 302, 303, 307) and len(chain) <= hops:
            chain.append(await self.get(str(URL(url).join(URL(chain[-1].headers["Location"])))))
            url = str(chain[-1].url)
        return chain

    async def sign_in(self, user: str = ADMIN) -> None:
        """Through the launch URL and Pipedrive's consent page, as ``user``."""
        start = await self.get("/oauth/quickbooks/launch")
        assert start.status == 302
        consent = start.headers["Location"] + f"&user_id={user}"
        chain = await self.follow(consent)
        assert chain[-1].status == 200, [(r.status, str(r.url)) for r in chain]


@pytest.fixture
async def browser(demo: DemoStack) -> AsyncIterator[Browser]:
    # unsafe: the gateway is on an IP address; aiohttp ignores such cookies otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(demo, http)


def settings_page(demo: DemoStack) -> str:
    client_id = demo.settings.pipedrive.client_id
    return f"{demo.settings.public_url}/settings/marketplace/app/{client_id}/app-settings"


async def stored_quickbooks(demo: DemoStack):  # type: ignore[no-untyped-def]
    assert demo.service.container is not None
    return await demo.service.container.gateways.token_store().load(DEMO_COMPANY, Vendor.QUICKBOOKS)


async def disconnect_inside_quickbooks(demo: DemoStack) -> None:
    """What a QuickBooks admin's "Disconnect" in My apps does: Intuit revokes the app's grant
    (the emulator's revoke endpoint ends the whole grant, both tokens)."""
    stored = await stored_quickbooks(demo)
    assert stored is not None
    settings = demo.settings.quickbooks
    client = base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode()).decode()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{demo.emulators.quickbooks_url}/v2/oauth2/tokens/revoke",
            json={"token": stored.tokens.refresh_token},
            headers={"Authorization": f"Basic {client}"},
        ) as revoked,
    ):
        assert revoked.status == 200


async def company_info_reads(demo: DemoStack) -> int:
    """How many times the service asked QuickBooks for the company's info (the check)."""
    found = await demo.emulators.admin(
        "quickbooks", "GET", f"requests?realm={US_REALM}&path=companyinfo&method=GET"
    )
    return len(found["requests"])


# ------------------------------------------------------------------ launch


async def test_launch_signed_out_signs_in_through_pipedrive_and_ends_on_the_settings(
    browser: Browser,
) -> None:
    chain = await browser.follow("/oauth/quickbooks/launch")
    hops = [(r.status, str(r.url).split("?")[0]) for r in chain]

    pipedrive = browser.demo.emulators.pipedrive_url
    assert hops[0] == (302, f"{browser.base}/oauth/quickbooks/launch")
    assert chain[0].headers["Location"].startswith(f"{pipedrive}/oauth/authorize?")
    assert hops[1] == (302, f"{pipedrive}/oauth/authorize")  # the consent, approved
    assert hops[2] == (303, f"{browser.base}/oauth/pipedrive/callback")  # the code: a redirect
    assert chain[2].headers["Location"] == "/oauth/quickbooks/launch"
    assert hops[3] == (302, f"{browser.base}/oauth/quickbooks/launch")  # signed in now
    assert chain[3].headers["Location"] == settings_page(browser.demo)
    assert chain[-1].status == 200
    assert str(chain[-1].url) == settings_page(browser.demo)


async def test_launch_signed_in_goes_straight_to_the_settings(browser: Browser) -> None:
    await browser.sign_in()
    again = await browser.get("/oauth/quickbooks/launch")
    assert again.status == 302
    assert again.headers["Location"] == settings_page(browser.demo)


async def test_a_callback_state_this_browser_did_not_start_signs_nobody_in(
    browser: Browser, demo: DemoStack
) -> None:
    # Somebody else's sign-in (its state and a good code) opened in this browser.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        async with other.get(
            f"{browser.base}/oauth/quickbooks/launch", allow_redirects=False
        ) as start:
            consent = start.headers["Location"]
        async with other.get(consent, allow_redirects=False) as approved:
            callback = approved.headers["Location"]
    answer = await browser.get(callback)
    assert answer.status in (302, 303)
    assert "dealbooks_session" not in answer.cookies
    launch = await browser.get("/oauth/quickbooks/launch")
    assert launch.status == 302
    assert launch.headers["Location"].startswith(demo.emulators.pipedrive_url)  # still signed out


# ------------------------------------------------------------------ disconnected


async def test_disconnected_with_a_working_token_does_not_say_needs_reconnect_even_if_the_url_does(
    browser: Browser, demo: DemoStack
) -> None:
    forged = (
        f"/oauth/quickbooks/disconnected?realmId={US_REALM}&status=needs_reconnect"
        "&state=needs_reconnect&needs_reconnect=1&error=revoked"
    )
    page = await browser.get(forged)
    body = await page.text()

    assert await company_info_reads(demo) == 1  # QuickBooks was asked, with the stored token
    assert page.status == 200
    assert "dealbooks is disconnected from QuickBooks" in body  # what happened, how to reconnect
    assert 'href="/oauth/quickbooks/reconnect"' in body
    assert 'data-state="connected"' in body
    assert 'data-state="needs_reconnect"' not in body
    assert "Demo Books" not in body  # an anonymous visitor is not told the company's name
    stored = await stored_quickbooks(demo)
    assert stored is not None
    assert stored.status is ConnectionStatus.CONNECTED
    assert "no-store" in page.headers["Cache-Control"]
    # Anybody can open this page: QuickBooks is asked about a realm at most once a minute.
    await browser.get(forged)
    assert await company_info_reads(demo) == 1


async def test_disconnected_says_needs_reconnect_once_quickbooks_refuses_the_token(
    browser: Browser, demo: DemoStack
) -> None:
    await browser.sign_in()
    fine = await (await browser.get("/oauth/quickbooks/disconnected")).text()
    assert 'data-state="connected"' in fine
    assert "Demo Books (US)" in fine  # signed in: the company's own connection, named

    await disconnect_inside_quickbooks(demo)
    page = await browser.get("/oauth/quickbooks/disconnected", **{"Accept-Language": "fr-FR"})
    body = await page.text()

    assert page.status == 200
    assert 'data-state="needs_reconnect"' in body
    assert "dealbooks est déconnecté de QuickBooks" in body
    stored = await stored_quickbooks(demo)
    assert stored is not None
    assert stored.status is ConnectionStatus.NEEDS_RECONNECT  # the panel and settings say so


async def test_disconnected_anonymous_with_the_realm_checks_that_realms_token(
    browser: Browser, demo: DemoStack
) -> None:
    await disconnect_inside_quickbooks(demo)
    page = await browser.get(f"/oauth/quickbooks/disconnected?realmId={US_REALM}")
    assert 'data-state="needs_reconnect"' in await page.text()
    unknown = await browser.get("/oauth/quickbooks/disconnected?realmId=123")
    assert "data-state=" not in await unknown.text()  # nothing known: the steps only
    assert unknown.status == 200


# ------------------------------------------------------------------ reconnect


async def test_reconnect_signs_in_then_connects_the_same_quickbooks_company_again(
    browser: Browser, demo: DemoStack
) -> None:
    await disconnect_inside_quickbooks(demo)
    await browser.get(f"/oauth/quickbooks/disconnected?realmId={US_REALM}")
    before = await stored_quickbooks(demo)
    assert before is not None
    assert before.status is ConnectionStatus.NEEDS_RECONNECT

    chain = await browser.follow("/oauth/quickbooks/reconnect")
    hops = [(r.status, str(r.url).split("?")[0]) for r in chain]
    quickbooks = demo.emulators.quickbooks_url

    assert hops[0] == (302, f"{browser.base}/oauth/quickbooks/reconnect")  # sign in first
    assert hops[2] == (303, f"{browser.base}/oauth/pipedrive/callback")
    assert chain[2].headers["Location"] == "/oauth/quickbooks/reconnect"
    assert hops[3] == (302, f"{browser.base}/oauth/quickbooks/reconnect")  # now: connect
    assert chain[3].headers["Location"].startswith(f"{quickbooks}/connect/oauth2?")
    assert hops[5] == (302, f"{browser.base}/oauth/quickbooks/callback")  # the code: a redirect
    assert chain[5].headers["Location"] == settings_page(demo) + "?quickbooks=connected"
    assert chain[-1].status == 200

    after = await stored_quickbooks(demo)
    assert after is not None
    assert after.status is ConnectionStatus.CONNECTED
    assert after.external_id == US_REALM == before.external_id
    assert after.connected_by == f"pipedrive-user-{ADMIN}"
    assert after.tokens.refresh_token != before.tokens.refresh_token


async def test_reconnect_refuses_another_quickbooks_company(
    browser: Browser, demo: DemoStack
) -> None:
    await browser.sign_in()
    start = await browser.get("/oauth/quickbooks/reconnect")
    assert start.status == 302
    # On Intuit's page the person picks the other company.
    consent = start.headers["Location"] + f"&realmId={INTL_REALM}"
    approved = await browser.get(consent)
    assert f"realmId={INTL_REALM}" in approved.headers["Location"]
    callback = await browser.get(approved.headers["Location"])

    assert callback.status == 303
    assert callback.headers["Location"] == "/oauth/quickbooks/result?outcome=other_company"
    page = await browser.get(callback.headers["Location"])
    assert page.status == 400
    assert "another QuickBooks company" in await page.text()
    stored = await stored_quickbooks(demo)
    assert stored is not None
    assert stored.external_id == US_REALM


async def revokes_seen(demo: DemoStack) -> int:
    found = await demo.emulators.admin(
        "quickbooks", "GET", "requests?path=tokens/revoke&method=POST"
    )
    return len(found["requests"])


async def connect_from_the_settings_page(
    browser: Browser, demo: DemoStack, realm: str
) -> aiohttp.ClientResponse:
    """The settings page's Connect to QuickBooks button (its popup), the person choosing
    ``realm`` on Intuit's page; the answer to Intuit's redirect back."""
    query = urlencode({"token": ui_token(demo), "company_id": DEMO_COMPANY})
    start = await browser.get(f"/oauth/quickbooks/start?{query}")
    assert start.status == 302
    assert start.headers["Location"].startswith(f"{demo.emulators.quickbooks_url}/connect/oauth2?")
    approved = await browser.get(start.headers["Location"] + f"&realmId={realm}")
    assert f"realmId={realm}" in approved.headers["Location"]
    return await browser.get(approved.headers["Location"])


async def test_the_settings_pages_connect_to_reconnect_refuses_another_quickbooks_company(
    browser: Browser, demo: DemoStack
) -> None:
    """In the needs-reconnect state the settings page shows Connect to QuickBooks: it is a
    reconnect, bound to the stored company as the Reconnect URL is."""
    await disconnect_inside_quickbooks(demo)
    await browser.get(f"/oauth/quickbooks/disconnected?realmId={US_REALM}")
    before = await stored_quickbooks(demo)
    assert before is not None
    assert before.status is ConnectionStatus.NEEDS_RECONNECT
    revokes = await revokes_seen(demo)

    callback = await connect_from_the_settings_page(browser, demo, INTL_REALM)

    assert callback.status == 303
    assert callback.headers["Location"] == "/oauth/quickbooks/result?outcome=other_company"
    assert await revokes_seen(demo) == revokes + 1  # the other company's grant given back
    stored = await stored_quickbooks(demo)
    assert stored is not None
    assert (stored.external_id, stored.status) == (US_REALM, ConnectionStatus.NEEDS_RECONNECT)

    # The same company again: reconnected.
    callback = await connect_from_the_settings_page(browser, demo, US_REALM)

    assert callback.status == 302
    # Back to the settings page in the popup, which closes itself.
    assert callback.headers["Location"] == f"{browser.base}/ui/settings?quickbooks=connected"
    after = await stored_quickbooks(demo)
    assert after is not None
    assert (after.external_id, after.status) == (US_REALM, ConnectionStatus.CONNECTED)


async def test_the_settings_pages_connect_without_a_stored_connection_takes_any_company(
    browser: Browser, demo: DemoStack
) -> None:
    """Disconnected from dealbooks (the connection forgotten): a new connect, any company."""
    await disconnect_quickbooks(demo)
    assert await stored_quickbooks(demo) is None

    callback = await connect_from_the_settings_page(browser, demo, INTL_REALM)

    assert callback.status == 302
    stored = await stored_quickbooks(demo)
    assert stored is not None
    assert stored.external_id == INTL_REALM


async def test_reconnect_is_for_admins(browser: Browser) -> None:
    await browser.sign_in(MEMBER)
    refused = await browser.get("/oauth/quickbooks/reconnect")
    assert refused.status == 303
    assert refused.headers["Location"] == "/oauth/quickbooks/result?outcome=admin_only"
    page = await browser.get(refused.headers["Location"], **{"Accept-Language": "fr"})
    assert page.status == 403
    assert "Seul un administrateur" in await page.text()


# ------------------------------------------------------------------ code and token URLs


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth/quickbooks/callback?state=forged&code=abc&realmId=" + US_REALM),
        ("GET", "/oauth/quickbooks/callback?state=forged&error=access_denied"),
        ("GET", "/oauth/quickbooks/callback"),
        ("GET", "/oauth/quickbooks/start?token=not-a-jwt&company_id=" + DEMO_COMPANY),
        ("POST", "/oauth/quickbooks/disconnect?token=not-a-jwt"),
        ("GET", "/oauth/pipedrive/callback?code=123.456.forged"),
        ("GET", "/oauth/pipedrive/callback?code=x&state=not-this-browsers"),
        ("GET", "/oauth/pipedrive/callback?error=user_denied"),
        ("GET", "/oauth/pipedrive/callback?error=server_error"),
        ("GET", "/oauth/pipedrive/callback"),
    ],
)
async def test_urls_that_carry_a_code_or_token_answer_with_a_redirect_never_a_page(
    browser: Browser, method: str, path: str
) -> None:
    async with browser.http.request(method, browser.base + path, allow_redirects=False) as response:
        body = await response.read()
    assert response.status in (302, 303), (response.status, body[:200])
    location = response.headers["Location"]
    assert "code=" not in location
    assert "token=" not in location
    assert not body
    page = await browser.get(location)
    assert page.status in (200, 400, 401, 403, 502, 503)
    assert page.headers["Content-Type"].startswith("text/html")


async def test_a_successful_code_exchange_answers_with_a_redirect(
    browser: Browser, demo: DemoStack
) -> None:
    # The Pipedrive install (no state of ours): the code leads to Pipedrive's settings page.
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{demo.emulators.pipedrive_url}/oauth/authorize",
            params={
                "client_id": demo.settings.pipedrive.client_id,
                "redirect_uri": f"{browser.base}/oauth/pipedrive/callback",
            },
            allow_redirects=False,
        ) as consent:
            callback = consent.headers["Location"]
        async with http.get(callback, allow_redirects=False) as installed:
            assert installed.status == 302
            assert "/settings/marketplace/app/" in installed.headers["Location"]
            assert not await installed.read()


# ------------------------------------------------------------------ discovery document


async def test_the_service_takes_intuits_oauth_endpoints_from_the_discovery_document(
    demo: DemoStack,
) -> None:
    """Read once at start, from the emulator's own document (which names its endpoints)."""
    assert demo.service.container is not None
    endpoints = demo.service.container.gateways.quickbooks_endpoints()
    read = await demo.emulators.admin(
        "quickbooks", "GET", "requests?path=openid_sandbox_configuration&method=GET"
    )

    assert endpoints.discovered
    assert len(read["requests"]) == 1
    base = demo.emulators.quickbooks_url
    assert (endpoints.authorize_url, endpoints.token_url, endpoints.revoke_url) == (
        base + "/connect/oauth2",
        base + "/oauth2/v1/tokens/bearer",
        base + "/v2/oauth2/tokens/revoke",
    )
