"""Bulk invoicing (BatchCreateInvoices) at QuickBooks' batch ceiling: the service in this process
(gRPC, Postgres, the real QuickBooks adapter and its shared limiter, the in-process worker) and
the QuickBooks emulator at QuickBooks' real limits (30 items a batch, 40 batch calls a minute per
realm, 500 calls a minute, 10 a second), two realms in parallel.

Two runs:
- the issue's: 600 deals over two realms -> exactly 600 invoices (lost, duplicates, 429s);
- the ceiling: 2,400 deals per realm (80 full batch calls, twice a minute's 40), sent as three
  BatchCreateInvoices calls per realm at once (990, 990 and 420 requests). A rolling limit of 40
  a minute lets a minute's calls through at once, so the sustained rate is the run's second
  minute: the invoices QuickBooks admitted 60 to 120 s after the first batch call, against its
  ceiling of 40 x 30 = 1,200 invoices a minute per realm.

``DEALBOOKS_BENCH_DATABASE_URL`` (an empty database) replaces the embedded Postgres.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncpg
import grpc

from adapters.postgres.embedded import EmbeddedPostgres
from bench.harness import Figure
from bench.server import TOKEN
from dealbooks.v1 import batch_pb2, batch_pb2_grpc, customer_pb2, invoice_pb2
from dealbooks.v1 import invoice_service_pb2 as invoice_pb
from emulators.quickbooks.app import EMULATOR
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import load_settings, parse_api_tokens

NAME = "bulk"
PREFIX = "Bulk invoicing"
SECOND_COMPANY = "13000002"
SECOND_REALM = "9130354840933333"
REALMS = {DEMO_COMPANY: US_REALM, SECOND_COMPANY: SECOND_REALM}
CUSTOMER = "Bulk Buyer Ltd"
CEILING_PER_MINUTE = 40 * 30  # batch calls a minute per realm x items a call (reference §1.7)
ISSUE_DEALS = 300  # per realm: 600 over two
CEILING_DEALS = 2400  # per realm: 80 batch calls
#: Per BatchCreateInvoices call: a multiple of 30, so that every QuickBooks batch is full (a
#: call's last batch holds what is left of it: 1,000 requests would make 33 full ones and one
#: of 10, which costs a whole batch call of the 40 a minute).
MAX_REQUESTS = 990
MD = (("authorization", f"Bearer {TOKEN}"),)


@dataclass
class BatchLog:
    """When the emulator admitted each batch call, per realm, and the 429s it answered."""

    admitted: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def clear(self) -> None:
        self.admitted.clear()
        self.refused.clear()


def _watch(emulators: Emulators) -> BatchLog:
    runner = emulators._runners["quickbooks"]  # the emulator's own throttle, only watched
    throttle = runner.app[EMULATOR].throttle
    log = BatchLog()
    enter = throttle.enter

    def counted(realm_id: str, *, batch: bool = False) -> bool:
        admitted = enter(realm_id, batch=batch)
        if not admitted:
            log.refused[realm_id] += 1
        elif batch:
            log.admitted[realm_id].append(time.monotonic())
        return admitted

    setattr(throttle, "enter", counted)  # noqa: B010 (an instance's method, wrapped)
    return log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _requests(
    company: str, customer_id: str, deals: range, run: str
) -> list[batch_pb2.BatchCreateInvoicesRequest]:
    customer = customer_pb2.Customer(display_name=CUSTOMER, quickbooks_customer_id=customer_id)
    items = [
        invoice_pb.CreateInvoiceRequest(
            parent=f"companies/{company}/deals/{deal}",
            request_id=f"{run}-{company}-{deal}",
            invoice=invoice_pb2.Invoice(
                customer=customer,
                currency_code="USD",
                lines=[
                    invoice_pb2.LineItem(
                        name="Services", quantity="2", unit_price=f"{100 + deal % 97}.10"
                    )
                ],
            ),
        )
        for deal in deals
    ]
    return [
        batch_pb2.BatchCreateInvoicesRequest(
            parent=f"companies/{company}", requests=items[n : n + MAX_REQUESTS]
        )
        for n in range(0, len(items), MAX_REQUESTS)
    ]


@dataclass
class Outcome:
    answers: int = 0
    opened: int = 0
    unavailable: int = 0  # errors a caller would see as UNAVAILABLE (throttling included)
    other_errors: int = 0
    creating: int = 0


async def _stream(
    stub: batch_pb2_grpc.BulkInvoiceServiceStub, request: batch_pb2.BatchCreateInvoicesRequest
) -> Outcome:
    outcome = Outcome()
    async for answer in stub.BatchCreateInvoices(request, metadata=MD):
        outcome.answers += 1
        if answer.WhichOneof("result") == "error":
            if answer.error.code == "UNAVAILABLE":
                outcome.unavailable += 1
            else:
                outcome.other_errors += 1
        elif answer.invoice.state == invoice_pb2.INVOICE_STATE_OPEN:
            outcome.opened += 1
        elif answer.invoice.state == invoice_pb2.INVOICE_STATE_CREATING:
            outcome.creating += 1
    return outcome


async def _run(
    stub: batch_pb2_grpc.BulkInvoiceServiceStub,
    customers: dict[str, str],
    deals: int,
    run: str,
) -> tuple[dict[str, Outcome], float]:
    calls = {
        company: _requests(company, customers[company], range(1, deals + 1), run)
        for company in REALMS
    }
    started = time.monotonic()
    results = await asyncio.gather(
        *(_stream(stub, request) for company in REALMS for request in calls[company])
    )
    elapsed = time.monotonic() - started
    per_company: dict[str, Outcome] = {}
    index = 0
    for company in REALMS:
        total = Outcome()
        for _ in calls[company]:
            part = results[index]
            index += 1
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(part, name))
        per_company[company] = total
    return per_company, elapsed


async def _counts(
    emulators: Emulators, database_url: str, run: str
) -> dict[str, tuple[int, int, int, int]]:
    """Per company: invoices in QuickBooks made by this run, the service's invoices of the run,
    those OPEN, and the distinct QuickBooks ids among them."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        counts = {}
        for company, realm in REALMS.items():
            ids = await conn.fetch(
                "SELECT i.id, i.state, i.quickbooks_id FROM invoices i JOIN idempotency_keys k "
                "ON k.company_id = i.company_id AND k.resource_id = i.id "
                "WHERE i.company_id = $1 AND k.key LIKE $2",
                company,
                f"{run}-%",
            )
            ours = {str(r["id"]) for r in ids}
            state = await emulators.admin("quickbooks", "GET", f"companies/{realm}/invoices")
            in_qbo = sum(
                any(invoice_id in str(i.get("PrivateNote", "")) for invoice_id in ours)
                for i in state["invoices"]
            )
            opened = sum(str(r["state"]).lower() == "open" for r in ids)
            distinct = len({r["quickbooks_id"] for r in ids if r["quickbooks_id"]})
            counts[company] = (in_qbo, len(ids), opened, distinct)
        return counts
    finally:
        await conn.close()


def _sustained(admitted: list[float]) -> float:
    """Invoices QuickBooks admitted in the run's second minute (60 to 120 s after its first
    batch call): the first minute is a burst (a rolling minute lets its whole budget through
    at once), the second shows the rate that holds once the budget is spent."""
    if not admitted:
        return float("nan")
    start = admitted[0] + 60
    return 30.0 * sum(start <= t < start + 60 for t in admitted)


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="dealbooks-bulk-") as tmp:
        embedded = None
        database_url = os.environ.get("DEALBOOKS_BENCH_DATABASE_URL") or None
        if database_url is None:
            embedded = EmbeddedPostgres(Path(tmp) / "pg")
            database_url = await asyncio.to_thread(embedded.start)
        try:
            return await _bench(database_url)
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)


async def _bench(database_url: str) -> list[Figure]:
    http_port = _free_port()
    public_url = f"http://127.0.0.1:{http_port}"
    emulators = Emulators(public_url=public_url)  # QuickBooks' real limits
    await emulators.start()
    settings = replace(
        load_settings(),
        database_url=database_url,
        public_url=public_url,
        api_tokens=parse_api_tokens(f"{TOKEN}=*"),
    )
    settings = replace(
        settings,
        quickbooks=replace(settings.quickbooks, base_url=emulators.quickbooks_url),
        pipedrive=replace(settings.pipedrive, oauth_url=emulators.pipedrive_url),
    )
    service = Service(settings, grpc_port=0, http_port=http_port)
    await service.start()
    try:
        assert service.container is not None
        assert service.grpc is not None
        seeded = await emulators.admin(
            "quickbooks",
            "POST",
            "seed",
            companies=[
                {"realm_id": US_REALM, "customers": [{"DisplayName": CUSTOMER}]},
                {
                    "realm_id": SECOND_REALM,
                    "name": "Second Books (US)",
                    "country": "US",
                    "customers": [{"DisplayName": CUSTOMER}],
                },
            ],
        )
        first, second = (c["customers"][CUSTOMER] for c in seeded["companies"])
        customers = {DEMO_COMPANY: first, SECOND_COMPANY: second}
        await emulators.connect(service.container.gateways.token_store())
        await emulators.connect_quickbooks(
            service.container.gateways.token_store(), SECOND_REALM, SECOND_COMPANY
        )
        log = _watch(emulators)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
            stub = batch_pb2_grpc.BulkInvoiceServiceStub(channel)
            issue, issue_seconds = await _run(stub, customers, ISSUE_DEALS, "issue")
            issue_counts = await _counts(emulators, database_url, "issue")
            issue_refused = sum(log.refused.values())
            await asyncio.sleep(61)  # a fresh rolling minute for the ceiling run
            log.clear()
            ceiling, ceiling_seconds = await _run(stub, customers, CEILING_DEALS, "ceiling")
            ceiling_counts = await _counts(emulators, database_url, "ceiling")
    finally:
        await service.stop()
        await emulators.stop()
    return _figures(
        issue,
        issue_seconds,
        issue_counts,
        issue_refused,
        ceiling,
        ceiling_seconds,
        ceiling_counts,
        log,
    )


def _figures(
    issue: dict[str, Outcome],
    issue_seconds: float,
    issue_counts: dict[str, tuple[int, int, int, int]],
    issue_refused: int,
    ceiling: dict[str, Outcome],
    ceiling_seconds: float,
    ceiling_counts: dict[str, tuple[int, int, int, int]],
    log: BatchLog,
) -> list[Figure]:
    deals = ISSUE_DEALS * len(REALMS)
    in_qbo = sum(c[0] for c in issue_counts.values())
    opened = sum(c[2] for c in issue_counts.values())
    rates = {company: _sustained(log.admitted[realm]) for company, realm in REALMS.items()}
    worst = min(rates.values())
    ceiling_qbo = sum(c[0] for c in ceiling_counts.values())
    ceiling_deals = CEILING_DEALS * len(REALMS)
    caller_429s = sum(o.unavailable for o in (*issue.values(), *ceiling.values()))
    duplicates = max(0, in_qbo - deals) + max(0, ceiling_qbo - ceiling_deals)
    lost = (deals - opened) + (ceiling_deals - sum(c[2] for c in ceiling_counts.values()))
    calls = {company: len(log.admitted[realm]) for company, realm in REALMS.items()}
    return [
        Figure(
            f"{PREFIX}: invoices of 600 deals over two realms",
            float(in_qbo),
            "invoices",
            goal="600",
            note=(
                f"in QuickBooks; {opened} OPEN in the service, "
                f"{sum(c[3] for c in issue_counts.values())} distinct QuickBooks ids; "
                f"{issue_seconds:.1f} s for both realms at once; {issue_refused} 429s answered "
                "by the emulator (retried inside)"
            ),
        ),
        Figure(
            f"{PREFIX}: sustained invoices a minute per realm, fraction of the 1,200 ceiling",
            worst / CEILING_PER_MINUTE,
            "x ceiling",
            goal=">= 0.9",
            note=(
                f"{CEILING_DEALS} deals per realm, two realms at once, "
                f"{ceiling_seconds:.1f} s in all; per realm: "
                + ", ".join(
                    f"{company} {rates[company]:.0f} in its 2nd minute ({calls[company]} calls)"
                    for company in REALMS
                )
                + "; the invoices admitted 60 to 120 s after the realm's first batch call"
            ),
        ),
        Figure(
            f"{PREFIX}: 429s reaching the caller",
            float(caller_429s),
            "count",
            goal="0",
            note=(
                f"UNAVAILABLE answers in the streams; the emulator answered "
                f"{sum(log.refused.values())} 429s in the ceiling run (retried inside)"
            ),
        ),
        Figure(
            f"{PREFIX}: duplicate invoices",
            float(duplicates),
            "count",
            goal="0",
            note="QuickBooks invoices beyond one per deal, both runs",
        ),
        Figure(
            f"{PREFIX}: lost invoices",
            float(lost),
            "count",
            goal="0",
            note="deals without an OPEN invoice at the end of their run, both runs",
        ),
    ]


if __name__ == "__main__":
    for figure in asyncio.run(run()):
        print(figure)
