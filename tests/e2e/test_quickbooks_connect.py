"""Connect -> refresh -> disconnect through the HTTP gateway, end to end: our QuickBooks routes in
a small aiohttp app, the real authorizer and adapter against the emulator, Postgres tokens.
Also: bad, reused and declined states, and webhook signatures (the emulator's own deliveries)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from adapters.postgres.connections import PostgresOAuthStateStore, PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from adapters.quickbooks.oauth import QuickBooksAuthorizer, QuickBooksEndpoints
from adapters.system_clock import SystemClock
from application.auth import Principal
from application.connections import (
    CompleteQuickBooksConnect,
    DisconnectQuickBooks,
    StartQuickBooksConnect,
    StartQuickBooksReconnect,
)
from application.errors import UnauthenticatedError
from domain.connection import Vendor
from entrypoints.http.quickbooks_app import add_quickbooks_routes, signature_of
from tests.integration.quickbooks.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    US_REALM,
    VERIFIER,
    RunningEmulator,
    emulator_config,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.e2e
COMPANY = "5005"
SETTINGS_URL = "https://pipedrive.example/settings/dealbooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def authenticate_ui(request: web.Request) -> Principal:
    user = request.headers.get("X-Test-User")
    if not user:
        raise UnauthenticatedError("Sign in through Pipedrive.")
    return Principal(user, frozenset({COMPANY}), is_admin=user.startswith("admin"))


@dataclass
class Gateway:
    emulator: RunningEmulator
    base_url: str
    store: PostgresTokenStore
    engine: AsyncEngine
    webhooks: list[tuple[bytes, Any]] = field(default_factory=list)

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        async with self.emulator.session.get(
            self.base_url + path, headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            return response


@pytest.fixture
async def gateway(pg_engine: AsyncEngine) -> AsyncIterator[Gateway]:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/oauth/quickbooks/callback"
    config = emulator_config(redirect_uris=[callback], auto_approve=True)
    async with running_emulator(config) as emulator:
        sessions = build_session_factory(pg_engine)
        store = PostgresTokenStore(sessions, SecretBox("s" * 40))
        states = PostgresOAuthStateStore(sessions)
        clock = SystemClock()
        authorizer = QuickBooksAuthorizer(
            emulator.session,
            clock,
            QuickBooksEndpoints.for_environment("sandbox", emulator.base_url),
            CLIENT_ID,
            CLIENT_SECRET,
            callback,
        )
        app = web.Application()
        received: list[tuple[bytes, Any]] = []

        async def on_webhook(raw: bytes, parsed: Any) -> None:
            received.append((raw, parsed))

        add_quickbooks_routes(
            app,
            start_connect=StartQuickBooksReconnect(
                store, StartQuickBooksConnect(states, authorizer, clock)
            ),
            complete_connect=CompleteQuickBooksConnect(states, authorizer, store, clock),
            disconnect=DisconnectQuickBooks(store, authorizer, clock),
            authenticate_ui=authenticate_ui,
            settings_url=SETTINGS_URL,
            webhook_verifier_token=VERIFIER,
            on_webhook=on_webhook,
        )
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        try:
            yield Gateway(emulator, f"http://127.0.0.1:{port}", store, pg_engine, received)
        finally:
            await server.close()


async def connect_through_intuit(gateway: Gateway) -> str:
    """Start as an admin, follow Intuit's consent page (auto-approve), land on our callback."""
    start = await gateway.get(
        f"/oauth/quickbooks/start?company_id={COMPANY}", **{"X-Test-User": "admin-1"}
    )
    assert start.status == 302
    consent = start.headers["Location"]
    assert consent.startswith(gateway.emulator.base_url + "/connect/oauth2?")
    # The accounting scope and nothing else: no payments, no OpenID (dealbooks has no sign-in
    # with Intuit).
    assert URL(consent).query.getall("scope") == ["com.intuit.quickbooks.accounting"]
    async with gateway.emulator.session.get(consent, allow_redirects=False) as approved:
        assert approved.status == 302
        return approved.headers["Location"]


async def test_connect_refresh_and_disconnect_end_to_end(gateway: Gateway) -> None:
    callback = await connect_through_intuit(gateway)
    assert "realmId=" + US_REALM in callback
    done = await gateway.get(callback.removeprefix(gateway.base_url))
    assert done.status == 302
    assert done.headers["Location"] == SETTINGS_URL + "?quickbooks=connected"

    stored = await gateway.store.load(COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    assert stored.external_id == US_REALM
    assert stored.display_name
    assert stored.time_zone == "America/Los_Angeles"  # CompanyInfo.DefaultTimeZone, kept
    assert stored.environment == "sandbox"
    assert stored.connected_by == "admin-1"

    # Refresh: the access token expires; the adapter refreshes and stores the new pair.
    past = datetime.now(UTC) - timedelta(minutes=1)
    await gateway.store.save(replace(stored, tokens=replace(stored.tokens, access_expires_at=past)))
    accounting = make_gateway(
        gateway.emulator, gateway.store, lock=PostgresDistributedLock(gateway.engine)
    )
    options = await accounting.invoice_options(COMPANY)
    assert options.preferences.home_currency == "USD"
    refreshed = await gateway.store.load(COMPANY, Vendor.QUICKBOOKS)
    assert refreshed is not None
    assert refreshed.tokens.refresh_token != stored.tokens.refresh_token
    assert refreshed.tokens.access_expires_at > datetime.now(UTC) + timedelta(minutes=50)

    async with gateway.emulator.session.post(
        gateway.base_url + "/oauth/quickbooks/disconnect",
        data={"company_id": COMPANY},
        headers={"X-Test-User": "admin-1"},
        allow_redirects=False,
    ) as bye:
        assert bye.status == 303
        assert bye.headers["Location"] == SETTINGS_URL + "?quickbooks=disconnected"
    assert await gateway.store.load(COMPANY, Vendor.QUICKBOOKS) is None
    # Revoked at Intuit: the last access token no longer works.
    async with gateway.emulator.session.get(
        f"{gateway.emulator.base_url}/v3/company/{US_REALM}/preferences",
        headers={"Authorization": f"Bearer {refreshed.tokens.access_token}"},
    ) as api:
        assert api.status == 401


async def explained(gateway: Gateway, answer: aiohttp.ClientResponse, outcome: str) -> int:
    """The answer is a redirect (never a page on a URL with a code or token) to the page that
    explains ``outcome``; that page's status."""
    assert answer.status == 303
    assert answer.headers["Location"] == f"/oauth/quickbooks/result?outcome={outcome}"
    page = await gateway.get(answer.headers["Location"])
    assert page.headers["Content-Type"].startswith("text/html")
    return page.status


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"garbage"),  # no boundary
        ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
        ("application/x-www-form-urlencoded; charset=bogus", b"a=%ff"),
    ],
)
async def test_a_disconnect_form_no_browser_sends_is_refused_not_a_server_error(
    gateway: Gateway, content_type: str, body: bytes
) -> None:
    async def post(**headers: str) -> aiohttp.ClientResponse:
        return await gateway.emulator.session.post(
            gateway.base_url + "/oauth/quickbooks/disconnect",
            data=body,
            headers={"Content-Type": content_type, **headers},
            allow_redirects=False,
        )

    anonymous = await post()  # signing in comes first: the body is not even read
    assert await explained(gateway, anonymous, "sign_in") == 401
    signed_in = await post(**{"X-Test-User": "admin-1"})
    assert signed_in.status == 400


async def test_starting_needs_a_signed_in_admin(gateway: Gateway) -> None:
    anonymous = await gateway.get(f"/oauth/quickbooks/start?company_id={COMPANY}")
    assert await explained(gateway, anonymous, "sign_in") == 401
    member = await gateway.get(
        f"/oauth/quickbooks/start?company_id={COMPANY}", **{"X-Test-User": "member-2"}
    )
    assert await explained(gateway, member, "admin_only") == 403


@pytest.mark.parametrize("state", ["forged", "%00", "a" * 5000, "%C3%A9t%C3%A9"])
async def test_a_forged_state_gets_a_friendly_page(gateway: Gateway, state: str) -> None:
    path = f"/oauth/quickbooks/callback?state={state}&code=x&realmId={US_REALM}"
    answer = await gateway.get(path)
    assert await explained(gateway, answer, "state_invalid") == 400
    assert await gateway.store.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_a_reused_state_gets_a_friendly_page(gateway: Gateway) -> None:
    callback = await connect_through_intuit(gateway)
    path = callback.removeprefix(gateway.base_url)
    assert (await gateway.get(path)).status == 302
    replay = await gateway.get(path)
    assert await explained(gateway, replay, "state_invalid") == 400


async def test_access_denied_gets_a_friendly_page_and_stores_nothing(gateway: Gateway) -> None:
    callback = await connect_through_intuit(gateway)
    state = callback.split("state=")[1].split("&")[0]
    answer = await gateway.get(f"/oauth/quickbooks/callback?error=access_denied&state={state}")
    assert await explained(gateway, answer, "denied") == 400
    assert await gateway.store.load(COMPANY, Vendor.QUICKBOOKS) is None


async def post_webhook(gateway: Gateway, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["intuit-signature"] = signature
    async with gateway.emulator.session.post(
        gateway.base_url + "/webhooks/quickbooks", data=body, headers=headers
    ) as response:
        return response.status


@pytest.mark.parametrize("fmt", ["classic", "cloudevents"])
async def test_the_emulators_signed_webhook_is_accepted(gateway: Gateway, fmt: str) -> None:
    emulator = gateway.emulator
    await emulator.admin(
        "PUT", "webhooks", {"url": gateway.base_url + "/webhooks/quickbooks", "format": fmt}
    )
    tokens = await emulator.mint(US_REALM)
    async with emulator.session.post(
        f"{emulator.base_url}/v3/company/{US_REALM}/invoice",
        json={
            "CustomerRef": {"value": "1"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 10,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
    ) as created:
        invoice_id = (await created.json())["Invoice"]["Id"]
    await emulator.admin("POST", f"companies/{US_REALM}/payments", {"invoice_id": invoice_id})
    await emulator.admin("POST", "webhooks/flush", {"timeout": 5})
    for _ in range(50):
        if gateway.webhooks:
            break
        await asyncio.sleep(0.05)
    assert gateway.webhooks, "the emulator's delivery did not arrive"
    raw, parsed = gateway.webhooks[0]
    assert raw[:1] in (b"{", b"[")
    if fmt == "classic":
        assert parsed["eventNotifications"][0]["realmId"] == US_REALM
    else:
        assert parsed[0]["intuitaccountid"] == US_REALM
    deliveries = (await emulator.admin("GET", "webhooks"))["deliveries"]
    assert deliveries
    assert all(d.get("status") == 200 for d in deliveries if "status" in d)


async def test_bad_forged_or_missing_signatures_are_refused(gateway: Gateway) -> None:
    body = (
        b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
        b'[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}'
    )
    assert await post_webhook(gateway, body, None) == 401
    assert await post_webhook(gateway, body, "not base64!") == 401
    forged = signature_of(body, "somebody-elses-token")
    assert await post_webhook(gateway, body, forged) == 401
    tampered = signature_of(body, VERIFIER)
    assert await post_webhook(gateway, body.replace(b'"1"', b'"2"'), tampered) == 401
    assert gateway.webhooks == []
    assert await post_webhook(gateway, body, signature_of(body, VERIFIER)) == 200
    assert len(gateway.webhooks) == 1


async def test_the_intuit_sdk_test_vector_verifies() -> None:
    body = (
        b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
        b'[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}'
    )
    assert (
        signature_of(body, "b5771f19b12ddb4bcdb9f08bdc50bc63878a")
        == "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="
    )


@pytest.mark.parametrize(
    "body", [b"not json", b'{"hello": "world"}', b"[]", b'[{"id": "1"}]', b"42"]
)
async def test_a_malformed_body_with_a_good_signature_is_a_400(
    gateway: Gateway, body: bytes
) -> None:
    assert await post_webhook(gateway, body, signature_of(body, VERIFIER)) == 400
    assert gateway.webhooks == []
