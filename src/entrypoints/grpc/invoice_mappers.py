"""proto <-> invoicing DTOs: invoices, lines, money, drafts, events, customers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any, TypeVar

from application.commands import (
    AddressInput,
    CustomerInput,
    CustomFieldInput,
    InvoiceInput,
    LineInput,
)
from application.history import describe
from application.invoicing.deal_summary import DealInvoicing
from application.ports.accounting import AccountingCustomer
from application.ports.persistence import CustomerLink, RecordedEvent
from application.views import InvoiceDraft, InvoiceView
from dealbooks.v1 import (
    customer_pb2,
    customer_service_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_template_pb2,
)
from domain.customer import Address, Customer
from domain.errors import InvalidValueError
from domain.field_mapping import SourceEntity
from domain.invoice import InvoiceStatus
from domain.invoice_line import DiscountKind, InvoiceLine, InvoiceTotals, LineKind, TaxMethod
from domain.messages import MessageCode
from domain.money import Money
from entrypoints.grpc.mappers import ENTITY_TO_PROTO, timestamp
from entrypoints.grpc.names import invoice_name, template_name
from entrypoints.grpc.share_mappers import share_to_proto
from entrypoints.grpc.template_mappers import template_to_proto

MAX_LINES = 250

_STATUS = {
    InvoiceStatus.CREATING: invoice_pb2.INVOICE_STATE_CREATING,
    InvoiceStatus.CREATE_FAILED: invoice_pb2.INVOICE_STATE_CREATE_FAILED,
    InvoiceStatus.OPEN: invoice_pb2.INVOICE_STATE_OPEN,
    InvoiceStatus.PARTIALLY_PAID: invoice_pb2.INVOICE_STATE_PARTIALLY_PAID,
    InvoiceStatus.PAID: invoice_pb2.INVOICE_STATE_PAID,
    InvoiceStatus.OVERDUE: invoice_pb2.INVOICE_STATE_OVERDUE,
    InvoiceStatus.VOIDED: invoice_pb2.INVOICE_STATE_VOIDED,
    InvoiceStatus.DELETED: invoice_pb2.INVOICE_STATE_DELETED,
}
_DISCOUNT = {
    DiscountKind.PERCENTAGE: invoice_pb2.DISCOUNT_TYPE_PERCENTAGE,
    DiscountKind.AMOUNT: invoice_pb2.DISCOUNT_TYPE_AMOUNT,
}
_TAX = {
    TaxMethod.EXCLUSIVE: invoice_pb2.TAX_METHOD_EXCLUSIVE,
    TaxMethod.INCLUSIVE: invoice_pb2.TAX_METHOD_INCLUSIVE,
    TaxMethod.NONE: invoice_pb2.TAX_METHOD_NONE,
}
_KIND = {
    LineKind.ITEM: invoice_pb2.LINE_KIND_ITEM,
    LineKind.DISCOUNT: invoice_pb2.LINE_KIND_DISCOUNT,
}

Kind = TypeVar("Kind", bound=StrEnum)


def _inverse(to_proto: Mapping[Kind, int], unspecified: Kind) -> dict[int, str]:
    """proto enum number -> our value; 0 (UNSPECIFIED) reads as ``unspecified``."""
    return {0: unspecified.value} | {number: value.value for value, number in to_proto.items()}


# Address, AddressInput and the proto's PostalAddress have the same fields.
_ADDRESS = tuple(f.name for f in fields(Address))
_DISCOUNT_IN = _inverse(_DISCOUNT, DiscountKind.PERCENTAGE)
_TAX_IN = _inverse(_TAX, TaxMethod.NONE)
_KIND_IN = _inverse(_KIND, LineKind.ITEM)


def money_to_proto(money: Money | None) -> invoice_pb2.Money | None:
    if money is None:
        return None
    return invoice_pb2.Money(currency_code=money.currency, amount=money.to_decimal_string())


def address_to_proto(address: Address | None) -> customer_pb2.PostalAddress | None:
    if address is None:
        return None
    return customer_pb2.PostalAddress(**{name: getattr(address, name) for name in _ADDRESS})


def customer_to_proto(customer: Customer) -> customer_pb2.Customer:
    return customer_pb2.Customer(
        display_name=customer.display_name,
        email=customer.email or "",
        billing_address=address_to_proto(customer.billing_address),
        tax_id=customer.tax_id or "",
        quickbooks_customer_id=customer.quickbooks_id or "",
        shipping_address=address_to_proto(customer.shipping_address),
    )


def accounting_customer_to_proto(found: AccountingCustomer) -> customer_pb2.Customer:
    customer = customer_to_proto(found.customer.with_quickbooks_id(found.id))
    # A tax id QuickBooks masked is not offered: the form copies it into the invoice's customer.
    customer.tax_id = found.customer.known_tax_id() or ""
    return customer


def line_to_proto(line: InvoiceLine, amount: Money) -> invoice_pb2.LineItem:
    return invoice_pb2.LineItem(
        name=line.name,
        description=line.description,
        quantity=format(line.quantity, "f"),
        unit_price=format(line.unit_price, "f"),
        discount=format(line.discount, "f"),
        discount_type=_DISCOUNT[line.discount_kind],
        tax_rate=format(line.tax_rate, "f"),
        tax_method=_TAX[line.tax_method],
        item_id=line.item_ref or "",
        tax_code_id=line.tax_code_ref or "",
        kind=_KIND[line.kind],
        amount=money_to_proto(amount),
    )


def totals_to_proto(totals: InvoiceTotals) -> invoice_pb2.InvoiceTotals:
    return invoice_pb2.InvoiceTotals(
        subtotal=money_to_proto(totals.subtotal),
        discount=money_to_proto(totals.discount),
        tax=money_to_proto(totals.tax),
        total=money_to_proto(totals.total),
        amount_paid=money_to_proto(totals.amount_paid),
        balance=money_to_proto(totals.balance),
    )


def invoice_to_proto(view: InvoiceView) -> invoice_pb2.Invoice:
    return invoice_pb2.Invoice(
        name=invoice_name(view.company_id, view.deal_id, view.id),
        state=_STATUS[view.status],
        doc_number=view.doc_number or "",
        customer=customer_to_proto(view.customer),
        lines=[line_to_proto(lv.line, lv.amount) for lv in view.lines],
        currency_code=view.currency,
        issue_date=view.issue_date.isoformat(),
        due_date=view.due_date.isoformat() if view.due_date else "",
        memo=view.memo,
        totals=totals_to_proto(view.totals),
        quickbooks_invoice_id=view.quickbooks_id or "",
        quickbooks_url=view.quickbooks_url or "",
        failure_reason=view.failure_reason or "",
        failure_code=view.failure_code or "",
        failure_params=dict(view.failure_params),
        totals_mismatch=view.totals_mismatch,
        quickbooks_total=money_to_proto(view.quickbooks_total),
        create_time=timestamp(view.created_at),
        update_time=timestamp(view.updated_at),
        last_sync_time=timestamp(view.last_synced_at),
        creator=view.created_by or "",
        last_send_time=timestamp(view.last_sent_at),
        terms_id=view.terms_id or "",
        terms_name=view.terms_name or "",
        class_name=view.class_name or "",
        location_name=view.location_name or "",
        tax_calculated_by_quickbooks=view.tax_by_quickbooks,
        sales_tax_code_id=view.sales_tax_code_id or "",
        payment_link=view.payment_link or "",
        other_quickbooks_company=view.other_quickbooks_company,
    )


def draft_to_proto(draft: InvoiceDraft) -> invoice_service_pb2.InvoiceDraft:
    invoice = invoice_pb2.Invoice(
        state=invoice_pb2.INVOICE_STATE_UNSPECIFIED,
        customer=customer_to_proto(draft.customer),
        lines=[line_to_proto(line, line.total(draft.currency)) for line in draft.lines],
        currency_code=draft.currency,
        issue_date=draft.issue_date.isoformat(),
        due_date=draft.due_date.isoformat() if draft.due_date else "",
        totals=totals_to_proto(draft.totals),
        terms_id=draft.terms_id or "",
        tax_calculated_by_quickbooks=draft.tax_by_quickbooks,
        sales_tax_code_id=draft.sales_tax_code_id or "",
        memo=draft.memo,
        private_note=draft.private_note,
        custom_fields=[
            invoice_template_pb2.InvoiceCustomField(definition_id=cf.definition_id, value=cf.value)
            for cf in draft.custom_fields
        ],
        bill_email_cc=draft.bill_email_cc,
        bill_email_bcc=draft.bill_email_bcc,
    )
    if draft.allow_online_card is not None:
        invoice.allow_online_credit_card_payment = draft.allow_online_card
    if draft.allow_online_ach is not None:
        invoice.allow_online_ach_payment = draft.allow_online_ach
    if draft.class_id:
        invoice.class_id = draft.class_id
    if draft.location_id:
        invoice.location_id = draft.location_id
    return invoice_service_pb2.InvoiceDraft(
        invoice=invoice,
        linked_customer=(
            accounting_customer_to_proto(draft.linked_customer) if draft.linked_customer else None
        ),
        suggested_customers=[accounting_customer_to_proto(c) for c in draft.suggestions],
        warnings=[
            invoice_service_pb2.DraftWarning(
                code=w.code, message=w.message, field=w.field, params=dict(w.params)
            )
            for w in draft.warnings
        ],
        customer_link=_link_name(draft),
        customer_linked=draft.contact_linked,
        terms_due_dates={term: due.isoformat() for term, due in draft.terms_due_dates.items()},
        rule_due_date=draft.rule_due_date.isoformat() if draft.rule_due_date else "",
        update_customer_details=draft.copy_customer_details,
        exchange_rate=str(draft.exchange_rate) if draft.exchange_rate is not None else "",
        home_total=money_to_proto(draft.home_total),
        deal_value=money_to_proto(draft.deal_value),
        invoiced_on_deal=money_to_proto(draft.invoiced_on_deal),
        template=template_name(draft.company_id, draft.template_id) if draft.template_id else "",
        templates=[template_to_proto(d.template, d.custom_values) for d in draft.templates],
        share=share_to_proto(draft.share),
        share_amount=money_to_proto(draft.share_amount),
        deal_amount=money_to_proto(draft.deal_amount),
    )


def _link_name(draft: InvoiceDraft) -> str:
    if draft.contact is None:
        return ""
    entity, entity_id = draft.contact
    plural = "organizations" if entity is SourceEntity.ORGANIZATION else "persons"
    return f"companies/{draft.company_id}/{plural}/{entity_id}/customerLink"


def _optional(message: invoice_pb2.Invoice, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def invoice_input_from_proto(
    message: invoice_pb2.Invoice,
    *,
    update_customer_details: bool | None,
    exchange_rate: str = "",
    template_id: str = "",
    deposit: str = "",
) -> InvoiceInput:
    if len(message.lines) > MAX_LINES:
        raise InvalidValueError.of("invoice.lines", MessageCode.TOO_MANY_LINES, max=MAX_LINES)
    c = message.customer
    address, shipping = (
        AddressInput(**{name: getattr(getattr(c, kind), name) for name in _ADDRESS})
        if c.HasField(kind)
        else None
        for kind in ("billing_address", "shipping_address")
    )
    return InvoiceInput(
        customer=CustomerInput(
            display_name=c.display_name,
            email=c.email,
            address=address,
            tax_id=c.tax_id,
            quickbooks_customer_id=c.quickbooks_customer_id,
            shipping_address=shipping,
        ),
        lines=tuple(
            LineInput(
                name=line.name,
                description=line.description,
                quantity=line.quantity or "1",
                unit_price=line.unit_price or "0",
                discount=line.discount or "0",
                discount_kind=_DISCOUNT_IN.get(
                    line.discount_type, f"unknown({line.discount_type})"
                ),
                tax_rate=line.tax_rate or "0",
                tax_method=_TAX_IN.get(line.tax_method, f"unknown({line.tax_method})"),
                item_id=line.item_id,
                tax_code_id=line.tax_code_id,
                kind=_KIND_IN.get(line.kind, f"unknown({line.kind})"),
            )
            for line in message.lines
        ),
        currency=message.currency_code,
        issue_date=message.issue_date,
        due_date=message.due_date,
        memo=message.memo,
        terms_id=message.terms_id,
        sales_tax_code_id=message.sales_tax_code_id,
        update_customer_details=update_customer_details,
        exchange_rate=exchange_rate,
        template_id=template_id,
        private_note=_optional(message, "private_note"),
        custom_fields=tuple(
            CustomFieldInput(cf.definition_id, cf.value) for cf in message.custom_fields
        ),
        bill_email_cc=_optional(message, "bill_email_cc"),
        bill_email_bcc=_optional(message, "bill_email_bcc"),
        allow_online_card=_optional(message, "allow_online_credit_card_payment"),
        allow_online_ach=_optional(message, "allow_online_ach_payment"),
        deposit=deposit,
        class_id=_optional(message, "class_id"),
        location_id=_optional(message, "location_id"),
    )


def event_to_proto(recorded: RecordedEvent) -> invoice_pb2.InvoiceEvent:
    description, amount = describe(recorded.event)
    return invoice_pb2.InvoiceEvent(
        invoice=invoice_name(recorded.company_id, recorded.deal_id, recorded.invoice_id),
        type=recorded.event.kind,
        description=description,
        actor=recorded.actor or "",
        actor_display_name=recorded.actor_name or "",
        occur_time=timestamp(recorded.event.occurred_at),
        amount=money_to_proto(amount),
    )


def link_to_proto(link: CustomerLink, name: str) -> customer_service_pb2.CustomerLink:
    return customer_service_pb2.CustomerLink(
        name=name,
        entity=ENTITY_TO_PROTO[link.entity],
        entity_id=link.entity_id,
        quickbooks_customer_id=link.quickbooks_customer_id,
        display_name=link.display_name,
        link_time=timestamp(link.linked_at),
        linked_by=link.linked_by or "",
    )


def deal_invoicing_to_proto(figures: DealInvoicing) -> invoice_service_pb2.DealInvoicing:
    return invoice_service_pb2.DealInvoicing(
        name=f"companies/{figures.company_id}/deals/{figures.deal_id}/invoicing",
        currency_code=figures.currency,
        deal_value=money_to_proto(figures.deal_value),
        invoiced=money_to_proto(figures.invoiced),
        paid=money_to_proto(figures.paid),
        balance_due=money_to_proto(figures.balance_due),
        remaining=money_to_proto(figures.remaining),
        invoice_count=figures.invoice_count,
        other_currency_codes=figures.other_currencies,
    )
