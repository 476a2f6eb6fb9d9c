"""BulkInvoiceService: proto -> command -> use case -> a stream of protos; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.commands import CreateInvoiceCommand
from application.errors import ApplicationError
from application.invoicing.batch import (
    BatchCreateInvoices,
    BatchCreateInvoicesCommand,
    BatchItemOutcome,
    check_batch_size,
)
from dealbooks.v1 import batch_pb2 as pb
from dealbooks.v1 import batch_pb2_grpc
from domain.errors import DomainError, InvalidValueError
from entrypoints import error_catalog
from entrypoints.grpc import Context
from entrypoints.grpc.invoice_mappers import invoice_to_proto
from entrypoints.grpc.invoice_servicer import create_command
from entrypoints.grpc.names import parse_company_name
from entrypoints.principal import current_principal


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
            pb.BatchFieldViolation(field=v.field, description=v.description, reason=v.code)
            for v in violations
        ],
        metadata=error_catalog.wire_metadata(exc),
    )


def _answer(outcome: BatchItemOutcome, index: int) -> pb.BatchCreateInvoicesResponse:
    answer = pb.BatchCreateInvoicesResponse(index=index, request_id=outcome.request_id)
    if outcome.invoice is not None:
        answer.invoice.CopyFrom(invoice_to_proto(outcome.invoice))
    elif outcome.error is not None:
        answer.error.CopyFrom(_error(outcome.error))
    return answer


@dataclass(frozen=True, kw_only=True)
class BulkInvoiceServicer(batch_pb2_grpc.BulkInvoiceServiceServicer):
    batch_create: BatchCreateInvoices

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
            yield _answer(outcome, positions[outcome.index])
