"""Stored invoices as use cases reach them: loaded for a caller, changed in a unit of work,
and answered as the view the read side holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from application.commands import InvoiceRef
from application.deal_fields import queue_deal_fields
from application.errors import NotFoundError
from application.invoicing.calendar import today_of
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.jobs import JobQueue
from application.ports.persistence import InvoiceViews, UnitOfWork, UnitOfWorkFactory
from application.reasons import ResourceType
from application.timeline import record_timeline
from application.views import InvoiceView
from application.visibility import DealVisibility
from domain.errors import InvalidStateTransitionError, InvalidValueError
from domain.invoice import Invoice
from domain.messages import MessageCode
from domain.permissions import Action
from domain.settings import CompanySettings

QUICKBOOKS_ACTOR = "quickbooks"  # who recorded facts read from QuickBooks
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def validate_request_id(request_id: str) -> str:
    if request_id and not _REQUEST_ID.match(request_id):
        raise InvalidValueError.of("request_id", MessageCode.REQUEST_ID_FORMAT)
    return request_id


def invoice_not_found(company_id: str, deal_id: str, invoice_id: str) -> NotFoundError:
    return NotFoundError(
        ResourceType.INVOICE, f"companies/{company_id}/deals/{deal_id}/invoices/{invoice_id}"
    )


async def load_invoice(uow: UnitOfWork, ref: InvoiceRef, *, for_update: bool = False) -> Invoice:
    ref.principal.ensure_can_access(ref.company_id)
    get = uow.invoices.get_for_update if for_update else uow.invoices.get
    invoice = await get(ref.company_id, ref.invoice_id)
    if invoice is None or invoice.deal_id != ref.deal_id:
        raise invoice_not_found(ref.company_id, ref.deal_id, ref.invoice_id)
    return invoice


async def settings_of(uow: UnitOfWork, company_id: str) -> CompanySettings:
    return await uow.settings.get(company_id) or CompanySettings.default(company_id)


@dataclass(frozen=True, slots=True)
class InvoiceAnswers:
    """What a use case answers: the invoice as the read side has it, or, after a write, as the
    use case just wrote it (the read side's columns are computed from that same invoice, so
    reading them back would only cost a round trip)."""

    views: InvoiceViews
    accounting: AccountingGateway
    clock: Clock

    async def view(self, company_id: str, deal_id: str, invoice_id: str) -> InvoiceView:
        today = await today_of(company_id, self.accounting, self.clock)
        view = await self.views.get(company_id, invoice_id, today=today)
        if view is None or view.deal_id != deal_id:
            raise invoice_not_found(company_id, deal_id, invoice_id)
        return view

    async def written(self, invoice: Invoice) -> InvoiceView:
        """The view of ``invoice`` as just stored, with its status on the company's today."""
        return InvoiceView.of(
            invoice, await today_of(invoice.company_id, self.accounting, self.clock)
        )


@dataclass(frozen=True, slots=True)
class InvoiceAction:
    """What void, delete and send share: the state must allow the action, QuickBooks is told
    (by the subclass), then the change is recorded on the invoice as stored now (locked) and
    the caller gets the view the read side holds."""

    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    clock: Clock
    answers: InvoiceAnswers
    visibility: DealVisibility
    _: KW_ONLY
    jobs: JobQueue | None = None  # None: the sweep queues the timeline's job

    async def _checked(self, ref: InvoiceRef, action: Action) -> Invoice:
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            invoice = await load_invoice(uow, ref)
            settings = await settings_of(uow, ref.company_id)
        ref.principal.ensure_may(settings.permissions, action, ref.company_id)
        if not invoice.can(action.value):
            raise InvalidStateTransitionError(invoice.id, invoice.state.name, action)
        invoice.ensure_in_connected_company(action)
        return invoice

    async def _recorded(
        self, ref: InvoiceRef, change: Callable[[Invoice, datetime], None]
    ) -> InvoiceView:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            invoice = await load_invoice(uow, ref, for_update=True)
            change(invoice, now)
            invoice.mark_synced(now)
            timeline = await record_timeline(uow, invoice, now)
            await uow.invoices.save(
                invoice, actor=ref.principal.subject, actor_name=ref.principal.name
            )
            await uow.commit()
        if self.jobs is not None and timeline:
            await self.jobs.update_deal_timeline(ref.company_id, ref.invoice_id)
        await queue_deal_fields(self.uow_factory, self.jobs, ref.company_id, [invoice.deal_id])
        return await self.answers.written(invoice)
