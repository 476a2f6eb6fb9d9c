"""A share of a deal on an invoice: its amount, its lines, and the words its lines say.

The lines' text goes to QuickBooks and onto the customer's invoice, so it is in the company's
timeline language when the company chose one (English or French), in English otherwise (the
form does not ask Pipedrive for the installing user's locale just to word a line)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from application.commands import (
    AddressInput,
    CustomerInput,
    CustomFieldInput,
    InvoiceInput,
    LineInput,
)
from application.views import InvoiceDraft
from domain.installment import DealShare, ShareKind, amount_before_tax, share_lines
from domain.installment_schedule import Installment
from domain.invoice_line import InvoiceLine
from domain.money import Money
from domain.timeline import TimelineLanguage

_WORDS = {
    "en": {
        ShareKind.PERCENTAGE: "{percent} % of deal '{title}'",
        ShareKind.AMOUNT: "{amount} of deal '{title}'",
        ShareKind.REST: "Balance of deal '{title}'",
        "installment": "Installment {index} of {count} ({percent} %) of deal '{title}'",
    },
    "fr": {
        ShareKind.PERCENTAGE: "{percent} % de l'affaire « {title} »",
        ShareKind.AMOUNT: "{amount} de l'affaire « {title} »",
        ShareKind.REST: "Solde de l'affaire « {title} »",
        "installment": "Échéance {index} sur {count} ({percent} %) de l'affaire « {title} »",
    },
}


def lines_language(language: TimelineLanguage) -> str:
    return language.value if language.value in _WORDS else "en"


def percent_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def share_label(
    share: DealShare,
    amount: Money,
    title: str,
    language: str,
    installment: Installment | None = None,
) -> str:
    words = _WORDS.get(language, _WORDS["en"])
    title = title.strip()[:200] or "-"
    if installment is not None:
        return words["installment"].format(
            index=installment.position,
            count=installment.count,
            percent=percent_text(installment.percentage),
            title=title,
        )
    return words[share.kind].format(
        percent=percent_text(share.value), amount=str(amount), title=title
    )


@dataclass(frozen=True, slots=True)
class SharedLines:
    lines: tuple[InvoiceLine, ...]
    amount: Money  # what the lines ask for before tax
    whole: Money  # what the deal's lines ask for before tax


def shared(
    lines: Sequence[InvoiceLine],
    currency: str,
    share: DealShare,
    invoiced: Money,
    title: str,
    language: str,
    installment: Installment | None = None,
) -> SharedLines:
    """The deal's ``lines`` scaled to ``share``, of which ``invoiced`` is invoiced already;
    for an ``installment``, to its amount, fixed when its schedule was made."""
    whole = amount_before_tax(lines, currency)
    fixed = installment.amount if installment is not None else None
    amount = fixed or share.amount_of(whole, invoiced)
    label = share_label(share, amount, title, language, installment)
    return SharedLines(share_lines(lines, currency, amount, label), amount, whole)


def invoice_input_of(draft: InvoiceDraft) -> InvoiceInput:
    """The invoice a user creating ``draft`` unchanged would ask for: what a job creates on
    an installment's date, from the draft prepared then (the customer, the template's presets
    and the due date as the form would have them)."""
    customer = draft.customer
    return InvoiceInput(
        customer=CustomerInput(
            display_name=customer.display_name,
            email=customer.email or "",
            address=AddressInput.of(customer.billing_address),
            tax_id=customer.tax_id or "",
            quickbooks_customer_id=customer.quickbooks_id or "",
            shipping_address=AddressInput.of(customer.shipping_address),
        ),
        lines=tuple(_line_input(line) for line in draft.lines),
        currency=draft.currency,
        issue_date=draft.issue_date.isoformat(),
        due_date=draft.due_date.isoformat() if draft.due_date else "",
        memo=draft.memo,
        terms_id=draft.terms_id or "",
        sales_tax_code_id=draft.sales_tax_code_id or "",
        template_id=draft.template_id or "",
        private_note=draft.private_note,
        custom_fields=tuple(
            CustomFieldInput(value.definition_id, value.value) for value in draft.custom_fields
        ),
        bill_email_cc=draft.bill_email_cc,
        bill_email_bcc=draft.bill_email_bcc,
        allow_online_card=draft.allow_online_card,
        allow_online_ach=draft.allow_online_ach,
        class_id=draft.class_id,  # None: the template's (a request hash as before classes)
        location_id=draft.location_id,
    )


def _line_input(line: InvoiceLine) -> LineInput:
    return LineInput(
        name=line.name,
        description=line.description,
        quantity=format(line.quantity, "f"),
        unit_price=format(line.unit_price, "f"),
        discount=format(line.discount, "f"),
        discount_kind=line.discount_kind.value,
        tax_rate=format(line.tax_rate, "f"),
        tax_method=line.tax_method.value,
        item_id=line.item_ref or "",
        tax_code_id=line.tax_code_ref or "",
        kind=line.kind.value,
    )
