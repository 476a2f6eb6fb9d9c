"""The read workload of issue 13, the way the service is used: the bench's companies
(``bench.fleet``: 100 companies, 10 deals each) get about 10 invoices per deal through
CreateInvoice over gRPC (the public API, so the same bench runs on any version of the schema),
then 16 clients read random deals' invoices while 10 % of their calls are writes: half
CreateInvoice on a random deal, half a payment recorded in the QuickBooks emulator on a random
invoice, which reaches the service through the emulator's webhooks.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import grpc

from bench.harness import percentile
from dealbooks.v1 import customer_pb2, invoice_pb2, invoice_service_pb2, invoice_service_pb2_grpc

INVOICES_PER_DEAL = 10
SEED_CONCURRENCY = 32  # companies seeded at once; each one's creates follow one another
WRITE_SHARE = 0.10  # of every client's calls; half creates, half payments
PAYMENT = Decimal("1.00")
SEED = 13  # the same random choices in every run
#: The service catches up every connected company by CDC on this wall-clock period (its
#: ``cdc`` cron, every 5 minutes): a run it falls in does that work beside its own.
CDC_PERIOD = 300


@dataclass
class Deal:
    parent: str
    company: Company
    list_request: invoice_service_pb2.ListInvoicesRequest
    gets: list[invoice_service_pb2.GetInvoiceRequest] = field(default_factory=list)
    quickbooks_ids: list[str] = field(default_factory=list)


@dataclass
class Company:
    id: str
    realm: str
    customer: customer_pb2.Customer
    deals: list[Deal] = field(default_factory=list)


@dataclass
class Mix:
    """What one run of the mixed workload did."""

    reads: int = 0
    read_failures: int = 0
    creates: int = 0
    create_failures: int = 0
    payments: int = 0
    payment_failures: int = 0
    seconds: float = 0.0
    create_ms: list[float] = field(default_factory=list)
    cdc_tick: bool = False  # the service's CDC catch-up of every company was due meanwhile
    paid: dict[str, Decimal] = field(default_factory=dict)  # invoice name -> paid in the run

    @property
    def reads_per_second(self) -> float:
        return self.reads / self.seconds

    @property
    def writes(self) -> int:
        return self.creates + self.payments

    @property
    def write_failures(self) -> int:
        return self.create_failures + self.payment_failures

    def describe(self) -> str:
        said = f"{self.reads:,} reads ({self.read_failures} failed)"
        if self.writes or self.write_failures:
            said += (
                f", {self.writes:,} writes: {self.creates:,} creates, {self.payments:,} payments "
                f"({self.create_failures} + {self.payment_failures} failed), the creates' p50 "
                f"{percentile(self.create_ms, 50):.0f} ms, p99 "
                f"{percentile(self.create_ms, 99):.0f} ms"
            )
        if self.cdc_tick:
            said += "; the service's 5-minute CDC catch-up fell in this run"
        return said


class Workload:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        fleet: list[dict[str, Any]],
        metadata: tuple[tuple[str, str], ...],
        quickbooks_url: str,
    ) -> None:
        self._stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        self._metadata = metadata
        self._quickbooks_url = quickbooks_url
        self._numbers = itertools.count()
        self.companies = []
        for n, entry in enumerate(fleet):
            company = Company(
                entry["company"],
                entry["realm"],
                customer_pb2.Customer(
                    display_name=f"Bench Customer {n} Inc", email=f"billing@bench-{n}.test"
                ),
            )
            for deal_id in entry["deals"]:
                parent = f"companies/{company.id}/deals/{deal_id}"
                company.deals.append(
                    Deal(
                        parent,
                        company,
                        invoice_service_pb2.ListInvoicesRequest(parent=parent, page_size=20),
                    )
                )
            self.companies.append(company)
        self.deals = [deal for company in self.companies for deal in company.deals]

    @property
    def invoices(self) -> int:
        return sum(len(deal.gets) for deal in self.deals)

    async def _create(self, deal: Deal, prefix: str) -> invoice_pb2.Invoice:
        reply = await self._stub.CreateInvoice(
            invoice_service_pb2.CreateInvoiceRequest(
                parent=deal.parent,
                request_id=f"{prefix}-{next(self._numbers)}",
                invoice=invoice_pb2.Invoice(
                    customer=deal.company.customer,
                    currency_code="USD",
                    lines=[
                        invoice_pb2.LineItem(
                            name="Services", quantity="2", unit_price="150", item_id="1"
                        )
                    ],
                ),
            ),
            metadata=self._metadata,
        )
        invoice = reply.invoice
        if invoice.state != invoice_pb2.INVOICE_STATE_OPEN:
            raise RuntimeError(f"created as {invoice_pb2.InvoiceState.Name(invoice.state)}")
        deal.gets.append(invoice_service_pb2.GetInvoiceRequest(name=invoice.name))
        deal.quickbooks_ids.append(invoice.quickbooks_invoice_id)
        return invoice

    async def seed(self) -> tuple[float, int]:
        """INVOICES_PER_DEAL invoices on every deal, through CreateInvoice: the seconds taken
        and the creates that failed. A company's first create makes its QuickBooks customer;
        the others are linked to it, as a rep's are after the first invoice."""
        gate = asyncio.Semaphore(SEED_CONCURRENCY)
        failed = 0

        async def company_invoices(company: Company) -> None:
            nonlocal failed
            async with gate:
                for _ in range(INVOICES_PER_DEAL):
                    for deal in company.deals:
                        try:
                            invoice = await self._create(deal, "seed")
                        except (grpc.aio.AioRpcError, RuntimeError):
                            failed += 1
                            continue
                        if not company.customer.quickbooks_customer_id:
                            company.customer.quickbooks_customer_id = (
                                invoice.customer.quickbooks_customer_id
                            )

        started = time.perf_counter()
        await asyncio.gather(*(company_invoices(c) for c in self.companies))
        return time.perf_counter() - started, failed

    def get(self, deal: Deal, rng: random.Random) -> Awaitable[object]:
        return self._stub.GetInvoice(rng.choice(deal.gets), metadata=self._metadata)

    def list_page(self, deal: Deal, rng: random.Random) -> Awaitable[object]:
        return self._stub.ListInvoices(deal.list_request, metadata=self._metadata)

    async def mixed(
        self,
        read: Callable[[Deal, random.Random], Awaitable[object]],
        *,
        concurrency: int,
        seconds: float,
        name: str,
        writes: float = WRITE_SHARE,
    ) -> Mix:
        """``concurrency`` clients, each a loop of calls on random deals for ``seconds``:
        ``writes`` of them writes (half creates, half payments), the rest ``read``."""
        mix = Mix()
        deals = self.deals
        payments_url = f"{self._quickbooks_url}/_emulator/companies/{{}}/payments"

        async def client(rng: random.Random, http: aiohttp.ClientSession) -> None:
            while time.perf_counter() < deadline:
                deal = rng.choice(deals)
                dice = rng.random()
                if dice >= writes:
                    try:
                        await read(deal, rng)
                        mix.reads += 1
                    except grpc.aio.AioRpcError:
                        mix.read_failures += 1
                elif dice < writes / 2:
                    began = time.perf_counter()
                    try:
                        await self._create(deal, name)
                        mix.creates += 1
                        mix.create_ms.append((time.perf_counter() - began) * 1000)
                    except (grpc.aio.AioRpcError, RuntimeError):
                        mix.create_failures += 1
                else:
                    index = rng.randrange(len(deal.gets))
                    if await self._pay(http, payments_url, deal, index):
                        mix.payments += 1
                        invoice = deal.gets[index].name
                        mix.paid[invoice] = mix.paid.get(invoice, Decimal(0)) + PAYMENT
                    else:
                        mix.payment_failures += 1

        rngs = [random.Random(f"{SEED}-{name}-{n}") for n in range(concurrency)]
        async with aiohttp.ClientSession() as http:
            began = time.time()
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(client(rng, http) for rng in rngs))
            mix.seconds = time.perf_counter() - started
        mix.cdc_tick = int(began // CDC_PERIOD) != int((began + mix.seconds) // CDC_PERIOD)
        return mix

    @staticmethod
    async def _pay(http: aiohttp.ClientSession, url: str, deal: Deal, index: int) -> bool:
        """A payment recorded in QuickBooks (by a person, in its UI): the service hears of it
        through the emulator's webhooks only."""
        try:
            async with http.post(
                url.format(deal.company.realm),
                json={"invoice_id": deal.quickbooks_ids[index], "amount": str(PAYMENT)},
            ) as reply:
                await reply.read()
                return reply.status == 200
        except aiohttp.ClientError:
            return False

    async def unpaid(self, mixes: list[Mix]) -> int:
        """How many of the invoices paid in ``mixes`` do not show those payments through
        GetInvoice (once the service is idle: every webhook applied); should be 0."""
        expected: dict[str, Decimal] = {}
        for mix in mixes:
            for name, amount in mix.paid.items():
                expected[name] = expected.get(name, Decimal(0)) + amount
        missing = 0
        for name, amount in expected.items():
            reply = await self._stub.GetInvoice(
                invoice_service_pb2.GetInvoiceRequest(name=name), metadata=self._metadata
            )
            if Decimal(reply.invoice.totals.amount_paid.amount or "0") < amount:
                missing += 1
        return missing
