"""NoticeInbox: the fake and Postgres (notices + procrastinate jobs in one statement) alike."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.jobs.inbox import ProcrastinateNoticeInbox
from adapters.jobs.queue import apply_schema, build_app
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_engine
from adapters.postgres.notices import PostgresNoticeStore
from application.errors import UpstreamUnavailableError
from application.ports.sync import ChangeNotice, NoticeInbox, NoticeStore
from application.reasons import Reason

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BOX = SecretBox("k" * 40)
REALMS = ("9130", "4620")


def notice(key: str, realm: str = "9130", entity_id: str = "1") -> ChangeNotice:
    return ChangeNotice(key, realm, "Invoice", entity_id, "Update", NOW)


class Harness(Protocol):
    inbox: NoticeInbox
    notices: NoticeStore

    async def stored(self) -> set[str]:
        """Keys of the notices stored, as another reader sees them."""
        ...

    async def waiting(self) -> list[str]:
        """The realm of each job waiting to apply notices, oldest first."""
        ...

    async def start_waiting_jobs(self) -> None:
        """What a worker does when it takes the waiting jobs."""
        ...


class FakeHarness:
    def __init__(self) -> None:
        self.store = InMemoryNoticeStore()
        self.queue = InMemoryJobQueue()
        self.inbox: NoticeInbox = InMemoryNoticeInbox(self.store, self.queue)
        self.notices: NoticeStore = self.store

    async def stored(self) -> set[str]:
        return set(self.store.notices)

    async def waiting(self) -> list[str]:
        return [str(args["realm_key"]) for name, args in self.queue.deferred]

    async def start_waiting_jobs(self) -> None:
        self.queue.deferred.clear()


class PostgresHarness:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.inbox: NoticeInbox = ProcrastinateNoticeInbox(engine, BOX)
        self.notices: NoticeStore = PostgresNoticeStore(engine, BOX)

    async def stored(self) -> set[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT key FROM accounting_notices"))
            return {str(k) for k in rows.scalars()}

    async def jobs(self) -> list[tuple[str, str]]:
        """(realm, status) of every apply job, oldest first. Jobs and notices hold the realm's
        keyed digest, never the realm id (it is kept encrypted with the connection)."""
        realm_of = {BOX.digest(realm): realm for realm in REALMS}
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT queue_name, lock, queueing_lock, status, args "
                        "FROM procrastinate_jobs "
                        "WHERE task_name = 'apply_quickbooks_changes' ORDER BY id"
                    )
                )
            ).all()
        async with self.engine.connect() as conn:
            stored = await conn.execute(text("SELECT DISTINCT realm_key FROM accounting_notices"))
            assert set(stored.scalars()) <= set(realm_of)
        jobs = []
        for queue, lock, queueing_lock, status, args in rows:
            arguments = args if isinstance(args, dict) else json.loads(args)
            key = str(arguments["realm_key"])
            assert (queue, lock, queueing_lock) == ("sync", f"realm-{key}", f"notices-{key}")
            assert arguments == {"realm_key": key}
            jobs.append((realm_of[key], str(status)))
        return jobs

    async def waiting(self) -> list[str]:
        return [realm for realm, status in await self.jobs() if status == "todo"]

    async def start_waiting_jobs(self) -> None:
        async with self.engine.begin() as conn:
            while (
                await conn.execute(text("SELECT id FROM procrastinate_fetch_job_v2(NULL, NULL)"))
            ).scalar_one_or_none() is not None:
                pass


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine | None:
    return request.getfixturevalue("pg_engine") if request.param == "postgres" else None


async def with_jobs_schema(engine: AsyncEngine) -> AsyncEngine:
    await apply_schema(build_app(engine.url.render_as_string(hide_password=False)), engine)
    return engine


@pytest.fixture
async def harness(engine: AsyncEngine | None) -> Harness:
    if engine is None:
        return FakeHarness()
    return PostgresHarness(await with_jobs_schema(engine))


async def test_new_notices_are_stored_with_a_job_waiting_per_realm(harness: Harness) -> None:
    new = await harness.inbox.accept(
        [notice("k1"), notice("k2", entity_id="2"), notice("k3", realm="4620")], NOW
    )

    assert [n.key for n in new] == ["k1", "k2", "k3"]
    assert await harness.stored() == {"k1", "k2", "k3"}
    assert sorted(await harness.waiting()) == ["4620", "9130"]


async def test_the_latest_notice_about_some_entities_of_a_realm_is_known(
    harness: Harness,
) -> None:
    """What the QuickBooks gateway asks before using the reference data it keeps."""
    later = NOW + timedelta(minutes=5)
    item = ChangeNotice("k2", "9130", "Item", "7", "Update", NOW)
    await harness.inbox.accept([notice("k1"), item], NOW)
    await harness.inbox.accept([ChangeNotice("k3", "4620", "Term", "3", "Create", NOW)], later)
    await harness.inbox.accept([notice("k4")], later)

    assert await harness.notices.last_received("9130", {"Item", "Term"}) == NOW
    assert await harness.notices.last_received("9130", {"Invoice"}) == later
    assert await harness.notices.last_received("4620", {"Item", "Term"}) == later
    assert await harness.notices.last_received("4620", {"Item"}) is None
    assert await harness.notices.last_received("0000", {"Item"}) is None


async def test_a_duplicate_or_a_replay_is_not_stored_again(harness: Harness) -> None:
    await harness.inbox.accept([notice("k1")], NOW)

    replay = await harness.inbox.accept([notice("k1")], NOW)
    twice_in_one = await harness.inbox.accept([notice("k2"), notice("k2")], NOW)

    assert replay == []
    assert [n.key for n in twice_in_one] == ["k2"]
    assert await harness.stored() == {"k1", "k2"}


async def test_processed_notices_are_forgotten_once_old_and_pending_ones_never(
    harness: Harness,
) -> None:
    await harness.inbox.accept([notice("k1"), notice("k2", entity_id="2"), notice("k3")], NOW)
    await harness.notices.mark_processed(["k1"], NOW)
    await harness.notices.mark_processed(["k2"], NOW + timedelta(days=2))

    assert await harness.notices.forget_processed(NOW) == 0  # processed at NOW: not before it
    assert await harness.notices.forget_processed(NOW + timedelta(days=1)) == 1
    assert await harness.stored() == {"k2", "k3"}
    assert await harness.notices.forget_processed(NOW + timedelta(days=365)) == 1
    assert await harness.stored() == {"k3"}  # not processed yet: kept however old


async def test_a_waiting_job_serves_later_notices_and_a_started_one_does_not(
    harness: Harness,
) -> None:
    await harness.inbox.accept([notice("k1")], NOW)
    await harness.inbox.accept([notice("k2")], NOW)
    assert await harness.waiting() == ["9130"]  # one job will apply both

    await harness.start_waiting_jobs()
    assert await harness.waiting() == []
    await harness.inbox.accept([notice("k3")], NOW)  # it may have read the pending ones already

    assert await harness.waiting() == ["9130"]


async def test_a_replay_queues_nothing(harness: Harness) -> None:
    await harness.inbox.accept([notice("k1")], NOW)
    await harness.start_waiting_jobs()

    await harness.inbox.accept([notice("k1")], NOW)

    assert await harness.waiting() == []


async def test_concurrent_deliveries_each_learn_only_what_was_new(harness: Harness) -> None:
    deliveries = [[notice(f"k{i % 30}"), notice(f"k{(i + 1) % 30}")] for i in range(60)]

    answers = await asyncio.gather(*(harness.inbox.accept(d, NOW) for d in deliveries))

    claimed = [n.key for answer in answers for n in answer]
    assert sorted(claimed) == sorted(f"k{i}" for i in range(30))  # each new key told once
    assert await harness.stored() == {f"k{i}" for i in range(30)}
    assert await harness.waiting() == ["9130"]


async def test_nothing_is_accepted_without_notices(harness: Harness) -> None:
    assert await harness.inbox.accept([], NOW) == []
    assert await harness.waiting() == []


@pytest.mark.integration
async def test_every_waiting_delivery_is_told_when_the_database_is_unreachable() -> None:
    engine = build_engine("postgresql://postgres@127.0.0.1:9/nowhere", pool_size=1)
    inbox = ProcrastinateNoticeInbox(engine, BOX)
    try:
        outcomes = await asyncio.gather(
            *(inbox.accept([notice(f"k{i}")], NOW) for i in range(5)), return_exceptions=True
        )
    finally:
        await engine.dispose()

    assert all(isinstance(o, UpstreamUnavailableError) for o in outcomes), outcomes
    assert {o.reason for o in outcomes if isinstance(o, UpstreamUnavailableError)} == {
        Reason.DATABASE_UNAVAILABLE
    }


@pytest.mark.integration
async def test_deliveries_waiting_together_share_one_statement_up_to_the_batch_size(
    pg_engine: AsyncEngine,
) -> None:
    inbox = ProcrastinateNoticeInbox(await with_jobs_schema(pg_engine), BOX, max_batch_notices=4)
    statements: list[int] = []

    def count(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if "INSERT INTO accounting_notices" in statement:
            keys = params["keys"] if isinstance(params, dict) else params[0]  # type: ignore[index]
            statements.append(len(keys))

    event.listen(pg_engine.sync_engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(inbox.accept([notice(f"k{i}")], NOW) for i in range(10)))
    finally:
        event.remove(pg_engine.sync_engine, "before_cursor_execute", count)

    assert [[n.key for n in a] for a in answers] == [[f"k{i}"] for i in range(10)]
    assert statements == [4, 4, 2]  # ten deliveries waiting at once, at most 4 notices each


@pytest.mark.integration
async def test_a_job_a_worker_is_starting_meanwhile_gets_a_successor(
    pg_engine: AsyncEngine,
) -> None:
    """The lost wake-up: a worker takes the waiting job while the statement runs. Either the
    job reads the notice (the worker waits for the commit) or a new job is queued for it."""
    harness = PostgresHarness(await with_jobs_schema(pg_engine))
    await harness.inbox.accept([notice("k1")], NOW)
    async with pg_engine.connect() as worker:
        fetching = await worker.begin()  # procrastinate's fetch, not committed yet
        started = await worker.execute(
            text("SELECT id FROM procrastinate_fetch_job_v2(NULL, NULL)")
        )
        assert started.scalar_one_or_none() is not None
        accepting = asyncio.create_task(harness.inbox.accept([notice("k2")], NOW))
        await until_blocked_or_done(pg_engine, accepting)
        await fetching.commit()
        assert [n.key for n in await accepting] == ["k2"]

    assert await harness.jobs() == [("9130", "doing"), ("9130", "todo")]


async def until_blocked_or_done(
    engine: AsyncEngine, task: asyncio.Future[Any], blocked: int = 1
) -> None:
    """Until ``blocked`` statements wait for a lock in the database, or ``task`` finished."""
    for _ in range(200):
        if task.done():
            return
        async with engine.connect() as conn:
            waiting = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                )
            ).scalar_one()
        if waiting >= blocked:
            return
        await asyncio.sleep(0.05)


@pytest.mark.integration
async def test_two_processes_queueing_a_realms_first_job_at_once_leave_one(
    pg_engine: AsyncEngine,
) -> None:
    harness = PostgresHarness(await with_jobs_schema(pg_engine))
    first = ProcrastinateNoticeInbox(pg_engine, BOX)
    second = ProcrastinateNoticeInbox(pg_engine, BOX)
    async with pg_engine.connect() as blocker:
        held = await blocker.begin()  # holds the realm's queueing lock, uncommitted
        await blocker.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock) "
                "VALUES ('sync', 'apply_quickbooks_changes', :lock)"
            ),
            {"lock": f"notices-{BOX.digest('9130')}"},
        )
        both = asyncio.gather(first.accept([notice("k1")], NOW), second.accept([notice("k2")], NOW))
        await until_blocked_or_done(pg_engine, asyncio.ensure_future(both), blocked=2)
        await held.rollback()  # both statements now race for the queueing lock
        answers = await both

    assert [[n.key for n in a] for a in answers] == [["k1"], ["k2"]]
    assert await harness.stored() == {"k1", "k2"}
    assert await harness.waiting() == ["9130"]
