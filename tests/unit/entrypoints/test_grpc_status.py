"""The error status fits in the trailers a client accepts, whatever the caller sent, and says
what it had to leave out."""

from __future__ import annotations

from typing import TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from adapters.quickbooks.faults import QuickBooksFault, QuickBooksRejectedError
from application.errors import UpstreamRejectedError
from application.reasons import MetadataKey, Reason
from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from entrypoints.grpc.status import MAX_VALUE, METADATA_BUDGET, to_status

Detail = TypeVar("Detail", bound=Message)


def details_of(status: grpc.Status) -> list[any_pb2.Any]:
    for key, value in status.trailing_metadata:
        if key == "grpc-status-details-bin":
            decoded = status_pb2.Status()
            decoded.ParseFromString(value)
            return list(decoded.details)
    raise AssertionError("no status details in the trailers")


def detail_of(status: grpc.Status, kind: type[Detail]) -> Detail:
    for detail in details_of(status):
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            return found
    raise AssertionError(f"no {kind.__name__}")


def error_info(status: grpc.Status) -> error_details_pb2.ErrorInfo:
    return detail_of(status, error_details_pb2.ErrorInfo)


def bad_request(status: grpc.Status) -> error_details_pb2.BadRequest:
    return detail_of(status, error_details_pb2.BadRequest)


def metadata_bytes(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())


# A rejection as adapters.quickbooks raises it: its own error, with its five metadata keys
# (nothing renames them on the way out any more).
AS_THE_QUICKBOOKS_ADAPTER_SENDS_IT = QuickBooksFault(
    code="6240",
    message="Duplicate Name Exists Error",
    detail="The name supplied already exists. : Another customer is X",
    element="DisplayName",
)


def test_an_error_echoing_huge_input_still_fits_in_the_trailers() -> None:
    huge = "é" * 50_000  # percent-encoded in grpc-message: 6 bytes each
    error = InvalidValueError.many(
        [
            FieldViolation.of(f"settings.field_{i}{huge}", MessageCode.NOT_A_NUMBER, value=huge)
            for i in range(50)
        ]
    )
    error.metadata = {f"key{i}": huge for i in range(50)}

    status = to_status(error, "req-1")

    size = sum(
        len(k) + len(v if isinstance(v, bytes) else v.encode()) for k, v in status.trailing_metadata
    )
    assert size < 6000  # clients refuse trailers past 8 KiB by default
    assert status.code.name == "INVALID_ARGUMENT"
    assert len(status.details.encode()) <= 300


def test_a_quickbooks_rejection_keeps_all_five_metadata_keys_in_lower_camel_case() -> None:
    error = QuickBooksRejectedError(
        "QuickBooks already has a customer, vendor or employee with this name.",
        AS_THE_QUICKBOOKS_ADAPTER_SENDS_IT,
        "1-abc",
    )

    info = error_info(to_status(error, "req-1"))

    assert info.reason == Reason.QUICKBOOKS_REJECTED
    assert dict(info.metadata) == {
        MetadataKey.VENDOR_CODE: "6240",
        MetadataKey.INTUIT_TID: "1-abc",
        MetadataKey.VENDOR_MESSAGE: "Duplicate Name Exists Error",
        MetadataKey.VENDOR_DETAIL: "The name supplied already exists. : Another customer is X",
        MetadataKey.ELEMENT: "DisplayName",
    }


def test_metadata_past_the_byte_budget_is_cut_and_named_in_a_marker() -> None:
    error = UpstreamRejectedError("Refused.", metadata={f"key{i}": "x" * 200 for i in range(10)})

    metadata = dict(error_info(to_status(error, "req-1")).metadata)

    assert metadata_bytes(metadata) <= METADATA_BUDGET
    kept = [k for k in metadata if k.startswith("key")]  # (a proto map keeps no order)
    assert sorted(kept) == [f"key{i}" for i in range(len(kept))]  # the first ones, in order
    assert all(metadata[k] == "x" * 200 for k in kept)  # kept ones are whole
    left_out = [f"key{i}" for i in range(len(kept), 10)]
    assert left_out
    assert metadata[MetadataKey.TRUNCATED] == ",".join(left_out)


def test_a_value_longer_than_the_limit_is_shortened_visibly_and_named_in_the_marker() -> None:
    error = UpstreamRejectedError("Refused.", metadata={MetadataKey.VENDOR_DETAIL: "y" * 1000})

    metadata = dict(error_info(to_status(error, "req-1")).metadata)

    detail = metadata[MetadataKey.VENDOR_DETAIL]
    assert detail.endswith("…")
    assert detail.startswith("y" * 100)
    assert len(detail.encode()) <= MAX_VALUE
    assert metadata[MetadataKey.TRUNCATED] == MetadataKey.VENDOR_DETAIL


def test_metadata_within_the_budget_has_no_marker() -> None:
    five = {
        MetadataKey.VENDOR_CODE: "6000",
        MetadataKey.INTUIT_TID: "1-abc",
        MetadataKey.VENDOR_MESSAGE: "A business validation error has occurred",
        MetadataKey.VENDOR_DETAIL: "Email Address is invalid",
        MetadataKey.ELEMENT: "BillEmail",
    }
    error = UpstreamRejectedError("Refused.", metadata=five)

    metadata = dict(error_info(to_status(error, "req-1")).metadata)

    assert metadata == five  # a fifth key is no longer dropped


def test_field_violations_carry_their_code_and_say_how_many_were_left_out() -> None:
    error = InvalidValueError.many(
        [
            FieldViolation.of(f"invoice.lines[{i}].memo_{'m' * 60}", MessageCode.TOO_LONG, max=100)
            for i in range(40)
        ]
    )

    status = to_status(error, "req-1")

    violations = bad_request(status).field_violations
    assert 0 < len(violations) < 40
    assert {v.reason for v in violations} == {MessageCode.TOO_LONG}
    assert violations[0].description == "Must be at most 100 characters long."
    info = error_info(status)
    assert info.metadata[MetadataKey.OMITTED_VIOLATIONS] == str(40 - len(violations))
