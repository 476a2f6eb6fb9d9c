"""Installment schedules: a deal's remaining amount in installments (30/40/30 with dates), each
invoice created on its date by a job, exactly once (its request id is the installment's)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal

import structlog

from application.auth import Principal
from application.commands import (
    CreateInvoiceCommand,
    DealRef,
    InstallmentInput,
    ScheduleInstallmentsCommand,
)
from application.errors import (
    ApplicationError,
    NotFoundError,
    RequestIdReusedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.invoicing.create import CreateInvoice
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.share import invoice_input_of
from application.invoicing.stored import settings_of, validate_request_id
from application.ports.clock import Clock
from application.ports.persistence import IdempotencyRecord, UnitOfWork, UnitOfWorkFactory
from application.reasons import MetadataKey, ResourceType
from application.visibility import DealVisibility
from domain.errors import DomainError, FieldViolation, InvalidValueError
from domain.installment import INSTALLMENTS_MAX, DealShare
from domain.installment_schedule import (
    Installment,
    InstallmentState,
    PlannedInstallment,
    plan_schedule,
)
from domain.invoice import Invoice, InvoiceState
from domain.messages import MessageCode
from domain.money import to_decimal
from domain.permissions import Action
from domain.validation import checked_date

log = structlog.get_logger("dealbooks.installments")

# Installments whose invoices one run of the job creates at most (the next run takes the rest).
DUE_BATCH = 200


def system_principal(company_id: str) -> Principal:
    """Who creates an installment's invoice on its date: dealbooks, for the company that
    scheduled it (the user who did may have left since)."""
    return Principal(
        subject="dealbooks:installments",
        companies=frozenset({company_id}),
        is_admin=True,
        name="dealbooks",
    )


def _planned(rows: tuple[InstallmentInput, ...]) -> list[PlannedInstallment]:
    violations: list[FieldViolation] = []
    planned: list[PlannedInstallment] = []
    if not 1 <= len(rows) <= INSTALLMENTS_MAX:
        raise InvalidValueError.of(
            "installments", MessageCode.INSTALLMENTS_COUNT, max=INSTALLMENTS_MAX
        )
    for index, row in enumerate(rows):
        percentage: Decimal | None = None
        due_on: date | None = None
        try:
            percentage = to_decimal(row.percentage, "percentage")
        except InvalidValueError as err:
            violations.extend(err.prefixed(f"installments[{index}]").violations)
        # Its invoice's issue date: in the range invoice dates have.
        due_on = checked_date(row.due_date, f"installments[{index}].due_date", violations)
        if percentage is not None and due_on is not None:
            planned.append(PlannedInstallment(percentage, due_on))
    if violations:
        raise InvalidValueError.many(violations)
    return planned


def _fingerprint(cmd: ScheduleInstallmentsCommand) -> str:
    payload = json.dumps(
        {
            "company": cmd.deal.company_id,
            "deal": cmd.deal.deal_id,
            "installments": [asdict(row) for row in cmd.installments],
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ListInstallments:
    uow_factory: UnitOfWorkFactory
    visibility: DealVisibility

    async def execute(self, ref: DealRef) -> tuple[Installment, ...]:
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            return tuple(await uow.installments.for_deal(ref.company_id, ref.deal_id))


@dataclass(frozen=True, slots=True)
class CreateInstallmentInvoice:
    """The invoice of one installment, on its date (today in the company's time zone): the
    deal's lines scaled to the installment's amount, created under the installment's request
    id, so a second run, a retry or a crash in between never makes a second invoice."""

    uow_factory: UnitOfWorkFactory
    prepare: PrepareInvoice
    create: CreateInvoice

    async def execute(self, company_id: str, schedule_id: str, position: int) -> Installment | None:
        """The installment as it is now; None when it is gone (its company forgotten)."""
        async with self.uow_factory() as uow:
            installment = await uow.installments.get(company_id, schedule_id, position)
            done = None
            if installment is not None:
                done = await uow.idempotency.get(company_id, installment.request_id)
        if installment is None:
            return None
        if installment.state is not InstallmentState.SCHEDULED:
            return installment
        if done is not None:  # created before a crash kept it from being recorded
            async with self.uow_factory() as uow:
                made = await uow.invoices.get(company_id, done.resource_id)
            return await self._record(self._outcome(installment, made, done.resource_id))
        ref = DealRef(system_principal(company_id), company_id, installment.deal_id)
        try:
            draft = await self.prepare.execute(ref, installment=installment)
            if draft.issue_date < installment.due_on:
                return installment  # not its date yet in the company's time zone
            view = await self.create.execute(
                CreateInvoiceCommand(ref, invoice_input_of(draft), installment.request_id)
            )
        except UpstreamUnavailableError:
            raise  # the next run tries again
        except (DomainError, UpstreamRejectedError, NotFoundError) as exc:
            log.warning(
                "installment.refused",
                company_id=company_id,
                schedule_id=schedule_id,
                position=position,
                reason=exc.reason,
            )
            return await self._record(installment.refused(exc.reason))
        if view.state is InvoiceState.CREATE_FAILED:  # QuickBooks refused it: Retry on the panel
            log.warning(
                "installment.refused",
                company_id=company_id,
                schedule_id=schedule_id,
                position=position,
                reason=view.failure_code or "",
            )
            return await self._record(installment.refused(view.failure_code or "REFUSED"))
        log.info(
            "installment.invoiced",
            company_id=company_id,
            schedule_id=schedule_id,
            position=position,
            invoice_id=view.id,
        )
        return await self._record(installment.invoiced(view.id))

    @staticmethod
    def _outcome(installment: Installment, made: Invoice | None, invoice_id: str) -> Installment:
        """What an earlier try (cut short before it was recorded) made of the installment: its
        invoice, or QuickBooks' refusal of it (a retry then makes a new request)."""
        if made is not None and made.state is InvoiceState.CREATE_FAILED:
            return installment.refused(made.failure_code or "REFUSED")
        return installment.invoiced(invoice_id)

    async def _record(self, installment: Installment) -> Installment:
        async with self.uow_factory() as uow:
            await uow.installments.save(installment)
            await uow.commit()
        return installment


@dataclass(frozen=True, slots=True)
class CreateDueInstallments:
    """The job: every installment whose date has come gets its invoice."""

    uow_factory: UnitOfWorkFactory
    create_invoice: CreateInstallmentInvoice
    clock: Clock

    async def execute(self) -> int:
        """How many invoices this run created."""
        # Today somewhere: UTC's date plus a day covers every time zone ahead of UTC; each
        # installment is then checked against its own company's today.
        horizon = self.clock.now().date() + timedelta(days=1)
        async with self.uow_factory() as uow:
            due = await uow.installments.due(horizon, DUE_BATCH)
        created = 0
        for installment in due:
            try:
                done = await self.create_invoice.execute(
                    installment.company_id, installment.schedule_id, installment.position
                )
            except ApplicationError as exc:  # QuickBooks down, not connected: the next run
                log.warning(
                    "installment.postponed",
                    company_id=installment.company_id,
                    schedule_id=installment.schedule_id,
                    reason=exc.reason,
                )
                continue
            created += done is not None and done.state is InstallmentState.CREATED
        return created


@dataclass(frozen=True, slots=True)
class ScheduleInstallments:
    """Schedule what is left to invoice on a deal in installments; the first one's invoice is
    created at once when it is due today."""

    uow_factory: UnitOfWorkFactory
    prepare: PrepareInvoice
    create_invoice: CreateInstallmentInvoice
    clock: Clock
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    async def execute(self, cmd: ScheduleInstallmentsCommand) -> tuple[Installment, ...]:
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        request_id = validate_request_id(cmd.request_id)
        fingerprint = _fingerprint(cmd)
        key = f"schedule:{request_id}"[:64]
        if request_id:
            replayed = await self._replay(ref, key, fingerprint)
            if replayed is not None:
                return replayed
        planned = _planned(cmd.installments)
        draft = await self.prepare.execute(ref, DealShare.rest())
        assert draft.share_amount is not None  # a share's draft has one
        schedule_id = self.new_id()
        installments = plan_schedule(
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            schedule_id=schedule_id,
            whole=draft.share_amount,
            planned=planned,
            today=draft.issue_date,
            now=self.clock.now(),
        )
        async with self.uow_factory() as uow:
            settings = await settings_of(uow, ref.company_id)
            ref.principal.ensure_may(settings.permissions, Action.CREATE, ref.company_id)
            record = IdempotencyRecord(fingerprint, schedule_id)
            if request_id and not await uow.idempotency.put(ref.company_id, key, record):
                replayed = await self._replay(ref, key, fingerprint)
                assert replayed is not None
                return replayed
            await uow.installments.add(installments)
            await uow.commit()
        log.info(
            "installments.scheduled",
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            schedule_id=schedule_id,
            count=len(installments),
        )
        first = installments[0]
        if first.is_due(draft.issue_date):
            try:
                await self.create_invoice.execute(ref.company_id, schedule_id, first.position)
            except ApplicationError as exc:  # the job creates it on its next run
                log.warning("installment.postponed", schedule_id=schedule_id, reason=exc.reason)
        return await self._schedule(ref, schedule_id)

    async def _replay(
        self, ref: DealRef, key: str, fingerprint: str
    ) -> tuple[Installment, ...] | None:
        async with self.uow_factory() as uow:
            record = await uow.idempotency.get(ref.company_id, key)
        if record is None:
            return None
        if record.request_hash != fingerprint:
            raise RequestIdReusedError(
                "This request_id was already used for a different schedule; use a new one.",
                metadata={MetadataKey.REQUEST_ID: key.removeprefix("schedule:")},
            )
        return await self._schedule(ref, record.resource_id)

    async def _schedule(self, ref: DealRef, schedule_id: str) -> tuple[Installment, ...]:
        async with self.uow_factory() as uow:
            return tuple(await _schedule_of(uow, ref, schedule_id))


@dataclass(frozen=True, slots=True)
class RetryInstallment:
    """The panel's Retry on a refused installment: scheduled again under a new request id (the
    refused try's invoice stays as QuickBooks left it), its invoice created at once when its
    date has come."""

    uow_factory: UnitOfWorkFactory
    create_invoice: CreateInstallmentInvoice
    visibility: DealVisibility

    async def execute(self, ref: DealRef, schedule_id: str, position: int) -> Installment:
        await _may_change(self.uow_factory, self.visibility, ref)
        async with self.uow_factory() as uow:
            installment = await _installment_of(uow, ref, schedule_id, position)
            retried = installment.retried()
            await uow.installments.save(retried)
            await uow.commit()
        log.info(
            "installment.retried",
            company_id=ref.company_id,
            schedule_id=schedule_id,
            position=position,
            attempt=retried.attempt,
        )
        try:
            done = await self.create_invoice.execute(ref.company_id, schedule_id, position)
        except ApplicationError as exc:  # QuickBooks down: the job creates it on its next run
            log.warning("installment.postponed", schedule_id=schedule_id, reason=exc.reason)
            return retried
        return done or retried


@dataclass(frozen=True, slots=True)
class CancelInstallmentSchedule:
    """Call off a schedule's installments still to come (to change a schedule: cancel it, then
    schedule what is left again). Installments already invoiced or refused stay as they are."""

    uow_factory: UnitOfWorkFactory
    visibility: DealVisibility

    async def execute(self, ref: DealRef, schedule_id: str) -> tuple[Installment, ...]:
        await _may_change(self.uow_factory, self.visibility, ref)
        async with self.uow_factory() as uow:
            rows = await _schedule_of(uow, ref, schedule_id)
            if not rows:
                raise NotFoundError(ResourceType.INSTALLMENT_SCHEDULE, schedule_id)
            pending = [row for row in rows if row.is_pending]
            for row in pending:
                await uow.installments.save(row.cancelled())
            await uow.commit()
            rows = await _schedule_of(uow, ref, schedule_id)
        log.info(
            "installments.cancelled",
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            schedule_id=schedule_id,
            cancelled=len(pending),
        )
        return tuple(rows)


async def _may_change(
    uow_factory: UnitOfWorkFactory, visibility: DealVisibility, ref: DealRef
) -> None:
    """A schedule is changed by whoever may create the deal's invoices."""
    ref.principal.ensure_can_access(ref.company_id)
    await visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
    async with uow_factory() as uow:
        settings = await settings_of(uow, ref.company_id)
    ref.principal.ensure_may(settings.permissions, Action.CREATE, ref.company_id)


async def _installment_of(
    uow: UnitOfWork, ref: DealRef, schedule_id: str, position: int
) -> Installment:
    installment = await uow.installments.get(ref.company_id, schedule_id, position)
    if installment is None or installment.deal_id != ref.deal_id:
        raise NotFoundError(ResourceType.INSTALLMENT, f"{schedule_id}/{position}")
    return installment


async def _schedule_of(uow: UnitOfWork, ref: DealRef, schedule_id: str) -> list[Installment]:
    rows = await uow.installments.for_deal(ref.company_id, ref.deal_id)
    return [row for row in rows if row.schedule_id == schedule_id]
