"""Builders for domain unit tests: valid objects by default, override what a test cares about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.customer import Address, Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceState
from domain.invoice_line import InvoiceLine
from domain.money import Money

NOW = datetime(2025, 3, 13, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
ISSUED = date(2025, 3, 13)
DUE = date(2025, 3, 20)


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def a_customer(**overrides: Any) -> Customer:
    values: dict[str, Any] = {
        "display_name": "Acme SARL",
        "email": "billing@acme.example",
        "billing_address": Address(line1="1 rue de la Paix", city="Paris", country="France"),
        "tax_id": "FR40303265045",
    }
    values.update(overrides)
    return Customer(**values)


def a_line(**overrides: Any) -> InvoiceLine:
    values: dict[str, Any] = {
        "description": "Consulting",
        "quantity": Decimal(5),
        "unit_price": Decimal(22),
    }
    values.update(overrides)
    return InvoiceLine(**values)


def a_requested_invoice(**overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": InvoiceId("inv-1"),
        "company_id": CompanyId("company-1"),
        "deal_id": DealId("deal-1"),
        "customer": a_customer(),
        "lines": [a_line()],
        "currency": "EUR",
        "issue_date": ISSUED,
        "due_date": DUE,
        "memo": "Thanks for your business",
        "created_by": "user-7",
        "now": NOW,
    }
    values.update(overrides)
    return Invoice.request(**values)


def an_invoice_in(state: InvoiceState, **overrides: Any) -> Invoice:
    """An invoice of 110.00 EUR driven to ``state`` through its behaviour; events drained."""
    invoice = a_requested_invoice(**overrides)
    total = invoice.total()
    if state is InvoiceState.CREATE_FAILED:
        invoice.reject("The customer is inactive in QuickBooks.", NOW)
    elif state is not InvoiceState.CREATING:
        invoice.confirm_created(
            "qb-42", "1001", "0", total, NOW, quickbooks_url="https://qbo.test/company-1/qb-42"
        )
        if state is InvoiceState.PARTIALLY_PAID:
            invoice.apply_accounting_facts(total, total - eur(10), "1", DUE, NOW)
        elif state is InvoiceState.PAID:
            invoice.apply_accounting_facts(total, Money.zero("EUR"), "1", DUE, NOW)
        elif state is InvoiceState.VOIDED:
            invoice.void(NOW)
        elif state is InvoiceState.DELETED:
            invoice.delete(NOW)
    assert invoice.state is state
    invoice.pull_events()
    return invoice
