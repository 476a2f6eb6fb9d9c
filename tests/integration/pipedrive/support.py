"""Driving the Pipedrive emulator from adapter tests: start it on 127.0.0.1:0, use its admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import InMemoryDistributedLock, InMemoryRateLimiter
from adapters.pipedrive.client import PIPEDRIVE, PipedriveClient
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.oauth import PipedriveOAuthEndpoint
from adapters.system_clock import SystemClock
from adapters.vendor_http.client import VendorHttp
from adapters.vendor_http.tokens import TokenProvider
from application.ports.connections import DistributedLock, RateLimiter, TokenStore
from domain.connection import Connection, OAuthTokens, Vendor
from emulators.pipedrive.app import create_app
from emulators.pipedrive.config import EmulatorConfig
from emulators.pipedrive.state import EMULATOR_KEY, Emulator

CLIENT_ID = "dealbooks-test-client"
CLIENT_SECRET = "dealbooks-test-secret"

ORG_ADDRESS = {
    "value": "Friedrichstraße 68, 10117 Berlin, Germany",
    "street_number": "68",
    "route": "Friedrichstraße",
    "locality": "Berlin",
    "admin_area_level_1": "Berlin",
    "country": "Germany",
    "postal_code": "10117",
    "formatted_address": "Friedrichstraße 68, 10117 Berlin, Germany",
}
DELIVERY_ADDRESS = {
    "value": "12 Rue de Rivoli, 75004 Paris, France",
    "street_number": "12",
    "route": "Rue de Rivoli",
    "locality": "Paris",
    "country": "France",
    "postal_code": "75004",
}

# One company: an organization with an address and a custom VAT field, a person with two emails,
# a deal with products, a deal-level discount and custom monetary/address fields, and a bare deal.
SEED: dict[str, Any] = {
    "company": {"name": "Contract Test GmbH", "domain": "contract-test", "default_currency": "EUR"},
    "users": [{"name": "Ada Admin", "email": "ada@contract-test.test", "is_admin": True}],
    "pipelines": [
        {"name": "Sales", "stages": ["Qualified", "Proposal made", "Negotiations started"]},
        {"name": "Renewals", "stages": ["Renewal due", "Renewed"]},
    ],
    "fields": {
        "organization": [{"name": "VAT number", "field_type": "varchar"}],
        "deal": [
            {"name": "Contract value", "field_type": "monetary"},
            {"name": "Delivery address", "field_type": "address"},
        ],
    },
    "organizations": [
        {"name": "Globex GmbH", "address": ORG_ADDRESS, "custom_fields": {"VAT number": "DE123"}}
    ],
    "persons": [
        {
            "name": "Greta Weber",
            "org_index": 0,
            "emails": [
                {"value": "greta@home.example", "primary": False, "label": "home"},
                {"value": "greta.weber@globex.example", "primary": True, "label": "work"},
            ],
        }
    ],
    "deals": [
        {
            "title": "Website relaunch",
            "currency": "EUR",
            "value": 8216,
            "org_index": 0,
            "person_index": 0,
            "custom_fields": {
                "Contract value": {"value": 12000.5, "currency": "EUR"},
                "Delivery address": DELIVERY_ADDRESS,
            },
            "products": [
                {
                    "name": "Web design (days)",
                    "item_price": 800,
                    "quantity": 10,
                    "tax": 19,
                    "tax_method": "exclusive",
                },
                {
                    "name": "Hosting (year)",
                    "item_price": 240,
                    "quantity": 1,
                    "discount": 10,
                    "discount_type": "percentage",
                    "tax": 19,
                    "tax_method": "exclusive",
                    "comments": "First year",
                },
            ],
            "discounts": [{"description": "Loyalty 5%", "amount": 5, "type": "percentage"}],
        },
        {"title": "Bare deal", "currency": "USD", "value": 0},
    ],
}


@dataclass
class EmulatorHandle:
    """A running emulator and an HTTP session to reach it."""

    base_url: str
    emulator: Emulator
    http: aiohttp.ClientSession

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, f"{self.base_url}/_emulator{path}", json=body) as r:
            assert r.status < 400, (r.status, await r.text())
            return await r.json()

    async def seed(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.admin("POST", "/seed", payload or SEED)
        return result

    async def mint(self, company_id: int, **extra: Any) -> dict[str, Any]:
        token: dict[str, Any] = await self.admin(
            "POST", "/tokens", {"company_id": company_id, **extra}
        )
        return token

    async def requests(self, path: str | None = None, method: str | None = None) -> list[Any]:
        query = []
        if path:
            query.append(f"path={path}")
        if method:
            query.append(f"method={method}")
        suffix = "?" + "&".join(query) if query else ""
        log: list[Any] = (await self.admin("GET", f"/requests{suffix}"))["requests"]
        return log

    async def fault(self, **spec: Any) -> None:
        await self.admin("POST", "/faults", spec)

    async def api_get(self, token: str, path: str) -> Any:
        async with self.http.get(
            f"{self.base_url}{path}", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            return await r.json()


@asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[EmulatorHandle]:
    config = config or EmulatorConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed_demo=False
    )
    server = TestServer(create_app(config), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield EmulatorHandle(
                base_url=str(server.make_url("")).rstrip("/"),
                emulator=server.app[EMULATOR_KEY],
                http=http,
            )
    finally:
        await server.close()


def make_gateway(
    session: aiohttp.ClientSession,
    token_store: TokenStore,
    oauth_url: str,
    *,
    lock: DistributedLock | None = None,
    limiter: RateLimiter | None = None,
    backoff_base: float = PIPEDRIVE.backoff_base,
    timeout: aiohttp.ClientTimeout = PIPEDRIVE.timeout,
) -> PipedriveCrmGateway:
    """The real adapter, wired as the composition root wires it."""
    clock = SystemClock()
    oauth = PipedriveOAuthEndpoint(session, oauth_url, CLIENT_ID, CLIENT_SECRET)
    tokens = TokenProvider(oauth, token_store, lock or InMemoryDistributedLock(), clock)
    rules = replace(PIPEDRIVE, backoff_base=backoff_base, timeout=timeout)
    http = VendorHttp(session, tokens, limiter or InMemoryRateLimiter(), clock, rules)
    return PipedriveCrmGateway(PipedriveClient(http), clock)


def connection_from_token(
    token: dict[str, Any], *, now: datetime | None = None, expires_in: float | None = None
) -> Connection:
    """The Connection an install of ``token`` (from POST /_emulator/tokens) would store."""
    now = now or datetime.now(UTC)
    seconds = token["expires_in"] if expires_in is None else expires_in
    company_id = str(token["company_id"])
    return Connection(
        company_id=company_id,
        vendor=Vendor.PIPEDRIVE,
        external_id=company_id,
        tokens=OAuthTokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            access_expires_at=now + timedelta(seconds=seconds),
            refresh_expires_at=now + timedelta(days=60),
        ),
        display_name="Contract Test GmbH",
        api_domain=token["api_domain"],
        connected_by=str(token["user_id"]),
        connected_at=now,
        updated_at=now,
        user_id=str(token["user_id"]),
    )
