from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pytest

from domain.customer import Address
from domain.errors import InvalidValueError
from domain.field_mapping import (
    DealSnapshot,
    FieldMapping,
    FieldSource,
    FieldValue,
    InvoiceField,
    MappingIssue,
    MappingIssueKind,
    SourceEntity,
)

ORG, PERSON, DEAL = SourceEntity.ORGANIZATION, SourceEntity.PERSON, SourceEntity.DEAL
CUSTOM_KEY = "9dc80c50d78a15643bfc4ca79d76156a73a1ca0e"
PARIS = Address(line1="1 rue de la Paix", city="Paris", postal_code="75002", country="France")


def a_snapshot(
    deal: Mapping[str, FieldValue] | None = None,
    organization: Mapping[str, FieldValue] | None = None,
    person: Mapping[str, FieldValue] | None = None,
    *,
    without_organization: bool = False,
    without_person: bool = False,
) -> DealSnapshot:
    return DealSnapshot(
        deal={"title": "Pencils for Acme", "value": Decimal("1200"), **(deal or {})},
        organization=None
        if without_organization
        else {
            "name": "Acme SARL",
            "address": PARIS,
            CUSTOM_KEY: "FR40303265045",
            **(organization or {}),
        },
        person=None
        if without_person
        else {"name": "Jane Doe", "email": "jane@acme.example", **(person or {})},
    )


def issues(mapping: FieldMapping, snapshot: DealSnapshot) -> dict[InvoiceField, MappingIssueKind]:
    return {issue.field: issue.kind for issue in mapping.apply(snapshot).issues}


# -- FieldSource -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["name", "address", "email", CUSTOM_KEY, "address.formatted", "a-b_c"]
)
def test_field_source_accepts_vendor_keys(key: str) -> None:
    assert FieldSource(ORG, key).field_key == key


@pytest.mark.parametrize("key", ["", "has space", "x" * 65, "name;drop", "é"])
def test_field_source_rejects_keys_that_cannot_be_vendor_keys(key: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        FieldSource(ORG, key)
    assert err.value.violations[0].field == "field_key"


def test_field_source_rejects_an_unknown_entity() -> None:
    with pytest.raises(InvalidValueError) as err:
        FieldSource("lead", "name")  # type: ignore[arg-type]
    assert err.value.violations[0].field == "entity"


def test_field_source_accepts_the_entity_as_text() -> None:
    assert FieldSource("person", "email").entity is PERSON  # type: ignore[arg-type]


# -- FieldMapping ----------------------------------------------------------------------------


def test_default_mapping_is_the_suggested_one() -> None:
    mapping = FieldMapping.default()
    assert mapping.source_for(InvoiceField.TO) == FieldSource(ORG, "name")
    assert mapping.source_for(InvoiceField.ADDRESS) == FieldSource(ORG, "address")
    assert mapping.source_for(InvoiceField.EMAIL) == FieldSource(PERSON, "email")
    assert mapping.source_for(InvoiceField.TAX_ID) is None


def test_with_source_changes_one_field_only() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.TAX_ID, FieldSource(ORG, CUSTOM_KEY))
    assert mapping.tax_id == FieldSource(ORG, CUSTOM_KEY)
    assert mapping.to == FieldMapping.default().to
    assert mapping.with_source(InvoiceField.TAX_ID, None) == FieldMapping.default()


def test_the_default_mapping_fills_name_address_and_email_from_a_typical_deal() -> None:
    mapped = FieldMapping.default().apply(a_snapshot())
    assert mapped.name == "Acme SARL"
    assert mapped.address == PARIS
    assert mapped.email == "jane@acme.example"
    assert mapped.tax_id is None
    assert mapped.issues == (MappingIssue(InvoiceField.TAX_ID, MappingIssueKind.NOT_MAPPED, None),)


def test_a_custom_field_fills_the_tax_id() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.TAX_ID, FieldSource(ORG, CUSTOM_KEY))
    mapped = mapping.apply(a_snapshot())
    assert mapped.tax_id == "FR40303265045"
    assert mapped.issues == ()


def test_a_deal_without_a_person_reports_the_email_entity_missing() -> None:
    mapped = FieldMapping.default().apply(a_snapshot(without_person=True))
    assert mapped.email is None
    assert [i for i in mapped.issues if i.field is InvoiceField.EMAIL] == [
        MappingIssue(
            InvoiceField.EMAIL, MappingIssueKind.ENTITY_MISSING, FieldSource(PERSON, "email")
        ),
    ]


def test_a_deal_without_an_organization_reports_name_and_address_entity_missing() -> None:
    found = issues(FieldMapping.default(), a_snapshot(without_organization=True))
    assert found[InvoiceField.TO] is MappingIssueKind.ENTITY_MISSING
    assert found[InvoiceField.ADDRESS] is MappingIssueKind.ENTITY_MISSING


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_or_absent_value_is_field_empty(empty: str | None) -> None:
    found = issues(FieldMapping.default(), a_snapshot(organization={"name": empty}))
    assert found[InvoiceField.TO] is MappingIssueKind.FIELD_EMPTY


def test_a_key_missing_from_the_entity_is_field_empty() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.TO, FieldSource(DEAL, "nope"))
    assert issues(mapping, a_snapshot())[InvoiceField.TO] is MappingIssueKind.FIELD_EMPTY


def test_an_empty_address_is_field_empty() -> None:
    found = issues(FieldMapping.default(), a_snapshot(organization={"address": Address()}))
    assert found[InvoiceField.ADDRESS] is MappingIssueKind.FIELD_EMPTY


def test_an_address_mapped_to_the_email_is_the_wrong_type() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.EMAIL, FieldSource(ORG, "address"))
    mapped = mapping.apply(a_snapshot())
    assert mapped.email is None
    assert [i for i in mapped.issues if i.field is InvoiceField.EMAIL] == [
        MappingIssue(InvoiceField.EMAIL, MappingIssueKind.WRONG_TYPE, FieldSource(ORG, "address")),
    ]


def test_text_that_is_not_an_email_is_the_wrong_type_for_the_email() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.EMAIL, FieldSource(PERSON, "name"))
    assert issues(mapping, a_snapshot())[InvoiceField.EMAIL] is MappingIssueKind.WRONG_TYPE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (InvoiceField.TO, PARIS),
        (InvoiceField.TO, date(2025, 3, 13)),
        (InvoiceField.ADDRESS, Decimal(5)),
        (InvoiceField.ADDRESS, date(2025, 3, 13)),
        (InvoiceField.TAX_ID, PARIS),
        (InvoiceField.EMAIL, Decimal(5)),
    ],
)
def test_values_that_cannot_fill_a_field_are_the_wrong_type(
    field: InvoiceField, value: FieldValue
) -> None:
    mapping = FieldMapping.default().with_source(field, FieldSource(DEAL, "odd"))
    assert issues(mapping, a_snapshot(deal={"odd": value}))[field] is MappingIssueKind.WRONG_TYPE


def test_text_mapped_to_the_address_becomes_a_formatted_address() -> None:
    mapping = FieldMapping.default().with_source(InvoiceField.ADDRESS, FieldSource(DEAL, "ship_to"))
    mapped = mapping.apply(a_snapshot(deal={"ship_to": "  10 Downing St, London  "}))
    assert mapped.address == Address(formatted="10 Downing St, London")


def test_numbers_fill_the_tax_id_and_the_name_as_plain_text() -> None:
    mapping = FieldMapping(
        to=FieldSource(DEAL, "number"),
        address=None,
        email=None,
        tax_id=FieldSource(DEAL, "vat"),
    )
    mapped = mapping.apply(
        a_snapshot(deal={"number": Decimal("1E+3"), "vat": Decimal("123456789")})
    )
    assert mapped.name == "1000"
    assert mapped.tax_id == "123456789"


def test_text_values_are_stripped() -> None:
    mapped = FieldMapping.default().apply(
        a_snapshot(organization={"name": "  Acme  "}, person={"email": " jane@acme.example "})
    )
    assert (mapped.name, mapped.email) == ("Acme", "jane@acme.example")


def test_nothing_mapped_reports_every_field_not_mapped() -> None:
    mapped = FieldMapping(None, None, None, None).apply(a_snapshot())
    assert [(i.field, i.kind) for i in mapped.issues] == [
        (field, MappingIssueKind.NOT_MAPPED) for field in InvoiceField
    ]
    assert (mapped.name, mapped.address, mapped.email, mapped.tax_id) == (None, None, None, None)
