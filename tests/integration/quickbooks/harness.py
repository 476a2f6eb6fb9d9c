"""The real QuickBooks adapter against the emulator on 127.0.0.1:0, for contract, integration
and e2e tests: start the emulator, connect a company through its admin API, build the gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import (
    InMemoryDistributedLock,
    InMemoryRateLimiter,
    InMemoryTokenStore,
)
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.quickbooks.client import COOL_OFF_SECONDS, QUICKBOOKS, QuickBooksClient
from adapters.quickbooks.gateway import CDC_MAX_OBJECTS, QuickBooksAccountingGateway
from adapters.quickbooks.metering import MeteredReadCounter
from adapters.quickbooks.oauth import QuickBooksEndpoints, QuickBooksOAuth
from adapters.system_clock import SystemClock
from adapters.vendor_http.client import VendorHttp
from adapters.vendor_http.tokens import TokenProvider
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, RateLimit, RateLimiter, TokenStore
from application.ports.metering import ReadBudget
from application.ports.sync import NoticeStore
from domain.connection import Connection, OAuthTokens, Vendor
from domain.customer import Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine
from emulators.quickbooks.app import EMULATOR, Emulator, create_app
from emulators.quickbooks.config import EmulatorConfig, Limits

US_REALM = "9130354840911234"
INTL_REALM = "9130354840922468"
CLIENT_ID = "dealbooks-test-client"
CLIENT_SECRET = "dealbooks-test-secret"
VERIFIER = "test-verifier-token"
#: Loose pacing for functional tests; the limit tests and the benchmark use QBO's real ones.
LOOSE_LIMIT = RateLimit(per_minute=100_000, per_second=10_000, concurrent=50)


def emulator_config(**overrides: Any) -> EmulatorConfig:
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_verifier_token=VERIFIER,
        limits=Limits(
            requests_per_second=10_000, requests_per_minute=100_000, concurrent_requests=100
        ),
        refresh_grace_seconds=0,  # a superseded refresh token dies at once: races show up
        webhook_aggregation_seconds=0.01,
        webhook_retry_scale=0.001,
        hang_seconds=2,
        auto_approve=True,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@dataclass
class RunningEmulator:
    server: TestServer
    session: aiohttp.ClientSession

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def emulator(self) -> Emulator:
        return self.server.app[EMULATOR]

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.base_url}/_emulator/{path}", json=body
        ) as response:
            assert response.status < 300, await response.text()
            return await response.json()

    async def mint(self, realm: str = US_REALM) -> dict[str, Any]:
        return dict(await self.admin("POST", "tokens", {"realm_id": realm}))

    async def fault(self, **spec: Any) -> None:
        await self.admin("POST", "faults", spec)

    def requests(self, path_part: str = "", method: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.emulator.requests
            if path_part in r["path"] and (method is None or r["method"] == method)
        ]

    def invoices(self, realm: str = US_REALM) -> dict[str, Any]:
        company = self.emulator.store.company(realm)
        assert company is not None
        return dict(company.table("Invoice"))


@asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[RunningEmulator]:
    server = TestServer(create_app(config or emulator_config()), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningEmulator(server, session)
    finally:
        await server.close()


def connection_from(
    tokens: dict[str, Any], company_id: str, realm: str, *, now: datetime | None = None
) -> Connection:
    now = now or datetime.now(UTC)
    return Connection(
        company_id=company_id,
        vendor=Vendor.QUICKBOOKS,
        external_id=realm,
        tokens=OAuthTokens(
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            access_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
            refresh_expires_at=now + timedelta(seconds=int(tokens["x_refresh_token_expires_in"])),
        ),
        display_name="Test company",
        environment="sandbox",
        connected_at=now,
    )


async def connect(
    emulator: RunningEmulator, token_store: TokenStore, company_id: str, realm: str = US_REALM
) -> Connection:
    tokens = await emulator.mint(realm)
    return await token_store.save(connection_from(tokens, company_id, realm))


@dataclass
class Setup:
    """An emulator and the real gateway connected to it."""

    emulator: RunningEmulator
    gateway: QuickBooksAccountingGateway


@asynccontextmanager
async def connected(*companies: tuple[str, str]) -> AsyncIterator[Setup]:
    """An emulator and the real gateway, each (company, realm) of ``companies`` connected."""
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        for company_id, realm in companies:
            await connect(emulator, store, company_id, realm)
        yield Setup(emulator, make_gateway(emulator, store))


def make_gateway(
    emulator: RunningEmulator,
    token_store: TokenStore,
    *,
    session: aiohttp.ClientSession | None = None,
    lock: DistributedLock | None = None,
    limiter: RateLimiter | None = None,
    rate_limit: RateLimit = LOOSE_LIMIT,
    cool_off_seconds: float = COOL_OFF_SECONDS,
    count_metered_read: MeteredReadCounter | None = None,
    notices: NoticeStore | None = None,
    clock: Clock | None = None,
    budget: ReadBudget | None = None,
    cdc_max_objects: int = CDC_MAX_OBJECTS,
) -> QuickBooksAccountingGateway:
    """The real adapter, wired as the composition root wires it, with fast retries."""
    session = session or emulator.session
    clock = clock or SystemClock()
    endpoints = QuickBooksEndpoints.for_environment("sandbox", emulator.base_url)
    oauth = QuickBooksOAuth(session, endpoints, CLIENT_ID, CLIENT_SECRET)
    tokens = TokenProvider(oauth, token_store, lock or InMemoryDistributedLock(), clock)
    rules = replace(
        QUICKBOOKS,
        limit=rate_limit,
        backoff_base=0.01,
        backoff_cap=0.05,
        cool_off_seconds=cool_off_seconds,
    )
    http = VendorHttp(session, tokens, limiter or InMemoryRateLimiter(), clock, rules)
    client = QuickBooksClient(http, endpoints.api_base, count_metered_read, budget)
    return QuickBooksAccountingGateway(
        client,
        clock,
        notices or InMemoryNoticeStore(),
        app_base=endpoints.app_base,
        cdc_max_objects=cdc_max_objects,
    )


def invoice(
    customer_id: str,
    lines: Sequence[InvoiceLine] | None = None,
    *,
    currency: str = "USD",
    company: str = "3001",
    tax_by_quickbooks: bool = False,
    sales_tax_code_id: str | None = None,
) -> Invoice:
    """A new invoice of ``company`` for QuickBooks customer ``customer_id``, due in 14 days."""
    now = datetime.now(UTC)
    return Invoice.request(
        id=InvoiceId(str(uuid.uuid4())),
        company_id=CompanyId(company),
        deal_id=DealId("77"),
        customer=Customer("Someone", email="ap@someone.example", quickbooks_id=customer_id),
        lines=lines or [InvoiceLine("Work", Decimal(2), Decimal("125.50"), name="Services")],
        currency=currency,
        issue_date=now.date(),
        due_date=now.date() + timedelta(days=14),
        memo="",
        created_by="1",
        now=now,
        tax_by_quickbooks=tax_by_quickbooks,
        sales_tax_code_id=sales_tax_code_id,
    )
