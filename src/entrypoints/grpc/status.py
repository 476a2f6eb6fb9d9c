"""Exceptions -> google.rpc.Status with ErrorInfo, RequestInfo and the detail each code needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from application.errors import NotFoundError, UpstreamUnavailableError
from application.reasons import MetadataKey, Reason
from domain.errors import FieldViolation, InvalidStateTransitionError, InvalidValueError
from entrypoints import error_catalog

# The status travels in trailers, which clients cap (gRPC's default: 8 KiB of metadata); past
# the cap a client sees RESOURCE_EXHAUSTED instead of our answer. Echoed input can be any size,
# so every text is cut to fit, well under the cap even when base64- or percent-encoded. What
# is cut is never cut silently: a shortened text ends with "…", and the ErrorInfo metadata
# names what the budgets left out (``truncated``, ``omittedViolations``).
MAX_MESSAGE = 300  # bytes of UTF-8
MAX_TEXT = 100
MAX_KEY = 64  # AIP-193: metadata keys are at most 64 characters
MAX_VALUE = 300
METADATA_BUDGET = 1024  # bytes of UTF-8 over every metadata key and value, markers included
MARKERS_RESERVE = 160  # of METADATA_BUDGET, kept for the two marker entries
VIOLATIONS_BUDGET = 1536  # bytes of UTF-8 over every violation's field, description and reason
ELLIPSIS = "…"


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` in at most ``limit`` bytes of UTF-8, never splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return str(text)  # a plain str, also for a StrEnum member
    return raw[: limit - len(ELLIPSIS.encode())].decode("utf-8", errors="ignore") + ELLIPSIS


def _size(*texts: str) -> int:
    return sum(len(text.encode("utf-8")) for text in texts)


def budgeted_metadata(
    items: Iterable[tuple[str, str]], *, omitted_violations: int = 0
) -> dict[str, str]:
    """``items`` within METADATA_BUDGET bytes, in order. A value longer than MAX_VALUE is
    shortened (ending in "…"); an entry past the budget is left out. Either way its key is
    listed under ``truncated``; ``omittedViolations`` counts violations BadRequest left out."""
    kept: dict[str, str] = {}
    cut: list[str] = []
    used = 0
    for key, value in items:
        short_key, short_value = _cut(key, MAX_KEY), _cut(value, MAX_VALUE)
        if short_key != key or short_value != value:
            cut.append(short_key)
        size = _size(short_key, short_value)
        if short_key in kept or used + size > METADATA_BUDGET - MARKERS_RESERVE:
            if short_key not in cut:
                cut.append(short_key)
            continue
        kept[short_key] = short_value
        used += size
    if cut:
        room = MARKERS_RESERVE // 2 - len(MetadataKey.TRUNCATED)
        kept[MetadataKey.TRUNCATED.value] = _cut(",".join(cut), room)
    if omitted_violations:
        kept[MetadataKey.OMITTED_VIOLATIONS.value] = str(omitted_violations)
    return kept


def budgeted_violations(
    violations: Sequence[FieldViolation],
) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """As many violations as VIOLATIONS_BUDGET bytes hold, in order; ``reason`` is the code."""
    kept: list[error_details_pb2.BadRequest.FieldViolation] = []
    used = 0
    for v in violations:
        field, description, code = _cut(v.field, 80), _cut(v.description), _cut(v.code, 63)
        size = _size(field, description, code)
        if used + size > VIOLATIONS_BUDGET:
            break
        kept.append(
            error_details_pb2.BadRequest.FieldViolation(
                field=field, description=description, reason=code
            )
        )
        used += size
    return kept


def to_status(exc: Exception, request_id: str) -> grpc.Status:
    """Any exception's status; one the catalog does not know is INTERNAL and tells nothing."""
    entry = error_catalog.lookup(exc)
    if entry is error_catalog.INTERNAL:
        message = error_catalog.INTERNAL_MESSAGE
        return _status(code_pb2.INTERNAL, message, Reason.INTERNAL.value, {}, request_id, [])
    extra: list[Message] = []
    omitted = 0
    if isinstance(exc, InvalidValueError):
        field_violations = budgeted_violations(exc.violations)
        omitted = len(exc.violations) - len(field_violations)
        extra.append(error_details_pb2.BadRequest(field_violations=field_violations))
    elif isinstance(exc, InvalidStateTransitionError):
        violation = error_details_pb2.PreconditionFailure.Violation(
            type="STATE", subject=_cut(exc.invoice_id, 100), description=_cut(exc.message)
        )
        extra.append(error_details_pb2.PreconditionFailure(violations=[violation]))
    elif isinstance(exc, NotFoundError):
        extra.append(
            error_details_pb2.ResourceInfo(
                resource_type=_cut(exc.resource_type, 60),
                resource_name=_cut(exc.resource_name),
                description=_cut(exc.message),
            )
        )
    elif isinstance(exc, UpstreamUnavailableError):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after_seconds * 1000))
        extra.append(error_details_pb2.RetryInfo(retry_delay=delay))
    metadata = budgeted_metadata(
        error_catalog.wire_metadata(exc).items(), omitted_violations=omitted
    )
    message = _cut(getattr(exc, "message", str(exc)), MAX_MESSAGE)
    reason = _cut(getattr(exc, "reason", "ERROR"), 63)
    return _status(getattr(code_pb2, entry.grpc_code), message, reason, metadata, request_id, extra)


def _status(
    code: int,
    message: str,
    reason: str,
    metadata: dict[str, str],
    request_id: str,
    extra: list[Message],
) -> grpc.Status:
    details = [
        error_details_pb2.ErrorInfo(
            reason=reason, domain=error_catalog.ERROR_DOMAIN, metadata=metadata
        ),
        error_details_pb2.RequestInfo(request_id=request_id),
        *extra,
    ]
    return rpc_status.to_status(
        status_pb2.Status(code=code, message=message, details=[_pack(d) for d in details])
    )


def _pack(detail: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed
