"""Postgres repositories with optimistic concurrency on ``version``.

Statements are built on the tables (SQLAlchemy Core), not the SQLModel classes: ORM-enabled
DML and entity loading cost a few hundred microseconds more per statement, and every
CreateInvoice runs about a dozen of them. The ones on that path are built once, here, with
bound parameters: building a statement per call (``.values(**row)`` coerces every column) and
computing its cache key cost more CPU than the round trip itself; a module-level statement
computes its cache key once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, func, literal, tuple_, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from adapters.postgres.mappers import (
    creation_from_json,
    creation_to_json,
    event_from_row,
    event_payload,
    invoice_from_row,
    invoice_values,
    settings_from_row,
    settings_to_row,
)
from adapters.postgres.tables import (
    CompanySettingsRow,
    CustomerLinkRow,
    DealFollowUpRow,
    IdempotencyKeyRow,
    InvoiceEventRow,
    InvoiceRow,
)
from application.errors import ConcurrencyConflictError
from application.ports.persistence import (
    CreationOptions,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    PageCursor,
    RecordedEvent,
)
from domain.field_mapping import SourceEntity
from domain.invoice import Invoice, InvoiceState
from domain.settings import CompanySettings

_INVOICES: Table = InvoiceRow.__table__  # type: ignore[attr-defined]
_EVENTS: Table = InvoiceEventRow.__table__  # type: ignore[attr-defined]
_REQUEST_IDS: Table = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]
_SETTINGS: Table = CompanySettingsRow.__table__  # type: ignore[attr-defined]
_FOLLOW_UPS: Table = DealFollowUpRow.__table__  # type: ignore[attr-defined]
_INVOICE_COLUMNS = [c for c in _INVOICES.c if c.name != "creation"]
_LINKS: Table = CustomerLinkRow.__table__  # type: ignore[attr-defined]

# Built once (see the module's docstring). Keys of the executed parameters name the columns;
# the WHERE clauses bind ``where_*`` parameters, apart from the columns being set.
_GET_SETTINGS = core_select(_SETTINGS).where(_SETTINGS.c.company_id == bindparam("where_company"))
_GET_INVOICE = core_select(*_INVOICE_COLUMNS).where(
    _INVOICES.c.company_id == bindparam("where_company"),
    _INVOICES.c.id == bindparam("where_id"),
)
_GET_INVOICE_FOR_UPDATE = _GET_INVOICE.with_for_update()
_INSERT_INVOICE = insert(_INVOICES)
_UPDATE_INVOICE = (
    update(_INVOICES)
    .where(
        _INVOICES.c.company_id == bindparam("where_company"),
        _INVOICES.c.id == bindparam("where_id"),
        _INVOICES.c.version == bindparam("where_version"),
    )
    .values({c.name: bindparam(c.name, type_=c.type) for c in _INVOICE_COLUMNS})
)
_INSERT_EVENTS = insert(_EVENTS)
_GET_REQUEST_ID = core_select(_REQUEST_IDS.c.request_hash, _REQUEST_IDS.c.resource_id).where(
    _REQUEST_IDS.c.company_id == bindparam("where_company"),
    _REQUEST_IDS.c.key == bindparam("where_key"),
)
_PUT_REQUEST_ID = (
    insert(_REQUEST_IDS)
    .values(
        company_id=bindparam("company_id"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        resource_id=bindparam("resource_id"),
        created_at=func.now(),
    )
    .on_conflict_do_nothing(index_elements=["company_id", "key"])
)
_LINK_KEY = ("company_id", "entity", "entity_id")
_NEW_LINK = insert(_LINKS).values({c.name: bindparam(c.name, type_=c.type) for c in _LINKS.c})
_PUT_LINK = _NEW_LINK.on_conflict_do_update(
    index_elements=list(_LINK_KEY),
    set_={c.name: _NEW_LINK.excluded[c.name] for c in _LINKS.c if c.name not in _LINK_KEY},
)
_ADD_FOLLOW_UP = (
    insert(_FOLLOW_UPS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _FOLLOW_UPS.c})
    .on_conflict_do_nothing(index_elements=["company_id", "invoice_id"])
)


def event_rows(invoice: Invoice, actor: str | None) -> list[dict[str, Any]]:
    """The ``invoice_events`` rows for the events the invoice has not handed out yet."""
    return [
        {
            "company_id": invoice.company_id,
            "deal_id": invoice.deal_id,
            "invoice_id": invoice.id,
            "kind": event.kind,
            "occurred_at": event.occurred_at,
            "actor": actor,
            "payload": event_payload(event),
        }
        for event in invoice.pull_events()
    ]


def follow_up_values(follow_up: DealFollowUp) -> dict[str, Any]:
    return {
        "company_id": follow_up.company_id,
        "invoice_id": follow_up.invoice_id,
        "deal_id": follow_up.deal_id,
        "note": follow_up.note,
        "marker": follow_up.marker,
        "quickbooks_customer_id": follow_up.quickbooks_customer_id,
        "customer_name": follow_up.customer_name,
        "requested_by": follow_up.requested_by,
        "state": follow_up.state.value,
        "created_at": follow_up.created_at,
        "updated_at": follow_up.updated_at,
    }


class PostgresSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, company_id: str) -> CompanySettings | None:
        result = await self._session.execute(_GET_SETTINGS, {"where_company": company_id})
        row = result.one_or_none()
        return settings_from_row(row) if row else None  # type: ignore[arg-type]

    async def save(self, settings: CompanySettings) -> CompanySettings:
        new_version = settings.version + 1
        row = settings_to_row(settings, version=new_version)
        values = row.model_dump()
        if settings.version == 0:
            stmt = (
                insert(CompanySettingsRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["company_id"])
            )
        else:
            stmt = (
                update(CompanySettingsRow)
                .where(
                    col(CompanySettingsRow.company_id) == settings.company_id,
                    col(CompanySettingsRow.version) == settings.version,
                )
                .values(**values)
            )
        result = await self._session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The settings were changed by someone else at the same time; reload and retry.",
                metadata={"company": settings.company_id},
            )
        return settings_from_row(row)

    async def delete(self, company_id: str) -> None:
        await self._session.execute(
            delete(CompanySettingsRow).where(col(CompanySettingsRow.company_id) == company_id)
        )


class PostgresInvoiceRepository:
    """Invoices with optimistic locking on ``version``; events are written with the invoice.

    ``changed_deals`` collects the (company, deal) of every invoice written: the unit of work
    hands them to whoever must hear of them once the transaction commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._read_versions: dict[str, int] = {}
        self.changed_deals: set[tuple[str, str]] = set()

    def _remember(self, rows: Sequence[Row[Any]]) -> list[Invoice]:
        invoices = []
        for row in rows:
            self._read_versions.setdefault(row.id, row.version)
            invoices.append(invoice_from_row(row))
        return invoices

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=False)

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=True)

    async def _get(self, company_id: str, invoice_id: str, *, lock: bool) -> Invoice | None:
        stmt = _GET_INVOICE_FOR_UPDATE if lock else _GET_INVOICE
        params = {"where_company": company_id, "where_id": invoice_id}
        rows = (await self._session.execute(stmt, params)).all()
        found = self._remember(rows)
        return found[0] if found else None

    async def add(
        self, invoice: Invoice, *, actor: str | None = None, creation: CreationOptions | None = None
    ) -> None:
        values = invoice_values(invoice)
        values["creation"] = creation_to_json(creation or CreationOptions())
        await self._session.execute(_INSERT_INVOICE, values)
        self.changed_deals.add((invoice.company_id, invoice.deal_id))
        self._read_versions[invoice.id] = invoice.version
        await self._write_events(invoice, actor)

    async def save(self, invoice: Invoice, *, actor: str | None = None) -> None:
        read = self._read_versions.get(invoice.id)
        if read is None:
            raise ValueError("save() needs an invoice read in this unit of work")
        if invoice.version <= read:
            invoice.version = read + 1
        values = invoice_values(invoice)
        values.update(where_company=invoice.company_id, where_id=invoice.id, where_version=read)
        result = await self._session.execute(_UPDATE_INVOICE, values)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The invoice was changed by someone else at the same time; read it again.",
                metadata={"invoice": invoice.id},
            )
        self.changed_deals.add((invoice.company_id, invoice.deal_id))
        self._read_versions[invoice.id] = invoice.version
        await self._write_events(invoice, actor)

    async def _write_events(self, invoice: Invoice, actor: str | None) -> None:
        rows = event_rows(invoice, actor)
        if not rows:
            return
        # One row is one statement; several go as one multi-row INSERT (insertmanyvalues).
        await self._session.execute(_INSERT_EVENTS, rows[0] if len(rows) == 1 else rows)

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
        stmt = core_select(*_INVOICE_COLUMNS).where(
            _INVOICES.c.company_id == company_id, _INVOICES.c.deal_id == deal_id
        )
        if after is not None:
            stmt = stmt.where(
                tuple_(_INVOICES.c.created_at, _INVOICES.c.id)
                < tuple_(literal(after.created_at), literal(after.id))
            )
        stmt = stmt.order_by(_INVOICES.c.created_at.desc(), _INVOICES.c.id.desc()).limit(limit)
        rows = (await self._session.execute(stmt)).all()
        return self._remember(rows)

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str]
    ) -> list[Invoice]:
        if not quickbooks_ids:
            return []
        stmt = core_select(*_INVOICE_COLUMNS).where(
            _INVOICES.c.company_id == company_id,
            _INVOICES.c.quickbooks_id.in_(list(quickbooks_ids)),
        )
        rows = (await self._session.execute(stmt)).all()
        return self._remember(rows)

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        stmt = core_select(*_INVOICE_COLUMNS).where(
            _INVOICES.c.company_id == company_id,
            _INVOICES.c.state.in_([InvoiceState.OPEN.value, InvoiceState.PARTIALLY_PAID.value]),
        )
        rows = (await self._session.execute(stmt)).all()
        return self._remember(rows)

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        stmt = (
            core_select(*_INVOICE_COLUMNS)
            .where(
                _INVOICES.c.state == InvoiceState.CREATING.value,
                _INVOICES.c.updated_at < older_than,
            )
            .order_by(_INVOICES.c.updated_at)
            .limit(limit)
        )
        rows = (await self._session.execute(stmt)).all()
        return self._remember(rows)


class PostgresInvoiceEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, before_id: int | None = None
    ) -> list[RecordedEvent]:
        stmt = select(InvoiceEventRow).where(
            col(InvoiceEventRow.company_id) == company_id, col(InvoiceEventRow.deal_id) == deal_id
        )
        if before_id is not None:
            stmt = stmt.where(col(InvoiceEventRow.id) < before_id)
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
            )
            for row in rows
        ]


class PostgresIdempotencyStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None:
        result = await self._session.execute(
            _GET_REQUEST_ID, {"where_company": company_id, "where_key": key}
        )
        row = result.one_or_none()
        return IdempotencyRecord(row.request_hash, row.resource_id) if row else None

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        result = await self._session.execute(
            _PUT_REQUEST_ID,
            {
                "company_id": company_id,
                "key": key,
                "request_hash": record.request_hash,
                "resource_id": record.resource_id,
            },
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class PostgresCustomerLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str
    ) -> CustomerLink | None:
        result = await self._session.execute(
            select(CustomerLinkRow).where(
                col(CustomerLinkRow.company_id) == company_id,
                col(CustomerLinkRow.entity) == entity.value,
                col(CustomerLinkRow.entity_id) == entity_id,
            )
        )
        row = result.scalars().one_or_none()
        if row is None:
            return None
        return CustomerLink(
            company_id=row.company_id,
            entity=SourceEntity(row.entity),
            entity_id=row.entity_id,
            quickbooks_customer_id=row.quickbooks_customer_id,
            display_name=row.display_name,
            linked_at=row.linked_at,
            linked_by=row.linked_by,
        )

    async def put(self, link: CustomerLink) -> None:
        await self._session.execute(
            _PUT_LINK,
            {
                "company_id": link.company_id,
                "entity": link.entity.value,
                "entity_id": link.entity_id,
                "quickbooks_customer_id": link.quickbooks_customer_id,
                "display_name": link.display_name,
                "linked_at": link.linked_at,
                "linked_by": link.linked_by,
            },
        )

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        result = await self._session.execute(
            delete(CustomerLinkRow).where(
                col(CustomerLinkRow.company_id) == company_id,
                col(CustomerLinkRow.entity) == entity.value,
                col(CustomerLinkRow.entity_id) == entity_id,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _follow_up_from_row(row: Row[Any]) -> DealFollowUp:
    return DealFollowUp(
        company_id=row.company_id,
        invoice_id=row.invoice_id,
        deal_id=row.deal_id,
        note=row.note,
        marker=row.marker,
        quickbooks_customer_id=row.quickbooks_customer_id,
        customer_name=row.customer_name,
        requested_by=row.requested_by,
        state=FollowUpState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class PostgresDealFollowUpRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, follow_up: DealFollowUp) -> None:
        await self._session.execute(_ADD_FOLLOW_UP, follow_up_values(follow_up))

    async def get(self, company_id: str, invoice_id: str) -> DealFollowUp | None:
        result = await self._session.execute(
            core_select(_FOLLOW_UPS).where(
                _FOLLOW_UPS.c.company_id == company_id, _FOLLOW_UPS.c.invoice_id == invoice_id
            )
        )
        row = result.one_or_none()
        return _follow_up_from_row(row) if row else None

    async def mark(
        self, company_id: str, invoice_id: str, state: FollowUpState, now: datetime
    ) -> None:
        await self._session.execute(
            update(_FOLLOW_UPS)
            .where(_FOLLOW_UPS.c.company_id == company_id, _FOLLOW_UPS.c.invoice_id == invoice_id)
            .values(state=state.value, updated_at=now)
        )

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[DealFollowUp]:
        result = await self._session.execute(
            core_select(_FOLLOW_UPS)
            .where(
                _FOLLOW_UPS.c.state != FollowUpState.DONE.value,
                _FOLLOW_UPS.c.updated_at < older_than,
            )
            .order_by(_FOLLOW_UPS.c.updated_at)
            .limit(limit)
        )
        return [_follow_up_from_row(row) for row in result.all()]
