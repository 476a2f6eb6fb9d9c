"""NoticeInbox: the fake and Postgres (notices + procrastinate jobs in one statement) alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.jobs.inbox import ProcrastinateNoticeInbox
from adapters.jobs.queue import apply_schema, build_app
from adapters.postgres.engine import build_engine
from application.errors import UpstreamUnavailableError
from application.ports.sync import ChangeNotice, NoticeInbox

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def notice(key: str, realm: str = "9130", entity_id: str = "1") -> ChangeNotice:
    return ChangeNotice(key, realm, "Invoice", entity_id, "Update", NOW)


class Harness(Protocol):
    inbox: NoticeInbox

    async def stored(self) -> set[str]:
        """Keys of the notices stored, as another reader sees them."""
        ...

    async def jobs(self) -> list[tuple[str, list[str]]]:
        """(realm, sorted notice keys) of each job queued to apply notices, oldest first."""
        ...


class FakeHarness:
    def __init__(self) -> None:
        self.store = InMemoryNoticeStore()
        self.queue = InMemoryJobQueue()
        self.inbox: NoticeInbox = InMemoryNoticeInbox(self.store, self.queue)

    async def stored(self) -> set[str]:
        return set(self.store.notices)

    async def jobs(self) -> list[tuple[str, list[str]]]:
        return [
            (str(args["realm_id"]), sorted(args["keys"]))  # type: ignore[call-overload]
            for name, args in self.queue.deferred
            if name == "apply_changes"
        ]


class PostgresHarness:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.inbox: NoticeInbox = ProcrastinateNoticeInbox(engine)

    async def stored(self) -> set[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT key FROM accounting_notices"))
            return {str(k) for k in rows.scalars()}

    async def jobs(self) -> list[tuple[str, list[str]]]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT queue_name, lock, status, args FROM procrastinate_jobs "
                        "WHERE task_name = 'apply_quickbooks_changes' ORDER BY id"
                    )
                )
            ).all()
        jobs = []
        for queue, lock, status, args in rows:
            payload = args if isinstance(args, dict) else json.loads(args)
            assert (queue, lock, status) == ("sync", f"realm-{payload['realm_id']}", "todo")
            jobs.append((str(payload["realm_id"]), sorted(str(k) for k in payload["keys"])))
        return jobs


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine | None:
    return request.getfixturevalue("pg_engine") if request.param == "postgres" else None


@pytest.fixture
async def harness(engine: AsyncEngine | None) -> AsyncIterator[Harness]:
    if engine is None:
        yield FakeHarness()
        return
    await apply_schema(build_app(engine.url.render_as_string(hide_password=False)), engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM procrastinate_jobs"))
    yield PostgresHarness(engine)


async def test_new_notices_are_stored_with_one_job_per_realm(harness: Harness) -> None:
    new = await harness.inbox.accept(
        [notice("k1"), notice("k2", entity_id="2"), notice("k3", realm="4620")], NOW
    )

    assert [n.key for n in new] == ["k1", "k2", "k3"]
    assert await harness.stored() == {"k1", "k2", "k3"}
    assert sorted(await harness.jobs()) == [("4620", ["k3"]), ("9130", ["k1", "k2"])]


async def test_a_duplicate_or_a_replay_is_neither_stored_again_nor_queued(
    harness: Harness,
) -> None:
    await harness.inbox.accept([notice("k1")], NOW)

    replay = await harness.inbox.accept([notice("k1")], NOW)
    twice_in_one = await harness.inbox.accept([notice("k2"), notice("k2")], NOW)

    assert replay == []
    assert [n.key for n in twice_in_one] == ["k2"]
    assert await harness.stored() == {"k1", "k2"}
    assert await harness.jobs() == [("9130", ["k1"]), ("9130", ["k2"])]


async def test_concurrent_deliveries_each_learn_only_what_was_new(harness: Harness) -> None:
    deliveries = [[notice(f"k{i % 30}"), notice(f"k{(i + 1) % 30}")] for i in range(60)]

    answers = await asyncio.gather(*(harness.inbox.accept(d, NOW) for d in deliveries))

    claimed = [n.key for answer in answers for n in answer]
    assert sorted(claimed) == sorted(f"k{i}" for i in range(30))  # each new key told once
    assert await harness.stored() == {f"k{i}" for i in range(30)}
    queued = [key for _, keys in await harness.jobs() for key in keys]
    assert sorted(queued) == sorted(claimed)  # every new notice queued, and only once


async def test_nothing_is_accepted_without_notices(harness: Harness) -> None:
    assert await harness.inbox.accept([], NOW) == []
    assert await harness.jobs() == []


@pytest.mark.integration
async def test_every_waiting_delivery_is_told_when_the_database_is_unreachable() -> None:
    engine = build_engine("postgresql://postgres@127.0.0.1:9/nowhere", pool_size=1)
    inbox = ProcrastinateNoticeInbox(engine)
    try:
        outcomes = await asyncio.gather(
            *(inbox.accept([notice(f"k{i}")], NOW) for i in range(5)), return_exceptions=True
        )
    finally:
        await engine.dispose()

    assert all(isinstance(o, UpstreamUnavailableError) for o in outcomes), outcomes
    assert {o.reason for o in outcomes if isinstance(o, UpstreamUnavailableError)} == {
        "DATABASE_UNAVAILABLE"
    }


@pytest.mark.integration
async def test_deliveries_waiting_together_share_one_statement_up_to_the_batch_size(
    pg_engine: AsyncEngine,
) -> None:
    await apply_schema(build_app(pg_engine.url.render_as_string(hide_password=False)), pg_engine)
    harness = PostgresHarness(pg_engine)
    harness.inbox = ProcrastinateNoticeInbox(pg_engine, max_batch_notices=4)

    answers = await asyncio.gather(
        *(harness.inbox.accept([notice(f"k{i}")], NOW) for i in range(10))
    )

    assert [[n.key for n in a] for a in answers] == [[f"k{i}"] for i in range(10)]
    # Ten deliveries waiting at once: statements of 4, 4 and 2 notices, one job each.
    assert [keys for _, keys in await harness.jobs()] == [
        ["k0", "k1", "k2", "k3"],
        ["k4", "k5", "k6", "k7"],
        ["k8", "k9"],
    ]
