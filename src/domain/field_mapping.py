"""FieldMapping: which CRM field fills each invoice field; ``apply`` is pure.

Vendor field keys are opaque strings here (readable keys like ``name`` or 40-character hashes of
custom fields); what they mean is the Pipedrive adapter's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final, TypeAlias

from domain.customer import Address, Customer, is_plausible_email
from domain.errors import InvalidValueError

FIELD_KEY_MAX: Final = 64
_FIELD_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


class SourceEntity(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"
    DEAL = "deal"


class InvoiceField(StrEnum):
    TO = "to"
    ADDRESS = "address"
    EMAIL = "email"
    TAX_ID = "tax_id"


class MappingIssueKind(StrEnum):
    NOT_MAPPED = "not_mapped"
    """No CRM field is chosen for this invoice field."""
    ENTITY_MISSING = "entity_missing"
    """The deal has no such entity (e.g. no person linked)."""
    FIELD_EMPTY = "field_empty"
    """The chosen field has no value on this deal."""
    WRONG_TYPE = "wrong_type"
    """The value cannot fill this invoice field (e.g. an address mapped to the email)."""


@dataclass(frozen=True, slots=True)
class FieldSource:
    """One CRM field: the entity it belongs to and its (opaque) vendor key."""

    entity: SourceEntity
    field_key: str

    def __post_init__(self) -> None:
        try:
            entity = SourceEntity(self.entity)
        except ValueError:
            choices = ", ".join(e.value for e in SourceEntity)
            raise InvalidValueError("entity", f"Choose one of: {choices}.") from None
        key = self.field_key
        if not isinstance(key, str) or not key:
            raise InvalidValueError("field_key", "Choose a field.")
        if len(key) > FIELD_KEY_MAX:
            raise InvalidValueError(
                "field_key", f"Must be at most {FIELD_KEY_MAX} characters long."
            )
        if not _FIELD_KEY.match(key):
            raise InvalidValueError(
                "field_key",
                f"{key!r} is not a field key: use letters, digits, '_', '.' or '-' only.",
            )
        object.__setattr__(self, "entity", entity)

    def __str__(self) -> str:
        return f"{self.entity.value}.{self.field_key}"


FieldValue: TypeAlias = str | Decimal | Address | date | None
"""A CRM field value, flattened by the CRM adapter."""


@dataclass(frozen=True, slots=True)
class DealSnapshot:
    """A deal with its organization and person, flattened into field key -> value.

    A person's primary email is under ``"email"``; an organization's address under ``"address"``
    as an :class:`Address`. ``organization``/``person`` are None when the deal has none.
    """

    deal: Mapping[str, FieldValue]
    organization: Mapping[str, FieldValue] | None = None
    person: Mapping[str, FieldValue] | None = None

    def entity(self, entity: SourceEntity) -> Mapping[str, FieldValue] | None:
        match entity:
            case SourceEntity.DEAL:
                return self.deal
            case SourceEntity.ORGANIZATION:
                return self.organization
            case SourceEntity.PERSON:
                return self.person


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """Why an invoice field could not be prefilled."""

    field: InvoiceField
    kind: MappingIssueKind
    source: FieldSource | None


@dataclass(frozen=True, slots=True)
class MappedCustomer:
    """What the mapping could read from a deal; None where it could not (see ``issues``)."""

    name: str | None
    address: Address | None
    email: str | None
    tax_id: str | None
    issues: tuple[MappingIssue, ...] = ()

    def issue_for(self, field: InvoiceField) -> MappingIssue | None:
        return next((issue for issue in self.issues if issue.field is field), None)

    def to_customer(self, quickbooks_id: str | None = None) -> Customer:
        """A Customer from these details; raises InvalidValueError when the name is missing."""
        return Customer(
            display_name=self.name or "",
            email=self.email,
            billing_address=self.address,
            tax_id=self.tax_id,
            quickbooks_id=quickbooks_id,
        )


class _WrongTypeError(Exception):
    pass


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format(Decimal(value), "f")
    raise _WrongTypeError


def _convert(field: InvoiceField, value: object) -> str | Address:
    """The value ready for ``field`` ("" when empty); raises _WrongTypeError when unusable."""
    match field:
        case InvoiceField.TO | InvoiceField.TAX_ID:
            return _text(value)
        case InvoiceField.ADDRESS:
            if isinstance(value, Address):
                return value
            if isinstance(value, str):
                return Address(formatted=value)
            raise _WrongTypeError
        case InvoiceField.EMAIL:
            if not isinstance(value, str):
                raise _WrongTypeError
            email = value.strip()
            if email and not is_plausible_email(email):
                raise _WrongTypeError
            return email


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which CRM field fills each invoice field (None: not mapped)."""

    to: FieldSource | None
    address: FieldSource | None
    email: FieldSource | None
    tax_id: FieldSource | None

    def __post_init__(self) -> None:
        for field in InvoiceField:
            source = getattr(self, field.value)
            if source is not None and not isinstance(source, FieldSource):
                raise InvalidValueError(field.value, "Must be a CRM field or nothing.")

    @classmethod
    def default(cls) -> FieldMapping:
        """The suggested mapping: organization name, organization address, person email."""
        return cls(
            to=FieldSource(SourceEntity.ORGANIZATION, "name"),
            address=FieldSource(SourceEntity.ORGANIZATION, "address"),
            email=FieldSource(SourceEntity.PERSON, "email"),
            tax_id=None,
        )

    def source_for(self, field: InvoiceField) -> FieldSource | None:
        source: FieldSource | None = getattr(self, InvoiceField(field).value)
        return source

    def with_source(self, field: InvoiceField, source: FieldSource | None) -> FieldMapping:
        sources = {f.value: self.source_for(f) for f in InvoiceField}
        sources[InvoiceField(field).value] = source
        return FieldMapping(**sources)

    def apply(self, snapshot: DealSnapshot) -> MappedCustomer:
        """Read each mapped field from the deal; report what could not be read."""
        values: dict[InvoiceField, str | Address | None] = {}
        issues: list[MappingIssue] = []
        for field in InvoiceField:
            source = self.source_for(field)
            values[field] = None
            kind: MappingIssueKind | None = None
            if source is None:
                kind = MappingIssueKind.NOT_MAPPED
            else:
                record = snapshot.entity(source.entity)
                raw = None if record is None else record.get(source.field_key)
                if record is None:
                    kind = MappingIssueKind.ENTITY_MISSING
                elif raw is None:
                    kind = MappingIssueKind.FIELD_EMPTY
                else:
                    try:
                        converted = _convert(field, raw)
                    except (_WrongTypeError, InvalidValueError):
                        kind = MappingIssueKind.WRONG_TYPE
                    else:
                        empty = (
                            converted.is_empty()
                            if isinstance(converted, Address)
                            else not converted
                        )
                        if empty:
                            kind = MappingIssueKind.FIELD_EMPTY
                        else:
                            values[field] = converted
            if kind is not None:
                issues.append(MappingIssue(field, kind, source))

        def text(field: InvoiceField) -> str | None:
            value = values[field]
            return value if isinstance(value, str) else None

        address = values[InvoiceField.ADDRESS]
        return MappedCustomer(
            name=text(InvoiceField.TO),
            address=address if isinstance(address, Address) else None,
            email=text(InvoiceField.EMAIL),
            tax_id=text(InvoiceField.TAX_ID),
            issues=tuple(issues),
        )
