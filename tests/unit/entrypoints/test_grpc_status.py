"""The error status fits in the trailers a client accepts, whatever the caller sent."""

from __future__ import annotations

from domain.errors import FieldViolation, InvalidValueError
from entrypoints.grpc.status import to_status


def test_an_error_echoing_huge_input_still_fits_in_the_trailers() -> None:
    huge = "é" * 50_000  # percent-encoded in grpc-message: 6 bytes each
    error = InvalidValueError.many(
        [FieldViolation(f"settings.field_{i}{huge}", f"'{huge}' is not valid.") for i in range(50)]
    )
    error.metadata = {f"key{i}": huge for i in range(50)}

    status = to_status(error, "req-1")

    size = sum(
        len(k) + len(v if isinstance(v, bytes) else v.encode()) for k, v in status.trailing_metadata
    )
    assert size < 6000  # clients refuse trailers past 8 KiB by default
    assert status.code.name == "INVALID_ARGUMENT"
    assert len(status.details.encode()) <= 300
