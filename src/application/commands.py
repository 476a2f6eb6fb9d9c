"""Commands: what entrypoints ask use cases to do, as frozen dataclasses of primitives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from application.auth import Principal
from domain.customer import Address


@dataclass(frozen=True, slots=True)
class FieldSourceInput:
    """A mapping source as the caller sent it; validated by the use case."""

    entity: str
    field_key: str


@dataclass(frozen=True, slots=True)
class DueDatePolicyInput:
    rule: str
    days: int = 0
    day_of_month: int = 0


@dataclass(frozen=True, slots=True)
class SettingsInput:
    """Every settings field as sent; ``update_mask`` says which of them to apply."""

    to: FieldSourceInput | None = None
    address: FieldSourceInput | None = None
    email: FieldSourceInput | None = None
    tax_id: FieldSourceInput | None = None
    due_date_policy: DueDatePolicyInput | None = None
    copy_customer_details: bool = False
    default_currency: str = ""
    default_tax_code: str = ""
    default_terms: str = ""
    default_item: str = ""
    deal_timeline: DealTimelineInput | None = None
    invoice_permissions: tuple[str, ...] | None = None  # the actions kept for admins
    # (action, permission set ids): who besides the admins may take the action
    invoice_permission_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class DealTimelineInput:
    milestones: tuple[str, ...] = ()
    language: str = ""
    entry_kind: str = "note"


@dataclass(frozen=True, slots=True)
class GetSettingsCommand:
    principal: Principal
    company_id: str


@dataclass(frozen=True, slots=True)
class UpdateSettingsCommand:
    principal: Principal
    company_id: str
    settings: SettingsInput
    update_mask: tuple[str, ...] = field(default_factory=tuple)
    etag: str = ""


@dataclass(frozen=True, slots=True)
class TemplateCustomFieldInput:
    """A template's sales custom field as sent: a fixed value or a deal field."""

    definition_id: str
    value: str = ""
    source: FieldSourceInput | None = None


@dataclass(frozen=True, slots=True)
class TemplateInput:
    """An invoice template as sent (references are QuickBooks ids; empty: not set)."""

    display_name: str
    is_default: bool = False
    terms_id: str = ""
    customer_memo: str = ""
    private_note: str = ""
    tax_code_id: str = ""
    item_id: str = ""
    custom_fields: tuple[TemplateCustomFieldInput, ...] = ()
    bill_email_cc: str = ""
    bill_email_bcc: str = ""
    allow_online_card: bool = False
    allow_online_ach: bool = False
    class_id: str = ""
    location_id: str = ""


@dataclass(frozen=True, slots=True)
class SaveTemplateCommand:
    """Create (``template_id`` empty) or replace a company's invoice template."""

    principal: Principal
    company_id: str
    template: TemplateInput
    template_id: str = ""
    etag: str = ""


@dataclass(frozen=True, slots=True)
class TemplateRefCommand:
    principal: Principal
    company_id: str
    template_id: str


@dataclass(frozen=True, slots=True)
class AddressInput:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    formatted: str = ""

    @classmethod
    def of(cls, address: Address | None) -> AddressInput | None:
        """The address as a caller would send it (a draft's, for a job that creates it)."""
        return cls(**asdict(address)) if address is not None else None


@dataclass(frozen=True, slots=True)
class CustomerInput:
    display_name: str
    email: str = ""
    address: AddressInput | None = None
    tax_id: str = ""
    quickbooks_customer_id: str = ""  # empty: create a new QuickBooks customer
    shipping_address: AddressInput | None = None  # None: ships to the billing address


@dataclass(frozen=True, slots=True)
class LineInput:
    """Decimal fields are strings as typed (never floats); the use case validates them."""

    name: str = ""
    description: str = ""
    quantity: str = "1"
    unit_price: str = "0"
    discount: str = "0"
    discount_kind: str = "percentage"
    tax_rate: str = "0"
    tax_method: str = "none"
    item_id: str = ""
    tax_code_id: str = ""
    kind: str = "item"


@dataclass(frozen=True, slots=True)
class InvoiceInput:
    customer: CustomerInput
    lines: tuple[LineInput, ...]
    currency: str
    issue_date: str = ""  # ISO date; empty: today in the company's time zone
    due_date: str = ""  # ISO date; empty: from the company's due-date rule (or QuickBooks term)
    memo: str = ""
    terms_id: str = ""
    update_customer_details: bool | None = None  # None: as the company's setting says
    exchange_rate: str = ""  # home-currency units per unit of ``currency``; empty: QuickBooks'
    sales_tax_code_id: str = ""  # US without automated sales tax: the code for taxable lines
    # An invoice template to apply first: what the invoice leaves unset takes its values.
    template_id: str = ""
    private_note: str | None = None  # None: the template's (else none)
    custom_fields: tuple[CustomFieldInput, ...] = ()  # the others: the template's
    bill_email_cc: str | None = None
    bill_email_bcc: str | None = None
    allow_online_card: bool | None = None  # None: the template's, else QuickBooks' setting
    allow_online_ach: bool | None = None
    # A deposit the customer paid already ("300.00", the invoice's currency); empty: none.
    deposit: str = ""
    class_id: str | None = None  # QuickBooks class; None: the template's (else none)
    location_id: str | None = None  # QuickBooks location; None: the template's (else none)


@dataclass(frozen=True, slots=True)
class CustomFieldInput:
    definition_id: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class DealRef:
    principal: Principal
    company_id: str
    deal_id: str


@dataclass(frozen=True, slots=True)
class InvoiceRef(DealRef):
    invoice_id: str


@dataclass(frozen=True, slots=True)
class CreateInvoiceCommand:
    deal: DealRef
    invoice: InvoiceInput
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class ListPageCommand:
    deal: DealRef
    page_size: int = 0
    page_token: str = ""
    invoice_id: str = ""  # the history of this invoice of the deal only (empty: all)


@dataclass(frozen=True, slots=True)
class InvoiceActionCommand:
    invoice: InvoiceRef
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class SendInvoiceCommand:
    invoice: InvoiceRef
    to: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceRuleInput:
    """An invoicing rule as sent: ``trigger`` "won" or "stage"; ids are Pipedrive's (empty:
    any pipeline, the default template)."""

    trigger: str
    stage_id: str = ""
    pipeline_id: str = ""
    template_id: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SaveInvoiceRuleCommand:
    """Create (``rule_id`` empty) or replace a company's invoicing rule."""

    principal: Principal
    company_id: str
    rule: InvoiceRuleInput
    rule_id: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceRuleRefCommand:
    principal: Principal
    company_id: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class RetryRuleRunCommand:
    """Run a rule that failed on a deal again."""

    deal: DealRef
    rule_id: str


@dataclass(frozen=True, slots=True)
class InstallmentInput:
    """One installment as typed: a percentage of what is left to invoice, and a date."""

    percentage: str
    due_date: str  # YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class ScheduleInstallmentsCommand:
    deal: DealRef
    installments: tuple[InstallmentInput, ...]
    request_id: str = ""
