"""proto <-> invoicing DTOs: invoices, lines, money, drafts, events, customers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar, cast

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from application.commands import AddressInput, CustomerInput, InvoiceInput, LineInput
from application.history import describe
from application.ports.accounting import AccountingCustomer
from application.ports.persistence import CustomerLink, RecordedEvent
from application.views import InvoiceDraft, InvoiceView
from dealbooks.v1 import (
    customer_pb2,
    customer_service_pb2,
    invoice_pb2,
    invoice_service_pb2,
)
from domain.customer import Address, Customer
from domain.errors import InvalidValueError
from domain.field_mapping import SourceEntity
from domain.invoice import (
    DiscountKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTotals,
    LineKind,
    TaxMethod,
)
from domain.money import Money
from entrypoints.grpc.mappers import ENTITY_TO_PROTO
from entrypoints.grpc.names import invoice_name

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
_DISCOUNT_IN = {
    invoice_pb2.DISCOUNT_TYPE_UNSPECIFIED: "percentage",
    invoice_pb2.DISCOUNT_TYPE_PERCENTAGE: "percentage",
    invoice_pb2.DISCOUNT_TYPE_AMOUNT: "amount",
}
_TAX = {
    TaxMethod.EXCLUSIVE: invoice_pb2.TAX_METHOD_EXCLUSIVE,
    TaxMethod.INCLUSIVE: invoice_pb2.TAX_METHOD_INCLUSIVE,
    TaxMethod.NONE: invoice_pb2.TAX_METHOD_NONE,
}
_TAX_IN = {
    invoice_pb2.TAX_METHOD_UNSPECIFIED: "none",
    invoice_pb2.TAX_METHOD_EXCLUSIVE: "exclusive",
    invoice_pb2.TAX_METHOD_INCLUSIVE: "inclusive",
    invoice_pb2.TAX_METHOD_NONE: "none",
}
_KIND = {
    LineKind.ITEM: invoice_pb2.LINE_KIND_ITEM,
    LineKind.DISCOUNT: invoice_pb2.LINE_KIND_DISCOUNT,
}
_KIND_IN = {
    invoice_pb2.LINE_KIND_UNSPECIFIED: "item",
    invoice_pb2.LINE_KIND_ITEM: "item",
    invoice_pb2.LINE_KIND_DISCOUNT: "discount",
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """As ``Timestamp.FromDatetime`` (a naive value is UTC), in integer arithmetic: four per
    invoice, and the library's version costs more than the rest of the invoice's fields."""
    if value is None:
        return None
    delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def money_to_proto(money: Money | None) -> invoice_pb2.Money | None:
    if money is None:
        return None
    return invoice_pb2.Money(currency_code=money.currency, amount=money.to_decimal_string())


def address_to_proto(address: Address | None) -> customer_pb2.PostalAddress | None:
    if address is None:
        return None
    return customer_pb2.PostalAddress(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        formatted=address.formatted,
    )


def customer_to_proto(customer: Customer) -> customer_pb2.Customer:
    return customer_pb2.Customer(
        display_name=customer.display_name,
        email=customer.email or "",
        billing_address=address_to_proto(customer.billing_address),
        tax_id=customer.tax_id or "",
        quickbooks_customer_id=customer.quickbooks_id or "",
    )


def accounting_customer_to_proto(found: AccountingCustomer) -> customer_pb2.Customer:
    return customer_to_proto(found.customer.with_quickbooks_id(found.id))


def line_to_proto(line: InvoiceLine, currency: str) -> invoice_pb2.LineItem:
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
        amount=money_to_proto(line.total(currency)),
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
    i = view.invoice
    totals = i.totals()  # once: the totals and the mismatch flag come from the same pass
    return invoice_pb2.Invoice(
        name=invoice_name(i.company_id, i.deal_id, i.id),
        state=_STATUS[view.status],
        doc_number=i.doc_number or "",
        customer=customer_to_proto(i.customer),
        lines=[line_to_proto(line, i.currency) for line in i.lines],
        currency_code=i.currency,
        issue_date=i.issue_date.isoformat(),
        due_date=i.due_date.isoformat() if i.due_date else "",
        memo=i.memo,
        totals=totals_to_proto(totals),
        quickbooks_invoice_id=i.quickbooks_id or "",
        quickbooks_url=view.quickbooks_url or "",
        failure_reason=i.failure_reason or "",
        totals_mismatch=i.quickbooks_total is not None and i.quickbooks_total != totals.total,
        quickbooks_total=money_to_proto(i.quickbooks_total),
        create_time=timestamp(i.created_at),
        update_time=timestamp(i.updated_at),
        last_sync_time=timestamp(i.last_synced_at),
        creator=i.created_by or "",
        last_send_time=timestamp(i.last_sent_at),
    )


_M = TypeVar("_M", bound=Message)


class InvoiceProtoCache:
    """``invoice_to_proto`` remembered per stored version, for the read RPCs.

    Every stored change of an invoice bumps its ``version`` (the optimistic-lock token) except
    ``mark_synced``, which only sets ``last_synced_at``; with the status label (it depends on
    the day) and the QuickBooks link, that key always maps to the same message. Mapping costs
    ~70 us an invoice (its totals, money and times), a page of 20 more than the query.

    A ListInvoices page is remembered whole the same way, under its invoices' keys and its
    page token: putting 20 messages into a response copies each of them, which cost a tenth of
    the server's time per page. Nothing returned is changed afterwards: grpc only serializes
    it. Bounded: least recently used out first.
    """

    def __init__(self, size: int = 4096, pages: int = 256) -> None:
        self._size = size
        self._pages = pages
        # Each message is kept with the invoices it was made from, and used only for those
        # very objects: the read model hands out one object per stored row version, so a row
        # changed without a new version (an UPDATE from psql) still gets a new message.
        self._messages: OrderedDict[tuple[object, ...], tuple[Invoice, invoice_pb2.Invoice]] = (
            OrderedDict()
        )
        self._responses: OrderedDict[tuple[object, ...], tuple[tuple[Invoice, ...], Message]] = (
            OrderedDict()
        )

    @staticmethod
    def _key(view: InvoiceView) -> tuple[object, ...]:
        i = view.invoice
        return (i.company_id, i.id, i.version, i.last_synced_at, view.status, view.quickbooks_url)

    def __call__(self, view: InvoiceView) -> invoice_pb2.Invoice:
        key = self._key(view)
        found = self._messages.get(key)
        if found is not None and found[0] is view.invoice:
            self._messages.move_to_end(key)
            return found[1]
        message = invoice_to_proto(view)
        self._messages[key] = (view.invoice, message)
        self._messages.move_to_end(key)
        if len(self._messages) > self._size:
            self._messages.popitem(last=False)
        return message

    def response(self, view: InvoiceView) -> invoice_service_pb2.GetInvoiceResponse:
        """GetInvoice's whole response, remembered like a page."""
        return self._whole(
            ("get", self._key(view)),
            [view],
            lambda: invoice_service_pb2.GetInvoiceResponse(invoice=self(view)),
        )

    def page(
        self, views: list[InvoiceView], next_page_token: str
    ) -> invoice_service_pb2.ListInvoicesResponse:
        return self._whole(
            ("list", next_page_token, *map(self._key, views)),
            views,
            lambda: invoice_service_pb2.ListInvoicesResponse(
                invoices=[self(view) for view in views], next_page_token=next_page_token
            ),
        )

    def _whole(
        self, key: tuple[object, ...], views: list[InvoiceView], build: Callable[[], _M]
    ) -> _M:
        found = self._responses.get(key)
        if found is not None and all(a is v.invoice for a, v in zip(found[0], views, strict=True)):
            self._responses.move_to_end(key)
            return cast(_M, found[1])
        message = build()
        self._responses[key] = (tuple(v.invoice for v in views), message)
        self._responses.move_to_end(key)
        if len(self._responses) > self._pages:
            self._responses.popitem(last=False)
        return message


def draft_to_proto(draft: InvoiceDraft) -> invoice_service_pb2.InvoiceDraft:
    invoice = invoice_pb2.Invoice(
        state=invoice_pb2.INVOICE_STATE_UNSPECIFIED,
        customer=customer_to_proto(draft.customer),
        lines=[line_to_proto(line, draft.currency) for line in draft.lines],
        currency_code=draft.currency,
        issue_date=draft.issue_date.isoformat(),
        due_date=draft.due_date.isoformat() if draft.due_date else "",
        totals=totals_to_proto(draft.totals),
        terms_id=draft.terms_id or "",
    )
    return invoice_service_pb2.InvoiceDraft(
        invoice=invoice,
        linked_customer=(
            accounting_customer_to_proto(draft.linked_customer) if draft.linked_customer else None
        ),
        suggested_customers=[accounting_customer_to_proto(c) for c in draft.suggestions],
        warnings=[
            invoice_service_pb2.DraftWarning(code=w.code, message=w.message, field=w.field)
            for w in draft.warnings
        ],
        customer_link=_link_name(draft),
        customer_linked=draft.contact_linked,
    )


def _link_name(draft: InvoiceDraft) -> str:
    if draft.contact is None:
        return ""
    entity, entity_id = draft.contact
    plural = "organizations" if entity is SourceEntity.ORGANIZATION else "persons"
    return f"companies/{draft.company_id}/{plural}/{entity_id}/customerLink"


def invoice_input_from_proto(
    message: invoice_pb2.Invoice, *, update_customer_details: bool
) -> InvoiceInput:
    if len(message.lines) > MAX_LINES:
        raise InvalidValueError("invoice.lines", f"At most {MAX_LINES} lines per invoice.")
    c = message.customer
    address = None
    if c.HasField("billing_address"):
        a = c.billing_address
        address = AddressInput(
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            region=a.region,
            postal_code=a.postal_code,
            country=a.country,
            formatted=a.formatted,
        )
    return InvoiceInput(
        customer=CustomerInput(
            display_name=c.display_name,
            email=c.email,
            address=address,
            tax_id=c.tax_id,
            quickbooks_customer_id=c.quickbooks_customer_id,
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
        update_customer_details=update_customer_details,
    )


def event_to_proto(recorded: RecordedEvent) -> invoice_pb2.InvoiceEvent:
    description, amount = describe(recorded.event)
    return invoice_pb2.InvoiceEvent(
        invoice=invoice_name(recorded.company_id, recorded.deal_id, recorded.invoice_id),
        type=recorded.event.kind,
        description=description,
        actor=recorded.actor or "",
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
