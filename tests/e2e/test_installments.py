"""An installment schedule on the real service and Postgres: the first invoice at once, each
later one created by the worker's job on its date (the clock moved), exactly once, until what
remains to invoice on the deal is zero."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from adapters.system_clock import FrozenClock
from dealbooks.v1 import installment_pb2, installment_pb2_grpc, invoice_service_pb2
from domain.messages import MessageCode
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from tests.e2e.conftest import TOKEN_A, bearer
from tests.e2e.test_invoice_api import DEAL, invoices
from tests.e2e.test_retention import run_job
from tests.e2e.test_settings_api import error_of, violations

pytestmark = pytest.mark.e2e
START = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
State = installment_pb2.InstallmentState
Share = installment_pb2.InvoiceShare


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def service(
    app_settings: AppSettings, pg_engine: object, fakes: dict[str, object], clock: FrozenClock
) -> AsyncIterator[Service]:
    svc = Service(app_settings, grpc_port=0, http_port=0, overrides={**fakes, "clock": clock})
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


def stub(channel: grpc.aio.Channel) -> installment_pb2_grpc.InstallmentServiceStub:
    return installment_pb2_grpc.InstallmentServiceStub(channel)


async def states(channel: grpc.aio.Channel) -> list[int]:
    listed = await stub(channel).ListInstallments(
        installment_pb2.ListInstallmentsRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )
    return [i.state for i in listed.installments]


async def invoiced(channel: grpc.aio.Channel) -> str:
    reply = await invoices(channel).PrepareInvoice(
        invoice_service_pb2.PrepareInvoiceRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )
    return reply.draft.invoiced_on_deal.amount


async def test_a_30_40_30_schedule_invoices_the_deal_on_its_dates_until_nothing_is_left(
    service: Service, channel: grpc.aio.Channel, clock: FrozenClock
) -> None:
    planned = [("30", "2026-03-13"), ("40", "2026-04-13"), ("30", "2026-05-13")]
    request = installment_pb2.ScheduleInstallmentsRequest(
        parent=DEAL,
        installments=[
            installment_pb2.PlannedInstallment(percentage=p, due_date=d) for p, d in planned
        ],
        request_id="schedule-1",
    )
    reply = await stub(channel).ScheduleInstallments(request, metadata=bearer(TOKEN_A))
    again = await stub(channel).ScheduleInstallments(request, metadata=bearer(TOKEN_A))

    assert again == reply  # the same request id: the same schedule
    assert [i.amount.amount for i in reply.installments] == ["617.93", "823.91", "617.94"]
    assert [i.state for i in reply.installments] == [
        State.INSTALLMENT_STATE_CREATED,
        State.INSTALLMENT_STATE_SCHEDULED,
        State.INSTALLMENT_STATE_SCHEDULED,
    ]
    assert reply.installments[0].invoice.startswith(f"{DEAL}/invoices/")
    assert await invoiced(channel) == "617.93"

    await run_job(service, "create_due_installments", timestamp=0)
    assert await invoiced(channel) == "617.93"  # the others are not due yet

    clock.advance(timedelta(days=31))  # 13 April
    await run_job(service, "create_due_installments", timestamp=0)
    await run_job(service, "create_due_installments", timestamp=0)  # exactly once
    assert await invoiced(channel) == "1441.84"

    clock.advance(timedelta(days=30))  # 13 May
    await run_job(service, "create_due_installments", timestamp=0)

    assert await invoiced(channel) == "2059.78"  # all of the deal's lines, before tax
    assert await states(channel) == [State.INSTALLMENT_STATE_CREATED] * 3
    listed = await invoices(channel).ListInvoices(
        invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )
    assert len(listed.invoices) == 3
    code, _info, details = await error_of(
        invoices(channel).PrepareInvoice(
            invoice_service_pb2.PrepareInvoiceRequest(
                parent=DEAL, share=Share(kind=Share.KIND_REST)
            ),
            metadata=bearer(TOKEN_A),
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(details)) == ["share"]


async def test_a_schedule_that_does_not_add_up_is_a_field_violation(
    channel: grpc.aio.Channel,
) -> None:
    code, _info, details = await error_of(
        stub(channel).ScheduleInstallments(
            installment_pb2.ScheduleInstallmentsRequest(
                parent=DEAL,
                installments=[
                    installment_pb2.PlannedInstallment(percentage="30", due_date="2026-03-20")
                ],
            ),
            metadata=bearer(TOKEN_A),
        )
    )

    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(details) == {
        "installments": MessageCode.INSTALLMENTS_NOT_WHOLE.english.format(total="30")
    }
