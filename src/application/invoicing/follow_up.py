"""FollowUpOnDeal: the deal side of a created invoice (customer link, note, timeline, deal
fields), exactly once."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import structlog

from application.deal_fields import queue_deal_fields
from application.errors import (
    ApplicationError,
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
)
from application.invoicing.contacts import link_targets
from application.ports.clock import Clock
from application.ports.crm import CrmGateway, DealParties
from application.ports.jobs import JobQueue
from application.ports.persistence import (
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    UnitOfWorkFactory,
)
from application.timeline import UpdateDealTimeline

log = structlog.get_logger("dealbooks.invoices")


@dataclass(frozen=True, slots=True)
class FollowUpOnDeal:
    """Remember the invoice's QuickBooks customer for the deal's organization (else person)
    and add the note to the deal, exactly once: the note is marked SENDING before it is posted,
    and a run that finds SENDING posts only if the deal's notes lack it."""

    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    clock: Clock
    _: KW_ONLY
    timeline: UpdateDealTimeline | None = None
    jobs: JobQueue | None = None  # the deal-fields job, when the company has deal fields

    async def execute(self, company_id: str, invoice_id: str) -> None:
        """The customer link and the note (invoices created before the deal timeline), then
        the invoice's timeline entries (its "created" entry among them), then the deal's fields
        (queued here, in the worker, rather than by the create: its answer waits for nothing
        but QuickBooks)."""
        async with self.uow_factory() as uow:
            follow_up = await uow.deal_follow_ups.get(company_id, invoice_id)
        if follow_up is None:
            return
        await self._follow_up(follow_up)
        if self.timeline is not None:
            await self.timeline.execute(company_id, invoice_id)
        await queue_deal_fields(self.uow_factory, self.jobs, company_id, [follow_up.deal_id])

    async def _follow_up(self, follow_up: DealFollowUp) -> None:
        company_id, invoice_id = follow_up.company_id, follow_up.invoice_id
        if follow_up.state is FollowUpState.DONE:
            return
        try:
            deal: DealParties | None = await self.crm.deal_parties(company_id, follow_up.deal_id)
        except NotFoundError:
            deal = None  # the deal is gone: nobody to link, nowhere to write
        except (IntegrationNotConnectedError, UpstreamRejectedError) as exc:
            await self._give_up(follow_up, exc)
            return
        posted = False
        if deal is not None and follow_up.state is FollowUpState.SENDING:
            notes = await self.crm.deal_notes(company_id, follow_up.deal_id)
            posted = any(follow_up.marker in text for text in notes)
        now = self.clock.now()
        async with self.uow_factory() as uow:
            targets = link_targets(deal) if deal is not None else []
            invoice = await uow.invoices.get(company_id, invoice_id) if targets else None
            # A follow-up run after the company switched QuickBooks companies: the customer is
            # the former company's, not to be linked for the new one.
            if targets and not (invoice and invoice.other_quickbooks_company):
                entity, entity_id = targets[0]
                await uow.customer_links.put(
                    CustomerLink(
                        company_id=company_id,
                        entity=entity,
                        entity_id=entity_id,
                        quickbooks_customer_id=follow_up.quickbooks_customer_id,
                        display_name=follow_up.customer_name,
                        linked_at=now,
                        linked_by=follow_up.requested_by,
                        # The invoice's currency is its customer's: QuickBooks accepts no other.
                        currency=invoice.currency if invoice else "",
                    )
                )
            done = deal is None or posted or not follow_up.note
            state = FollowUpState.DONE if done else FollowUpState.SENDING
            await uow.deal_follow_ups.mark(company_id, invoice_id, state, now)
            await uow.commit()
        if done:
            return
        try:
            await self.crm.add_deal_note(company_id, follow_up.deal_id, follow_up.note)
        except (IntegrationNotConnectedError, UpstreamRejectedError) as exc:
            await self._give_up(follow_up, exc)
            return
        await self._mark(follow_up, FollowUpState.DONE)
        log.info("invoice.note_added", invoice_id=invoice_id, deal_id=follow_up.deal_id)

    async def _give_up(self, follow_up: DealFollowUp, exc: ApplicationError) -> None:
        """Pipedrive refuses (not connected, a rejected request): retrying would not help."""
        log.warning("invoice.note_failed", invoice_id=follow_up.invoice_id, reason=exc.reason)
        await self._mark(follow_up, FollowUpState.DONE)

    async def _mark(self, follow_up: DealFollowUp, state: FollowUpState) -> None:
        async with self.uow_factory() as uow:
            await uow.deal_follow_ups.mark(
                follow_up.company_id, follow_up.invoice_id, state, self.clock.now()
            )
            await uow.commit()
