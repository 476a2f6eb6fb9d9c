"""Deal fields that Pipedrive users can filter and report on (issue 16).

The company's four custom deal fields ("Invoiced", "Paid", "Balance due", "Invoice status")
are found or created by :class:`CreateDealFields`, a job queued on install and on demand from
the settings; their keys are kept per company. :class:`UpdateDealFields`, a job per deal queued
wherever an invoice of the deal changes (created, payment applied, voided, deleted, overdue),
computes the deal's totals from its invoices and writes them in one Pipedrive request, only
when they differ from what it wrote last: a replayed webhook, or a burst of changes that the
queueing lock folds into one job, writes once at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import structlog

from application.auth import Principal
from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
)
from application.ports.clock import Clock
from application.ports.crm import CrmGateway, DealFieldKeys, DealInvoiceTotals
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from domain.invoice import Invoice, InvoiceState

log = structlog.get_logger("dealbooks.deal_fields")

# The field values are data that filters and reports match on, so they stay in one language.
STATUS_OVERDUE: Final = "Overdue"
STATUS_PARTIALLY_PAID: Final = "Partially paid"
STATUS_OPEN: Final = "Open"
STATUS_PAID: Final = "Paid"
_PRESSING: Final = (STATUS_OVERDUE, STATUS_PARTIALLY_PAID, STATUS_OPEN, STATUS_PAID)
_COUNTED: Final = frozenset(
    {InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID, InvoiceState.PAID}
)  # not CREATING (not in QuickBooks yet), CREATE_FAILED, VOIDED or DELETED
MAX_INVOICES_PER_DEAL: Final = 1000

NO_INVOICES: Final = DealInvoiceTotals(
    currency=None, invoiced=Decimal(0), paid=Decimal(0), balance_due=Decimal(0), status=""
)


def _status(invoice: Invoice) -> str:
    if invoice.state is InvoiceState.PAID:
        return STATUS_PAID
    if invoice.overdue_recorded_for is not None:  # recorded by the overdue pass
        return STATUS_OVERDUE
    if invoice.state is InvoiceState.PARTIALLY_PAID:
        return STATUS_PARTIALLY_PAID
    return STATUS_OPEN


def deal_totals(invoices: Sequence[Invoice]) -> DealInvoiceTotals:
    """The deal's totals from its invoices (newest first, as the repository lists them).

    Counted: open, partially paid and paid invoices. The amounts are in one currency, that of
    most counted invoices (a tie: the newest one's); invoices in another currency are left out
    of the amounts (nothing is converted) but count for the status, the most pressing among
    them: Overdue > Partially paid > Open > Paid."""
    counted = [i for i in invoices if i.state in _COUNTED]
    if not counted:
        return NO_INVOICES
    tally = Counter(i.currency for i in counted)
    top = max(tally.values())
    currency = next(i.currency for i in counted if tally[i.currency] == top)
    same = [i for i in counted if i.currency == currency]
    invoiced = sum(((i.quickbooks_total or i.total()).amount for i in same), start=Decimal(0))
    paid = sum((i.amount_paid.amount for i in same), start=Decimal(0))
    balance = sum((i.balance().amount for i in same), start=Decimal(0))
    status = min((_status(i) for i in counted), key=_PRESSING.index)
    return DealInvoiceTotals(
        currency=currency, invoiced=invoiced, paid=paid, balance_due=balance, status=status
    )


@dataclass(frozen=True, slots=True)
class CreateDealFields:
    """Find or create the company's deal fields and keep their keys (the job; idempotent).
    New fields (first created, or created again after one was deleted in Pipedrive) are filled
    on every deal that already has invoices: one deal-field job per deal, which Pipedrive's
    limits pace like any other."""

    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    clock: Clock
    jobs: JobQueue

    async def execute(self, company_id: str) -> DealFieldKeys:
        async with self.uow_factory() as uow:
            known = await uow.deal_fields.keys(company_id)
        keys = await self.crm.ensure_deal_fields(company_id, known)
        if keys != known:
            async with self.uow_factory() as uow:
                await uow.deal_fields.set_keys(company_id, keys, self.clock.now())
                await uow.deal_fields.forget_written(company_id)  # written under other keys
                deal_ids = await uow.invoices.deal_ids(company_id)
                await uow.commit()
            for deal_id in deal_ids:
                await self.jobs.update_deal_fields(company_id, deal_id)
            log.info("deal_fields.ready", company_id=company_id, deals_to_fill=len(deal_ids))
        return keys


@dataclass(frozen=True, slots=True)
class GetDealFields:
    """The company's deal fields, if they exist (as far as dealbooks knows: it created or found
    them), for the settings page."""

    uow_factory: UnitOfWorkFactory

    async def execute(self, principal: Principal, company_id: str) -> DealFieldKeys | None:
        principal.ensure_can_access(company_id)
        async with self.uow_factory() as uow:
            return await uow.deal_fields.keys(company_id)


@dataclass(frozen=True, slots=True)
class RequestDealFields:
    """ "Create deal fields" in the settings (admins): queue the job that finds or creates
    them; returns the fields as they are now."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue

    async def execute(self, principal: Principal, company_id: str) -> DealFieldKeys | None:
        principal.ensure_admin(company_id)
        await self.jobs.create_deal_fields(company_id)
        async with self.uow_factory() as uow:
            return await uow.deal_fields.keys(company_id)


async def queue_deal_fields(
    uow_factory: UnitOfWorkFactory, jobs: JobQueue | None, company_id: str, deal_ids: list[str]
) -> None:
    """After the commit: a job per deal whose invoices changed, when the company has deal fields
    to keep current. Most never create them (an admin's choice in the settings), and a job that
    finds none is a queue insert, a fetch and a finish for nothing: about a tenth of what a
    create costs the worker. A company that creates them later gets every deal written then."""
    if jobs is None or not deal_ids:
        return
    async with uow_factory() as uow:
        if await uow.deal_fields.keys(company_id) is None:
            return
    for deal_id in dict.fromkeys(deal_ids):
        await jobs.update_deal_fields(company_id, deal_id)


@dataclass(frozen=True, slots=True)
class UpdateDealFields:
    """Write the deal's totals in its fields when they changed since the last write (the job).
    Returns True when it wrote."""

    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    clock: Clock

    async def execute(self, company_id: str, deal_id: str) -> bool:
        async with self.uow_factory() as uow:
            keys = await uow.deal_fields.keys(company_id)
            if keys is None:
                return False  # the company has no deal fields (yet): nothing to keep current
            invoices = await uow.invoices.list_for_deal(
                company_id, deal_id, limit=MAX_INVOICES_PER_DEAL
            )
            written = await uow.deal_fields.written(company_id, deal_id)
        totals = deal_totals(invoices)
        if totals == written or (written is None and totals == NO_INVOICES):
            return False
        try:
            await self.crm.set_deal_fields(company_id, deal_id, keys, totals)
        except (NotFoundError, UpstreamRejectedError, IntegrationNotConnectedError) as exc:
            # The deal is gone, a field was deleted in Pipedrive (creating the fields again
            # from the settings repairs it), or Pipedrive is disconnected: a retry would not
            # help. The next change of the deal tries again.
            log.warning(
                "deal_fields.not_written", company_id=company_id, deal_id=deal_id, reason=exc.reason
            )
            return False
        async with self.uow_factory() as uow:
            await uow.deal_fields.set_written(company_id, deal_id, totals, self.clock.now())
            await uow.commit()
        log.info(
            "deal_fields.written", company_id=company_id, deal_id=deal_id, status=totals.status
        )
        return True
