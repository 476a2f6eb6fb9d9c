"""InstallmentService: proto -> command -> use case -> proto; nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import DealRef, InstallmentInput, ScheduleInstallmentsCommand
from application.invoicing.installments import (
    CancelInstallmentSchedule,
    ListInstallments,
    RetryInstallment,
    ScheduleInstallments,
)
from dealbooks.v1 import installment_pb2 as pb
from dealbooks.v1 import installment_pb2_grpc
from entrypoints.grpc import Context
from entrypoints.grpc.names import (
    parse_deal_name,
    parse_installment_name,
    parse_schedule_name,
)
from entrypoints.grpc.share_mappers import installment_to_proto
from entrypoints.principal import current_principal


def _deal(parent: str) -> DealRef:
    company, deal = parse_deal_name(parent)
    return DealRef(current_principal(), company, deal)


@dataclass(frozen=True, kw_only=True)
class InstallmentServicer(installment_pb2_grpc.InstallmentServiceServicer):
    schedule: ScheduleInstallments
    list_installments: ListInstallments
    retry: RetryInstallment
    cancel: CancelInstallmentSchedule

    async def ScheduleInstallments(
        self, request: pb.ScheduleInstallmentsRequest, context: Context
    ) -> pb.ScheduleInstallmentsResponse:
        planned = tuple(InstallmentInput(i.percentage, i.due_date) for i in request.installments)
        command = ScheduleInstallmentsCommand(_deal(request.parent), planned, request.request_id)
        installments = await self.schedule.execute(command)
        return pb.ScheduleInstallmentsResponse(
            installments=[installment_to_proto(i) for i in installments]
        )

    async def ListInstallments(
        self, request: pb.ListInstallmentsRequest, context: Context
    ) -> pb.ListInstallmentsResponse:
        installments = await self.list_installments.execute(_deal(request.parent))
        return pb.ListInstallmentsResponse(
            installments=[installment_to_proto(i) for i in installments]
        )

    async def RetryInstallment(
        self, request: pb.RetryInstallmentRequest, context: Context
    ) -> pb.RetryInstallmentResponse:
        company, deal, schedule, position = parse_installment_name(request.name)
        ref = DealRef(current_principal(), company, deal)
        installment = await self.retry.execute(ref, schedule, position)
        return pb.RetryInstallmentResponse(installment=installment_to_proto(installment))

    async def CancelInstallmentSchedule(
        self, request: pb.CancelInstallmentScheduleRequest, context: Context
    ) -> pb.CancelInstallmentScheduleResponse:
        company, deal, schedule = parse_schedule_name(request.name)
        installments = await self.cancel.execute(
            DealRef(current_principal(), company, deal), schedule
        )
        return pb.CancelInstallmentScheduleResponse(
            installments=[installment_to_proto(i) for i in installments]
        )
