"""What the resilience scenarios share: the scale knob, the running system (both emulators, the
server, `dealbooks worker` processes), QuickBooks fault mixes, a gRPC client that retries the way
a real one does, and the counts taken from QuickBooks and from our database afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from dealbooks.v1 import (
    customer_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings
from entrypoints.worker import retry_stalled_jobs
from tests.e2e.conftest import OPERATOR
from tests.e2e.polling import eventually
from tests.e2e.test_journey import MD, free_port
from tests.e2e.test_process import wait_serving
from tests.e2e.test_workers import start_worker

SOAK = os.environ.get("DEALBOOKS_SOAK") == "1"


@dataclass(frozen=True)
class Scale:
    """How hard each scenario pushes. `make test` runs SHORT; `make soak` (DEALBOOKS_SOAK=1)
    runs the sizes of issue 8."""

    creates: int  # exactly once: CreateInvoice requests (each its own request id)
    clients: int  # concurrent gRPC clients
    outage_seconds: float  # QuickBooks unreachable
    waiting_creates: int  # invoices waiting for QuickBooks (outage; revoked connection)
    token_rounds: int  # access-token expiries, each met by a refresh storm from 3 processes
    restart_creates: int  # creates in flight around a SIGTERM of the server
    # False: the test runs the sweep (stuck CREATING, jobs of dead workers) as soon as it can,
    # as an operator would; True: it waits for the product's own once-a-minute sweep.
    self_healing: bool
    recovery_seconds: float  # how long recovery may take before the test gives up


SHORT = Scale(150, 20, 10, 20, 3, 60, False, 180)
FULL = Scale(1000, 20, 60, 100, 10, 300, True, 600)
SCALE = FULL if SOAK else SHORT

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
CALL_DEADLINE = 90.0
JWT_SECRET = "resilience-pipedrive-jwt-secret-of-40-bytes"


def deal_name(deal_id: int) -> str:
    return f"companies/{DEMO_COMPANY}/deals/{deal_id}"


#: Customers of the emulator's demo company, for invoices that bill an existing one.
EXISTING_CUSTOMERS = ("24", "29")


def invoice_request(
    request_id: str, deal_id: int, *, existing_customer: str = ""
) -> invoice_service_pb2.CreateInvoiceRequest:
    """One invoice per request id, with the request id as its memo so that what QuickBooks holds
    can be traced back to the request. It bills an existing QuickBooks customer, or else a new
    one named after the request (created by the same job, with its own request id)."""
    customer = (
        customer_pb2.Customer(
            display_name="Existing customer", quickbooks_customer_id=existing_customer
        )
        if existing_customer
        else customer_pb2.Customer(display_name=f"Resilience {request_id}")
    )
    return invoice_service_pb2.CreateInvoiceRequest(
        parent=deal_name(deal_id),
        request_id=request_id,
        invoice=invoice_pb2.Invoice(
            customer=customer,
            currency_code="USD",
            memo=request_id,
            lines=[
                invoice_pb2.LineItem(name="Services", quantity="2", unit_price="150", item_id="1")
            ],
        ),
    )


@dataclass
class ClientCounts:
    """What the clients saw: answers, retries by status code, and errors they gave up on."""

    answers: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    invoices: dict[str, set[str]] = field(default_factory=dict)  # request id -> names seen
    first_states: Counter[str] = field(default_factory=Counter)

    def saw(self, request_id: str, invoice: invoice_pb2.Invoice) -> None:
        self.answers += 1
        self.invoices.setdefault(request_id, set()).add(invoice.name)
        self.first_states[invoice_pb2.InvoiceState.Name(invoice.state)] += 1


async def create_invoice(
    stub: invoice_service_pb2_grpc.InvoiceServiceStub,
    request: invoice_service_pb2.CreateInvoiceRequest,
    counts: ClientCounts,
    *,
    attempts: int = 8,
) -> invoice_pb2.Invoice | None:
    """CreateInvoice as a careful client sends it: UNAVAILABLE and DEADLINE_EXCEEDED are retried
    with the same request id (AIP-194); any other error is final and counted as rejected."""
    for attempt in range(1, attempts + 1):
        try:
            reply = await stub.CreateInvoice(request, metadata=MD, timeout=CALL_DEADLINE)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code in RETRYABLE and attempt < attempts:
                counts.retried[code.name] += 1
                await asyncio.sleep(min(8.0, 0.25 * 2**attempt))
                continue
            counts.rejected[f"{code.name}: {exc.details()}"] += 1
            return None
        counts.saw(request.request_id, reply.invoice)
        return reply.invoice
    raise AssertionError("unreachable")


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "serve"], env=env, stdout=out, stderr=out
        )


@dataclass
class Stack:
    """Both emulators in this process; the server in this process (``start_service``) or as a
    real `dealbooks serve` process (``spawn_server``); `dealbooks worker` processes."""

    base_settings: AppSettings
    database_url: str
    engine: AsyncEngine
    log_dir: Path
    http_port: int = field(default_factory=free_port)
    emulators: Emulators = field(init=False)
    settings: AppSettings = field(init=False)
    service: Service | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    server_port: int = 0

    async def start(self) -> None:
        public_url = f"http://127.0.0.1:{self.http_port}"
        self.emulators = Emulators(public_url=public_url)
        await self.emulators.start()
        self.settings = replace(
            self.base_settings,
            public_url=public_url,
            quickbooks=QuickBooksSettings(base_url=self.emulators.quickbooks_url),
            pipedrive=PipedriveSettings(
                oauth_url=self.emulators.pipedrive_url, jwt_secret=JWT_SECRET
            ),
            worker_concurrency=2,
        )

    async def start_service(self, *, connect: bool = True) -> Service:
        known = await self.worker_ids()
        self.service = Service(self.settings, grpc_port=0, http_port=self.http_port)
        await self.service.start()
        await self.new_worker_id(known)
        if connect:
            assert self.service.container is not None
            await self.emulators.connect(self.service.container.gateways.token_store())
        return self.service

    async def stop_service(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    @property
    def grpc_target(self) -> str:
        if self.service is not None:
            assert self.service.grpc is not None
            return f"127.0.0.1:{self.service.grpc.port}"
        return f"127.0.0.1:{self.server_port}"

    async def spawn_server(self, log: Path) -> subprocess.Popen[bytes]:
        """`dealbooks serve` as its own process (gRPC, HTTP and a job worker), connected."""
        self.server_port = free_port()
        env = self.env(
            DEALBOOKS_GRPC_PORT=str(self.server_port),
            DEALBOOKS_HTTP_PORT=str(self.http_port),
            DEALBOOKS_API_TOKENS=f"{OPERATOR}=*",
            DEALBOOKS_SECRET_KEY=self.settings.secret_key,
        )
        server = start_server(env, log)
        self.processes.append(server)
        await asyncio.to_thread(wait_serving, self.server_port, time.monotonic() + 60)
        store = PostgresTokenStore(
            build_session_factory(self.engine), SecretBox(self.settings.secret_key)
        )
        await self.emulators.connect(store)
        return server

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DEALBOOKS_DATABASE_URL": self.database_url,
            "DEALBOOKS_QUICKBOOKS_BASE_URL": self.emulators.quickbooks_url,
            "DEALBOOKS_PIPEDRIVE_OAUTH_URL": self.emulators.pipedrive_url,
            "DEALBOOKS_PUBLIC_URL": self.settings.public_url,
            "DEALBOOKS_PIPEDRIVE_JWT_SECRET": JWT_SECRET,
            "DEALBOOKS_WORKER_CONCURRENCY": "2",
            "DEALBOOKS_LOG_FORMAT": "json",
            **extra,
        }

    async def spawn_worker(self) -> tuple[subprocess.Popen[bytes], int]:
        """A `dealbooks worker` process and the id procrastinate gave it once it registered."""
        known = await self.worker_ids()
        log = self.log_dir / f"worker{len(self.processes)}.log"
        process = start_worker(self.env(), log)
        self.processes.append(process)
        return process, await self.new_worker_id(known)

    async def worker_ids(self) -> set[int]:
        async with self.engine.connect() as conn:
            exists = (
                await conn.execute(text("SELECT to_regclass('procrastinate_workers') IS NOT NULL"))
            ).scalar_one()
            if not exists:
                return set()
            rows = await conn.execute(text("SELECT id FROM procrastinate_workers"))
            return {int(r[0]) for r in rows}

    async def new_worker_id(self, known: set[int]) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = await self.worker_ids() - known
            if new:
                return max(new)
            await asyncio.sleep(0.2)
        raise AssertionError("the worker did not register with the job queue in 60 s")

    async def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        await self.stop_service()
        await self.emulators.stop()

    # -- QuickBooks faults and facts -----------------------------------------------------------

    async def fault(self, **spec: Any) -> str:
        rule = await self.emulators.admin("quickbooks", "POST", "faults", body=spec)
        return str(rule["id"])

    async def clear_faults(self) -> dict[str, int]:
        """Remove every fault rule; returns how often each fired."""
        rules = (await self.emulators.admin("quickbooks", "GET", "faults"))["faults"]
        await self.emulators.admin("quickbooks", "DELETE", "faults")
        return {str(r["id"]): int(r["hits"]) for r in rules}

    async def fault_mix(self, shares: dict[str, float], **match: Any) -> None:
        """One draw per request among the faults of ``shares`` (id -> share of all requests).
        The emulator tries rules in order, each with its own probability; each rule's
        probability is its share of the requests the rules before it let through."""
        actions: dict[str, dict[str, Any]] = {
            "5xx-500": {"status": 500},
            "5xx-503": {"status": 503},
            "429": {"status": 429},
            "timeout": {"timeout": True, "hang_seconds": 2 if not SOAK else 5},
            "drop-after-commit": {"drop_after_commit": True},
        }
        remaining = 1.0
        for rule_id, share in shares.items():
            await self.fault(id=rule_id, probability=share / remaining, **actions[rule_id], **match)
            remaining -= share

    async def quickbooks_invoices(self) -> list[dict[str, Any]]:
        state = await self.emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
        return list(state["invoices"])

    async def quickbooks_memos(self, prefix: str) -> Counter[str]:
        """How many QuickBooks invoices carry each memo (request id) starting with ``prefix``."""
        return Counter(
            memo_of(q) for q in await self.quickbooks_invoices() if memo_of(q).startswith(prefix)
        )

    async def quickbooks_customers(self) -> list[dict[str, Any]]:
        state = await self.emulators.admin(
            "quickbooks", "GET", f"companies/{US_REALM}/entities/customer"
        )
        return list(state["items"])

    # -- our side --------------------------------------------------------------------------------

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(text(sql), params))

    async def unfinished_work(self) -> tuple[int, int]:
        """Invoices still CREATING, and the invoices with a job to finish them still to do or
        running. Counted per invoice, not per job: while one job runs, the minute sweep may
        queue the next for the same invoice (the queueing lock only bars a second 'todo'), and
        the older one then gives way (adapters.jobs.queue.SupersedingJobManager)."""
        creating = await self.scalar("SELECT count(*) FROM invoices WHERE state = 'creating'")
        invoices_with_a_job = await self.scalar(
            "SELECT count(DISTINCT args->>'invoice_id') FROM procrastinate_jobs "
            "WHERE task_name = 'finish_invoice_creation' AND status IN ('todo', 'doing')"
        )
        return int(creating), int(invoices_with_a_job)

    async def jobs_left(self, task: str) -> int:
        return int(
            await self.scalar(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
                "AND status IN ('todo', 'doing')",
                task=task,
            )
        )

    async def stuck_work(self) -> str:
        """What is left, for a failure message: invoices CREATING and their jobs' history."""
        lines = [
            f"invoice {r.id} since {r.created_at:%H:%M:%S}"
            for r in await self.rows("SELECT id, created_at FROM invoices WHERE state = 'creating'")
        ]
        jobs = await self.rows(
            "SELECT j.id, j.status, j.lock, j.queueing_lock, j.attempts, j.worker_id, "
            "j.scheduled_at, j.args->>'invoice_id' AS invoice, "
            "(SELECT string_agg(e.type || '@' || to_char(e.at, 'HH24:MI:SS'), ' ' ORDER BY e.id) "
            " FROM procrastinate_events e WHERE e.job_id = j.id) AS history "
            "FROM procrastinate_jobs j WHERE j.task_name = 'finish_invoice_creation' "
            "AND (j.status IN ('todo', 'doing') OR j.args->>'invoice_id' IN "
            "(SELECT id FROM invoices WHERE state = 'creating')) ORDER BY j.id"
        )
        lines += [
            f"job {j.id} {j.status} invoice={j.invoice} lock={j.lock} attempts={j.attempts} "
            f"worker={j.worker_id} scheduled={j.scheduled_at} history={j.history}"
            for j in jobs
        ]
        workers = await self.rows("SELECT id, last_heartbeat FROM procrastinate_workers")
        lines += [f"worker {w.id} heartbeat {w.last_heartbeat:%H:%M:%S}" for w in workers]
        return "\n".join(lines)

    async def recover(self, seconds: float, *, self_healing: bool) -> tuple[int, int]:
        """Wait until no invoice is CREATING and no job for one is left. Without
        ``self_healing`` the sweep runs here every second (as an operator could run it) instead
        of once a minute; both hand the work of dead workers and lost calls back to the queue."""
        deadline = time.monotonic() + seconds

        async def left() -> tuple[int, int]:
            # Then the deal side of each created invoice (customer link, note), also a job.
            creating, finishing = await self.unfinished_work()
            return creating, finishing + await self.jobs_left("follow_up_on_deal")

        now_left = await left()
        while now_left != (0, 0) and time.monotonic() < deadline:
            if not self_healing:
                await self.sweep_now()
            await asyncio.sleep(1)
            now_left = await left()
        return now_left

    async def sweep_now(self) -> None:
        assert self.service is not None
        assert self.service.container is not None
        jobs_app = self.service.container.gateways.jobs_app()
        assert jobs_app is not None
        await retry_stalled_jobs(jobs_app, seconds_since_heartbeat=12)
        await self.service.container.services.sweep().execute(older_than=timedelta(seconds=5))


async def invoice_states(
    stub: invoice_service_pb2_grpc.InvoiceServiceStub, names: list[str]
) -> Counter[int]:
    """What GetInvoice says of each invoice, counted by state."""
    replies = await asyncio.gather(
        *(
            stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=name), metadata=MD)
            for name in names
        )
    )
    return Counter(reply.invoice.state for reply in replies)


async def until(check: Callable[[], Awaitable[bool]], seconds: float, every: float = 0.5) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass (bounded polling, not a timing claim)."""
    return await eventually(check, bool, seconds=seconds, interval=every)


def memo_of(qbo_invoice: dict[str, Any]) -> str:
    memo = qbo_invoice.get("CustomerMemo") or {}
    return str(memo.get("value", "")) if isinstance(memo, dict) else ""


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
