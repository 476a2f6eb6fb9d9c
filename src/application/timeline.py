"""The deal's Pipedrive timeline follows the invoice (issue 16).

Recording: the transaction that records an invoice milestone (created, sent, partly paid, paid,
overdue, voided, deleted) also records the timeline entry it owes the deal, if the company's
settings want that milestone (:func:`record_timeline`); the caller then queues a job.

Posting: :class:`UpdateDealTimeline` (the job) posts each unfinished entry of one invoice as a
Pipedrive note or a done activity (the kind the settings chose when the milestone was
recorded), in the company's language, with the link to the invoice in QuickBooks. Exactly
once: an entry is marked SENDING, with its text, before it is posted, and a run that finds it
SENDING posts only if the deal's notes (or done activities) lack that text. Pipedrive down:
the job retries; nothing is lost, since the entries are rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import structlog

from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
)
from application.ports.clock import Clock
from application.ports.crm import CrmGateway
from application.ports.persistence import (
    TimelineEntry,
    TimelineEntryState,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.views import payable_link
from domain.invoice import Invoice
from domain.timeline import EntryKind, Milestone, TimelinePolicy, milestones_of

log = structlog.get_logger("dealbooks.timeline")


async def timeline_policy(uow: UnitOfWork, company_id: str) -> TimelinePolicy:
    settings = await uow.settings.get(company_id)
    return settings.timeline if settings is not None else TimelinePolicy()


async def record_timeline(
    uow: UnitOfWork, invoice: Invoice, now: datetime, policy: TimelinePolicy | None = None
) -> bool:
    """Record, in ``uow``, the entries the invoice's pending events owe its deal (call before
    saving the invoice, which hands the events out). True when there is one to post."""
    reached = milestones_of(invoice.events)
    if not reached:
        return False
    if policy is None:
        policy = await timeline_policy(uow, invoice.company_id)
    entries = [
        TimelineEntry(
            company_id=invoice.company_id,
            invoice_id=invoice.id,
            key=m.key,
            deal_id=invoice.deal_id,
            milestone=m.milestone,
            occurred_at=m.occurred_at,
            details=m.details,
            state=TimelineEntryState.PENDING,
            created_at=now,
            updated_at=now,
            kind=policy.entry_kind,
        )
        for m in reached
        if policy.wants(m.milestone)
    ]
    await uow.deal_timeline.add(entries)
    return bool(entries)


_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        Milestone.CREATED: "Invoice {number} created in QuickBooks: {total}.",
        Milestone.SENT: "Invoice {number} emailed to {to}.",
        Milestone.PARTIALLY_PAID: (
            "Invoice {number}: payment of {amount} received; {balance} left to pay."
        ),
        Milestone.PAID: "Invoice {number} paid in full ({amount_paid}).",
        Milestone.OVERDUE: "Invoice {number} is overdue: {balance} was due on {due_date}.",
        Milestone.VOIDED: "Invoice {number} voided in QuickBooks.",
        Milestone.DELETED: "Invoice {number} deleted from QuickBooks.",
        "link": "Open in QuickBooks: {url}",
        "pay": "Pay online: {url}",
    },
    "fr": {
        Milestone.CREATED: "Facture {number} créée dans QuickBooks : {total}.",
        Milestone.SENT: "Facture {number} envoyée par e-mail à {to}.",
        Milestone.PARTIALLY_PAID: (
            "Facture {number} : paiement de {amount} reçu ; reste à payer {balance}."
        ),
        Milestone.PAID: "Facture {number} payée en totalité ({amount_paid}).",
        Milestone.OVERDUE: "Facture {number} en retard : {balance} dus le {due_date}.",
        Milestone.VOIDED: "Facture {number} annulée dans QuickBooks.",
        Milestone.DELETED: "Facture {number} supprimée de QuickBooks.",
        "link": "Ouvrir dans QuickBooks : {url}",
        "pay": "Payer en ligne : {url}",
    },
}
_MONEY_DETAILS: Final = ("total", "amount", "amount_paid", "balance")


def language_of_locale(locale: str) -> str:
    """ "fr_FR" -> "fr"; a language without texts -> "en"."""
    language = locale.replace("-", "_").partition("_")[0].lower()
    return language if language in _TEXTS else "en"


def _localized(name: str, value: str, language: str) -> str:
    if language != "fr":
        return value
    if name in _MONEY_DETAILS:  # "1234.50 EUR" -> "1234,50 EUR"
        amount, _, currency = value.partition(" ")
        return f"{amount.replace('.', ',')} {currency}".strip()
    if name == "due_date":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value


def timeline_text(entry: TimelineEntry, invoice: Invoice | None, language: str) -> str:
    """The entry's note: what happened, in ``language``, and the link to the invoice."""
    texts = _TEXTS.get(language, _TEXTS["en"])
    number = entry.details.get("doc_number") or (
        (invoice.doc_number or invoice.quickbooks_id or "") if invoice is not None else ""
    )
    params = {k: _localized(k, v, language) for k, v in entry.details.items()}
    params["number"] = number
    try:
        line = texts[entry.milestone].format_map(params)
    except KeyError:  # details of an older shape: say what happened, without the figures
        line = texts[entry.milestone].split(":")[0].rstrip(" ") + "."
    lines = [line]
    if invoice is not None and invoice.other_quickbooks_company:
        return line  # its links would open the connected company's invoice of that id
    url = invoice.quickbooks_url if invoice is not None else None
    if url:
        lines.append(texts["link"].format(url=url))
    pay = _payment_link(entry, invoice)
    if pay:
        lines.append(texts["pay"].format(url=pay))
    return "\n".join(lines)


# The milestones after which the customer still has something to pay.
_PAYABLE_MILESTONES: Final = frozenset(
    {Milestone.CREATED, Milestone.SENT, Milestone.PARTIALLY_PAID, Milestone.OVERDUE}
)


def _payment_link(entry: TimelineEntry, invoice: Invoice | None) -> str | None:
    """The invoice's payment link (issue 17), on the notes of milestones that leave something
    to pay, while the invoice still has (not once it is paid, voided or deleted)."""
    if invoice is None or entry.milestone not in _PAYABLE_MILESTONES:
        return None
    return payable_link(invoice.state, invoice.payment_link)


@dataclass(frozen=True, slots=True)
class UpdateDealTimeline:
    """Post the invoice's unfinished timeline entries on its deal, each exactly once."""

    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    clock: Clock

    async def execute(self, company_id: str, invoice_id: str) -> int:
        """Returns how many entries this run posted."""
        async with self.uow_factory() as uow:
            entries = await uow.deal_timeline.unfinished_for_invoice(company_id, invoice_id)
            if not entries:
                return 0
            invoice = await uow.invoices.get(company_id, invoice_id)
            policy = await timeline_policy(uow, company_id)
        language: str | None = policy.language.value or None
        # What each deal already shows, by kind, read once per run when a retry needs it.
        shown: dict[tuple[EntryKind, str], list[str]] = {}
        posted = 0
        for entry in entries:
            try:
                content = entry.content
                if not content:
                    if language is None:
                        language = await self._language_of_installer(company_id)
                    content = timeline_text(entry, invoice, language)
                if entry.state is TimelineEntryState.SENDING:
                    where = (entry.kind, entry.deal_id)
                    if where not in shown:
                        shown[where] = await self._shown(company_id, entry)
                    if content in shown[where]:
                        await self._mark(entry, TimelineEntryState.DONE)
                        continue
                await self._mark(entry, TimelineEntryState.SENDING, content)
                if entry.kind is EntryKind.ACTIVITY:
                    await self.crm.add_deal_activity(company_id, entry.deal_id, content)
                else:
                    await self.crm.add_deal_note(company_id, entry.deal_id, content)
            except (NotFoundError, UpstreamRejectedError) as exc:
                # The deal is gone, or Pipedrive refuses this note: a retry would not help.
                log.warning("timeline.entry_skipped", invoice_id=invoice_id, reason=exc.reason)
                await self._mark(entry, TimelineEntryState.SKIPPED)
                continue
            except IntegrationNotConnectedError as exc:
                # Pipedrive disconnected: nothing more can be written (reconnecting starts anew).
                log.warning("timeline.entries_skipped", invoice_id=invoice_id, reason=exc.reason)
                for left in entries[entries.index(entry) :]:
                    await self._mark(left, TimelineEntryState.SKIPPED)
                return posted
            await self._mark(entry, TimelineEntryState.DONE)
            posted += 1
            log.info(
                "timeline.entry_added",
                invoice_id=invoice_id,
                deal_id=entry.deal_id,
                milestone=entry.milestone.value,
                kind=entry.kind.value,
            )
        return posted

    async def _shown(self, company_id: str, entry: TimelineEntry) -> list[str]:
        """The texts the deal already shows in the entry's kind (notes or done activities)."""
        if entry.kind is EntryKind.ACTIVITY:
            return await self.crm.deal_activities(company_id, entry.deal_id)
        return await self.crm.deal_notes(company_id, entry.deal_id)

    async def _language_of_installer(self, company_id: str) -> str:
        """The company has no language of its own in Pipedrive: the app acts as the user who
        installed it, whose locale stands for the company's."""
        return language_of_locale(await self.crm.acting_locale(company_id))

    async def _mark(
        self, entry: TimelineEntry, state: TimelineEntryState, content: str | None = None
    ) -> None:
        async with self.uow_factory() as uow:
            await uow.deal_timeline.mark(
                entry.company_id,
                entry.invoice_id,
                entry.key,
                state,
                self.clock.now(),
                content=content,
            )
            await uow.commit()
