"""The invoice's repositories: the invoice (its row is also the read side), its events and the
request ids that make CreateInvoice idempotent, with optimistic concurrency on ``version``.

Statements on the invoice path are built once, at import (SQLAlchemy Core, bound parameters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Insert,
    Integer,
    Select,
    String,
    Table,
    Update,
    and_,
    bindparam,
    case,
    column,
    func,
    literal,
    literal_column,
    not_,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from adapters.postgres.deal_changes import DEAL_CHANGES
from adapters.postgres.mappers import (
    creation_from_json,
    creation_to_json,
    event_from_row,
    event_payload,
    invoice_from_row,
    invoice_values,
)
from adapters.postgres.realms import connected_realm, connected_realm_of, other_company
from adapters.postgres.repositories import OnSession
from adapters.postgres.tables import (
    IdempotencyKeyRow,
    InvoiceEventRow,
    InvoiceRow,
)
from application.errors import ConcurrencyConflictError
from application.ports.persistence import (
    CreationOptions,
    IdempotencyRecord,
    PageCursor,
    QuickBooksIdHeldError,
    RecordedEvent,
)
from application.reasons import MetadataKey
from domain.invoice import Invoice, InvoiceState
from domain.invoice_state import NOT_LIVE

_INVOICES: Table = InvoiceRow.__table__  # type: ignore[attr-defined]
_EVENTS: Table = InvoiceEventRow.__table__  # type: ignore[attr-defined]
_REQUEST_IDS: Table = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]
# What the aggregate writes: every column but its creation options and its QuickBooks company.
_INVOICE_COLUMNS = [c for c in _INVOICES.c if c.name not in ("creation", "realm_key")]


# The invoice is in a QuickBooks company other than the connected one (the company switched
# QuickBooks companies since).
_OTHER_COMPANY = literal_column(other_company("invoices"), Boolean)
_IN_CONNECTED_COMPANY = not_(_OTHER_COMPANY)
# What an invoice is read with.
_INVOICE_READ = [*_INVOICE_COLUMNS, _OTHER_COMPANY.label("other_quickbooks_company")]

# Parameters are named after the columns they set; WHERE clauses bind ``where_*`` ones.
_GET_INVOICE = core_select(*_INVOICE_READ).where(
    _INVOICES.c.company_id == bindparam("where_company"),
    _INVOICES.c.id == bindparam("where_id"),
)
_GET_INVOICE_FOR_UPDATE = _GET_INVOICE.with_for_update()


def _with_events(write: Insert | Update) -> Select[int]:
    """``write`` (of one invoice row) and the invoice's new events, in one statement: the
    events (the ``events`` parameter, a JSON array numbered in the order they happened) are inserted
    only if the row was written, and the statement answers how many rows were (0 or 1).

    A written row also notifies ``DEAL_CHANGES`` with "company/deal": Postgres delivers it at
    commit (never for a rolled-back write) to every process listening, which tells the deal's
    open panels (``adapters.postgres.deal_changes``)."""
    written = write.returning(_INVOICES.c.company_id, _INVOICES.c.deal_id, _INVOICES.c.id).cte(
        "written"
    )
    events = (
        func.jsonb_to_recordset(bindparam("events", type_=JSONB))
        .table_valued(
            column("kind", String),
            column("occurred_at", DateTime(timezone=True)),
            column("payload", JSONB),
            column("n", Integer),
        )
        .render_derived(with_types=True)
    )
    add_events = insert(_EVENTS).from_select(
        [
            "company_id",
            "deal_id",
            "invoice_id",
            "kind",
            "occurred_at",
            "actor",
            "payload",
            "actor_name",
        ],
        core_select(
            written.c.company_id,
            written.c.deal_id,
            written.c.id,
            events.c.kind,
            events.c.occurred_at,
            bindparam("actor", type_=String),
            events.c.payload,
            bindparam("actor_name", type_=String),
        )
        .select_from(written.join(events, true()))
        .order_by(events.c.n),
    )
    notify = (
        func.pg_notify(
            literal_column(f"'{DEAL_CHANGES}'"),
            written.c.company_id.concat("/").concat(written.c.deal_id),
        )
        .table_valued()
        .lateral("notified")
    )
    return (
        core_select(func.count())
        .select_from(written.join(notify, true()))
        .add_cte(add_events.cte("events"))
    )


# An invoice is for the QuickBooks company connected when it is requested: its customer,
# terms and codes are that company's ('' when none is connected: then the company that
# confirms it, below).
_ADD_INVOICE = _with_events(
    insert(_INVOICES).values(
        {c.name: bindparam(c.name, type_=c.type) for c in [*_INVOICE_COLUMNS, _INVOICES.c.creation]}
        | {"realm_key": func.coalesce(connected_realm_of(bindparam("company_id")), "")}
    )
)
# An invoice requested while no QuickBooks company was connected is the one's that confirms
# it: the realm is taken as QuickBooks first gives it an id (barring a switch of companies in
# the milliseconds between QuickBooks' answer and this write), never on a later save.
_REALM_ON_CONFIRM = case(
    (
        and_(
            bindparam("in_quickbooks", type_=Boolean),
            _INVOICES.c.quickbooks_id.is_(None),
            _INVOICES.c.realm_key == "",
        ),
        func.coalesce(literal_column(connected_realm("invoices"), String), ""),
    ),
    else_=_INVOICES.c.realm_key,
)
_SAVE_INVOICE = _with_events(
    update(_INVOICES)
    .where(
        _INVOICES.c.company_id == bindparam("where_company"),
        _INVOICES.c.id == bindparam("where_id"),
        _INVOICES.c.version == bindparam("where_version"),
    )
    .values(
        {c.name: bindparam(c.name, type_=c.type) for c in _INVOICE_COLUMNS}
        | {"realm_key": _REALM_ON_CONFIRM}
    )
)
_GET_REQUEST_ID = core_select(_REQUEST_IDS.c.request_hash, _REQUEST_IDS.c.resource_id).where(
    _REQUEST_IDS.c.company_id == bindparam("where_company"),
    _REQUEST_IDS.c.key == bindparam("where_key"),
)
_PUT_REQUEST_ID = (
    insert(_REQUEST_IDS)
    .values(
        {c.name: bindparam(c.name, type_=c.type) for c in _REQUEST_IDS.c}
        | {"created_at": func.now()}
    )
    .on_conflict_do_nothing(index_elements=["company_id", "key"])
)


def _events(invoice: Invoice) -> list[dict[str, Any]]:
    """The events the invoice has not handed out yet, as ``_with_events`` takes them."""
    return [
        {
            "kind": event.kind,
            "occurred_at": event.occurred_at.isoformat(),
            "payload": event_payload(event),
            "n": n,
        }
        for n, event in enumerate(invoice.pull_events())
    ]


class PostgresInvoiceRepository(OnSession):
    """Invoices with optimistic locking on ``version``; events are written with the invoice.
    Every write also writes the row's read-side columns (``invoice_values``)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._read_versions: dict[str, int] = {}

    async def _read(
        self, statement: Select[Any], params: dict[str, str] | None = None
    ) -> list[Invoice]:
        """The invoices ``statement`` selects, their read versions noted for ``save``."""
        rows = (await self._session.execute(statement, params)).mappings().all()
        for row in rows:
            self._read_versions.setdefault(row["id"], row["version"])
        return [invoice_from_row(row) for row in rows]

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=False)

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=True)

    async def _get(self, company_id: str, invoice_id: str, *, lock: bool) -> Invoice | None:
        stmt = _GET_INVOICE_FOR_UPDATE if lock else _GET_INVOICE
        found = await self._read(stmt, {"where_company": company_id, "where_id": invoice_id})
        return found[0] if found else None

    async def add(
        self,
        invoice: Invoice,
        *,
        actor: str | None = None,
        actor_name: str | None = None,
        creation: CreationOptions | None = None,
    ) -> None:
        values = invoice_values(invoice)
        values.update(
            creation=creation_to_json(creation or CreationOptions()),
            events=_events(invoice),
            actor=actor,
            actor_name=actor_name,
        )
        await self._session.execute(_ADD_INVOICE, values)
        self._read_versions[invoice.id] = invoice.version

    async def save(
        self, invoice: Invoice, *, actor: str | None = None, actor_name: str | None = None
    ) -> None:
        read = self._read_versions.get(invoice.id)
        if read is None:
            raise ValueError("save() needs an invoice read in this unit of work")
        invoice.version = max(invoice.version, read + 1)
        values = invoice_values(invoice)
        values.update(
            where_company=invoice.company_id,
            where_id=invoice.id,
            where_version=read,
            in_quickbooks=invoice.quickbooks_id is not None,
            events=_events(invoice),
            actor=actor,
            actor_name=actor_name,
        )
        try:
            written = (await self._session.execute(_SAVE_INVOICE, values)).scalar_one()
        except IntegrityError as exc:
            held = getattr(exc.orig, "__cause__", None)
            if getattr(held, "constraint_name", None) == "ux_invoices_quickbooks_id":
                raise QuickBooksIdHeldError(invoice.quickbooks_id or "") from exc
            raise
        if written != 1:
            raise ConcurrencyConflictError(
                "The invoice was changed by someone else at the same time; read it again.",
                metadata={MetadataKey.INVOICE: invoice.id},
            )
        self._read_versions[invoice.id] = invoice.version

    async def creation_options(self, company_id: str, invoice_id: str) -> CreationOptions:
        result = await self._session.execute(
            core_select(_INVOICES.c.creation).where(
                _INVOICES.c.company_id == company_id, _INVOICES.c.id == invoice_id
            )
        )
        data = result.scalar_one_or_none()
        return creation_from_json(data or {})

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        stmt = core_select(*_INVOICE_READ).where(
            _INVOICES.c.company_id == company_id, _INVOICES.c.deal_id == deal_id
        )
        if after is not None:
            stmt = stmt.where(
                tuple_(_INVOICES.c.created_at, _INVOICES.c.id)
                < tuple_(literal(after.created_at), literal(after.id))
            )
        return await self._read(
            stmt.order_by(_INVOICES.c.created_at.desc(), _INVOICES.c.id.desc()).limit(limit)
        )

    async def deal_ids(
        self, company_id: str, *, among: Sequence[str] | None = None, live: bool = False
    ) -> list[str]:
        query = core_select(_INVOICES.c.deal_id).where(_INVOICES.c.company_id == company_id)
        if among is not None:
            query = query.where(_INVOICES.c.deal_id.in_(list(among)))
        if live:
            query = query.where(_INVOICES.c.state.not_in([s.value for s in NOT_LIVE]))
        result = await self._session.execute(query.distinct().order_by(_INVOICES.c.deal_id))
        return list(result.scalars())

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str], *, lock: bool = False
    ) -> list[Invoice]:
        if not quickbooks_ids:
            return []
        query = core_select(*_INVOICE_READ).where(
            _INVOICES.c.company_id == company_id,
            _INVOICES.c.quickbooks_id.in_(list(quickbooks_ids)),
            _IN_CONNECTED_COMPANY,
        )
        # Locked in id order, so two writers of overlapping invoices never deadlock.
        return await self._read(query.order_by(_INVOICES.c.id).with_for_update() if lock else query)

    async def set_aside(self, company_id: str, invoice_id: str) -> None:
        # A QuickBooks company of its own, no other row's: the invoice's id and what it held
        # never meet the connected company's again (a second reset sets aside another row).
        await self._session.execute(
            update(_INVOICES)
            .where(_INVOICES.c.company_id == company_id, _INVOICES.c.id == invoice_id)
            .values(realm_key=f"reset:{invoice_id}"[:64])
        )

    async def mark_synced(
        self, company_id: str, quickbooks_ids: Sequence[str], now: datetime
    ) -> None:
        if quickbooks_ids:
            await self._session.execute(
                update(_INVOICES)
                .where(
                    _INVOICES.c.company_id == company_id,
                    _INVOICES.c.quickbooks_id.in_(list(quickbooks_ids)),
                    _IN_CONNECTED_COMPANY,
                )
                .values(last_synced_at=now)
            )

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        return await self._read(
            core_select(*_INVOICE_READ).where(
                _INVOICES.c.company_id == company_id,
                _INVOICES.c.state.in_([InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID]),
                _IN_CONNECTED_COMPANY,
            )
        )

    async def companies_with_overdue_unrecorded(self, due_before: date) -> list[str]:
        # The partial index ix_invoices_overdue_unrecorded (migration 0021) holds exactly these
        # rows. Its predicate is written out literally: with the states as bound parameters a
        # prepared (generic) plan could not use the index.
        result = await self._session.execute(
            core_select(_INVOICES.c.company_id)
            .where(
                text(
                    "state IN ('open', 'partially_paid') "
                    "AND overdue_recorded_for IS DISTINCT FROM due_date"
                ),
                _INVOICES.c.due_date < due_before,
                _INVOICES.c.balance > 0,
                _IN_CONNECTED_COMPANY,
            )
            .distinct()
        )
        return sorted(result.scalars().all())

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        return await self._read(
            core_select(*_INVOICE_READ)
            .where(_INVOICES.c.state == InvoiceState.CREATING, _INVOICES.c.updated_at < older_than)
            .order_by(_INVOICES.c.updated_at)
            .limit(limit)
        )


class PostgresInvoiceEventRepository(OnSession):
    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        invoice_id: str | None = None,
    ) -> list[RecordedEvent]:
        stmt = select(InvoiceEventRow).where(
            col(InvoiceEventRow.company_id) == company_id, col(InvoiceEventRow.deal_id) == deal_id
        )
        if before_id is not None:
            stmt = stmt.where(col(InvoiceEventRow.id) < before_id)
        if invoice_id is not None:  # a deal has few events: ix_invoice_events_deal serves it
            stmt = stmt.where(col(InvoiceEventRow.invoice_id) == invoice_id)
        stmt = stmt.order_by(col(InvoiceEventRow.id).desc()).limit(limit)
        rows = (await self._session.execute(stmt)).scalars().all()
        return [
            RecordedEvent(
                id=row.id or 0,
                company_id=row.company_id,
                deal_id=row.deal_id,
                invoice_id=row.invoice_id,
                event=event_from_row(row),
                actor=row.actor,
                actor_name=row.actor_name,
            )
            for row in rows
        ]


class PostgresIdempotencyStore(OnSession):
    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None:
        result = await self._session.execute(
            _GET_REQUEST_ID, {"where_company": company_id, "where_key": key}
        )
        row = result.one_or_none()
        return IdempotencyRecord(row.request_hash, row.resource_id) if row else None

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        result = await self._session.execute(
            _PUT_REQUEST_ID, {"company_id": company_id, "key": key, **dataclasses.asdict(record)}
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
