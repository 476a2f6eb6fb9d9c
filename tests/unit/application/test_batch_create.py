"""BatchCreateInvoices with in-memory fakes: batches of 30, each request once, and a batch whose
answer was lost finished by re-sending it as the same request (one invoice each)."""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from adapters.in_memory.accounting import InMemoryAccountingGateway
from application.commands import CreateInvoiceCommand, DealRef, InvoiceInput
from application.errors import NotFoundError, RequestIdReusedError, UpstreamUnavailableError
from application.invoicing.batch import (
    BatchCreateInvoices,
    BatchCreateInvoicesCommand,
    BatchItemOutcome,
)
from application.invoicing.create import CreateInvoice
from application.ports.accounting import BatchCreated, InvoiceToCreate
from application.reasons import Reason, ResourceType
from application.sync import SweepStuckCreations
from domain.errors import InvalidValueError
from domain.invoice import InvoiceState
from domain.messages import MessageCode
from tests.unit.application.invoicing_world import (
    COMPANY,
    USER,
    World,
    an_invoice_input,
    deal_ref,
)


class LosesAnswers(InMemoryAccountingGateway):
    """QuickBooks commits each batch, and the first ``lost`` answers never arrive."""

    def __init__(self, lost: int) -> None:
        super().__init__()
        self.lost = lost

    async def create_invoices(
        self, company_id: str, invoices: Sequence[InvoiceToCreate | None], *, request_id: str
    ) -> list[BatchCreated | None]:
        outcomes = await super().create_invoices(company_id, invoices, request_id=request_id)
        if self.lost:
            self.lost -= 1
            raise UpstreamUnavailableError("timed out", reason=Reason.QUICKBOOKS_UNAVAILABLE)
        return outcomes


def requests(count: int, prefix: str = "bulk") -> list[CreateInvoiceCommand]:
    return [
        CreateInvoiceCommand(deal_ref(deal_id=str(100 + n)), an_invoice_input(), f"{prefix}-{n}")
        for n in range(count)
    ]


async def run(world: World, items: list[CreateInvoiceCommand]) -> list[BatchItemOutcome]:
    batch = BatchCreateInvoices(world.create)
    command = BatchCreateInvoicesCommand(USER, COMPANY, items)
    return sorted([o async for o in batch.execute(command)], key=lambda o: o.index)


def created_in_quickbooks(world: World) -> int:
    return len(world.qbo.invoices)


async def test_65_requests_go_in_three_batches_and_each_makes_one_invoice() -> None:
    world = World()
    outcomes = await run(world, requests(65))
    assert [o.index for o in outcomes] == list(range(65))
    assert {o.invoice.state for o in outcomes if o.invoice} == {InvoiceState.OPEN}
    assert created_in_quickbooks(world) == 65
    assert world.qbo.calls.count("create_invoices") == 3
    # The same requests again: the same invoices, nothing new in QuickBooks, no batch sent.
    again = await run(world, requests(65))
    assert [o.invoice.id for o in again if o.invoice] == [
        o.invoice.id for o in outcomes if o.invoice
    ]
    assert created_in_quickbooks(world) == 65
    assert world.qbo.calls.count("create_invoices") == 3


async def test_a_batch_whose_answer_was_lost_is_finished_as_the_same_request() -> None:
    world = World(qbo=LosesAnswers(lost=2))
    outcomes = await run(world, requests(40))
    assert {o.invoice.state for o in outcomes if o.invoice} == {InvoiceState.CREATING}
    assert created_in_quickbooks(world) == 40  # QuickBooks made them; nobody heard
    # The finishing job for any one member re-sends its whole batch: all 30 are recorded.
    first = outcomes[0].invoice
    assert first is not None
    finished = await world.finish.execute(COMPANY, first.id)
    assert finished.state is InvoiceState.OPEN
    states = []
    for outcome in outcomes:
        assert outcome.invoice is not None
        async with world.uow() as uow:
            invoice = await uow.invoices.get(COMPANY, outcome.invoice.id)
        assert invoice is not None
        states.append(invoice.state)
    assert states.count(InvoiceState.OPEN) == 30
    # A client retry of the whole request finishes the other batch: still 40 in QuickBooks.
    again = await run(world, requests(40))
    assert {o.invoice.state for o in again if o.invoice} == {InvoiceState.OPEN}
    assert created_in_quickbooks(world) == 40


async def test_the_sweep_queues_one_finishing_job_per_batch_not_per_invoice() -> None:
    world = World(qbo=LosesAnswers(lost=2))
    outcomes = await run(world, requests(40))  # two batches, both answers lost
    assert {o.invoice.state for o in outcomes if o.invoice} == {InvoiceState.CREATING}
    world.clock.advance(timedelta(minutes=5))

    await SweepStuckCreations(world.uow, world.jobs, world.clock).execute()

    queued = [kwargs for name, kwargs in world.jobs.deferred if name == "finish_creation"]
    batches = {kwargs["batch_request_id"] for kwargs in queued}
    assert len(queued) == len(batches) == 2  # each job re-sends its batch: one each is enough


async def test_invalid_requests_are_reported_and_the_others_proceed() -> None:
    world = World()
    items = requests(3)
    items[1] = CreateInvoiceCommand(items[1].deal, an_invoice_input(lines=()), "bulk-1")
    items.append(CreateInvoiceCommand(items[0].deal, items[0].invoice, "bulk-0"))  # repeated
    items.append(CreateInvoiceCommand(items[2].deal, an_invoice_input(), ""))  # no request id
    outcomes = await run(world, items)
    assert [o.error is None for o in outcomes] == [True, False, True, False, False]
    assert isinstance(outcomes[1].error, InvalidValueError)
    assert outcomes[1].error.violations[0].field.startswith("requests[1].invoice")
    assert isinstance(outcomes[3].error, InvalidValueError)
    assert outcomes[3].error.violations[0].code is MessageCode.REQUEST_ID_REPEATED
    assert isinstance(outcomes[4].error, InvalidValueError)
    assert outcomes[4].error.violations[0].field == "requests[4].request_id"
    assert created_in_quickbooks(world) == 2


class BreaksOnMemo(CreateInvoice):
    """CreateInvoice with a hole in its checks: building a request whose memo names an
    exception raises it, as an unforeseen input once made decimal or date raise."""

    def _build(self, ref: DealRef, data: InvoiceInput, *args: Any) -> Any:
        if data.memo in BREAKS:
            raise BREAKS[data.memo]
        return super()._build(ref, data, *args)


BREAKS: dict[str, Exception] = {
    "decimal": decimal.Overflow("above Emax"),
    "date": ValueError("year 10000 is out of range"),
    "bug": KeyError("rate"),
}


def with_a_hole(world: World) -> BatchCreateInvoices:
    create = BreaksOnMemo(
        *(getattr(world.create, f.name) for f in dataclasses.fields(world.create))
    )
    return BatchCreateInvoices(create)


async def test_a_value_no_check_refused_is_that_requests_error_not_the_batchs() -> None:
    world = World()
    items = requests(4)
    for n, memo in ((1, "decimal"), (2, "date")):
        items[n] = CreateInvoiceCommand(items[n].deal, an_invoice_input(memo=memo), f"bulk-{n}")
    command = BatchCreateInvoicesCommand(USER, COMPANY, items)

    outcomes = sorted([o async for o in with_a_hole(world).execute(command)], key=lambda o: o.index)

    assert [o.invoice is not None for o in outcomes] == [True, False, False, True]
    for n in (1, 2):
        error = outcomes[n].error
        assert isinstance(error, InvalidValueError)
        assert [(v.field, v.code) for v in error.violations] == [
            (f"requests[{n}]", MessageCode.UNUSABLE_REQUEST)
        ]
    assert created_in_quickbooks(world) == 2


async def test_any_other_exception_building_a_request_is_a_bug_and_ends_the_batch() -> None:
    world = World()
    items = requests(2)
    items[1] = CreateInvoiceCommand(items[1].deal, an_invoice_input(memo="bug"), "bulk-1")
    command = BatchCreateInvoicesCommand(USER, COMPANY, items)

    with pytest.raises(KeyError):
        [o async for o in with_a_hole(world).execute(command)]
    assert created_in_quickbooks(world) == 0


async def test_a_request_id_reused_for_another_invoice_is_refused() -> None:
    world = World()
    await run(world, requests(1))
    changed = CreateInvoiceCommand(
        deal_ref(deal_id="100"), an_invoice_input(memo="other"), "bulk-0"
    )
    [outcome] = await run(world, [changed])
    assert isinstance(outcome.error, RequestIdReusedError)
    assert created_in_quickbooks(world) == 1


async def test_more_than_1000_requests_are_refused_whole() -> None:
    world = World()
    with pytest.raises(InvalidValueError) as raised:
        await run(world, requests(1001))
    assert raised.value.violations[0].code is MessageCode.TOO_MANY_IN_BATCH
    assert created_in_quickbooks(world) == 0


async def test_a_member_quickbooks_finds_inactive_ends_refused_and_the_others_are_made() -> None:
    world = World()
    # QuickBooks' fault 610 (something the request uses is inactive), as the adapter says it.
    world.qbo.fail_on("create_customer", NotFoundError(ResourceType.QUICKBOOKS_OBJECT, ""))
    outcomes = await run(world, requests(3))

    states = [o.invoice.state if o.invoice else None for o in outcomes]
    assert states.count(InvoiceState.CREATE_FAILED) == 1
    assert states.count(InvoiceState.OPEN) == 2
    failed = next(o.invoice for o in outcomes if o.invoice and o.invoice.failure_code)
    assert failed.failure_code == Reason.QUICKBOOKS_OBJECT_NOT_FOUND
    assert created_in_quickbooks(world) == 2
