"""Exceptions -> google.rpc.Status with ErrorInfo, RequestInfo and the detail each code needs."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from application.errors import NotFoundError, UpstreamUnavailableError
from domain.errors import InvalidStateTransitionError, InvalidValueError
from entrypoints import error_catalog

# The status travels in trailers, which clients cap (gRPC's default: 8 KiB of metadata); past
# the cap a client sees RESOURCE_EXHAUSTED instead of our answer. Echoed input can be any size,
# so every text is cut to fit, well under the cap even when percent-encoded.
MAX_MESSAGE = 300  # bytes of UTF-8
MAX_TEXT = 100
MAX_VIOLATIONS = 6
MAX_METADATA = 4


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` in at most ``limit`` bytes of UTF-8, never splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"


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
    metadata = {
        _cut(k, 40): _cut(str(v))
        for k, v in list(getattr(exc, "metadata", {}).items())[:MAX_METADATA]
    }
    message = _cut(getattr(exc, "message", str(exc)), MAX_MESSAGE)
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=_cut(reason, 60), domain=error_catalog.ERROR_DOMAIN, metadata=metadata
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
                            field=_cut(v.field, 80), description=_cut(v.description)
                        )
                        for v in exc.violations[:MAX_VIOLATIONS]
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
                            type="STATE",
                            subject=_cut(exc.invoice_id, 100),
                            description=_cut(exc.message),
                        )
                    ]
                )
            )
        )
    elif isinstance(exc, NotFoundError):
        details.append(
            _pack(
                error_details_pb2.ResourceInfo(
                    resource_type=_cut(exc.resource_type, 60),
                    resource_name=_cut(exc.resource_name),
                    description=_cut(exc.message),
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
