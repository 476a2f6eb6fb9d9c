"""Postgres NoticeStore: each QuickBooks notice stored once (primary key), CDC watermarks.

A notice is stored under its realm's keyed digest, never the realm id (the connection keeps that
sealed): the realm of pending notices is read from the connection the digest finds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.crypto import SecretBox
from application.ports.sync import ChangeNotice

_FORGET_BATCH = 5_000


class PostgresNoticeStore:
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        # Reads of one statement need no transaction: in autocommit they are one round trip
        # instead of three (BEGIN, SELECT, ROLLBACK). Same pool, no session state left behind.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._box = box

    async def pending(self, realm_key: str, limit: int) -> list[ChangeNotice]:
        async with self._engine.connect() as conn:
            sealed = (
                await conn.execute(
                    text(
                        "SELECT sealed_external_id FROM connections "
                        "WHERE vendor = 'quickbooks' AND external_key = :realm LIMIT 1"
                    ),
                    {"realm": realm_key},
                )
            ).scalar_one_or_none()
            rows = await conn.execute(
                text(
                    "SELECT key, entity, entity_id, operation, occurred_at "
                    "FROM accounting_notices WHERE processed_at IS NULL AND realm_key = :realm "
                    "ORDER BY received_at, key LIMIT :limit"
                ),
                {"realm": realm_key, "limit": limit},
            )
            # A realm no company is connected to: its notices say so under its digest.
            realm_id = self._box.open(sealed)["id"] if sealed else realm_key
            return [ChangeNotice(**row, realm_id=realm_id) for row in rows.mappings()]

    async def mark_processed(self, keys: Sequence[str], now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                text("UPDATE accounting_notices SET processed_at = :now WHERE key = ANY(:keys)"),
                {"now": now, "keys": list(keys)},
            )

    async def last_received(self, realm_id: str, entities: Collection[str]) -> datetime | None:
        async with self._reads.connect() as conn:
            value = (
                await conn.execute(
                    text(
                        "SELECT max(received_at) FROM accounting_notices "
                        "WHERE realm_key = :realm AND entity = ANY(:entities)"
                    ),
                    {"realm": self._box.digest(realm_id), "entities": sorted(entities)},
                )
            ).scalar_one()
        return value if isinstance(value, datetime) else None

    async def forget_realm(self, realm_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM accounting_notices WHERE realm_key = :realm"),
                {"realm": self._box.digest(realm_id)},
            )

    async def forget_processed(self, before: datetime) -> int:
        # In batches, each its own transaction: a first run on a large table neither holds
        # one long transaction nor locks every row at once.
        forgotten = 0
        while True:
            async with self._engine.begin() as conn:
                batch: int = (
                    await conn.execute(
                        text(
                            "WITH gone AS (DELETE FROM accounting_notices WHERE key IN ("
                            "SELECT key FROM accounting_notices WHERE processed_at < :before "
                            "LIMIT :batch) RETURNING 1) SELECT count(*) FROM gone"
                        ),
                        {"before": before, "batch": _FORGET_BATCH},
                    )
                ).scalar_one()
            forgotten += batch
            if batch < _FORGET_BATCH:
                return forgotten

    async def watermark(self, company_id: str) -> datetime | None:
        async with self._engine.connect() as conn:
            value = (
                await conn.execute(
                    text("SELECT changed_since FROM sync_watermarks WHERE company_id = :c"),
                    {"c": company_id},
                )
            ).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def set_watermark(self, company_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO sync_watermarks (company_id, changed_since, updated_at) "
                    "VALUES (:c, :at, now()) ON CONFLICT (company_id) DO UPDATE SET "
                    "changed_since = GREATEST(sync_watermarks.changed_since, "
                    "EXCLUDED.changed_since), updated_at = now()"
                ),
                {"c": company_id, "at": at},
            )


async def sync_figures(engine: AsyncEngine) -> dict[str, object]:
    """Queue depth per queue, pending notices and the oldest watermark's age, for /metrics."""
    async with engine.connect() as conn:
        waiting = (
            await conn.execute(
                text(
                    "SELECT queue_name, count(*) FROM procrastinate_jobs "
                    "WHERE status = 'todo' GROUP BY queue_name"
                )
            )
        ).all()
        pending, lag = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM accounting_notices WHERE processed_at IS NULL), "
                    "(SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(changed_since)), 0) "
                    "FROM sync_watermarks)"
                )
            )
        ).one()
    return {
        "jobs_waiting": {str(q): int(n) for q, n in waiting},
        "notices_pending": int(pending),
        "sync_lag_seconds": float(lag),
    }
