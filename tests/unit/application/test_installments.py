"""A schedule of installments: each invoice is created on its date by the job, exactly once,
and what remains to invoice on the deal reaches zero with the last one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.commands import InstallmentInput, ScheduleInstallmentsCommand
from application.errors import NotFoundError, RequestIdReusedError, UpstreamRejectedError
from application.invoicing.installments import (
    CancelInstallmentSchedule,
    CreateDueInstallments,
    CreateInstallmentInvoice,
    ListInstallments,
    RetryInstallment,
    ScheduleInstallments,
)
from application.reasons import Reason
from application.visibility import DealVisibility
from domain.errors import InstallmentStateError, InvalidValueError
from domain.installment import DealShare
from domain.installment_schedule import InstallmentState
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import World, deal_ref, invoice_ref


class Schedules:
    def __init__(self, world: World) -> None:
        self.world = world
        self.create_invoice = CreateInstallmentInvoice(world.uow, world.prepare, world.create)
        self.schedule = ScheduleInstallments(
            world.uow, world.prepare, self.create_invoice, world.clock
        )
        self.due = CreateDueInstallments(world.uow, self.create_invoice, world.clock)
        self.list = ListInstallments(world.uow, DealVisibility(world.crm))
        self.retry = RetryInstallment(world.uow, self.create_invoice, DealVisibility(world.crm))
        self.cancel = CancelInstallmentSchedule(world.uow, DealVisibility(world.crm))


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def schedules(world: World) -> Schedules:
    return Schedules(world)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def thirty_forty_thirty(request_id: str = "plan-1") -> ScheduleInstallmentsCommand:
    return ScheduleInstallmentsCommand(
        deal_ref(),
        (
            InstallmentInput("30", "2026-03-13"),
            InstallmentInput("40", "2026-04-13"),
            InstallmentInput("30", "2026-05-13"),
        ),
        request_id,
    )


async def invoiced(world: World) -> Money:
    draft = await world.prepare.execute(deal_ref())
    assert draft.invoiced_on_deal is not None
    return draft.invoiced_on_deal


async def test_each_installment_is_invoiced_on_its_date_until_nothing_is_left(
    world: World, schedules: Schedules
) -> None:
    planned = await schedules.schedule.execute(thirty_forty_thirty())

    # 2,059.78 before tax: 617.93 (617.934), 823.91 (823.912), and the rest 617.94.
    assert [i.amount for i in planned] == [usd("617.93"), usd("823.91"), usd("617.94")]
    assert [i.state for i in planned] == [
        InstallmentState.CREATED,  # due today: created at once
        InstallmentState.SCHEDULED,
        InstallmentState.SCHEDULED,
    ]
    assert await invoiced(world) == usd("617.93")
    assert await schedules.due.execute() == 0  # nothing else is due yet

    world.clock.advance(timedelta(days=31))  # 13 April
    assert await schedules.due.execute() == 1
    assert await schedules.due.execute() == 0  # exactly once
    assert await invoiced(world) == usd("1441.84")

    world.clock.advance(timedelta(days=30))  # 13 May
    assert await schedules.due.execute() == 1

    assert await invoiced(world) == usd("2059.78")
    listed = await schedules.list.execute(deal_ref())
    assert [i.state for i in listed] == [InstallmentState.CREATED] * 3
    second = await world.get.execute(invoice_ref(listed[1].invoice_id or ""))
    assert second.lines[0].line.description.startswith(
        "Installment 2 of 3 (40 %) of deal 'Website redesign'"
    )
    with pytest.raises(InvalidValueError) as err:
        await world.prepare.execute(deal_ref(), DealShare.rest())
    assert err.value.violations[0].code is MessageCode.NOTHING_LEFT_TO_INVOICE


async def test_the_same_request_id_schedules_once(world: World, schedules: Schedules) -> None:
    first = await schedules.schedule.execute(thirty_forty_thirty())
    again = await schedules.schedule.execute(thirty_forty_thirty())

    assert again == first
    assert len(await schedules.list.execute(deal_ref())) == 3
    with pytest.raises(RequestIdReusedError):
        await schedules.schedule.execute(
            ScheduleInstallmentsCommand(
                deal_ref(), (InstallmentInput("100", "2026-03-20"),), "plan-1"
            )
        )


async def test_a_schedule_must_add_up_to_100_with_dates_in_order(schedules: Schedules) -> None:
    with pytest.raises(InvalidValueError) as err:
        await schedules.schedule.execute(
            ScheduleInstallmentsCommand(
                deal_ref(),
                (InstallmentInput("30", "2026-04-13"), InstallmentInput("40", "2026-03-20")),
            )
        )

    by_field = {v.field: v.code for v in err.value.violations}
    assert by_field == {
        "installments": MessageCode.INSTALLMENTS_NOT_WHOLE,
        "installments[1].due_date": MessageCode.INSTALLMENT_DATES_ORDER,
    }


async def test_a_schedule_takes_what_a_deposit_left(world: World, schedules: Schedules) -> None:
    await schedules.schedule.execute(
        ScheduleInstallmentsCommand(deal_ref(), (InstallmentInput("100", "2026-03-13"),), "a")
    )

    with pytest.raises(InvalidValueError) as err:
        await schedules.schedule.execute(
            ScheduleInstallmentsCommand(deal_ref(), (InstallmentInput("100", "2026-03-14"),), "b")
        )

    assert err.value.violations[0].code is MessageCode.NOTHING_LEFT_TO_INVOICE


async def test_an_installment_due_while_quickbooks_is_down_is_invoiced_on_the_next_run(
    world: World, schedules: Schedules
) -> None:
    await schedules.schedule.execute(thirty_forty_thirty())
    world.clock.advance(timedelta(days=31))
    world.qbo.unavailable("*", times=1)

    assert await schedules.due.execute() == 0  # postponed, not refused

    listed = await schedules.list.execute(deal_ref())
    assert listed[1].state is InstallmentState.SCHEDULED
    assert await schedules.due.execute() == 1
    assert await invoiced(world) == usd("1441.84")


async def test_an_installment_quickbooks_refuses_says_why_and_is_not_retried(
    world: World, schedules: Schedules
) -> None:
    await schedules.schedule.execute(thirty_forty_thirty())
    world.clock.advance(timedelta(days=31))
    world.crm.deals.clear()  # the deal is gone from Pipedrive

    assert await schedules.due.execute() == 0

    listed = await schedules.list.execute(deal_ref())
    assert listed[1].state is InstallmentState.FAILED
    assert listed[1].reason
    assert await schedules.due.execute() == 0


async def test_what_a_schedule_has_still_to_come_is_not_left_to_invoice(
    world: World, schedules: Schedules
) -> None:
    await schedules.schedule.execute(thirty_forty_thirty())  # 617.93 invoiced, 1,441.85 to come

    with pytest.raises(InvalidValueError) as err:  # a second schedule would invoice it twice
        await schedules.schedule.execute(
            ScheduleInstallmentsCommand(deal_ref(), (InstallmentInput("100", "2026-03-20"),), "b")
        )
    assert err.value.violations[0].code is MessageCode.NOTHING_LEFT_TO_INVOICE
    draft = await world.prepare.execute(deal_ref())  # the whole deal again: over its value
    assert MessageCode.OVER_DEAL_VALUE in [w.code for w in draft.warnings]
    assert draft.invoiced_on_deal == usd("617.93")  # what invoices ask for, as before


async def test_a_cancelled_schedule_invoices_nothing_more_and_frees_the_rest(
    world: World, schedules: Schedules
) -> None:
    planned = await schedules.schedule.execute(thirty_forty_thirty())

    after = await schedules.cancel.execute(deal_ref(), planned[0].schedule_id)

    assert [i.state for i in after] == [
        InstallmentState.CREATED,  # invoiced already: it stays
        InstallmentState.CANCELLED,
        InstallmentState.CANCELLED,
    ]
    world.clock.advance(timedelta(days=61))
    assert await schedules.due.execute() == 0
    again = await schedules.schedule.execute(
        ScheduleInstallmentsCommand(deal_ref(), (InstallmentInput("100", "2026-05-13"),), "c")
    )
    assert again[0].amount == usd("1441.85")  # the cancelled installments' amount
    assert again[0].state is InstallmentState.CREATED
    assert await invoiced(world) == usd("2059.78")
    with pytest.raises(NotFoundError):
        await schedules.cancel.execute(deal_ref(), "no-such-schedule")


async def test_a_refused_installment_is_retried_under_a_new_request_and_invoiced(
    world: World, schedules: Schedules
) -> None:
    world.qbo.fail_on(
        "create_invoice",
        UpstreamRejectedError("The customer is inactive.", reason=Reason.QUICKBOOKS_REJECTED),
    )
    planned = await schedules.schedule.execute(thirty_forty_thirty())
    first = planned[0]
    assert first.state is InstallmentState.FAILED  # QuickBooks' refusal, not "created"
    assert first.reason == Reason.QUICKBOOKS_REJECTED
    with pytest.raises(InstallmentStateError):
        await schedules.retry.execute(deal_ref(), first.schedule_id, 2)  # not refused

    retried = await schedules.retry.execute(deal_ref(), first.schedule_id, 1)

    assert retried.state is InstallmentState.CREATED
    assert retried.attempt == 1
    assert retried.request_id != first.request_id
    assert await invoiced(world) == usd("617.93")
    assert len(world.qbo.invoices) == 1
    assert await schedules.due.execute() == 0  # nothing made twice
