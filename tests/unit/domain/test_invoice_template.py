"""InvoiceTemplate and InvoiceExtras: validated presets, custom fields read from a deal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.customer import Address
from domain.errors import InvalidValueError
from domain.field_mapping import DealSnapshot, FieldSource, SourceEntity
from domain.invoice_template import (
    CustomFieldValue,
    InvoiceExtras,
    InvoiceTemplate,
    TemplateCustomField,
    field_text,
)
from domain.messages import MessageCode


def _template(**changes: object) -> InvoiceTemplate:
    values: dict[str, object] = {"company_id": "1", "id": "t1", "name": "  Retainer  "}
    values.update(changes)
    return InvoiceTemplate(**values)  # type: ignore[arg-type]


def test_text_is_trimmed_and_blank_references_are_not_set() -> None:
    template = _template(terms_id=" ", item_id=" 7 ", bill_email_cc="a@x.test;b@y.test ,")

    assert (template.name, template.terms_id, template.item_id) == ("Retainer", None, "7")
    assert template.bill_email_cc == "a@x.test, b@y.test"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": ""}, "display_name", MessageCode.REQUIRED),
        ({"name": "x" * 101}, "display_name", MessageCode.TOO_LONG),
        ({"customer_memo": "x" * 1001}, "customer_memo", MessageCode.TOO_LONG),
        ({"private_note": "x" * 3801}, "private_note", MessageCode.TOO_LONG),
        ({"bill_email_bcc": "nobody"}, "bill_email_bcc", MessageCode.NOT_AN_EMAIL),
        (
            {"bill_email_cc": ", ".join(["abcdefghij@example.test"] * 9)},
            "bill_email_cc",
            MessageCode.TOO_LONG,
        ),
        ({"allow_online_card": "yes"}, "allow_online_card", MessageCode.NOT_A_BOOLEAN),
        ({"name": "Re\x00tainer"}, "display_name", MessageCode.NOT_TEXT),
        ({"terms_id": "3\x00"}, "terms_id", MessageCode.NOT_TEXT),
        (
            {"custom_fields": (TemplateCustomField("1", "a"), TemplateCustomField("1", "b"))},
            "custom_fields[1].definition_id",
            MessageCode.CUSTOM_FIELD_TWICE,
        ),
        (
            {"custom_fields": (TemplateCustomField("2", "a\tb"),)},
            "custom_fields[0].value",
            MessageCode.NOT_ONE_LINE,
        ),
    ],
)
def test_a_bad_template_says_which_field_and_why(
    changes: dict[str, object], field: str, code: MessageCode
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        _template(**changes)

    assert [(v.field, v.code) for v in raised.value.violations] == [(field, code)]


def test_custom_fields_take_fixed_values_or_read_the_deal() -> None:
    template = _template(
        custom_fields=(
            TemplateCustomField("1", "PO-1"),
            TemplateCustomField("2", source=FieldSource(SourceEntity.DEAL, "po")),
            TemplateCustomField("3", source=FieldSource(SourceEntity.PERSON, "email")),
        )
    )
    snapshot = DealSnapshot(deal={"po": "  PO   77 "}, person=None)

    assert template.custom_values(snapshot) == (
        CustomFieldValue("1", "PO-1"),
        CustomFieldValue("2", "PO 77"),
        CustomFieldValue("3", ""),  # the deal has no person
    )
    assert template.custom_values(None)[1] == CustomFieldValue("2", "")


def test_deal_values_of_every_kind_become_one_line_of_text() -> None:
    assert field_text(Decimal("12.50")) == "12.50"
    assert field_text(date(2026, 3, 13)) == "2026-03-13"
    assert field_text(Address(line1="1 Main St", city="Springfield")) == "1 Main St, Springfield"
    assert field_text(None) == ""


def test_extras_check_their_values_and_leave_payment_options_unset_by_default() -> None:
    extras = InvoiceExtras(bill_email_cc="a@x.test")
    assert (extras.allow_online_card, extras.allow_online_ach) == (None, None)

    with pytest.raises(InvalidValueError) as raised:
        InvoiceExtras(custom_fields=(CustomFieldValue("1", "x" * 32),), private_note=3)  # type: ignore[arg-type]

    assert {(v.field, v.code) for v in raised.value.violations} == {
        ("private_note", MessageCode.NOT_TEXT),
        ("custom_fields[0].value", MessageCode.TOO_LONG_FOR_QUICKBOOKS),
    }
