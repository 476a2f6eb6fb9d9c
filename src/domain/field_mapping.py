"""FieldMapping: which CRM field fills each invoice field; ``apply`` is pure.

Vendor field keys are opaque strings here (readable keys like ``name`` or 40-character hashes of
custom fields); what they mean is the Pipedrive adapter's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final, TypeAlias

from domain.customer import Address, is_plausible_email
from domain.errors import InvalidValueError
from domain.messages import MessageCode

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
            raise InvalidValueError.of(
                "entity", MessageCode.CHOOSE_ONE_OF, choices=choices
            ) from None
        key = self.field_key
        if not isinstance(key, str) or not key:
            raise InvalidValueError.of("field_key", MessageCode.CHOOSE_A_FIELD)
        if len(key) > FIELD_KEY_MAX:
            raise InvalidValueError.of("field_key", MessageCode.TOO_LONG, max=FIELD_KEY_MAX)
        if not _FIELD_KEY.match(key):
            raise InvalidValueError.of("field_key", MessageCode.NOT_A_FIELD_KEY, value=key)
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
        record: Mapping[str, FieldValue] | None = getattr(self, SourceEntity(entity).value)
        return record


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


class _UnreadError(Exception):
    """Why a field could not be read (by default: its value is of the wrong type)."""

    def __init__(self, kind: MappingIssueKind = MappingIssueKind.WRONG_TYPE) -> None:
        self.kind = kind


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format(Decimal(value), "f")
    raise _UnreadError


def _read(field: InvoiceField, source: FieldSource | None, snapshot: DealSnapshot) -> str | Address:
    """The value ``source`` holds for ``field`` on this deal; raises _UnreadError saying why
    there is none."""
    if source is None:
        raise _UnreadError(MappingIssueKind.NOT_MAPPED)
    record = snapshot.entity(source.entity)
    if record is None:
        raise _UnreadError(MappingIssueKind.ENTITY_MISSING)
    raw = record.get(source.field_key)
    if raw is None:
        raise _UnreadError(MappingIssueKind.FIELD_EMPTY)
    try:
        value = _convert(field, raw)
    except InvalidValueError:
        raise _UnreadError from None
    if value.is_empty() if isinstance(value, Address) else not value:
        raise _UnreadError(MappingIssueKind.FIELD_EMPTY)
    return value


def _convert(field: InvoiceField, value: object) -> str | Address:
    """The value ready for ``field`` ("" when empty); raises _UnreadError when unusable."""
    match field:
        case InvoiceField.TO | InvoiceField.TAX_ID:
            return _text(value)
        case InvoiceField.ADDRESS:
            if isinstance(value, Address):
                return value
            if isinstance(value, str):
                return Address(formatted=value)
            raise _UnreadError
        case InvoiceField.EMAIL:
            if not isinstance(value, str):
                raise _UnreadError
            email = value.strip()
            if email and not is_plausible_email(email):
                raise _UnreadError
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
                raise InvalidValueError.of(field.value, MessageCode.NOT_A_CRM_FIELD)

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
        return replace(self, **{InvoiceField(field).value: source})

    def apply(self, snapshot: DealSnapshot) -> MappedCustomer:
        """Read each mapped field from the deal; report what could not be read."""
        values: dict[InvoiceField, str | Address] = {}
        issues: list[MappingIssue] = []
        for field in InvoiceField:
            source = self.source_for(field)
            try:
                values[field] = _read(field, source, snapshot)
            except _UnreadError as unread:
                issues.append(MappingIssue(field, unread.kind, source))

        def text(field: InvoiceField) -> str | None:
            value = values.get(field)
            return value if isinstance(value, str) else None

        address = values.get(InvoiceField.ADDRESS)
        return MappedCustomer(
            name=text(InvoiceField.TO),
            address=address if isinstance(address, Address) else None,
            email=text(InvoiceField.EMAIL),
            tax_id=text(InvoiceField.TAX_ID),
            issues=tuple(issues),
        )
