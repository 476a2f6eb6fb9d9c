"""Views: what use cases return to entrypoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from application.ports.accounting import AccountingCustomer
from domain.customer import Customer
from domain.field_mapping import SourceEntity
from domain.invoice import Invoice, InvoiceLine, InvoiceStatus, InvoiceTotals
from domain.settings import CompanySettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SettingsView:
    settings: CompanySettings
    etag: str
    is_default: bool


def settings_etag(settings: CompanySettings) -> str:
    return f'"v{settings.version}"'


@dataclass(frozen=True, slots=True)
class InvoiceView:
    invoice: Invoice
    status: InvoiceStatus
    quickbooks_url: str | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class DraftWarning:
    code: str  # CURRENCY_NOT_ENABLED, MISSING_TAX_CODE, NO_EMAIL, NO_LINES, MAPPING_EMPTY ...
    message: str
    field: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """What the invoice form opens with."""

    company_id: str
    deal_id: str
    customer: Customer
    linked_customer: AccountingCustomer | None
    suggestions: tuple[AccountingCustomer, ...]
    currency: str
    issue_date: date
    due_date: date | None
    terms_id: str | None
    lines: tuple[InvoiceLine, ...]
    totals: InvoiceTotals
    warnings: tuple[DraftWarning, ...]
    # The deal's contact whose QuickBooks link is (or would be) used: organization, else person.
    contact: tuple[SourceEntity, str] | None = None
    contact_linked: bool = False


@dataclass(frozen=True, slots=True)
class PdfView:
    filename: str
    content: bytes
