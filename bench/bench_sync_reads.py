"""QuickBooks read calls needed to apply 1,000 changed invoices (goal <= 3), against 1,000 for
a client that reads each invoice: the real adapter and ApplyAccountingChanges, the emulator
unthrottled (the figure is a count of calls, not a speed)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import (
    InMemoryTokenStore,
)
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.system_clock import SystemClock
from application.ports.connections import RateLimit
from application.sync import ApplyAccountingChanges
from bench.gateways import quickbooks_gateway
from bench.harness import Figure
from domain.connection import Connection, OAuthTokens, Vendor
from domain.customer import Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine
from domain.money import Money
from emulators.quickbooks.app import EMULATOR, create_app
from emulators.quickbooks.config import EmulatorConfig, Limits

INVOICES = 1000
REALM = "9130354840911234"
COMPANY = "bench-sync"
OPEN_LIMITS = Limits(
    requests_per_minute=10**9, requests_per_second=10**9, concurrent_requests=10**6
)


async def run() -> list[Figure]:
    server = TestServer(
        create_app(EmulatorConfig(limits=OPEN_LIMITS, webhook_url=None)), host="127.0.0.1"
    )
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    emulator = server.app[EMULATOR]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/_emulator/tokens", json={"realm_id": REALM}) as resp:
                minted = await resp.json()
            now = datetime.now(UTC)
            tokens = InMemoryTokenStore()
            await tokens.save(
                Connection(
                    COMPANY,
                    Vendor.QUICKBOOKS,
                    REALM,
                    OAuthTokens(
                        minted["access_token"], minted["refresh_token"], now + timedelta(hours=1)
                    ),
                )
            )
            gateway = quickbooks_gateway(
                session,
                tokens,
                base,
                limit=RateLimit(per_minute=10**6, per_second=10**4, concurrent=50),
            )
            uow = InMemoryUnitOfWorkFactory()
            semaphore = asyncio.Semaphore(20)

            async def one() -> None:
                invoice = Invoice.request(
                    id=InvoiceId(str(uuid.uuid4())),
                    company_id=CompanyId(COMPANY),
                    deal_id=DealId("1"),
                    customer=Customer("Amy's Bird Sanctuary", quickbooks_id="1"),
                    lines=[InvoiceLine("Work", Decimal(1), Decimal(100), name="Services")],
                    currency="USD",
                    issue_date=now.date(),
                    due_date=now.date() + timedelta(days=30),
                    memo=None,
                    created_by=None,
                    now=now,
                )
                async with semaphore:
                    created = await gateway.create_invoice(
                        COMPANY, invoice, request_id=f"inv-{invoice.id}"
                    )
                    invoice.confirm_created(
                        created.id, created.doc_number, created.sync_token, created.total, now
                    )
                    async with uow() as tx:
                        await tx.invoices.add(invoice)
                        await tx.commit()
                    async with session.post(
                        f"{base}/_emulator/companies/{REALM}/payments",
                        json={"invoice_id": created.id, "amount": "40"},
                    ) as paid:
                        paid.raise_for_status()

            await asyncio.gather(*(one() for _ in range(INVOICES)))
            ids = [i.quickbooks_id or "" for i in uow.store.invoices.values()]
            emulator.requests.clear()
            apply = ApplyAccountingChanges(uow, gateway, tokens, SystemClock())
            read, changed = await apply.apply(COMPANY, ids)
            calls = [r for r in emulator.requests if r["method"] == "GET" or "query" in r["path"]]
    finally:
        await server.close()
    partly_paid = sum(
        1 for i in uow.store.invoices.values() if i.amount_paid == Money.of("40", "USD")
    )
    return [
        Figure(
            "QuickBooks read calls to apply 1,000 changed invoices",
            len(calls),
            "calls",
            goal="<= 3",
            baseline=float(INVOICES),
            ratio=len(calls) / INVOICES,
            note=f"{read} read, {changed} changed, {partly_paid} now partially paid; baseline: "
            "one read per invoice",
        )
    ]
