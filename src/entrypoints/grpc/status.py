"""Exceptions -> google.rpc.Status with ErrorInfo, RequestInfo and the detail each code needs."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from application.errors import NotFoundError, UpstreamUnavailableError
from domain.errors import InvalidStateTransitionError, InvalidValueError
from entrypoints import error_catalog


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status(exc: Exception, request_id: str) -> grpc.Status:
    entry = error_catalog.lookup(exc)
    code = getattr(code_pb2, entry.grpc_code)
    if entry is error_catalog.INTERNAL:
        return internal_status(request_id)
    reason = getattr(exc, "reason", "ERROR")
    metadata = {k: str(v) for k, v in getattr(exc, "metadata", {}).items()}
    message = getattr(exc, "message", str(exc))
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=reason, domain=error_catalog.ERROR_DOMAIN, metadata=metadata
            )
        ),
        _pack(error_details_pb2.RequestInfo(request_id=request_id)),
    ]
    if isinstance(exc, InvalidValueError):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in exc.violations
                    ]
                )
            )
        )
    elif isinstance(exc, InvalidStateTransitionError):
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type="STATE", subject=exc.invoice_id, description=exc.message
                        )
                    ]
                )
            )
        )
    elif isinstance(exc, NotFoundError):
        details.append(
            _pack(
                error_details_pb2.ResourceInfo(
                    resource_type=exc.resource_type,
                    resource_name=exc.resource_name,
                    description=exc.message,
                )
            )
        )
    elif isinstance(exc, UpstreamUnavailableError):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after_seconds * 1000))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=details))


def internal_status(request_id: str) -> grpc.Status:
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INTERNAL,
            message=error_catalog.INTERNAL_MESSAGE,
            details=[
                _pack(
                    error_details_pb2.ErrorInfo(
                        reason="INTERNAL", domain=error_catalog.ERROR_DOMAIN
                    )
                ),
                _pack(error_details_pb2.RequestInfo(request_id=request_id)),
            ],
        )
    )
