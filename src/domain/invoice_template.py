"""Invoice templates: named presets of invoice details a company's admins keep, applied to a new
invoice before the user's own edits (QuickBooks' API cannot pick a custom form style: the PDF
always uses the company's default style, so dealbooks keeps the presets itself).

Also what an invoice carries to QuickBooks beyond its lines and dates (:class:`InvoiceExtras`):
the private note, the sales custom fields, CC and BCC addresses and the online payment options.
Pure: a custom field read from a deal goes through the field mapping's :class:`DealSnapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from domain.customer import Address, email_list
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import DealSnapshot, FieldSource, FieldValue
from domain.messages import MessageCode
from domain.validation import checked_text, optional_text

TEMPLATE_NAME_MAX: Final = 100
TEMPLATES_MAX: Final = 50
REFERENCE_MAX: Final = 64  # a QuickBooks id
MEMO_MAX: Final = 1000  # CustomerMemo, as the invoice's memo
# PrivateNote holds 4000 characters; dealbooks adds its own line (invoice and deal ids) after it.
PRIVATE_NOTE_MAX: Final = 3800
# BillEmailCc / BillEmailBcc hold 200 characters (reference §3.2).
EMAIL_LIST_MAX: Final = 200
# [U] QuickBooks keeps a legacy sales custom field's StringValue to 31 characters (its form
# refuses more; the reference gives no figure), as the emulator does.
CUSTOM_FIELD_VALUE_MAX: Final = 31
# Legacy sales custom fields: DefinitionId 1-3 (Preferences.SalesFormsPrefs.CustomField).
CUSTOM_FIELD_IDS: Final = ("1", "2", "3")


def _no_nul(owner: object, names: Iterable[str], violations: list[FieldViolation]) -> None:
    """Text with a NUL character is no text a person typed (and Postgres stores none)."""
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, str) and "\x00" in value:
            violations.append(FieldViolation(name, MessageCode.NOT_TEXT))
    for index, entry in enumerate(getattr(owner, "custom_fields", ())):
        if "\x00" in str(getattr(entry, "value", "")):
            violations.append(FieldViolation(f"custom_fields[{index}].value", MessageCode.NOT_TEXT))


def field_text(value: FieldValue) -> str:
    """A CRM field's value as one line of text ("" when empty)."""
    if value is None:
        return ""
    if isinstance(value, Address):
        text = value.formatted or ", ".join(
            part for part in (value.line1, value.city, value.postal_code, value.country) if part
        )
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    """A QuickBooks sales custom field's value on one invoice (``definition_id`` 1-3)."""

    definition_id: str
    value: str


@dataclass(frozen=True, slots=True)
class TemplateCustomField:
    """A sales custom field a template fills: a fixed ``value``, or the deal field ``source``."""

    definition_id: str
    value: str = ""
    source: FieldSource | None = None


def _check_custom_fields(
    fields: Iterable[object], path: str, violations: list[FieldViolation]
) -> None:
    seen: set[str] = set()
    for index, entry in enumerate(fields):
        at = f"{path}[{index}]"
        definition = getattr(entry, "definition_id", None)
        if definition not in CUSTOM_FIELD_IDS:
            violations.append(
                FieldViolation.of(
                    f"{at}.definition_id",
                    MessageCode.CHOOSE_ONE_OF,
                    choices=", ".join(CUSTOM_FIELD_IDS),
                )
            )
        elif definition in seen:
            violations.append(
                FieldViolation.of(
                    f"{at}.definition_id", MessageCode.CUSTOM_FIELD_TWICE, value=definition
                )
            )
        else:
            seen.add(definition)
        value = getattr(entry, "value", "")
        if not isinstance(value, str):
            violations.append(FieldViolation(f"{at}.value", MessageCode.NOT_TEXT))
            continue
        if "\n" in value or "\t" in value:
            violations.append(FieldViolation(f"{at}.value", MessageCode.NOT_ONE_LINE))
        if len(value) > CUSTOM_FIELD_VALUE_MAX:
            violations.append(
                FieldViolation.of(
                    f"{at}.value",
                    MessageCode.TOO_LONG_FOR_QUICKBOOKS,
                    max=CUSTOM_FIELD_VALUE_MAX,
                    length=len(value),
                )
            )
        if isinstance(entry, TemplateCustomField):
            if entry.source is not None and value:
                violations.append(FieldViolation(at, MessageCode.VALUE_OR_DEAL_FIELD))
            elif entry.source is None and not value.strip():
                violations.append(FieldViolation(f"{at}.value", MessageCode.VALUE_OR_DEAL_FIELD))
            elif entry.source is not None and not isinstance(entry.source, FieldSource):
                violations.append(FieldViolation(f"{at}.source", MessageCode.NOT_A_CRM_FIELD))


@dataclass(frozen=True, slots=True)
class InvoiceTemplate:
    """A named preset: terms, message on invoice, private note, default tax code and item
    (QuickBooks ids), sales custom fields, CC/BCC addresses, online card and ACH payment.
    Blank references count as not set. ``version`` is the stored revision (an etag)."""

    company_id: str
    id: str
    name: str
    is_default: bool = False
    terms_id: str | None = None
    customer_memo: str = ""
    private_note: str = ""
    tax_code_id: str | None = None
    item_id: str | None = None
    custom_fields: tuple[TemplateCustomField, ...] = ()
    bill_email_cc: str = ""
    bill_email_bcc: str = ""
    allow_online_card: bool = False
    allow_online_ach: bool = False
    version: int = 0
    updated_at: datetime | None = None
    class_id: str | None = None  # QuickBooks class (ClassRef)
    location_id: str | None = None  # QuickBooks location (DepartmentRef)

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        if not isinstance(self.company_id, str) or not self.company_id.strip():
            violations.append(FieldViolation("company_id", MessageCode.REQUIRED))
        if not isinstance(self.id, str) or not self.id.strip() or len(self.id) > REFERENCE_MAX:
            violations.append(FieldViolation("id", MessageCode.REQUIRED))
        name = checked_text(self.name, "display_name", TEMPLATE_NAME_MAX, violations)
        if isinstance(self.name, str) and not name:
            violations.append(FieldViolation("display_name", MessageCode.REQUIRED))
        elif "\n" in name or "\t" in name:
            violations.append(FieldViolation("display_name", MessageCode.NOT_ONE_LINE))
        object.__setattr__(self, "name", name)
        for attr, wire in (
            ("terms_id", "terms_id"),
            ("tax_code_id", "tax_code_id"),
            ("item_id", "item_id"),
        ):
            value = optional_text(getattr(self, attr), wire, REFERENCE_MAX, violations)
            object.__setattr__(self, attr, value)
        object.__setattr__(
            self,
            "customer_memo",
            checked_text(self.customer_memo, "customer_memo", MEMO_MAX, violations),
        )
        _check_extras(self, violations)
        for attr in ("is_default", "allow_online_card", "allow_online_ach"):
            if not isinstance(getattr(self, attr), bool):
                violations.append(FieldViolation(attr, MessageCode.NOT_A_BOOLEAN))
        _no_nul(self, ("id", "terms_id", "tax_code_id", "item_id"), violations)
        for attr, wire in (
            ("name", "display_name"),
            ("customer_memo", "customer_memo"),
            ("private_note", "private_note"),
        ):
            if "\x00" in getattr(self, attr):
                violations.append(FieldViolation(wire, MessageCode.NOT_TEXT))
        if violations:
            raise InvalidValueError.many(violations)

    def custom_values(self, snapshot: DealSnapshot | None) -> tuple[CustomFieldValue, ...]:
        """The custom fields' values for one deal: fixed ones as they are, deal fields read
        from ``snapshot`` (empty when the deal has none; no snapshot: empty too)."""
        values = []
        for entry in self.custom_fields:
            value = entry.value
            if entry.source is not None:
                record = snapshot.entity(entry.source.entity) if snapshot else None
                value = field_text(record.get(entry.source.field_key)) if record else ""
            values.append(CustomFieldValue(entry.definition_id, value))
        return tuple(values)


@dataclass(frozen=True, slots=True)
class InvoiceExtras:
    """What an invoice sends QuickBooks beyond its customer, lines, dates, terms and memo:
    ``private_note`` (PrivateNote, before dealbooks' own line), the sales ``custom_fields``,
    ``bill_email_cc``/``bill_email_bcc``, and the online payment options (None: QuickBooks
    applies the company's QuickBooks Payments settings). ``template_id`` names the template
    applied, if any."""

    private_note: str = ""
    custom_fields: tuple[CustomFieldValue, ...] = ()
    bill_email_cc: str = ""
    bill_email_bcc: str = ""
    allow_online_card: bool | None = None
    allow_online_ach: bool | None = None
    template_id: str | None = None
    template_name: str | None = None
    # A deposit the customer paid already, in the invoice's currency: QuickBooks' ``Deposit``,
    # which reduces the invoice's balance (reference §3.2); None: none.
    deposit: Decimal | None = None
    # The QuickBooks class (ClassRef) and location (DepartmentRef) of the invoice; None: none.
    class_id: str | None = None
    location_id: str | None = None

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        _check_extras(self, violations)
        if self.deposit is not None and (
            not isinstance(self.deposit, Decimal) or not self.deposit.is_finite()
        ):
            violations.append(FieldViolation("deposit", MessageCode.NOT_A_DECIMAL))
        elif self.deposit is not None and self.deposit < 0:
            violations.append(FieldViolation("deposit", MessageCode.MUST_NOT_BE_NEGATIVE))
        for attr in ("allow_online_card", "allow_online_ach"):
            if getattr(self, attr) is not None and not isinstance(getattr(self, attr), bool):
                violations.append(FieldViolation(attr, MessageCode.NOT_A_BOOLEAN))
        _no_nul(self, ("private_note",), violations)
        if violations:
            raise InvalidValueError.many(violations)


def _check_extras(
    extras: InvoiceTemplate | InvoiceExtras, violations: list[FieldViolation]
) -> None:
    """What a template and an invoice's extras share: the private note, the custom fields, the
    CC/BCC lists, the class and the location, checked (and normalized in place) the same way."""
    object.__setattr__(
        extras,
        "private_note",
        checked_text(extras.private_note, "private_note", PRIVATE_NOTE_MAX, violations),
    )
    object.__setattr__(extras, "custom_fields", tuple(extras.custom_fields))
    _check_custom_fields(extras.custom_fields, "custom_fields", violations)
    for attr in ("bill_email_cc", "bill_email_bcc"):
        object.__setattr__(
            extras, attr, email_list(getattr(extras, attr), attr, EMAIL_LIST_MAX, violations)
        )
    for attr in ("class_id", "location_id"):
        value = optional_text(getattr(extras, attr), attr, REFERENCE_MAX, violations)
        if value is not None and "\x00" in value:
            violations.append(FieldViolation(attr, MessageCode.NOT_TEXT))
        object.__setattr__(extras, attr, value)
