"""CreateInvoice's writes on Postgres, each one statement in its own implicit transaction.

Done in a unit of work, storing a new invoice under its request id is seven round trips
(BEGIN, claim, insert, events, COMMIT and the reads around them) and recording what
QuickBooks created six more; together they were half of CreateInvoice's time on the server.
Here each write is one statement whose data-modifying CTEs do it all or nothing: the request
id's claim (``ON CONFLICT DO NOTHING`` waits for a concurrent claim of the same id, as a
transaction would), then the invoice only if claimed, then its events only if the invoice was
written; the confirmation updates the row only if it is still CREATING at the version read,
and adds the deal follow-up and events only if it did. What the statement did is its answer.

Sent through the driver (asyncpg) on a connection of the engine's pool, outside any
transaction, like the rate limiter's calls. Values are the repositories' (``invoice_values``,
``event_rows``, ``follow_up_values``), cast to their columns' types here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import driver_fetchval
from adapters.postgres.errors import database_unavailable, is_unreachable
from adapters.postgres.mappers import creation_to_json, invoice_values, settings_from_row
from adapters.postgres.repositories import (
    _EVENTS,
    _FOLLOW_UPS,
    _GET_SETTINGS,
    _INVOICE_COLUMNS,
    _INVOICES,
    _REQUEST_IDS,
    event_rows,
    follow_up_values,
)
from adapters.postgres.unit_of_work import OnInvoicesCommitted
from application.ports.persistence import CreationOptions, DealFollowUp, IdempotencyRecord
from domain.invoice import Invoice, InvoiceState
from domain.settings import CompanySettings

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_JSON = {"customer", "lines", "creation"}


def _cast(column: Column[Any], number: int) -> str:
    # Strings without their length: an explicit cast to varchar(n) would cut a longer value
    # short, where storing it into the column refuses it, as the repositories' inserts do.
    if isinstance(getattr(column.type, "impl_instance", column.type), String):
        return f"${number}::text"
    return f"${number}::{column.type.compile(dialect=_DIALECT)}"


def _params(columns: Sequence[Column[Any]], first: int) -> str:
    return ", ".join(_cast(c, first + i) for i, c in enumerate(columns))


def _names(columns: Sequence[Column[Any]]) -> str:
    return ", ".join(c.name for c in columns)


_NEW_INVOICE_COLUMNS = [*_INVOICE_COLUMNS, _INVOICES.c.creation]
_N = len(_NEW_INVOICE_COLUMNS)
# $1.._N: the invoice's columns; then the actor, the events (a JSON array), the request id
# (NULL: none) and its request hash.
_EVENTS_FROM = (
    "INSERT INTO {events} (company_id, deal_id, invoice_id, kind, occurred_at, actor, payload) "
    "SELECT i.company_id, i.deal_id, i.id, e.kind, e.occurred_at, ${actor}::text, e.payload "
    "FROM invoice i CROSS JOIN ROWS FROM (jsonb_to_recordset(${rows}::jsonb) "
    "AS (kind varchar, occurred_at timestamptz, payload jsonb)) WITH ORDINALITY "
    "AS e(kind, occurred_at, payload, n) ORDER BY e.n"  # in the order they happened
)
_STORE_REQUESTED = (
    f"WITH claim AS ("  # noqa: S608 - names and placeholders only
    f"INSERT INTO {_REQUEST_IDS.name} (company_id, key, request_hash, resource_id, created_at) "
    f"SELECT $2::text, ${_N + 3}::text, ${_N + 4}::text, $1::text, now() "
    f"WHERE ${_N + 3}::text IS NOT NULL "
    f"ON CONFLICT (company_id, key) DO NOTHING RETURNING 1"
    f"), invoice AS ("
    f"INSERT INTO {_INVOICES.name} ({_names(_NEW_INVOICE_COLUMNS)}) "
    f"SELECT {_params(_NEW_INVOICE_COLUMNS, 1)} "
    f"WHERE ${_N + 3}::text IS NULL OR EXISTS (SELECT 1 FROM claim) "
    f"RETURNING id, company_id, deal_id"
    f"), events AS ("
    + _EVENTS_FROM.format(events=_EVENTS.name, actor=_N + 1, rows=_N + 2)
    + ") SELECT count(*) FROM invoice"
)

# $1.._M: the invoice's columns (as saved); then the actor, the events, the version read, the
# CREATING state's value, then the follow-up's columns.
_M = len(_INVOICE_COLUMNS)
_FOLLOW_UP_COLUMNS = list(_FOLLOW_UPS.c)
_SET_INVOICE = ", ".join(f"{c.name} = {_cast(c, i + 1)}" for i, c in enumerate(_INVOICE_COLUMNS))
_RECORD_CREATED = (
    f"WITH invoice AS (UPDATE {_INVOICES.name} SET {_SET_INVOICE} "  # noqa: S608 - names, placeholders
    f"WHERE company_id = $2::text AND id = $1::text AND version = ${_M + 3}::integer "
    f"AND state = ${_M + 4}::text RETURNING id, company_id, deal_id"
    f"), follow_up AS ("
    f"INSERT INTO {_FOLLOW_UPS.name} ({_names(_FOLLOW_UP_COLUMNS)}) "
    f"SELECT {_params(_FOLLOW_UP_COLUMNS, _M + 5)} WHERE EXISTS (SELECT 1 FROM invoice) "
    f"ON CONFLICT (company_id, invoice_id) DO NOTHING"
    f"), events AS ("
    + _EVENTS_FROM.format(events=_EVENTS.name, actor=_M + 1, rows=_M + 2)
    + ") SELECT count(*) FROM invoice"
)


def _invoice_args(invoice: Invoice, columns: Sequence[Column[Any]], **extra: Any) -> list[Any]:
    values = invoice_values(invoice) | extra
    return [json.dumps(values[c.name]) if c.name in _JSON else values[c.name] for c in columns]


def _events_arg(invoice: Invoice, actor: str | None) -> str:
    return json.dumps(
        [
            {
                "kind": row["kind"],
                "occurred_at": row["occurred_at"].isoformat(),
                "payload": row["payload"],
            }
            for row in event_rows(invoice, actor)
        ]
    )


class PostgresInvoiceIntake:
    def __init__(
        self, engine: AsyncEngine, on_invoices_committed: OnInvoicesCommitted | None = None
    ) -> None:
        self._engine = engine
        self._on_invoices_committed = on_invoices_committed

    async def _fetchval(self, statement: str, args: Sequence[Any]) -> Any:
        try:
            return await driver_fetchval(self._engine, statement, *args)
        except Exception as exc:
            if is_unreachable(exc):
                raise database_unavailable() from exc
            raise

    def _committed(self, invoice: Invoice) -> None:
        if self._on_invoices_committed is not None:
            self._on_invoices_committed(((invoice.company_id, invoice.deal_id),))

    async def settings(self, company_id: str) -> CompanySettings | None:
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                result = await conn.execute(_GET_SETTINGS, {"where_company": company_id})
                row = result.one_or_none()
        except Exception as exc:
            if is_unreachable(exc):
                raise database_unavailable() from exc
            raise
        return settings_from_row(row) if row else None  # type: ignore[arg-type]

    async def store_requested(
        self,
        invoice: Invoice,
        *,
        actor: str | None,
        creation: CreationOptions,
        request: tuple[str, IdempotencyRecord] | None,
    ) -> bool:
        args = _invoice_args(invoice, _NEW_INVOICE_COLUMNS, creation=creation_to_json(creation))
        key, record = request if request is not None else (None, None)
        args += [
            actor,
            _events_arg(invoice, actor),
            key,
            record.request_hash if record is not None else None,
        ]
        try:
            stored = bool(await self._fetchval(_STORE_REQUESTED, args))
        except BaseException:
            self._committed(invoice)  # the outcome is unknown: forgetting is always safe
            raise
        if stored:
            self._committed(invoice)
        return stored

    async def record_created(
        self, invoice: Invoice, *, read_version: int, actor: str | None, follow_up: DealFollowUp
    ) -> bool:
        if invoice.version <= read_version:
            invoice.version = read_version + 1  # as the repository's save does
        args = _invoice_args(invoice, _INVOICE_COLUMNS)
        args += [actor, _events_arg(invoice, actor), read_version, InvoiceState.CREATING.value]
        values = follow_up_values(follow_up)
        args += [values[c.name] for c in _FOLLOW_UP_COLUMNS]
        try:
            recorded = bool(await self._fetchval(_RECORD_CREATED, args))
        except BaseException:
            self._committed(invoice)
            raise
        if recorded:
            self._committed(invoice)
        return recorded
