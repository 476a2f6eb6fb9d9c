"""Every Pipedrive call dealbooks makes is within the scopes it asks for, and each scope it asks
for is needed by some call: the real adapter against the emulator, which refuses an operation
outside its token's scopes with 403 "Scope and URL mismatch", from the ``security`` of the
operation in Pipedrive's OpenAPI files, as Pipedrive does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import structlog
from yarl import URL

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.oauth import PipedriveAuthorizer
from adapters.pipedrive.scopes import PIPEDRIVE_SCOPES, missing_scopes
from adapters.system_clock import SystemClock
from application.errors import ApplicationError
from application.ports.crm import CrmWebhook, DealInvoiceTotals
from emulators.pipedrive.config import DEFAULT_SCOPES, EmulatorConfig
from tests.integration.pipedrive.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    EmulatorHandle,
    connection_from_token,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration

HOOK = CrmWebhook(
    event_action="delete",
    event_object="organization",
    url="https://dealbooks.example/webhooks/pipedrive",
    http_auth_user="dealbooks",
    http_auth_password="a-webhook-password",
    name="dealbooks: delete.organization",
)


TOTALS = DealInvoiceTotals("EUR", Decimal("100.5"), Decimal(0), Decimal("100.5"), "Open")


@dataclass
class Seeded:
    handle: EmulatorHandle
    session: aiohttp.ClientSession
    company_id: str
    user_id: str
    deal_id: str


@pytest.fixture
async def seeded() -> AsyncIterator[Seeded]:
    async with running_emulator() as handle, aiohttp.ClientSession() as session:
        found = await handle.seed()
        yield Seeded(
            handle,
            session,
            str(found["company_id"]),
            str(found["users"][0]["id"]),
            str(found["deals"][0]),
        )


async def gateway_with(seeded: Seeded, scopes: Iterable[str]) -> PipedriveCrmGateway:
    """The real adapter on a token granted exactly ``scopes``."""
    token = await seeded.handle.mint(int(seeded.company_id), scopes=list(scopes))
    assert token["scope"] == ",".join(scopes)
    store = InMemoryTokenStore()
    await store.save(connection_from_token(token))
    return make_gateway(seeded.session, store, seeded.handle.base_url)


SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def every_call(
    seeded: Seeded, gateway: PipedriveCrmGateway
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Each method of the CRM port the service uses, called as the service calls it."""
    company, deal = seeded.company_id, seeded.deal_id

    async def webhooks() -> None:
        added = await gateway.add_webhook(company, HOOK)
        await gateway.list_webhooks(company)
        await gateway.delete_webhook(company, added.id)

    async def deal_fields() -> None:
        keys = await gateway.ensure_deal_fields(company, None)
        await gateway.set_deal_fields(company, deal, keys, TOTALS)

    return {
        "get_deal": lambda: gateway.get_deal(company, deal),
        "deal_parties": lambda: gateway.deal_parties(company, deal),
        "won_deals": lambda: gateway.won_deals(company, SINCE, SINCE + timedelta(days=9999)),
        "won_deals_among": lambda: gateway.won_deals_among(company, [deal]),
        "deal_permitted_users": lambda: gateway.deal_permitted_users(company, deal),
        "list_permission_sets": lambda: gateway.list_permission_sets(company),
        "list_fields": lambda: gateway.list_fields(company),
        "list_pipelines": lambda: gateway.list_pipelines(company),
        "add_deal_note": lambda: gateway.add_deal_note(company, deal, "Invoice 1001 created"),
        "add_deal_activity": lambda: gateway.add_deal_activity(company, deal, "Invoice 1001 paid"),
        "deal_activities": lambda: gateway.deal_activities(company, deal),
        "deal_notes": lambda: gateway.deal_notes(company, deal),
        "current_user": lambda: gateway.current_user(company),
        "get_user": lambda: gateway.get_user(company, seeded.user_id),
        "webhooks": webhooks,
        "deal_fields": deal_fields,
    }


async def refused_calls(seeded: Seeded, scopes: Iterable[str]) -> dict[str, str]:
    """The calls that failed on a token with ``scopes``, and the error's reason."""
    gateway = await gateway_with(seeded, scopes)
    refused: dict[str, str] = {}
    for name, call in every_call(seeded, gateway).items():
        try:
            await call()
        except ApplicationError as exc:
            refused[name] = f"{exc.reason}: {exc.message}"
    return refused


async def scope_refusals(seeded: Seeded) -> list[str]:
    """The requests the emulator refused for want of a scope."""
    return [
        f"{r['method']} {r['path']}" for r in await seeded.handle.requests() if r["status"] == 403
    ]


async def test_every_call_dealbooks_makes_is_within_the_scopes_it_asks_for(
    seeded: Seeded,
) -> None:
    refused = await refused_calls(seeded, PIPEDRIVE_SCOPES)

    assert refused == {}
    assert await scope_refusals(seeded) == []


@pytest.mark.parametrize("left_out", list(PIPEDRIVE_SCOPES))
async def test_each_scope_dealbooks_asks_for_is_needed_by_some_call(
    seeded: Seeded, left_out: str
) -> None:
    refused = await refused_calls(seeded, [s for s in PIPEDRIVE_SCOPES if s != left_out])

    assert refused, f"nothing needs {left_out}: stop asking for it"
    assert all("Scope and URL mismatch" in why for why in refused.values()), refused
    assert await scope_refusals(seeded)


async def test_the_field_catalogue_needs_no_admin_scope(seeded: Seeded) -> None:
    gateway = await gateway_with(seeded, ["base", "deals:full", "contacts:read"])

    fields = await gateway.list_fields(seeded.company_id)

    assert {f.entity.value for f in fields} == {"organization", "person", "deal"}
    assert await scope_refusals(seeded) == []


async def test_creating_deal_fields_needs_admin_or_deal_fields_full_not_deals_full(
    seeded: Seeded,
) -> None:
    narrow = await gateway_with(seeded, ["base", "deals:full"])
    with pytest.raises(ApplicationError, match="Scope and URL mismatch"):
        await narrow.ensure_deal_fields(seeded.company_id, None)

    # Pipedrive's narrowest scope for it; dealbooks holds `admin` (webhooks), which covers it.
    fields_scope = await gateway_with(seeded, ["base", "deals:full", "deal-fields:full"])
    keys = await fields_scope.ensure_deal_fields(seeded.company_id, None)
    await fields_scope.set_deal_fields(seeded.company_id, seeded.deal_id, keys, TOTALS)


def test_the_demo_app_is_registered_with_exactly_the_scopes_dealbooks_asks_for() -> None:
    # The emulator grants these to every install: the e2e, browser and resilience suites then
    # run every feature on them, and a call outside them fails there too.
    assert sorted(DEFAULT_SCOPES) == sorted(PIPEDRIVE_SCOPES)


def test_an_install_lacking_a_scope_is_named() -> None:
    assert (
        missing_scopes(
            ["base", "deals:full", "contacts:read", "users:read", "admin", "activities:full"]
        )
        == []
    )
    assert missing_scopes(["base", "deals:read"]) == [
        "deals:full",
        "contacts:read",
        "users:read",
        "admin",
        "activities:full",
    ]


async def test_an_install_granted_fewer_scopes_says_which_are_missing() -> None:
    callback = "https://dealbooks.example/oauth/pipedrive/callback"
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        callback_url=callback,
        auto_approve=True,
        scopes=("base", "deals:full"),  # a Developer Hub registration that lacks three
    )
    async with running_emulator(config) as handle, aiohttp.ClientSession() as session:
        await handle.seed()
        consent = await session.get(
            f"{handle.base_url}/oauth/authorize",
            params={"client_id": CLIENT_ID, "redirect_uri": callback, "state": "s1"},
            allow_redirects=False,
        )
        code = URL(consent.headers["Location"]).query["code"]
        authorizer = PipedriveAuthorizer(
            session,
            SystemClock(),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=callback,
            oauth_url=handle.base_url,
        )
        with structlog.testing.capture_logs() as logs:
            install = await authorizer.exchange_code(code)

    assert install.scopes == ("base", "deals:full")
    (missing,) = [e for e in logs if e["event"] == "pipedrive.scopes_missing"]
    assert missing["missing"] == ["contacts:read", "users:read", "admin", "activities:full"]
