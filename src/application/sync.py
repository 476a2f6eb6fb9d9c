"""Apply what QuickBooks says changed (webhooks now; CDC and jobs build on the same path)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from application.invoices import QUICKBOOKS_ACTOR, InvoiceReader, apply_facts
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.connections import TokenStore
from application.ports.persistence import UnitOfWorkFactory
from domain.connection import Vendor

log = structlog.get_logger("dealbooks.sync")
PAYMENT_LOOKBACK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """One entity change QuickBooks told us about (a webhook event, vendor-neutral)."""

    realm_id: str
    entity: str  # "Invoice", "Payment", ...
    entity_id: str
    operation: str  # "Create", "Update", "Delete", "Void", "Emailed", "Merge"
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    companies: int
    invoices_read: int
    invoices_changed: int


class ApplyAccountingChanges:
    """Read the changed invoices of each company in as few calls as possible, apply the facts."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        token_store: TokenStore,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._tokens = token_store
        self._clock = clock
        self._reader = InvoiceReader(accounting, clock)

    async def execute(self, notices: Sequence[ChangeNotice]) -> SyncReport:
        by_realm: dict[str, set[str]] = defaultdict(set)
        payments: set[str] = set()
        for notice in notices:
            if notice.entity == "Invoice":
                by_realm[notice.realm_id].add(notice.entity_id)
            elif notice.entity == "Payment":
                by_realm.setdefault(notice.realm_id, set())
                payments.add(notice.realm_id)
        read = changed = companies = 0
        for realm_id, invoice_ids in by_realm.items():
            connection = await self._tokens.load_by_external_id(Vendor.QUICKBOOKS, realm_id)
            if connection is None:
                log.info("sync.unknown_realm", realm_id=realm_id)
                continue
            company_id = connection.company_id
            companies += 1
            ids = set(invoice_ids)
            if realm_id in payments:
                # A payment names its invoices only in its own lines: ask QuickBooks what
                # changed lately instead of reading each payment.
                since = self._clock.now() - PAYMENT_LOOKBACK
                recent = await self._accounting.changes_since(company_id, since)
                ids.update(recent.payment_invoice_ids)
                ids.update(i.id for i in recent.invoices)
            n_read, n_changed = await self.apply(company_id, sorted(ids))
            read += n_read
            changed += n_changed
        return SyncReport(companies=companies, invoices_read=read, invoices_changed=changed)

    async def apply(self, company_id: str, quickbooks_ids: Sequence[str]) -> tuple[int, int]:
        """Apply the current facts of these QuickBooks invoices (those dealbooks knows)."""
        async with self._uow_factory() as uow:
            known = await uow.invoices.find_by_quickbooks_ids(company_id, quickbooks_ids)
        ids = [i.quickbooks_id for i in known if i.quickbooks_id]
        if not ids:
            return 0, 0
        facts = await self._accounting.get_invoices(company_id, ids)
        today = await self._reader.today(company_id)
        now = self._clock.now()
        changed = 0
        async with self._uow_factory() as uow:
            for invoice in await uow.invoices.find_by_quickbooks_ids(company_id, ids):
                assert invoice.quickbooks_id is not None
                if apply_facts(invoice, facts.get(invoice.quickbooks_id), today=today, now=now):
                    changed += 1
                await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
            await uow.commit()
        log.info("sync.applied", company_id=company_id, read=len(ids), changed=changed)
        return len(ids), changed
