"""The invoice read model on Postgres: one statement per answer, sent straight through asyncpg.

GetInvoice and ListInvoices only read, so they skip the ORM session, its transaction and even
SQLAlchemy's pool: a small asyncpg pool of its own runs one prepared statement per answer (no
BEGIN/ROLLBACK round trips, no reset query when a connection goes back: nothing here changes
session state), and the rows become domain invoices through ``mappers``. Every statement is
scoped by ``company_id``.

Turning a row into an invoice (its JSON customer and lines, money, dates) costs more than the
query itself for a page of 20, so each mapped invoice is remembered under the row's identity
and optimistic-lock token: every stored change goes through ``PostgresInvoiceRepository.save``,
which bumps ``version`` and sets ``updated_at``, and the key also carries ``last_synced_at``.
A row read with the same key holds the same facts, so the same invoice answers for it. Callers
only read what this returns (the port says nothing read here is ever saved).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import asyncpg

from adapters.postgres.mappers import invoice_from_record
from application.errors import UpstreamUnavailableError
from application.ports.persistence import PageCursor
from domain.invoice import Invoice

_COLUMNS = (
    "id, company_id, deal_id, state, customer::text AS customer, lines::text AS lines, "
    "currency, issue_date, due_date, memo, amount_paid, quickbooks_id, doc_number, sync_token, "
    "quickbooks_total, failure_reason, created_at, updated_at, last_synced_at, last_sent_at, "
    "overdue_recorded_for, created_by, version"
)
_GET = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND id = $2"  # noqa: S608
_NEWEST = "ORDER BY created_at DESC, id DESC LIMIT $3"
_LIST = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 {_NEWEST}"  # noqa: S608
_LIST_AFTER = (
    f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 "  # noqa: S608
    f"AND (created_at, id) < ($4, $5) {_NEWEST}"
)
# A lost or refused connection (the database restarting, the network): the caller may retry.
_UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


def _unavailable() -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        "The database is not reachable right now; try again in a moment.",
        reason="DATABASE_UNAVAILABLE",
        retry_after_seconds=2.0,
    )


def asyncpg_dsn(url: str) -> str:
    """A Postgres URL as asyncpg takes it (without SQLAlchemy's driver suffix)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset: these statements leave no session state (asyncpg still rolls back a
    transaction left open, which never happens here)."""


class MappedInvoices:
    """Invoices already mapped from rows, by row identity and version; least recently used
    out first."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._invoices: OrderedDict[tuple[Any, ...], Invoice] = OrderedDict()

    def __call__(self, record: Mapping[str, Any]) -> Invoice:
        key = (
            record["company_id"],
            record["id"],
            record["version"],
            record["updated_at"],
            record["last_synced_at"],
        )
        invoice = self._invoices.get(key)
        if invoice is None:
            invoice = self._invoices[key] = invoice_from_record(record)
            if len(self._invoices) > self._size:
                self._invoices.popitem(last=False)
        else:
            self._invoices.move_to_end(key)
        return invoice


class PostgresInvoiceQueries:
    def __init__(self, database_url: str, *, max_size: int = 10) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._mapped = MappedInvoices()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._max_size,
                        reset=_keep_session,
                        max_inactive_connection_lifetime=300,
                        command_timeout=30,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        # The pool's own fetch (it acquires and releases): no context manager of ours, which
        # costs a measurable share of the cheapest read there is.
        try:
            pool = await self._connections()
            record = await pool.fetchrow(_GET, company_id, invoice_id)
        except _UNREACHABLE as exc:
            raise _unavailable() from exc
        return self._mapped(record) if record is not None else None

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        try:
            pool = await self._connections()
            if after is None:
                records = await pool.fetch(_LIST, company_id, deal_id, limit)
            else:
                records = await pool.fetch(
                    _LIST_AFTER, company_id, deal_id, limit, after.created_at, after.id
                )
        except _UNREACHABLE as exc:
            raise _unavailable() from exc
        return [self._mapped(record) for record in records]
