"""Proto -> command mapping details that callers rely on."""

from __future__ import annotations

from dealbooks.v1 import field_mapping_pb2
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
