"""The read side (cosmicpython ch. 12): one plain query per answer on the invoices table's read
columns, into immutable views, through an asyncpg pool of its own (no ORM session, no caches).
Every statement is scoped by ``company_id``."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import asyncpg

from adapters.postgres.engine import libpq_url
from adapters.postgres.errors import UNREACHABLE, database_unavailable
from adapters.postgres.mappers import view_from_row
from adapters.postgres.realms import other_company
from adapters.postgres.tables import InvoiceRow
from application.ports.persistence import PageCursor
from application.views import InvoiceView

# What a view is made of: every column but the write side's own bookkeeping.
_WRITE_SIDE_ONLY = {"creation", "sync_token", "overdue_recorded_for", "version", "realm_key"}
_COLUMNS = ", ".join(
    [
        c.name
        for c in InvoiceRow.__table__.columns  # type: ignore[attr-defined]
        if c.name not in _WRITE_SIDE_ONLY
    ]
    # The company is every statement's $1: its QuickBooks company is read once a statement.
    + [f"{other_company('invoices', '$1')} AS other_quickbooks_company"]
)
_GET = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND id = $2"  # noqa: S608
_NEWEST = "ORDER BY created_at DESC, id DESC LIMIT $3"
_LIST = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 {_NEWEST}"  # noqa: S608
_LIST_AFTER = (
    f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 "  # noqa: S608
    f"AND (created_at, id) < ($4, $5) {_NEWEST}"
)


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON columns as Python values, as SQLAlchemy gives them to the write side."""
    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads
    )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset: these statements leave no session state."""


class PostgresInvoiceViews:
    def __init__(self, database_url: str, *, pool_size: int = 10) -> None:
        self._dsn = libpq_url(database_url)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._pool_size,
                        init=_decode_json,
                        reset=_keep_session,
                        max_inactive_connection_lifetime=300,
                        command_timeout=30,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(10):  # a connection never given back: stop waiting
                    await pool.close()
            except TimeoutError:
                pool.terminate()

    async def get(self, company_id: str, invoice_id: str, *, today: date) -> InvoiceView | None:
        try:
            pool = await self._connections()
            row = await pool.fetchrow(_GET, company_id, invoice_id)
        except UNREACHABLE as exc:
            raise database_unavailable() from exc
        return view_from_row(row, today) if row is not None else None

    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        today: date,
        limit: int,
        after: PageCursor | None = None,
    ) -> list[InvoiceView]:
        try:
            pool = await self._connections()
            if after is None:
                rows = await pool.fetch(_LIST, company_id, deal_id, limit)
            else:
                rows = await pool.fetch(
                    _LIST_AFTER, company_id, deal_id, limit, after.created_at, after.id
                )
        except UNREACHABLE as exc:
            raise database_unavailable() from exc
        return [view_from_row(row, today) for row in rows]
