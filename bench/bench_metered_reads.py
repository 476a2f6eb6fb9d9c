"""Metered QuickBooks reads (CorePlus) per connected company per month (issue 15): a 30-day
month on the QuickBooks emulator's clock, moved 5 minutes at a time, for a company at the
issue's typical load (the form opened 40 times, 20 invoices created, 15 payments and 5 voids or
edits made in QuickBooks) and for an idle one (connected, no invoices).

What runs is the service's own code, wired as the composition root wires it: the real
QuickBooks adapter over HTTP to the emulator, the use cases behind the form (PrepareInvoice,
CreateInvoice) and the worker's jobs, called at the times their schedule gives: webhook notices
applied (ProcessChangeNotices) as they arrive, CDC catch-up (CatchUpCompany) once a day each,
RecordOverdueInvoices every hour, the sweep every tick. Persistence is in memory (what
QuickBooks is asked does not depend on the database) and the per-realm pacing is opened up (it
spaces calls, it does not change their number). The figures are the emulator's meter; the
service's Prometheus counter must agree with it by kind.

    python -m bench metered_reads
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmGateway
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.in_memory.views import InMemoryInvoiceViews
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.quickbooks.webhook_payloads import notices_from_payload
from adapters.system_clock import FrozenClock
from application.auth import Principal
from application.commands import (
    AddressInput,
    CreateInvoiceCommand,
    CustomerInput,
    DealRef,
    InvoiceInput,
    LineInput,
)
from application.invoicing.create import CreateInvoice
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.follow_up import FollowUpOnDeal
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.stored import InvoiceAnswers
from application.ports.connections import RateLimit
from application.ports.crm import CrmUser, Deal, DealProduct
from application.sync import (
    CATCH_UP_EVERY,
    ApplyAccountingChanges,
    CatchUpCompany,
    ProcessChangeNotices,
    RecordChangeNotices,
    RecordOverdueInvoices,
    SweepStuckCreations,
    due_for_catch_up,
)
from application.timeline import UpdateDealTimeline
from application.visibility import DealVisibility
from bench.gateways import CLIENT_ID, quickbooks_gateway
from bench.harness import Figure
from domain.connection import Connection, OAuthTokens, Vendor
from domain.customer import Address
from domain.field_mapping import DealSnapshot
from emulators.quickbooks.app import create_app
from emulators.quickbooks.config import EmulatorConfig, Limits
from entrypoints.metrics import Metrics

NAME = "metered_reads"
PREFIX = "Metered QuickBooks reads a month"  # every figure of this bench starts so
START = datetime(2026, 4, 1, tzinfo=UTC)  # a 30-day month
DAYS = 30
TICK = timedelta(minutes=5)  # the worker's CDC cron (DEALBOOKS_CDC_INTERVAL_MINUTES=5)
OVERDUE_MINUTE = 10  # the hourly overdue job runs at :07, so in the tick that ends at :10
TYPICAL, IDLE = "1001", "1002"
TYPICAL_REALM, IDLE_REALM = "9130354840911234", "9130354850099001"
FORM_OPENS, CREATES, PAYMENTS, VOIDS, EDITS = 40, 20, 15, 3, 2
SEED = 15
OPEN_LIMITS = Limits(
    requests_per_minute=10**9, requests_per_second=10**9, concurrent_requests=10**6
)
USER = Principal(subject="bench-user", companies=frozenset({TYPICAL, IDLE}), is_admin=False)


@dataclass
class Event:
    at: datetime
    action: str  # open | create | pay | void | edit
    invoice: int = -1  # the n-th invoice created (pay, void, edit)


@dataclass
class Month:
    """What the simulated month did, besides the meter's counts."""

    ticks: int = 0
    catch_ups: int = 0
    overdue_runs: int = 0
    webhooks: int = 0
    notices: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)  # QuickBooks ids, in order
    draft: Any = None  # the form last opened
    states: Counter[str] = field(default_factory=Counter)  # the invoices' at the month's end


def schedule(rng: random.Random) -> list[Event]:
    """The typical company's month: forms opened in business hours on weekdays of the first
    three weeks, every other one ending in a create; payments 3-10 days and QuickBooks-side
    voids or edits 1-5 days after the invoice."""
    weekdays = [
        START + timedelta(days=d)
        for d in range(21)
        if (START + timedelta(days=d)).weekday() < 5  # Mon-Fri
    ]
    opens = sorted(
        rng.choice(weekdays) + timedelta(hours=rng.randint(9, 16), minutes=rng.randrange(60))
        for _ in range(FORM_OPENS)
    )
    events = [Event(at, "open") for at in opens]
    creates = opens[1::2][:CREATES]
    events += [Event(at + timedelta(minutes=2), "create") for at in creates]
    order = list(range(CREATES))
    rng.shuffle(order)
    paid, changed = order[:PAYMENTS], order[PAYMENTS : PAYMENTS + VOIDS + EDITS]
    for n in paid:
        events.append(Event(creates[n] + timedelta(days=rng.randint(3, 10)), "pay", n))
    for i, n in enumerate(changed):
        action = "void" if i < VOIDS else "edit"
        events.append(Event(creates[n] + timedelta(days=rng.randint(1, 5)), action, n))
    return sorted(events, key=lambda e: (e.at, e.action != "open"))


def a_deal(customer: str, items: list[str]) -> Deal:
    return Deal(
        id="42",
        title="Bench deal",
        currency="USD",
        value=Decimal("1500"),
        organization_id="5",
        person_id="9",
        snapshot=DealSnapshot(
            deal={"title": "Bench deal"},
            organization={
                "name": customer,
                "address": Address(line1="1 Main St", city="Springfield", country="US"),
            },
            person={"name": "Ana", "email": "ana@bench.test"},
        ),
        products=tuple(
            DealProduct(f"p{n}", name, Decimal(n + 1), Decimal(100 * (n + 1)))
            for n, name in enumerate(items)
        ),
    )


def installer(company_id: str) -> CrmUser:
    """The Pipedrive user who installed the app: the deal timeline writes in their language."""
    return CrmUser(
        id="7",
        name="Bench Admin",
        email="admin@bench.test",
        company_id=company_id,
        company_name=f"Company {company_id}",
        company_domain=f"c{company_id}",
        is_admin=True,
    )


class Service:
    """The service's pieces for the bench, wired as ``entrypoints.bootstrap`` wires them."""

    def __init__(
        self,
        accounting: QuickBooksAccountingGateway,
        tokens: InMemoryTokenStore,
        clock: Any,
        notices: InMemoryNoticeStore,
    ) -> None:
        self.clock = clock
        self.uow = InMemoryUnitOfWorkFactory()
        self.crm = InMemoryCrmGateway()
        self.jobs = InMemoryJobQueue()
        self.notices = notices  # the gateway's too: its reference data follows the notices
        views = InMemoryInvoiceViews(self.uow.store)
        answers = InvoiceAnswers(views, accounting, clock)
        self.timeline = UpdateDealTimeline(self.uow, self.crm, clock)
        self.follow_up = FollowUpOnDeal(self.uow, self.crm, clock, timeline=self.timeline)
        self.finish = FinishInvoiceCreation(self.uow, accounting, clock, jobs=self.jobs)
        visibility = DealVisibility(self.crm)  # the bench's callers are service tokens
        self.prepare = PrepareInvoice(self.uow, accounting, self.crm, clock, visibility)
        self.create = CreateInvoice(
            self.uow, accounting, clock, self.finish, answers, visibility, self.jobs
        )
        apply = ApplyAccountingChanges(self.uow, accounting, tokens, clock)
        self.record = RecordChangeNotices(InMemoryNoticeInbox(self.notices, self.jobs), clock)
        self.process = ProcessChangeNotices(self.notices, apply, clock)
        self.catch_up = CatchUpCompany(self.uow, accounting, self.notices, apply, clock)
        self.overdue = RecordOverdueInvoices(self.uow, accounting, tokens, clock)
        self.sweep = SweepStuckCreations(self.uow, self.jobs, clock)

    async def run_jobs(self) -> None:
        """The jobs queued so far, as the worker would run them."""
        while self.jobs.deferred:
            await self.run_jobs_once()

    async def run_jobs_once(self) -> None:
        """The first job queued, run as the worker runs it (the deal timeline's job writes to
        Pipedrive only, but leaving it undone would have the sweep queue it again each tick)."""
        if self.jobs.deferred:
            task, args = self.jobs.deferred.pop(0)
            if task == "apply_changes":
                await self.process.execute(args["realm_key"])
            elif task == "finish_creation":
                await self.finish.execute(args["company_id"], args["invoice_id"])
            elif task == "follow_up_on_deal":
                await self.follow_up.execute(args["company_id"], args["invoice_id"])
            elif task == "update_deal_timeline":
                await self.timeline.execute(args["company_id"], args["invoice_id"])


def create_command(draft: Any, request_id: str, user: Principal = USER) -> CreateInvoiceCommand:
    """The form as the user submits it: the draft, linked to the suggested QuickBooks customer."""
    linked = draft.linked_customer or (draft.suggestions[0] if draft.suggestions else None)
    customer = CustomerInput(
        display_name=draft.customer.display_name,
        email=draft.customer.email or "",
        address=AddressInput(line1="1 Main St", city="Springfield", country="US"),
        quickbooks_customer_id=linked.id if linked else "",
    )
    lines = tuple(
        LineInput(
            name=line.name,
            quantity=str(line.quantity),
            unit_price=str(line.unit_price),
            item_id=line.item_ref or "1",
        )
        for line in draft.lines
    )
    return CreateInvoiceCommand(
        DealRef(user, draft.company_id, draft.deal_id),
        InvoiceInput(customer=customer, lines=lines, currency=draft.currency),
        request_id,
    )


async def run() -> list[Figure]:
    started = time.perf_counter()
    received: list[Any] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/webhooks/quickbooks", webhook)
    hooks = TestServer(receiver, host="127.0.0.1")
    await hooks.start_server()
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        limits=OPEN_LIMITS,
        webhook_url=str(hooks.make_url("/webhooks/quickbooks")),
        webhook_aggregation_seconds=0.001,
    )
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    month = Month()
    metrics = Metrics()
    try:
        async with aiohttp.ClientSession() as session:

            async def admin(method: str, path: str, body: Any = None) -> Any:
                async with session.request(
                    method, f"{base}/_emulator/{path}", json=body
                ) as response:
                    assert response.status < 300, await response.text()
                    return await response.json()

            await admin("POST", "clock", {"now": START.isoformat(), "freeze": True})
            await admin(
                "POST", "seed", {"companies": [{"realm_id": IDLE_REALM, "name": "Idle Books"}]}
            )
            clock = FrozenClock(START)
            tokens = InMemoryTokenStore()
            notices = InMemoryNoticeStore()
            # The connect flow keeps each company's time zone (one CompanyInfo read, once in the
            # company's life, not in the month): the admin list gives it here, unmetered.
            zones = {
                c["realm_id"]: c["time_zone"]
                for c in (await admin("GET", "companies", None))["companies"]
            }
            for company, realm in ((TYPICAL, TYPICAL_REALM), (IDLE, IDLE_REALM)):
                minted = await admin("POST", "tokens", {"realm_id": realm})
                await tokens.save(
                    Connection(
                        company,
                        Vendor.QUICKBOOKS,
                        realm,
                        OAuthTokens(
                            minted["access_token"],
                            minted["refresh_token"],
                            START + timedelta(seconds=int(minted["expires_in"])),
                            START + timedelta(seconds=int(minted["x_refresh_token_expires_in"])),
                        ),
                        connected_at=START,
                        time_zone=zones[realm],
                    )
                )
            accounting = quickbooks_gateway(
                session,
                tokens,
                base,
                limit=RateLimit(per_minute=10**6, per_second=10**4, concurrent=50),
                clock=clock,
                count_metered_read=metrics.count_quickbooks_read,
                notices=notices,
            )
            service = Service(accounting, tokens, clock, notices)
            customers = await admin("GET", f"companies/{TYPICAL_REALM}/entities/Customer")
            items = await admin("GET", f"companies/{TYPICAL_REALM}/entities/Item")
            names = [i["Name"] for i in items["items"] if i.get("Active") and i.get("Type")][:2]
            service.crm.users[TYPICAL] = installer(TYPICAL)
            service.crm.add_deal(
                TYPICAL, a_deal(customers["items"][0]["DisplayName"], names or ["Services"])
            )
            await admin("DELETE", "meter")  # what setting up cost is not the month's

            events = schedule(random.Random(SEED))
            end = START + timedelta(days=DAYS)
            while clock.now() < end:  # ticks at 00:00, 00:05 ... 23:55 of every day
                if month.ticks:
                    clock.advance(TICK)
                    await admin("POST", "clock", {"advance_seconds": TICK.total_seconds()})
                now = clock.now()
                if now >= end:
                    break
                month.ticks += 1
                acted = False
                while events and events[0].at <= now:
                    await act(events.pop(0), service, admin, month)
                    acted = True
                if acted:
                    await admin("POST", "webhooks/flush", {"timeout": 5})
                    for payload in received:
                        delivered = notices_from_payload(payload)
                        month.webhooks += 1
                        month.notices += await service.record.execute(delivered)
                    received.clear()
                await service.run_jobs()
                await service.sweep.execute()
                await service.run_jobs()
                # The cdc cron queues the companies due in this tick (once a day each).
                due = due_for_catch_up((TYPICAL, IDLE), now, tick=TICK, every=CATCH_UP_EVERY)
                for company in due:
                    await service.catch_up.execute(company)
                    month.catch_ups += 1
                if now.minute == OVERDUE_MINUTE:
                    await service.overdue.execute()
                    month.overdue_runs += 1
            meter = await admin("GET", "meter?month=2026-04")
            month.states.update(i.state.name for i in service.uow.store.invoices.values())
    finally:
        await server.close()
        await hooks.close()
    return figures(meter, metrics, month, time.perf_counter() - started)


async def act(event: Event, service: Service, admin: Any, month: Month) -> None:
    month.actions[event.action] += 1
    if event.action == "open":
        month.draft = await service.prepare.execute(DealRef(USER, TYPICAL, "42"))
    elif event.action == "create":  # submitting the form opened 2 minutes before
        view = await service.create.execute(
            create_command(month.draft, f"bench-{len(month.created)}")
        )
        assert view.quickbooks_id, view
        month.created.append(view.quickbooks_id)
    elif event.action == "pay":
        invoice_id = month.created[event.invoice]
        await admin("POST", f"companies/{TYPICAL_REALM}/payments", {"invoice_id": invoice_id})
    elif event.action in ("void", "edit"):
        invoice_id = month.created[event.invoice]
        edit = {"CustomerMemo": {"value": "Changed in QuickBooks"}}
        body = edit if event.action == "edit" else {}
        path = f"companies/{TYPICAL_REALM}/invoices/{invoice_id}/"
        await admin("POST", path + ("void" if event.action == "void" else "update"), body)


def by_kind(meter: dict[str, Any], realm: str) -> dict[str, int]:
    for app in meter["apps"]:
        for row in app["realms"]:
            if row["realm_id"] == realm:
                return {
                    k: int(v["calls"]) for k, v in row["kinds"].items() if v["tier"] == "coreplus"
                }
    return {}


def counted(metrics: Metrics) -> dict[str, int]:
    return {
        s.labels["kind"]: int(s.value)
        for m in metrics.registry.collect()
        if m.name == "dealbooks_quickbooks_metered_reads"
        for s in m.samples
        if s.name.endswith("_total") and s.value
    }


def figures(meter: dict[str, Any], metrics: Metrics, month: Month, seconds: float) -> list[Figure]:
    typical, idle = by_kind(meter, TYPICAL_REALM), by_kind(meter, IDLE_REALM)
    both = Counter(typical) + Counter(idle)
    service = counted(metrics)
    if dict(both) != service:
        raise AssertionError(f"the service counted {service}, the emulator billed {dict(both)}")

    def breakdown(kinds: dict[str, int]) -> str:
        return ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))

    done = month.actions
    load = (
        f"{done['open']} form opens ({done['create']} ending in a create), "
        f"{done['pay']} payments, {done['void']} voids and {done['edit']} edits in QuickBooks"
    )
    runs = (
        f"{month.ticks:,} ticks of 5 min: {month.catch_ups:,} CDC catch-ups (both companies), "
        f"{month.overdue_runs} overdue runs, {month.webhooks} webhook deliveries "
        f"({month.notices} notices); the invoices at the end: "
        + ", ".join(f"{n} {state}" for state, n in sorted(month.states.items()))
    )
    out = [
        Figure(
            f"{PREFIX}, typical company",
            sum(typical.values()),
            "reads",
            goal="<= 300",
            note=f"{load}; by kind: {breakdown(typical)}; {runs}",
        ),
        Figure(
            f"{PREFIX}, idle company",
            sum(idle.values()),
            "reads",
            goal="<= 31",
            note=f"connected, no invoices; by kind: {breakdown(idle)}",
        ),
    ]
    for label, kinds in (("typical", typical), ("idle", idle)):
        out += [
            Figure(f"{PREFIX}, {label} company: {kind}", n, "reads")
            for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])
        ]
    out.append(
        Figure(
            f"{PREFIX}: bench run time",
            seconds,
            "s",
            note="one simulated 30-day month on the emulator's clock; the service's "
            "dealbooks_quickbooks_metered_reads_total agreed with the emulator's meter by kind",
        )
    )
    return out
