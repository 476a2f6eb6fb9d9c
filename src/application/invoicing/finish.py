"""FinishInvoiceCreation: take a CREATING invoice to OPEN (or CREATE_FAILED)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from decimal import Decimal

import structlog

from application.deal_fields import queue_deal_fields
from application.errors import (
    ApplicationError,
    ConcurrencyConflictError,
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.invoicing.follow_up import FollowUpOnDeal
from application.invoicing.stored import QUICKBOOKS_ACTOR
from application.ports.accounting import (
    AccountingCustomer,
    AccountingGateway,
    AccountingInvoice,
    InvoiceOptions,
    InvoiceToCreate,
)
from application.ports.clock import Clock
from application.ports.jobs import JobQueue
from application.ports.persistence import (
    CreationOptions,
    DealFollowUp,
    FollowUpState,
    QuickBooksIdHeldError,
    UnitOfWorkFactory,
)
from application.reasons import MetadataKey, Reason, ResourceType
from application.sync import queue_timelines
from application.timeline import record_timeline
from domain.errors import OtherQuickBooksCompanyError
from domain.invoice import Invoice, InvoiceState
from domain.timeline import TimelinePolicy

log = structlog.get_logger("dealbooks.invoices")

#: Why an invoice ends refused: QuickBooks said no, QuickBooks does not find something it
#: uses (a customer, item or tax code deleted or made inactive: fault 610, which no retry
#: changes), or it is not this QuickBooks company's.
Refusal = UpstreamRejectedError | NotFoundError | OtherQuickBooksCompanyError


def _for_other_company(invoice: Invoice) -> OtherQuickBooksCompanyError:
    """An invoice requested while another QuickBooks company was connected (the company
    switched since): its customer, terms and codes are that company's, so it is never sent to
    this one; it ends refused, for the user to create again."""
    return OtherQuickBooksCompanyError(invoice.id, "create")


@dataclass(frozen=True, slots=True)
class FinishInvoiceCreation:
    """Safe to run any number of times, from any process: QuickBooks writes carry request ids
    derived from the invoice id, and the outcome is recorded only on a row still CREATING,
    with its deal follow-up (queued, or run at once without a job queue)."""

    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    clock: Clock
    _: KW_ONLY
    jobs: JobQueue | None = None
    follow_up: FollowUpOnDeal | None = None

    async def execute(self, company_id: str, invoice_id: str) -> Invoice:
        async with self.uow_factory() as uow:
            invoice = await uow.invoices.get(company_id, invoice_id)
            if invoice is None:
                raise NotFoundError(ResourceType.INVOICE, invoice_id)
            creation = await uow.invoices.creation_options(company_id, invoice_id)
        return await self.finish(invoice, creation)

    async def finish(
        self,
        invoice: Invoice,
        creation: CreationOptions,
        options: InvoiceOptions | None = None,
        *,
        timeline: TimelinePolicy | None = None,
    ) -> Invoice:
        """``execute`` for an invoice the caller just read or stored (with its options), and
        the QuickBooks company's ``options`` and deal ``timeline`` policy it was built with,
        when the caller has them (else they are read)."""
        if invoice.state is not InvoiceState.CREATING:
            return invoice
        if creation.batch_request_id:
            sent = await self.finish_batch(
                invoice.company_id, creation.batch_request_id, creation.batch_members
            )
            return sent.get(invoice.id, invoice)
        if invoice.other_quickbooks_company:
            rejected, _ = await self._record(invoice, rejected=_for_other_company(invoice))
            return rejected
        try:
            customer = await self._ensure_customer(invoice, creation)
            linked = copy.copy(invoice)  # as sent: linked to the customer QuickBooks knows
            linked.customer = invoice.customer.with_quickbooks_id(customer.id)
            rate = creation.exchange_rate
            created = await self.accounting.create_invoice(
                invoice.company_id,
                linked,
                request_id=f"inv-{invoice.id}",
                exchange_rate=Decimal(rate) if rate else None,
                extras=creation.extras,
                options=options,
            )
        except (UpstreamRejectedError, NotFoundError) as exc:
            rejected, _ = await self._record(invoice, rejected=await self._explained(invoice, exc))
            return rejected
        except (UpstreamUnavailableError, IntegrationNotConnectedError) as exc:
            log.warning(
                "invoice.creation_deferred",
                invoice_id=invoice.id,
                reason=exc.reason,
                detail=exc.message,
            )
            return invoice  # still CREATING; a retry or the background sweep finishes it
        finished, confirmed_here = await self._record(
            invoice,
            created=created,
            customer=customer,
            requested_by=creation.requested_by,
            timeline=timeline,
        )
        if confirmed_here:  # one follow-up per invoice, from whichever process confirmed it
            await self._start_follow_up(invoice.company_id, invoice.id)
        return finished

    async def finish_batch(
        self, company_id: str, request_id: str, members: Sequence[str]
    ) -> dict[str, Invoice]:
        """Finish the invoices sent (or to be sent) together as one QuickBooks batch: the same
        members in the same order under the same request id, so that a first send, a retry
        after a timeout and a re-send by the sweep after a crash are one request to QuickBooks,
        which creates each invoice once and replays its first answer (reference §1.5). Every
        member is sent, finished ones too (a smaller batch would be a different request);
        outcomes are recorded only on invoices still CREATING. Returns each member as it ends.

        [U] QuickBooks keeps a batch's requestid at least as long as our retries and the sweep
        take (minutes to hours; Intuit documents no expiry), and answers two identical batches
        sent at once (two processes finishing the same batch) once, as the emulator does."""
        async with self.uow_factory() as uow:
            stored: list[tuple[Invoice, CreationOptions]] = []
            for invoice_id in members:
                invoice = await uow.invoices.get(company_id, invoice_id)
                if invoice is None:
                    raise NotFoundError(ResourceType.INVOICE, invoice_id)
                stored.append(
                    (invoice, await uow.invoices.creation_options(company_id, invoice_id))
                )
        current: dict[str, Invoice] = {invoice.id: invoice for invoice, _ in stored}
        if all(invoice.state is not InvoiceState.CREATING for invoice, _ in stored):
            return current
        wanted: list[InvoiceToCreate | None] = []
        customers: list[AccountingCustomer | Refusal] = []
        try:
            for invoice, creation in stored:
                if invoice.other_quickbooks_company:
                    customers.append(_for_other_company(invoice))
                    wanted.append(None)
                    continue
                try:
                    customer = await self._ensure_customer(invoice, creation)
                except (UpstreamRejectedError, NotFoundError) as exc:
                    customers.append(exc)  # its place stays empty: the others keep their bIds
                    wanted.append(None)
                    continue
                customers.append(customer)
                linked = copy.copy(invoice)
                linked.customer = invoice.customer.with_quickbooks_id(customer.id)
                rate = creation.exchange_rate
                wanted.append(
                    InvoiceToCreate(linked, Decimal(rate) if rate else None, extras=creation.extras)
                )
            outcomes = await self.accounting.create_invoices(
                company_id, wanted, request_id=request_id
            )
        except (UpstreamUnavailableError, IntegrationNotConnectedError) as exc:
            log.warning(
                "invoice.batch_deferred",
                company_id=company_id,
                batch_request_id=request_id,
                invoices=len(members),
                reason=exc.reason,
                detail=exc.message,
            )
            return current  # still CREATING; a retry or the background sweep re-sends it
        customers_read: dict[str, AccountingCustomer | None] = {}
        for (invoice, creation), linked_to, outcome in zip(
            stored, customers, outcomes, strict=True
        ):
            if invoice.state is not InvoiceState.CREATING:
                continue
            if isinstance(linked_to, Refusal):
                current[invoice.id], _ = await self._record(invoice, rejected=linked_to)
            elif isinstance(outcome, UpstreamRejectedError):
                refusal = await self._explained(invoice, outcome, customers_read)
                current[invoice.id], _ = await self._record(invoice, rejected=refusal)
            elif outcome is not None:
                finished, confirmed_here = await self._record(
                    invoice, created=outcome, customer=linked_to, requested_by=creation.requested_by
                )
                current[invoice.id] = finished
                if confirmed_here:
                    await self._start_follow_up(company_id, invoice.id)
        return current

    async def _ensure_customer(
        self, invoice: Invoice, creation: CreationOptions
    ) -> AccountingCustomer:
        company_id = invoice.company_id
        wanted = invoice.customer
        if wanted.quickbooks_id:
            if not creation.update_customer_details:  # decided at the request, setting included
                # Linked and nothing to copy: QuickBooks itself refuses an unknown customer,
                # so reading it first would only cost a call against the rate limit.
                return AccountingCustomer(id=wanted.quickbooks_id, customer=wanted)
            existing = await self.accounting.get_customer(company_id, wanted.quickbooks_id)
            if not existing.active:
                raise customer_inactive(existing)
            differences = wanted.differences(existing.customer)
            if differences:
                existing = await self.accounting.update_customer_details(
                    company_id, existing.id, wanted, differences
                )
            return existing
        return await self.accounting.create_customer(
            company_id, wanted, request_id=f"cus-{invoice.id}", currency=invoice.currency
        )

    async def _explained(
        self,
        invoice: Invoice,
        refused: Refusal,
        read: dict[str, AccountingCustomer | None] | None = None,
    ) -> Refusal:
        """QuickBooks' 610 (something the invoice uses is inactive or deleted) names no field
        (reference §9: "Check the fields with accounts, customers, items, vendors or
        employees"). The form checked the items, terms and codes against QuickBooks' lists;
        the customer it did not, so when the invoice's customer is inactive the refusal says
        so, by its name: one read, on this refusal only (``read``: the customers a batch has
        read so far, each read once). An invoice made by a rule, with no one to see the
        draft's warning, has no other way to tell."""
        customer_id = invoice.customer.quickbooks_id
        if not (
            isinstance(refused, UpstreamRejectedError | NotFoundError)
            and refused.reason == Reason.QUICKBOOKS_OBJECT_NOT_FOUND
            and customer_id
        ):
            return refused
        read = {} if read is None else read
        if customer_id not in read:
            try:
                read[customer_id] = await self.accounting.get_customer(
                    invoice.company_id, customer_id
                )
            except ApplicationError:  # gone, unavailable, disconnected: as QuickBooks said it
                read[customer_id] = None
        customer = read[customer_id]
        if customer is None or customer.active:
            return refused
        return customer_inactive(customer, refused.metadata)

    async def _record(
        self,
        requested: Invoice,
        *,
        created: AccountingInvoice | None = None,
        customer: AccountingCustomer | None = None,
        requested_by: str | None = None,
        rejected: Refusal | None = None,
        timeline: TimelinePolicy | None = None,
    ) -> tuple[Invoice, bool]:
        """The invoice after recording the outcome, and whether this call recorded it. The id
        QuickBooks gave may be held by an invoice of the books before a reset: that one is
        set aside first (:meth:`_set_aside`), then the outcome recorded."""
        outcome = (requested, created, customer, requested_by, rejected, timeline)
        try:
            return await self._record_once(*outcome)
        except QuickBooksIdHeldError as held:
            await self._set_aside(requested, held.quickbooks_id, timeline)
        return await self._record_once(*outcome)

    async def _set_aside(
        self, invoice: Invoice, quickbooks_id: str, timeline: TimelinePolicy | None
    ) -> None:
        """QuickBooks never gives one company's invoice id twice, so an invoice of ours that
        holds the id QuickBooks just gave ``invoice`` is of that company's books before a reset
        under the same realm id (a sandbox company reset, which numbers from the start again
        [U: Intuit documents neither; the emulator's reset does so]). That invoice went with the
        reset: it is recorded deleted (its deal told, if the company wants it) and set aside as
        of another QuickBooks company, where the id no longer names it."""
        company_id, now = invoice.company_id, self.clock.now()
        async with self.uow_factory() as uow:
            held = await uow.invoices.find_by_quickbooks_ids(company_id, [quickbooks_id])
            former = [i for i in held if i.id != invoice.id]
            told: list[str] = []
            for gone in former:
                if gone.can("delete"):
                    gone.delete(now)
                if await record_timeline(uow, gone, now, timeline):
                    told.append(gone.id)
                await uow.invoices.save(gone, actor=QUICKBOOKS_ACTOR)
                await uow.invoices.set_aside(company_id, gone.id)
                log.warning("invoice.books_reset", invoice_id=gone.id, now_held_by=invoice.id)
            await uow.commit()
        if not former:
            # Held by an invoice of a QuickBooks company not connected now: the company switched
            # companies while this one was being created. It stays CREATING; the next run
            # refuses it as the former company's.
            raise ConcurrencyConflictError(
                "The QuickBooks company changed while the invoice was created; it is retried.",
                metadata={MetadataKey.INVOICE: invoice.id},
            )
        await queue_timelines(self.jobs, company_id, told)
        await queue_deal_fields(
            self.uow_factory, self.jobs, company_id, [i.deal_id for i in former]
        )

    async def _record_once(
        self,
        requested: Invoice,
        created: AccountingInvoice | None,
        customer: AccountingCustomer | None,
        requested_by: str | None,
        rejected: Refusal | None,
        timeline: TimelinePolicy | None,
    ) -> tuple[Invoice, bool]:
        company_id = requested.company_id
        now = self.clock.now()
        async with self.uow_factory() as uow:
            invoice = await uow.invoices.get_for_update(company_id, requested.id)
            if invoice is None:
                raise NotFoundError(ResourceType.INVOICE, requested.id)
            if invoice.state is not InvoiceState.CREATING:
                return invoice, False  # another process finished it first
            if rejected is not None:
                invoice.reject(
                    rejected.message,
                    now,
                    code=rejected.reason,
                    params=rejected.metadata,
                )
                log.info(
                    "invoice.creation_rejected",
                    invoice_id=invoice.id,
                    reason=rejected.reason,
                    detail=rejected.message,
                )
            else:
                assert created is not None
                assert customer is not None
                link = await self.accounting.invoice_link(company_id, created.id)
                invoice.confirm_created(
                    created.id,
                    created.doc_number,
                    created.sync_token,
                    created.total,
                    now,
                    customer_quickbooks_id=customer.id,
                    quickbooks_url=link,
                    due_date=created.due_date,
                    terms=(created.terms_id, created.terms_name or "")
                    if created.terms_id
                    else None,
                    quickbooks_tax=created.tax,
                    payment_link=created.payment_link,
                    class_name=created.class_name,
                    location_name=created.location_name,
                )
                if created.balance != created.total:
                    # A deposit received (QuickBooks' Deposit) reduced the balance at once: it
                    # counts as paid, as QuickBooks' own balance does (reference §5: a Deposit
                    # makes an invoice partially paid).
                    invoice.apply_accounting_facts(
                        created.total,
                        created.balance,
                        created.sync_token,
                        created.due_date,
                        now,
                        tax=created.tax,
                    )
                invoice.mark_synced(now)
                # The "created" entry on the deal's timeline; the follow-up job posts it.
                await record_timeline(uow, invoice, now, timeline)
                await uow.deal_follow_ups.add(
                    _follow_up(invoice, created, customer, requested_by, link, now)
                )
                log.info(
                    "invoice.created",
                    invoice_id=invoice.id,
                    quickbooks_id=created.id,
                    doc_number=created.doc_number,
                    totals_mismatch=invoice.totals_mismatch,
                )
            await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR if rejected is None else None)
            await uow.commit()
        return invoice, True

    async def _start_follow_up(self, company_id: str, invoice_id: str) -> None:
        if self.jobs is not None:
            await self.jobs.follow_up_on_deal(company_id, invoice_id)
        elif self.follow_up is not None:
            try:
                await self.follow_up.execute(company_id, invoice_id)
            except Exception as exc:  # the note is a courtesy; the invoice exists either way
                log.warning("invoice.note_failed", invoice_id=invoice_id, error=type(exc).__name__)


def customer_inactive(
    customer: AccountingCustomer, metadata: dict[str, str] | None = None
) -> UpstreamRejectedError:
    name = customer.customer.display_name
    return UpstreamRejectedError(
        f"The QuickBooks customer '{name}' is inactive, and QuickBooks invoices no inactive "
        "customer: make it active in QuickBooks, or pick another customer.",
        reason=Reason.QUICKBOOKS_CUSTOMER_INACTIVE,
        metadata={**(metadata or {}), MetadataKey.CUSTOMER_NAME: name},
    )


def _follow_up(
    invoice: Invoice,
    created: AccountingInvoice,
    customer: AccountingCustomer,
    requested_by: str | None,
    link: str,
    now: datetime,
) -> DealFollowUp:
    return DealFollowUp(
        company_id=invoice.company_id,
        invoice_id=invoice.id,
        deal_id=invoice.deal_id,
        note="",  # the deal timeline's "created" entry says it, if the company wants it
        marker=link,
        quickbooks_customer_id=customer.id,
        customer_name=customer.customer.display_name,
        requested_by=requested_by,
        state=FollowUpState.PENDING,
        created_at=now,
        updated_at=now,
    )
