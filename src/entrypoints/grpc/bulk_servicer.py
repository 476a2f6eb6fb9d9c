"""BulkInvoiceService: proto -> command -> use case -> a stream of protos; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

from application.commands import CreateInvoiceCommand
from application.errors import ApplicationError
from application.invoicing.batch import (
    BatchCreateInvoices,
    BatchCreateInvoicesCommand,
    BatchItemOutcome,
    check_batch_size,
)
from application.invoicing.won_deals import (
    DealToInvoice,
    InvoiceDeals,
    InvoiceDealsCommand,
    ListWonDeals,
)
from dealbooks.v1 import batch_pb2 as pb
from dealbooks.v1 import batch_pb2_grpc, invoice_pb2
from domain.errors import DomainError, InvalidValueError
from domain.messages import MessageCode
from entrypoints import error_catalog
from entrypoints.grpc import Context
from entrypoints.grpc.invoice_mappers import invoice_to_proto
from entrypoints.grpc.invoice_servicer import create_command, template_id_of
from entrypoints.grpc.mappers import timestamp
from entrypoints.grpc.names import parse_company_name, parse_deal_name
from entrypoints.principal import current_principal
from entrypoints.request_text import ensure_no_nul


def _error(exc: ApplicationError | DomainError, prefix: str = "") -> pb.BatchItemError:
    if isinstance(exc, InvalidValueError):
        violations = (exc.prefixed(prefix) if prefix else exc).violations
    else:
        violations = ()
    return pb.BatchItemError(
        code=error_catalog.lookup(exc).grpc_code,
        message=getattr(exc, "message", str(exc)),
        reason=str(getattr(exc, "reason", "")),
        field_violations=[
            pb.BatchFieldViolation(
                field=v.field, description=v.description, reason=v.code, params=dict(v.params)
            )
            for v in violations
        ],
        metadata=error_catalog.wire_metadata(exc),
    )


Answer = TypeVar("Answer", pb.BatchCreateInvoicesResponse, pb.InvoiceDealsResponse)


def _answer(answer: Answer, outcome: BatchItemOutcome) -> Answer:
    """``answer`` with the outcome's invoice or error set."""
    if outcome.invoice is not None:
        answer.invoice.CopyFrom(invoice_to_proto(outcome.invoice))
    elif outcome.error is not None:
        answer.error.CopyFrom(_error(outcome.error))
    return answer


def _deal_of(company_id: str, field: str, name: str) -> str:
    """The deal id of ``name``, a deal of the company's (INVALID_ARGUMENT on ``field`` else)."""
    company, deal_id = parse_deal_name(name, field)
    if company != company_id:
        raise InvalidValueError.of(field, MessageCode.OTHER_COMPANY_DEAL)
    return deal_id


def _deal_to_invoice(company_id: str, index: int, item: pb.DealToInvoice) -> DealToInvoice:
    try:
        ensure_no_nul(item)  # an item's text is judged with the item (see request_text)
    except InvalidValueError as exc:
        raise exc.prefixed(f"deals[{index}]") from None
    return DealToInvoice(_deal_of(company_id, f"deals[{index}].deal", item.deal), item.request_id)


@dataclass(frozen=True, kw_only=True)
class BulkInvoiceServicer(batch_pb2_grpc.BulkInvoiceServiceServicer):
    batch_create: BatchCreateInvoices
    list_won: ListWonDeals
    invoice_deals: InvoiceDeals

    async def ListWonDeals(
        self, request: pb.ListWonDealsRequest, context: Context
    ) -> pb.ListWonDealsResponse:
        company_id = parse_company_name(request.parent)
        among = [_deal_of(company_id, f"deals[{i}]", name) for i, name in enumerate(request.deals)]
        won = await self.list_won.execute(current_principal(), company_id, request.month, among)
        return pb.ListWonDealsResponse(
            month=won.month,
            deals=[
                pb.WonDeal(
                    name=f"companies/{company_id}/deals/{deal.id}",
                    title=deal.title,
                    value=invoice_pb2.Money(
                        currency_code=deal.currency, amount=format(deal.value, "f")
                    ),
                    won_time=timestamp(deal.won_time),
                )
                for deal in won.deals
            ],
            invoiced_count=won.invoiced,
            hidden_count=won.hidden,
            more=won.more,
            not_won_count=won.not_won,
        )

    async def InvoiceDeals(
        self, request: pb.InvoiceDealsRequest, context: Context
    ) -> AsyncIterator[pb.InvoiceDealsResponse]:
        company_id = parse_company_name(request.parent)
        principal = current_principal()
        principal.ensure_can_access(company_id)
        check_batch_size(len(request.deals), "deals")
        template_id = template_id_of(company_id, request.template)
        deals: list[DealToInvoice] = []
        positions: list[int] = []  # each deal's index in ``request.deals``
        refused: list[pb.InvoiceDealsResponse] = []
        for index, item in enumerate(request.deals):
            try:
                deals.append(_deal_to_invoice(company_id, index, item))
            except InvalidValueError as exc:
                answer = pb.InvoiceDealsResponse(
                    index=index, deal=item.deal, request_id=item.request_id, error=_error(exc)
                )
                refused.append(answer)
                continue
            positions.append(index)
        for answer in refused:
            yield answer
        command = InvoiceDealsCommand(principal, company_id, deals, template_id)
        async for outcome in self.invoice_deals.execute(command):
            index = positions[outcome.index]
            deal = request.deals[index].deal
            yield _answer(
                pb.InvoiceDealsResponse(index=index, deal=deal, request_id=outcome.request_id),
                outcome,
            )

    async def BatchCreateInvoices(
        self, request: pb.BatchCreateInvoicesRequest, context: Context
    ) -> AsyncIterator[pb.BatchCreateInvoicesResponse]:
        company_id = parse_company_name(request.parent)
        principal = current_principal()
        principal.ensure_can_access(company_id)
        check_batch_size(len(request.requests))
        commands: list[CreateInvoiceCommand] = []
        positions: list[int] = []  # each command's index in ``request.requests``
        refused: list[pb.BatchCreateInvoicesResponse] = []
        for index, item in enumerate(request.requests):
            try:
                ensure_no_nul(item)  # an item's text is judged with the item (see request_text)
                commands.append(create_command(item))
            except (ApplicationError, DomainError) as exc:
                refused.append(
                    pb.BatchCreateInvoicesResponse(
                        index=index,
                        request_id=item.request_id,
                        error=_error(exc, f"requests[{index}]"),
                    )
                )
                continue
            positions.append(index)
        for answer in refused:
            yield answer
        command = BatchCreateInvoicesCommand(principal, company_id, commands)
        async for outcome in self.batch_create.execute(command):
            index = positions[outcome.index]
            yield _answer(
                pb.BatchCreateInvoicesResponse(index=index, request_id=outcome.request_id), outcome
            )
