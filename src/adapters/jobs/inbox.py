"""The NoticeInbox on Postgres: concurrent webhook deliveries share one statement (group commit).

A batch is ONE autocommit statement: a multi-row INSERT of the notices (``ON CONFLICT DO
NOTHING``: a stored key is a duplicate) whose RETURNING rows feed procrastinate's versioned SQL
API (``procrastinate_defer_jobs_v1``) with an ``apply_quickbooks_changes`` job for each realm
that has none waiting. So notices and their jobs commit together or not at all, and each
delivery answers only after the batch it joined is durable. (procrastinate's Python ``defer``
would need a psycopg connection and four more round trips.)
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.crypto import SecretBox
from adapters.postgres.errors import is_unreachable
from application.errors import UpstreamUnavailableError
from application.ports.sync import ChangeNotice
from application.reasons import MetadataKey, Reason

log = structlog.get_logger("dealbooks.jobs")

MAX_BATCH_NOTICES: Final = 1000  # per statement; a delivery is never split
# The job: task "apply_quickbooks_changes" on queue "sync", lock "realm-<key>" (one running per
# realm), queueing lock "notices-<key>" (one waiting per realm: it applies every notice of the
# realm still pending when it runs, so a realm that already has one waiting needs no other).
# <key> is the realm's keyed digest (``SecretBox.digest``): notices and jobs never hold a realm
# id, which is kept encrypted with the connection (Intuit's security review).
_ACCEPT: Final = text(
    """
WITH incoming (key, realm_key, entity, entity_id, operation, occurred_at, received_at) AS (
    SELECT * FROM unnest(
        CAST(:keys AS varchar[]), CAST(:realm_keys AS varchar[]), CAST(:entities AS varchar[]),
        CAST(:entity_ids AS varchar[]), CAST(:operations AS varchar[]),
        CAST(:occurred AS timestamptz[]), CAST(:received AS timestamptz[]))
), stored AS (
    INSERT INTO accounting_notices
        (key, realm_key, entity, entity_id, operation, occurred_at, received_at)
    SELECT * FROM incoming
    ON CONFLICT (key) DO NOTHING
    RETURNING key, realm_key
), realms AS (
    SELECT DISTINCT realm_key, 'notices-' || realm_key AS queueing_lock FROM stored
), waiting AS (
    SELECT jobs.queueing_lock
    FROM procrastinate_jobs AS jobs
    WHERE jobs.queueing_lock IN (SELECT queueing_lock FROM realms) AND jobs.status = 'todo'
    FOR KEY SHARE OF jobs
), queued AS (
    SELECT procrastinate_defer_jobs_v1(array_agg(
        ROW('sync', 'apply_quickbooks_changes', 0, 'realm-' || realm_key, queueing_lock,
            jsonb_build_object('realm_key', realm_key), NULL
        )::procrastinate_job_to_defer_v1 ORDER BY realm_key
    )) AS job_ids
    FROM realms
    WHERE queueing_lock NOT IN (SELECT queueing_lock FROM waiting)
)
SELECT ARRAY(SELECT key FROM stored) AS new_keys, (SELECT job_ids FROM queued) AS job_ids
"""
)
# A waiting job is locked (FOR KEY SHARE) until the statement commits, so no worker starts it
# before these notices are visible, and one started just before is seen as 'doing' and gets a
# successor: no notice is ever left without a job. Two processes queueing a realm's first job
# at once: one fails on the queueing lock and simply runs its statement again.
_RETRIED_SQLSTATES: Final = frozenset({"23505", "40P01"})  # unique violation, deadlock
_ATTEMPTS: Final = 3


@dataclass(slots=True)
class _Delivery:
    notices: Sequence[ChangeNotice]
    received_at: datetime
    done: asyncio.Future[list[ChangeNotice]] = field(repr=False)


def _unavailable(error: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        "The database is not answering; QuickBooks will deliver the notification again.",
        reason=Reason.DATABASE_UNAVAILABLE,
        metadata={MetadataKey.ERROR: error},
        retry_after_seconds=5.0,
    )


class ProcrastinateNoticeInbox:
    """One instance per process (its batches form there); any number of processes may run."""

    def __init__(
        self, engine: AsyncEngine, box: SecretBox, *, max_batch_notices: int = MAX_BATCH_NOTICES
    ):
        self._engine = engine
        self._box = box
        self._max = max_batch_notices
        self._waiting: list[_Delivery] = []
        self._committer: asyncio.Task[None] | None = None

    async def accept(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        if not notices:
            return []
        loop = asyncio.get_running_loop()
        delivery = _Delivery(notices, now, loop.create_future())
        self._waiting.append(delivery)
        if self._committer is None:
            self._committer = loop.create_task(
                self._commit_waiting(),
                name="notice-inbox",
                context=contextvars.Context(),  # not the log context of the request starting it
            )
        return await delivery.done

    async def _commit_waiting(self) -> None:
        """Commit batches until nobody waits; each delivery learns its batch's outcome."""
        batch: list[_Delivery] = []
        try:
            while self._waiting:
                batch = self._next_batch()
                try:
                    new_keys = await self._commit(batch)
                except Exception as exc:  # every delivery of the batch learns it; none is stored
                    self._fail(batch, exc)
                else:
                    self._settle(batch, new_keys)
                batch = []
        finally:
            self._committer = None
            # Cancelled (shutdown) mid-commit: nobody may wait forever for an unknown outcome.
            for delivery in [*batch, *self._waiting]:
                if not delivery.done.done():
                    delivery.done.set_exception(_unavailable("shutdown"))
            self._waiting = []

    def _next_batch(self) -> list[_Delivery]:
        taken, size = 0, 0
        for delivery in self._waiting:
            if taken and size + len(delivery.notices) > self._max:
                break
            taken += 1
            size += len(delivery.notices)
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch

    async def _commit(self, batch: Sequence[_Delivery]) -> set[str]:
        rows: dict[str, tuple[ChangeNotice, datetime]] = {}
        for delivery in batch:
            for notice in delivery.notices:
                rows.setdefault(notice.key, (notice, delivery.received_at))
        values = list(rows.values())
        params = {
            "keys": [n.key for n, _ in values],
            "realm_keys": [self._box.digest(n.realm_id) for n, _ in values],
            "entities": [n.entity[:32] for n, _ in values],
            "entity_ids": [n.entity_id[:64] for n, _ in values],
            "operations": [n.operation[:16] for n, _ in values],
            "occurred": [n.occurred_at for n, _ in values],
            "received": [received for _, received in values],
        }
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._engine.connect() as conn:
                    autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    row = (await autocommit.execute(_ACCEPT, params)).one()
                return {str(key) for key in row.new_keys or ()}
            except DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate not in _RETRIED_SQLSTATES or attempt == _ATTEMPTS:
                    raise
                log.info("inbox.statement_retried", sqlstate=sqlstate, attempt=attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _settle(batch: Sequence[_Delivery], new_keys: set[str]) -> None:
        claimed: set[str] = set()
        for delivery in batch:
            mine = []
            for notice in delivery.notices:
                if notice.key in new_keys and notice.key not in claimed:
                    claimed.add(notice.key)
                    mine.append(notice)
            if not delivery.done.done():  # its request may have been cancelled meanwhile
                delivery.done.set_result(mine)

    @staticmethod
    def _fail(batch: Sequence[_Delivery], exc: Exception) -> None:
        unavailable = is_unreachable(exc) or isinstance(exc, PoolTimeoutError)
        if unavailable:
            log.warning(
                "inbox.database_unavailable", deliveries=len(batch), error=type(exc).__name__
            )
        else:
            log.error("inbox.commit_failed", deliveries=len(batch), exc_info=exc)
        for delivery in batch:
            if delivery.done.done():
                continue
            if unavailable:
                delivery.done.set_exception(_unavailable(type(exc).__name__))
            else:
                failure = RuntimeError("QuickBooks notices could not be stored.")
                failure.__cause__ = exc
                delivery.done.set_exception(failure)
