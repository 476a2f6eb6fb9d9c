"""Proto -> command mapping details that callers rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from dealbooks.v1 import field_mapping_pb2
from entrypoints.grpc.invoice_mappers import timestamp
from entrypoints.grpc.mappers import field_source_from_proto


def test_an_empty_field_source_means_not_mapped() -> None:
    mapping = field_mapping_pb2.FieldMapping(tax_id=field_mapping_pb2.FieldSource())

    assert mapping.HasField("tax_id")
    assert field_source_from_proto(mapping, "tax_id") is None


def test_a_source_without_an_entity_is_reported_not_dropped() -> None:
    mapping = field_mapping_pb2.FieldMapping(to=field_mapping_pb2.FieldSource(field_key="name"))

    source = field_source_from_proto(mapping, "to")

    assert source is not None
    assert (source.entity, source.field_key) == ("unspecified", "name")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 13, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 13, 10, 0, 0, 999999, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime(2026, 3, 13, 10, 0, 0, 1),  # naive: taken as UTC
    ],
)
def test_timestamps_are_what_the_protobuf_library_makes_of_the_same_time(
    value: datetime,
) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)

    assert timestamp(value) == expected
