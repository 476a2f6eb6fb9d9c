"""A month of 1,000 connected companies on one deployment (issue 15): metered QuickBooks reads
against the Builder tier's 500,000, jobs run, and what the service keeps.

The same service code and schedule as ``bench_metered_reads`` (the real QuickBooks adapter over
HTTP to the emulator, the form's use cases, the worker's jobs at their times, persistence in
memory), for a fleet: 100 companies at the typical load of that bench (each its own month,
drawn from its own seed) and 900 connected and quiet. 1 % of the webhook deliveries are lost
on the way; the daily catch-up must repair them. At the month's end every invoice's state is
compared with QuickBooks'.

    python -m bench fleet_month
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.quickbooks.webhook_payloads import notices_from_payload
from adapters.system_clock import FrozenClock
from application.auth import Principal
from application.commands import DealRef
from application.ports.connections import RateLimit
from application.sync import CATCH_UP_EVERY, due_for_catch_up
from bench.bench_metered_reads import (
    CREATES,
    DAYS,
    OPEN_LIMITS,
    OVERDUE_MINUTE,
    START,
    TICK,
    Event,
    Service,
    a_deal,
    create_command,
    installer,
    schedule,
)
from bench.gateways import CLIENT_ID, quickbooks_gateway
from bench.harness import Figure
from domain.connection import Connection, OAuthTokens, Vendor
from emulators.quickbooks.app import create_app
from emulators.quickbooks.config import EmulatorConfig
from entrypoints.metrics import Metrics

NAME = "fleet_month"
PREFIX = "Month of 1,000 companies"
TYPICAL, QUIET = 100, 900
LOSS = 0.01  # webhook deliveries lost
QUOTA = 500_000  # Builder tier, metered reads a month per workspace
FIRST_REALM = 9130354870000001
SEED = 15


@dataclass
class Tenant:
    company: str
    realm: str
    typical: bool
    created: list[str] = field(default_factory=list)  # QuickBooks ids, in order
    draft: Any = None


@dataclass
class Tally:
    jobs: Counter[str] = field(default_factory=Counter)
    deliveries: int = 0
    lost: int = 0


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
    metrics, tally, rng = Metrics(), Tally(), random.Random(SEED)
    tenants = [
        Tenant(str(5000 + n), str(FIRST_REALM + n), typical=n < TYPICAL)
        for n in range(TYPICAL + QUIET)
    ]
    try:
        async with aiohttp.ClientSession() as session:

            async def admin(method: str, path: str, body: Any = None) -> Any:
                async with session.request(
                    method, f"{base}/_emulator/{path}", json=body
                ) as response:
                    assert response.status < 300, await response.text()
                    return await response.json()

            await admin("POST", "clock", {"now": START.isoformat(), "freeze": True})
            specs = [
                {
                    "realm_id": t.realm,
                    "name": f"Fleet Books {t.company}",
                    "customers": [{"DisplayName": f"Client of {t.company}"}],
                }
                for t in tenants
            ]
            for at in range(0, len(specs), 100):
                await admin("POST", "seed", {"companies": specs[at : at + 100]})
            clock = FrozenClock(START)
            tokens, notices = InMemoryTokenStore(), InMemoryNoticeStore()
            for t in tenants:
                minted = await admin("POST", "tokens", {"realm_id": t.realm})
                await tokens.save(
                    Connection(
                        t.company,
                        Vendor.QUICKBOOKS,
                        t.realm,
                        OAuthTokens(
                            minted["access_token"],
                            minted["refresh_token"],
                            START + timedelta(seconds=int(minted["expires_in"])),
                            START + timedelta(seconds=int(minted["x_refresh_token_expires_in"])),
                        ),
                        connected_at=START,
                        time_zone="America/Los_Angeles",
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
            user = Principal(
                subject="bench-user",
                companies=frozenset(t.company for t in tenants if t.typical),
                is_admin=False,
            )
            events: list[tuple[Event, Tenant]] = []
            for t in tenants:
                if t.typical:
                    service.crm.users[t.company] = installer(t.company)
                    service.crm.add_deal(t.company, a_deal(f"Client of {t.company}", ["Services"]))
                    events += [(e, t) for e in schedule(random.Random(f"{SEED}-{t.company}"))]
            events.sort(key=lambda pair: (pair[0].at, pair[0].action != "open"))
            await admin("DELETE", "meter")

            companies = [t.company for t in tenants]
            end = START + timedelta(days=DAYS)
            ticks = 0
            while clock.now() < end:
                if ticks:
                    clock.advance(TICK)
                    await admin("POST", "clock", {"advance_seconds": TICK.total_seconds()})
                now = clock.now()
                if now >= end:
                    break
                ticks += 1
                acted = False
                while events and events[0][0].at <= now:
                    event, tenant = events.pop(0)
                    await act(event, tenant, service, admin, user)
                    acted = True
                if acted:
                    await admin("POST", "webhooks/flush", {"timeout": 10})
                    for payload in received:
                        tally.deliveries += 1
                        if rng.random() < LOSS:
                            tally.lost += 1
                            continue
                        await service.record.execute(notices_from_payload(payload))
                    received.clear()
                await run_jobs(service, tally)
                await service.sweep.execute()
                await run_jobs(service, tally)
                tally.jobs["sweep"] += 1
                for company in due_for_catch_up(companies, now, tick=TICK, every=CATCH_UP_EVERY):
                    await service.catch_up.execute(company)
                    tally.jobs["catch_up"] += 1
                if now.minute == OVERDUE_MINUTE:
                    await service.overdue.execute()
                    tally.jobs["overdue"] += 1
            meter = await admin("GET", "meter?month=2026-04")
            stale = await out_of_date(service, tenants, admin)
            print(  # the raw counts, in case a figure below cannot be made
                {"reads": meter["apps"][0]["coreplus"], "jobs": dict(tally.jobs), "stale": stale}
            )
    finally:
        await server.close()
        await hooks.close()
    return figures(meter, metrics, tally, service, stale, time.perf_counter() - started)


async def act(event: Event, t: Tenant, service: Service, admin: Any, user: Principal) -> None:
    if event.action == "open":
        t.draft = await service.prepare.execute(DealRef(user, t.company, "42"))
    elif event.action == "create":
        view = await service.create.execute(
            create_command(t.draft, f"fleet-{t.company}-{len(t.created)}", user)
        )
        assert view.quickbooks_id, view
        t.created.append(view.quickbooks_id)
    elif event.action == "pay":
        await admin(
            "POST", f"companies/{t.realm}/payments", {"invoice_id": t.created[event.invoice]}
        )
    else:  # void | edit, made in QuickBooks
        path = f"companies/{t.realm}/invoices/{t.created[event.invoice]}/"
        body = (
            {"CustomerMemo": {"value": "Changed in QuickBooks"}} if event.action == "edit" else {}
        )
        await admin("POST", path + ("void" if event.action == "void" else "update"), body)


async def run_jobs(service: Service, tally: Tally) -> None:
    while service.jobs.deferred:
        task, _ = service.jobs.deferred[0]
        tally.jobs[task] += 1
        await service.run_jobs_once()


async def out_of_date(service: Service, tenants: list[Tenant], admin: Any) -> int:
    """Invoices whose state differs from QuickBooks' at the month's end (a lost webhook that
    the next catch-up has not repaired yet)."""
    expected: dict[tuple[str, str], str] = {}
    for t in tenants:
        if not t.created:
            continue
        listed = await admin("GET", f"companies/{t.realm}/invoices")
        for row in listed["invoices"]:
            balance = float(row["Balance"])
            state = "VOIDED" if row["voided"] else "PAID" if balance == 0 else "OPEN"
            expected[(t.company, row["Id"])] = state
    wrong = 0
    for invoice in service.uow.store.invoices.values():
        want = expected.get((invoice.company_id, invoice.quickbooks_id or ""))
        have = invoice.state.name
        if want and not (have == want or (want == "OPEN" and have in ("OPEN", "OVERDUE"))):
            wrong += 1
    return wrong


def figures(
    meter: dict[str, Any],
    metrics: Metrics,
    tally: Tally,
    service: Service,
    stale: int,
    seconds: float,
) -> list[Figure]:
    (app,) = meter["apps"]
    reads = int(app["coreplus"])
    counted = sum(
        int(s.value)
        for m in metrics.registry.collect()
        if m.name == "dealbooks_quickbooks_metered_reads"
        for s in m.samples
        if s.name.endswith("_total")
    )
    if counted != reads:
        raise AssertionError(f"the service counted {counted} reads, the emulator billed {reads}")
    store = service.uow.store
    invoices = len(store.invoices)
    events = len(store.events)
    notices = len(service.notices.notices)
    jobs = sum(tally.jobs.values()) - tally.jobs["sweep"]
    fleet = f"{TYPICAL} companies at the typical load ({CREATES} invoices each), {QUIET} quiet"
    return [
        Figure(
            f"{PREFIX}: metered QuickBooks reads",
            reads,
            "reads",
            goal=f"<= {QUOTA:,}",
            note=f"{fleet}; {reads / QUOTA:.1%} of the Builder tier's month",
        ),
        Figure(
            f"{PREFIX}: jobs run",
            jobs,
            "jobs",
            note=", ".join(
                f"{task} {n:,}" for task, n in tally.jobs.most_common() if task != "sweep"
            )
            + f"; plus the sweep every 5 minutes ({tally.jobs['sweep']:,} ticks)",
        ),
        Figure(
            f"{PREFIX}: webhook deliveries lost",
            tally.lost,
            "deliveries",
            note=f"of {tally.deliveries:,} ({LOSS:.0%} dropped on the way)",
        ),
        Figure(
            f"{PREFIX}: invoices out of date at the month's end",
            stale,
            "invoices",
            goal="0 after a day",
            note="state differs from QuickBooks' (a lost webhook the next daily catch-up repairs)",
        ),
        Figure(
            f"{PREFIX}: rows kept",
            invoices + events + notices + len(service.notices.watermarks),
            "rows",
            note=f"invoices {invoices:,}, invoice events {events:,}, QuickBooks notices "
            f"{notices:,} (deleted 30 days after they are processed), "
            f"watermarks {len(service.notices.watermarks):,}",
        ),
        Figure(f"{PREFIX}: bench run time", seconds, "s"),
    ]
