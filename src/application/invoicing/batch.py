"""BatchCreateInvoices (AIP-233): up to 1,000 CreateInvoice requests for one company, sent to
QuickBooks 30 at a time in batch calls, exactly once per request id.

Each request is checked and built as CreateInvoice does it (per-item errors are reported, the
valid ones proceed); each new invoice is stored CREATING under its request id, together with its
batch (a batch request id and the members in order), in one transaction per batch. Then
``FinishInvoiceCreation.finish_batch`` sends it. A timeout, a crash or a cancelled caller leaves
CREATING invoices whose stored batch the finishing job re-sends as the very same request, which
QuickBooks answers once: no invoice is made twice, none is lost. Pacing (40 batch calls a
minute per realm, across every process) is the QuickBooks adapter's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import structlog

from application.auth import Principal
from application.commands import CreateInvoiceCommand, DealRef
from application.errors import ApplicationError, ConcurrencyConflictError, RequestIdReusedError
from application.invoicing.create import CreateInvoice, request_hash
from application.invoicing.stored import settings_of, validate_request_id
from application.ports.accounting import MAX_BATCH_CREATE, InvoiceOptions
from application.ports.persistence import CreationOptions, IdempotencyRecord
from application.reasons import MetadataKey
from application.views import InvoiceView
from domain.errors import DomainError, InvalidValueError
from domain.invoice import Invoice, InvoiceState
from domain.messages import MessageCode
from domain.permissions import Action
from domain.settings import CompanySettings

log = structlog.get_logger("dealbooks.invoices")

MAX_BATCH_REQUESTS: Final = 1000
#: QuickBooks batches under way per run: as many as the batch calls a minute allows (40), so that
#: when the rolling minute lets calls through again a minute's worth is already waiting at the
#: shared limiter (which paces them, across every process). Fewer left the budget unused while
#: the batches before them recorded their invoices: 4 in flight per run gave 0.67 of the ceiling.
BATCHES_IN_FLIGHT: Final = 40


def check_batch_size(count: int, field: str = "requests") -> None:
    if count > MAX_BATCH_REQUESTS:
        raise InvalidValueError.of(
            field, MessageCode.TOO_MANY_IN_BATCH, max=str(MAX_BATCH_REQUESTS)
        )


@dataclass(frozen=True, slots=True)
class BatchCreateInvoicesCommand:
    principal: Principal
    company_id: str
    requests: Sequence[CreateInvoiceCommand]


@dataclass(frozen=True, slots=True)
class BatchItemOutcome:
    """What became of one request (``index`` in the command): its invoice as the read side
    has it (CREATING while QuickBooks has not answered: a job finishes it), or its error."""

    index: int
    request_id: str
    deal_id: str
    invoice: InvoiceView | None = None
    error: ApplicationError | DomainError | None = None


@dataclass(frozen=True, slots=True)
class _New:
    index: int
    ref: DealRef
    request_id: str
    fingerprint: str
    invoice: Invoice
    creation: CreationOptions


class _Claimed(Exception):
    """A request id of the batch being stored was claimed meanwhile (by a concurrent call)."""


@dataclass(frozen=True, slots=True)
class BatchCreateInvoices:
    create: CreateInvoice
    new_batch_id: Callable[[], str] = lambda: str(uuid.uuid4())  # 36 characters, QBO's limit
    batch_size: int = MAX_BATCH_CREATE
    in_flight: int = BATCHES_IN_FLIGHT

    async def execute(self, cmd: BatchCreateInvoicesCommand) -> AsyncIterator[BatchItemOutcome]:
        """Each request's outcome as soon as it is known (rejected requests and replays first,
        then each QuickBooks batch as it is answered); every request gets exactly one."""
        company_id = cmd.company_id
        cmd.principal.ensure_can_access(company_id)
        check_batch_size(len(cmd.requests))
        if not cmd.requests:
            return
        async with self.create.uow_factory() as uow:
            settings = await settings_of(uow, company_id)
        cmd.principal.ensure_may(settings.permissions, Action.CREATE, company_id)
        options = await self.create._preflight(company_id)
        fresh: list[_New] = []
        replays: list[tuple[int, str, str, str]] = []  # index, request id, deal, invoice id
        seen: set[str] = set()
        for index, item in enumerate(cmd.requests):
            try:
                checked = await self._check(cmd, index, item, seen, settings, options)
            except (ApplicationError, DomainError) as exc:
                yield BatchItemOutcome(index, item.request_id, item.deal.deal_id, error=exc)
                continue
            if isinstance(checked, _New):
                fresh.append(checked)
            else:
                replays.append((index, checked[0], item.deal.deal_id, checked[1]))
        for outcome in await self.replayed(company_id, replays):
            yield outcome
        batches = await self._store(company_id, fresh, replays)
        sending = False
        try:
            for outcome in await self.replayed(company_id, replays):  # claimed while storing
                yield outcome
            sending = True
            async for outcome in self._send(company_id, batches):
                yield outcome
        finally:
            if not sending and batches:  # the caller went away before any batch was sent
                await asyncio.shield(self._queue(company_id, batches))

    async def _check(
        self,
        cmd: BatchCreateInvoicesCommand,
        index: int,
        item: CreateInvoiceCommand,
        seen: set[str],
        settings: CompanySettings,
        options: InvoiceOptions | None,
    ) -> _New | tuple[str, str]:
        """The invoice to create for one request, or (request id, invoice id) of the invoice
        an earlier call with the same request id created."""
        prefix = f"requests[{index}]"
        ref = DealRef(cmd.principal, cmd.company_id, item.deal.deal_id)
        if item.deal.company_id != cmd.company_id:
            raise InvalidValueError.of(f"{prefix}.parent", MessageCode.OTHER_COMPANY_DEAL)
        try:
            request_id = validate_request_id(item.request_id.strip())
        except InvalidValueError as exc:
            raise exc.prefixed(prefix) from None
        if not request_id:  # exactly once per deal needs each request's own id
            raise InvalidValueError.of(f"{prefix}.request_id", MessageCode.REQUIRED)
        if request_id in seen:
            raise InvalidValueError.of(f"{prefix}.request_id", MessageCode.REQUEST_ID_REPEATED)
        seen.add(request_id)
        await self.create.visibility.ensure_visible(cmd.principal, cmd.company_id, ref.deal_id)
        fingerprint = request_hash(ref, item.invoice)
        async with self.create.uow_factory() as uow:
            record = await uow.idempotency.get(cmd.company_id, request_id)
        if record is not None:
            if record.request_hash != fingerprint:
                raise RequestIdReusedError(
                    "This request_id was already used for a different invoice; use a new one.",
                    metadata={MetadataKey.REQUEST_ID: request_id},
                )
            return request_id, record.resource_id
        template, snapshot = await self.create._template(ref, item.invoice)
        try:
            invoice, creation = self.create._build(
                ref, item.invoice, settings, options, template, snapshot
            )
        except InvalidValueError as exc:
            raise exc.prefixed(prefix) from None
        except (ValueError, ArithmeticError):
            # A value of this request that no check refused broke reading or computing it (a
            # date, a number: decimal's errors are ArithmeticErrors). That is a check missing,
            # logged as such; it is still this request's error, not the whole batch's, so the
            # other requests are created. Any other exception is a bug and ends the batch.
            log.exception("invoice.batch_item_unchecked", index=index, request_id=request_id)
            raise InvalidValueError.of(prefix, MessageCode.UNUSABLE_REQUEST) from None
        return _New(index, ref, request_id, fingerprint, invoice, creation)

    async def _store(
        self, company_id: str, fresh: list[_New], replays: list[tuple[int, str, str, str]]
    ) -> list[tuple[str, list[_New]]]:
        """Store the new invoices CREATING, each batch with its members in one transaction.
        A request id claimed meanwhile by a concurrent call turns into a replay (in
        ``replays``) and its batch is formed again without it."""
        batches: list[tuple[str, list[_New]]] = []
        pending = list(fresh)
        while pending:
            members, pending = pending[: self.batch_size], pending[self.batch_size :]
            batch_id = self.new_batch_id()
            ids = tuple(m.invoice.id for m in members)
            try:
                await self._store_batch(company_id, batch_id, ids, members)
            except _Claimed:
                kept = await self._unclaimed(company_id, members, replays)
                if len(kept) == len(members):  # no request id was taken: another conflict
                    raise ConcurrencyConflictError("the batch could not be stored") from None
                pending = kept + pending
                continue
            batches.append((batch_id, members))
            log.info(
                "invoice.batch_stored",
                company_id=company_id,
                batch_request_id=batch_id,
                invoices=len(members),
            )
        return batches

    async def _store_batch(
        self, company_id: str, batch_id: str, ids: tuple[str, ...], members: list[_New]
    ) -> None:
        async with self.create.uow_factory() as uow:
            for member in members:
                record = IdempotencyRecord(member.fingerprint, member.invoice.id)
                if not await uow.idempotency.put(company_id, member.request_id, record):
                    raise _Claimed  # nothing of this batch is committed
                creation = replace(member.creation, batch_request_id=batch_id, batch_members=ids)
                await uow.invoices.add(
                    member.invoice,
                    actor=member.ref.principal.subject,
                    actor_name=member.ref.principal.name,
                    creation=creation,
                )
            try:
                await uow.commit()
            except ConcurrencyConflictError:
                raise _Claimed from None

    async def _unclaimed(
        self, company_id: str, members: list[_New], replays: list[tuple[int, str, str, str]]
    ) -> list[_New]:
        kept: list[_New] = []
        async with self.create.uow_factory() as uow:
            for member in members:
                record = await uow.idempotency.get(company_id, member.request_id)
                if record is None:
                    kept.append(member)
                elif record.request_hash == member.fingerprint:
                    replays.append(
                        (member.index, member.request_id, member.ref.deal_id, record.resource_id)
                    )
                # a different request under the same id: CreateInvoice would refuse it too;
                # it is reported by the replay, which finds the hash differs
                else:
                    replays.append((member.index, member.request_id, member.ref.deal_id, ""))
        return kept

    async def replayed(
        self, company_id: str, replays: list[tuple[int, str, str, str]]
    ) -> list[BatchItemOutcome]:
        """The invoices earlier calls created (finished first when still CREATING: their own
        batch is re-sent once, as the same request)."""
        taken, replays[:] = list(replays), []
        outcomes: list[BatchItemOutcome] = []
        finished_batches: set[str] = set()
        for index, request_id, deal_id, invoice_id in taken:
            if not invoice_id:
                error = RequestIdReusedError(
                    "This request_id was already used for a different invoice; use a new one.",
                    metadata={MetadataKey.REQUEST_ID: request_id},
                )
                outcomes.append(BatchItemOutcome(index, request_id, deal_id, error=error))
                continue
            try:
                async with self.create.uow_factory() as uow:
                    invoice = await uow.invoices.get(company_id, invoice_id)
                    creation = await uow.invoices.creation_options(company_id, invoice_id)
                stuck = invoice is not None and invoice.state is InvoiceState.CREATING
                batch = creation.batch_request_id
                if stuck and not (batch and batch in finished_batches):
                    await self.create.finish.execute(company_id, invoice_id)
                    if batch:
                        finished_batches.add(batch)
                view = await self._view(company_id, deal_id, invoice_id)
            except (ApplicationError, DomainError) as exc:
                outcomes.append(BatchItemOutcome(index, request_id, deal_id, error=exc))
                continue
            outcomes.append(BatchItemOutcome(index, request_id, deal_id, invoice=view))
        return outcomes

    async def _send(
        self, company_id: str, batches: list[tuple[str, list[_New]]]
    ) -> AsyncIterator[BatchItemOutcome]:
        gate = asyncio.Semaphore(self.in_flight)

        async def one(batch_id: str, members: list[_New]) -> list[BatchItemOutcome]:
            async with gate:
                ids = [m.invoice.id for m in members]
                await self.create.finish.finish_batch(company_id, batch_id, ids)
            return [await self._outcome(company_id, batch_id, member) for member in members]

        tasks = [asyncio.ensure_future(one(batch_id, members)) for batch_id, members in batches]
        try:
            for done in asyncio.as_completed(tasks):
                for outcome in await done:
                    yield outcome
        finally:
            left = [(t, b) for t, b in zip(tasks, batches, strict=True) if not t.done()]
            for task, _ in left:
                task.cancel()
            if left:
                # The caller went away (or the server is stopping): each batch left is queued
                # for a job now rather than for the sweep a minute or more later.
                await asyncio.shield(self._queue(company_id, [b for _, b in left]))

    async def _queue(self, company_id: str, batches: list[tuple[str, list[_New]]]) -> None:
        jobs = self.create.jobs
        if jobs is None:
            return
        for batch_id, members in batches:
            try:  # one member's job re-sends the whole batch
                await jobs.finish_creation(company_id, members[0].invoice.id, batch_id)
            except Exception as exc:  # the queue is closing too: the sweep will find them
                log.warning("invoice.batch_not_queued", error=type(exc).__name__)

    async def _outcome(self, company_id: str, batch_id: str, member: _New) -> BatchItemOutcome:
        index, request_id, deal_id = member.index, member.request_id, member.ref.deal_id
        try:
            view = await self._view(company_id, deal_id, member.invoice.id)
        except (ApplicationError, DomainError) as exc:
            return BatchItemOutcome(index, request_id, deal_id, error=exc)
        if view.state is InvoiceState.CREATING and self.create.jobs is not None:
            await self.create.jobs.finish_creation(company_id, member.invoice.id, batch_id)
        return BatchItemOutcome(index, request_id, deal_id, invoice=view)

    async def _view(self, company_id: str, deal_id: str, invoice_id: str) -> InvoiceView:
        return await self.create.answers.view(company_id, deal_id, invoice_id)
