"""Invoice creation throughput for one QuickBooks realm at QBO's real limits (500 requests/min,
10/s, 10 concurrent): the real adapter (shared pacing, retries) vs a plain sequential client
(one request per invoice, no pacing, no retries), against the emulator, in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import (
    InMemoryTokenStore,
)
from application.errors import UpstreamUnavailableError
from bench.gateways import quickbooks_gateway
from bench.harness import Figure
from domain.connection import Connection, OAuthTokens, Vendor
from domain.customer import Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine
from emulators.quickbooks.app import EMULATOR, create_app
from emulators.quickbooks.config import EmulatorConfig, Limits

INVOICES = 300
CONCURRENCY = 20
CEILING_PER_MINUTE = 500
REALM = "9130354840911234"
COMPANY = "bench-company"


async def _emulator() -> TestServer:
    config = EmulatorConfig(limits=Limits(), webhook_url=None)  # QBO's real limits
    server = TestServer(create_app(config), host="127.0.0.1", port=0)
    await server.start_server()
    return server


async def _mint(session: aiohttp.ClientSession, base: str) -> dict[str, object]:
    async with session.post(f"{base}/_emulator/tokens", json={"realm_id": REALM}) as response:
        return dict(await response.json())


def _invoice(now: datetime) -> Invoice:
    return Invoice.request(
        id=InvoiceId(str(uuid.uuid4())),
        company_id=CompanyId(COMPANY),
        deal_id=DealId("1"),
        customer=Customer("Amy's Bird Sanctuary", quickbooks_id="1"),
        lines=[InvoiceLine("Consulting", Decimal(2), Decimal("150.00"), name="Services")],
        currency="USD",
        issue_date=now.date(),
        due_date=now.date() + timedelta(days=30),
        memo="",
        created_by=None,
        now=now,
    )


async def _adapter_run(session: aiohttp.ClientSession) -> tuple[float, int, int, int]:
    """(seconds, created, 429s reaching the caller, 429s answered by the emulator)."""
    server = await _emulator()
    base = str(server.make_url("")).rstrip("/")
    try:
        tokens = await _mint(session, base)
        now = datetime.now(UTC)
        store = InMemoryTokenStore()
        await store.save(
            Connection(
                company_id=COMPANY,
                vendor=Vendor.QUICKBOOKS,
                external_id=REALM,
                tokens=OAuthTokens(
                    str(tokens["access_token"]),
                    str(tokens["refresh_token"]),
                    now + timedelta(hours=1),
                ),
            )
        )
        gateway = quickbooks_gateway(session, store, base)
        await gateway.invoice_options(COMPANY)  # reads reference data once (cached)
        server.app[EMULATOR].throttle.reset()
        server.app[EMULATOR].requests.clear()
        drafts = [_invoice(now) for _ in range(INVOICES)]
        queue: asyncio.Queue[Invoice] = asyncio.Queue()
        for draft in drafts:
            queue.put_nowait(draft)
        created = 0
        throttled = 0

        async def worker() -> None:
            nonlocal created, throttled
            while not queue.empty():
                draft = queue.get_nowait()
                try:
                    await gateway.create_invoice(COMPANY, draft, request_id=f"inv-{draft.id}")
                    created += 1
                except UpstreamUnavailableError as exc:
                    if exc.metadata.get("vendor_code") in ("3001", "429"):
                        throttled += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        seen = sum(1 for r in server.app[EMULATOR].requests if r["status"] == 429)
        return elapsed, created, throttled, seen
    finally:
        await server.close()


async def _plain_run(session: aiohttp.ClientSession) -> tuple[float, int, int]:
    """(seconds, created, 429s): one POST per invoice, one after the other, nothing else."""
    server = await _emulator()
    base = str(server.make_url("")).rstrip("/")
    try:
        token = (await _mint(session, base))["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        body = {
            "CustomerRef": {"value": "1"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 300,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 2, "UnitPrice": 150},
                }
            ],
        }
        created = throttled = 0
        started = time.perf_counter()
        for n in range(INVOICES):
            async with session.post(
                f"{base}/v3/company/{REALM}/invoice",
                params={"minorversion": "75", "requestid": f"plain-{n}"},
                json=body,
                headers=headers,
            ) as response:
                await response.read()
                if response.status == 200:
                    created += 1
                elif response.status == 429:
                    throttled += 1
        return time.perf_counter() - started, created, throttled
    finally:
        await server.close()


async def run() -> list[Figure]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        seconds, created, throttled, seen = await _adapter_run(session)
        plain_seconds, plain_created, plain_throttled = await _plain_run(session)
    per_minute = created / seconds * 60
    return [
        Figure(
            "QuickBooks invoice creation throughput, fraction of the 500/min ceiling",
            per_minute / CEILING_PER_MINUTE,
            "x ceiling",
            goal=">= 0.9",
            note=(
                f"real adapter: {created}/{INVOICES} invoices in {seconds:.1f} s "
                f"({per_minute:.0f}/min), {CONCURRENCY} concurrent callers, emulator at QBO's "
                f"real limits; the shared limiter counts 10 starts per 1.2 s (500/min)"
            ),
        ),
        Figure(
            "QuickBooks invoices created out of 300",
            float(created),
            "invoices",
            goal="300",
            baseline=float(plain_created),
            ratio=created / plain_created if plain_created else None,
            note=(
                f"baseline: plain sequential client (one request per invoice, no pacing, no "
                f"retry) took {plain_seconds:.1f} s and got 429 for the rest"
            ),
        ),
        Figure(
            "QuickBooks 429s that reached the caller",
            float(throttled),
            "count",
            goal="0",
            baseline=float(plain_throttled),
            note=(
                f"adapter: {seen} 429s answered by the emulator in all (retried ones included); "
                f"baseline: every 429 reaches the plain client"
            ),
        ),
    ]


if __name__ == "__main__":
    for figure in asyncio.run(run()):
        print(figure)
