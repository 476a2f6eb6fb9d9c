"""Bulk invoicing from the UI (issue 17): the deals won in a month that have no invoice yet, and
one click to invoice them all.

- :class:`ListWonDeals`: the company's deals won in a month (its own calendar: QuickBooks'
  time zone), or the won ones among the deals selected in Pipedrive's deals list, without an
  invoice that stands, as Pipedrive lists them. A non-admin sees only the deals Pipedrive
  shows her (one ``permittedUsers`` read per listed or selected deal, as the panel).
- :class:`InvoiceDeals`: each deal's invoice prepared as the invoice form (and a rule) does
  it, from the chosen template, then created through :class:`BatchCreateInvoices` under the
  caller's request id per deal: a run sent again answers the invoices it made, and makes none
  twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Final

import structlog

from application.auth import Principal
from application.commands import CreateInvoiceCommand, DealRef
from application.errors import ApplicationError, PermissionDeniedError
from application.invoicing.batch import (
    MAX_BATCH_REQUESTS,
    BatchCreateInvoices,
    BatchCreateInvoicesCommand,
    BatchItemOutcome,
    check_batch_size,
)
from application.invoicing.by_rule import blocking_warning, invoice_input
from application.invoicing.calendar import company_zone
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.stored import settings_of, validate_request_id
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.crm import CrmGateway, WonDeal
from application.ports.persistence import UnitOfWorkFactory
from application.visibility import DealVisibility
from domain.errors import DomainError, InvalidValueError
from domain.messages import MessageCode
from domain.permissions import Action

log = structlog.get_logger("dealbooks.invoices")

_MONTH: Final = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
#: Deals read from Pipedrive (and QuickBooks, for their drafts) at once: a page of deals is
#: prepared in a few seconds without using more of either rate limit than a busy user would.
PREPARING_AT_ONCE: Final = 8


@dataclass(frozen=True, slots=True)
class WonDeals:
    """The deals won in ``month`` (``YYYY-MM``) with no invoice, most recently won first."""

    month: str
    deals: tuple[WonDeal, ...]
    invoiced: int  # won that month, left out: they have an invoice
    hidden: int  # won that month, left out: Pipedrive does not show them to the caller
    more: bool  # more than MAX_BATCH_REQUESTS: the first ones are listed
    not_won: int = 0  # among the deals asked for, left out: not won (open, lost, gone)
    # Among the deals asked for, ``hidden`` counts those Pipedrive hides from the caller,
    # whatever they are; ``invoiced`` and ``not_won`` count only deals she sees.


def month_bounds(month: str, now: datetime, zone: tzinfo) -> tuple[str, datetime, datetime]:
    """``month`` (``YYYY-MM``; empty: the current one where the company is) and its first
    instant and the next month's, as (month, since, until)."""
    if not month.strip():
        local = now.astimezone(zone)
        year, number = local.year, local.month
    else:
        match = _MONTH.fullmatch(month.strip())
        if match is None:
            raise InvalidValueError.of("month", MessageCode.NOT_A_MONTH, value=month[:20])
        year, number = int(match[1]), int(match[2])
    since = datetime(year, number, 1, tzinfo=zone)
    until = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return f"{year:04d}-{number:02d}", since, until


@dataclass(frozen=True, slots=True)
class ListWonDeals:
    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    accounting: AccountingGateway
    clock: Clock
    visibility: DealVisibility

    async def execute(
        self,
        principal: Principal,
        company_id: str,
        month: str = "",
        among: Sequence[str] = (),
    ) -> WonDeals:
        """The month's won deals; with ``among`` (the deals selected in Pipedrive's deals
        list), the won ones among them instead, whenever they were won."""
        principal.ensure_can_access(company_id)
        check_batch_size(len(among), "deals")
        async with self.uow_factory() as uow:
            settings = await settings_of(uow, company_id)
        principal.ensure_may(settings.permissions, Action.CREATE, company_id)
        if among:
            return await self._among(principal, company_id, among)
        zone = await company_zone(company_id, self.accounting)
        month, since, until = month_bounds(month, self.clock.now(), zone)
        won = await self.crm.won_deals(company_id, since, until)
        open_deals = await self._without_invoice(company_id, won)
        seen = await self._visible(principal, company_id, [d.id for d in open_deals])
        shown = [d for d in open_deals if d.id in seen]
        return WonDeals(
            month=month,
            deals=tuple(shown[:MAX_BATCH_REQUESTS]),
            invoiced=len(won) - len(open_deals),
            hidden=len(open_deals) - len(shown),
            more=len(shown) > MAX_BATCH_REQUESTS,
        )

    async def _among(self, principal: Principal, company_id: str, among: Sequence[str]) -> WonDeals:
        """The deals the caller picked: the ones Pipedrive hides from her are only counted,
        first, so that nothing else is said of them (won or not, invoiced or not)."""
        picked = list(dict.fromkeys(among))
        seen = await self._visible(principal, company_id, picked)
        won = await self.crm.won_deals_among(company_id, [d for d in picked if d in seen])
        open_deals = await self._without_invoice(company_id, won)
        return WonDeals(
            month="",
            deals=tuple(open_deals),
            invoiced=len(won) - len(open_deals),
            hidden=len(picked) - len(seen),
            more=False,
            not_won=len(seen) - len(won),
        )

    async def _without_invoice(self, company_id: str, won: list[WonDeal]) -> list[WonDeal]:
        async with self.uow_factory() as uow:
            invoiced = set(
                await uow.invoices.deal_ids(company_id, among=[d.id for d in won], live=True)
            )
        return [d for d in won if d.id not in invoiced]

    async def _visible(
        self, principal: Principal, company_id: str, deal_ids: Sequence[str]
    ) -> set[str]:
        """The deals of ``deal_ids`` Pipedrive shows the caller."""
        if principal.user_id is None or principal.sees_every_deal:
            return set(deal_ids)  # nothing to read: the caller sees every deal
        gate = asyncio.Semaphore(PREPARING_AT_ONCE)

        async def seen(deal_id: str) -> bool:
            async with gate:
                try:
                    await self.visibility.ensure_visible(principal, company_id, deal_id)
                except PermissionDeniedError:
                    return False
            return True

        shown = await asyncio.gather(*(seen(d) for d in deal_ids))
        return {d for d, ok in zip(deal_ids, shown, strict=True) if ok}


@dataclass(frozen=True, slots=True)
class DealToInvoice:
    deal_id: str
    request_id: str  # the caller's, one per deal: sending the run again makes nothing twice


@dataclass(frozen=True, slots=True)
class InvoiceDealsCommand:
    principal: Principal
    company_id: str
    deals: Sequence[DealToInvoice]
    template_id: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceDeals:
    prepare: PrepareInvoice
    batch: BatchCreateInvoices
    at_once: int = PREPARING_AT_ONCE

    async def execute(self, cmd: InvoiceDealsCommand) -> AsyncIterator[BatchItemOutcome]:
        """Each deal's outcome (``index`` in ``cmd.deals``) as soon as it is known: deals
        already invoiced by an earlier run and deals that cannot be invoiced as they stand
        first, then each QuickBooks batch as it is answered."""
        company_id = cmd.company_id
        cmd.principal.ensure_can_access(company_id)
        check_batch_size(len(cmd.deals), "deals")
        async with self.batch.create.uow_factory() as uow:
            settings = await settings_of(uow, company_id)
        cmd.principal.ensure_may(settings.permissions, Action.CREATE, company_id)
        made: list[tuple[int, str, str, str]] = []  # an earlier run's: index, request, deal, id
        fresh: list[tuple[int, DealToInvoice]] = []
        repeated: list[BatchItemOutcome] = []
        seen: set[str] = set()
        async with self.batch.create.uow_factory() as uow:
            for index, item in enumerate(cmd.deals):
                if item.deal_id in seen:  # one invoice per deal and run
                    error = InvalidValueError.of(f"deals[{index}]", MessageCode.DEAL_REPEATED)
                    repeated.append(
                        BatchItemOutcome(index, item.request_id, item.deal_id, error=error)
                    )
                    continue
                seen.add(item.deal_id)
                request_id = item.request_id.strip()
                record = await uow.idempotency.get(company_id, request_id) if request_id else None
                if record is None:
                    fresh.append((index, item))
                else:
                    made.append((index, request_id, item.deal_id, record.resource_id))
        for outcome in [*repeated, *await self.batch.replayed(company_id, made)]:
            yield outcome
        gate = asyncio.Semaphore(self.at_once)

        async def prepared(index: int, item: DealToInvoice) -> CreateInvoiceCommand:
            async with gate:
                return await self._command(cmd, index, item)

        tasks = [asyncio.ensure_future(prepared(index, item)) for index, item in fresh]
        commands: list[CreateInvoiceCommand] = []
        positions: list[int] = []  # each command's index in ``cmd.deals``
        try:
            for (index, item), task in zip(fresh, tasks, strict=True):
                try:
                    commands.append(await task)
                    positions.append(index)
                except (ApplicationError, DomainError) as exc:
                    yield BatchItemOutcome(index, item.request_id, item.deal_id, error=exc)
        finally:
            for task in tasks:
                task.cancel()
        log.info(
            "invoice.deals_prepared",
            company_id=company_id,
            deals=len(cmd.deals),
            replayed=len(made),
            to_create=len(commands),
        )
        batch = BatchCreateInvoicesCommand(cmd.principal, company_id, commands)
        async for outcome in self.batch.execute(batch):
            yield replace(outcome, index=positions[outcome.index])

    async def _command(
        self, cmd: InvoiceDealsCommand, index: int, item: DealToInvoice
    ) -> CreateInvoiceCommand:
        prefix = f"deals[{index}]"
        try:
            request_id = validate_request_id(item.request_id.strip())
        except InvalidValueError as exc:
            raise exc.prefixed(prefix) from None
        if not request_id:
            raise InvalidValueError.of(f"{prefix}.request_id", MessageCode.REQUIRED)
        ref = DealRef(cmd.principal, cmd.company_id, item.deal_id)
        template_id = cmd.template_id or None
        draft = await self.prepare.execute(ref, template_id=template_id)
        blocking = blocking_warning(draft)
        if blocking is not None:  # what the invoice form would ask the user to fix first
            raise InvalidValueError.of(
                blocking.field or "deal", blocking.code, **dict(blocking.params)
            )
        return CreateInvoiceCommand(
            deal=ref, invoice=invoice_input(draft, template_id), request_id=request_id
        )
