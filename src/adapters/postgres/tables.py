"""SQLModel table classes. They are rows, not entities: ``mappers`` converts them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

_TIMESTAMP = DateTime(timezone=True)
_AMOUNT = Numeric(20, 6)


def _column(kind: Any, *, nullable: bool = False) -> Any:
    """A field of SQL type ``kind``; a nullable one defaults to None."""
    column = Column(kind, nullable=nullable)
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)


class CompanySettingsRow(SQLModel, table=True):
    __tablename__ = "company_settings"

    company_id: str = Field(primary_key=True, max_length=64)
    field_mapping: dict[str, Any] = _column(JSONB)
    due_date_policy: dict[str, Any] = _column(JSONB)
    copy_customer_details: bool = Field(default=False)
    default_currency: str | None = Field(default=None, max_length=3)
    default_tax_code: str | None = Field(default=None, max_length=64)
    default_terms: str | None = Field(default=None, max_length=64)
    default_item: str | None = Field(default=None, max_length=64)
    timeline: dict[str, Any] | None = _column(JSONB, nullable=True)  # NULL: the defaults
    permissions: dict[str, Any] | None = _column(JSONB, nullable=True)  # NULL: everyone
    version: int = Field(default=1)
    updated_at: datetime = _column(_TIMESTAMP)


class InvoiceTemplateRow(SQLModel, table=True):
    """A company's invoice template; ``body`` holds its presets (``dataclasses.asdict``)."""

    __tablename__ = "invoice_templates"
    __table_args__ = (
        Index("ux_invoice_templates_name", "company_id", text("lower(name)"), unique=True),
        Index(
            "ux_invoice_templates_default",
            "company_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    company_id: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    is_default: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    body: dict[str, Any] = _column(JSONB)
    version: int = Field(default=1)
    updated_at: datetime | None = _column(_TIMESTAMP, nullable=True)


class ConnectionRow(SQLModel, table=True):
    """A company's connection to one vendor, one per user for Pipedrive (``user_id`` empty for
    QuickBooks). The tokens and the vendor account id (the QuickBooks realm id) are sealed (see
    ``crypto``); ``external_key`` is the account id's keyed digest, to find it by realm."""

    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_vendor_external_key", "vendor", "external_key"),)

    company_id: str = Field(primary_key=True, max_length=64)
    vendor: str = Field(primary_key=True, max_length=16)
    user_id: str = Field(default="", primary_key=True, max_length=64)
    sealed_external_id: str
    external_key: str = Field(max_length=64)
    sealed_tokens: str
    access_expires_at: datetime = _column(_TIMESTAMP)
    refresh_expires_at: datetime | None = _column(_TIMESTAMP, nullable=True)
    status: str = Field(max_length=32)
    display_name: str = Field(default="", max_length=255)
    environment: str = Field(default="", max_length=32)
    api_domain: str = Field(default="", max_length=255)
    connected_by: str = Field(default="", max_length=64)
    connected_at: datetime | None = _column(_TIMESTAMP, nullable=True)
    updated_at: datetime | None = _column(_TIMESTAMP, nullable=True)
    failure_reason: str = Field(default="", max_length=500)
    time_zone: str = Field(default="", max_length=64)
    locale: str = Field(default="", max_length=35)
    version: int = Field(default=1)


class CompanyPurgeRow(SQLModel, table=True):
    """A company whose last Pipedrive user uninstalled: its data is forgotten from ``due_at``."""

    __tablename__ = "company_purges"

    company_id: str = Field(primary_key=True, max_length=64)
    uninstalled_at: datetime = _column(_TIMESTAMP)
    due_at: datetime = _column(_TIMESTAMP)


class OAuthStateRow(SQLModel, table=True):
    __tablename__ = "oauth_states"

    nonce: str = Field(primary_key=True, max_length=64)
    company_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    vendor: str = Field(max_length=16)
    expires_at: datetime = _column(_TIMESTAMP)
    return_to: str = Field(default="", max_length=500)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


class InvoiceRow(SQLModel, table=True):
    """The invoice aggregate: scalar columns for what is queried, JSON for customer and lines.

    It is also the read side (cosmicpython ch. 12): the totals, balance and QuickBooks link,
    and each line's amount inside ``lines``, are written with every change of the invoice, so a
    read is one query with no arithmetic."""

    __tablename__ = "invoices"

    id: str = Field(primary_key=True, max_length=36)
    company_id: str = Field(max_length=64)
    deal_id: str = Field(max_length=64)
    state: str = Field(max_length=16)
    customer: dict[str, Any] = _column(JSONB)
    lines: list[dict[str, Any]] = _column(JSONB)
    currency: str = Field(max_length=3)
    issue_date: date
    due_date: date | None = None
    memo: str = ""
    amount_paid: Decimal = _column(_AMOUNT)
    quickbooks_id: str | None = Field(default=None, max_length=64)
    doc_number: str | None = Field(default=None, max_length=64)
    sync_token: str | None = Field(default=None, max_length=32)
    quickbooks_total: Decimal | None = _column(_AMOUNT, nullable=True)
    failure_reason: str | None = None
    failure_code: str | None = None
    failure_params: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'")),
    )
    created_at: datetime = _column(_TIMESTAMP)
    updated_at: datetime = _column(_TIMESTAMP)
    last_synced_at: datetime | None = _column(_TIMESTAMP, nullable=True)
    last_sent_at: datetime | None = _column(_TIMESTAMP, nullable=True)
    overdue_recorded_for: date | None = None
    created_by: str | None = Field(default=None, max_length=64)
    creation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    version: int = 0
    # The read side's columns (see the docstring).
    subtotal: Decimal = _column(_AMOUNT)
    discount: Decimal = _column(_AMOUNT)
    tax: Decimal = _column(_AMOUNT)
    total: Decimal = _column(_AMOUNT)
    balance: Decimal = _column(_AMOUNT)
    quickbooks_url: str | None = None
    payment_link: str | None = None  # QuickBooks' InvoiceLink
    terms_id: str | None = Field(default=None, max_length=64)
    terms_name: str | None = Field(default=None, max_length=100)
    class_name: str | None = None  # full names: a class is up to 5 levels of 100 characters
    location_name: str | None = None
    quickbooks_tax: Decimal | None = _column(_AMOUNT, nullable=True)
    sales_tax_code_id: str | None = Field(default=None, max_length=64)
    tax_by_quickbooks: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    # The QuickBooks company (realm) holding the invoice, as ``connections.external_key``
    # (migration 0030); set when QuickBooks confirms it, never by the aggregate.
    realm_key: str = Field(default="", max_length=64)


class InvoiceEventRow(SQLModel, table=True):
    __tablename__ = "invoice_events"

    id: int | None = Field(default=None, primary_key=True)
    company_id: str = Field(max_length=64)
    deal_id: str = Field(max_length=64)
    invoice_id: str = Field(max_length=36)
    kind: str = Field(max_length=32)
    occurred_at: datetime = _column(_TIMESTAMP)
    actor: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = _column(JSONB)
    actor_name: str | None = Field(default=None, max_length=255)


class IdempotencyKeyRow(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    company_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    request_hash: str = Field(max_length=64)
    resource_id: str = Field(max_length=64)
    created_at: datetime = _column(_TIMESTAMP)


class CustomerLinkRow(SQLModel, table=True):
    __tablename__ = "customer_links"

    company_id: str = Field(primary_key=True, max_length=64)
    entity: str = Field(primary_key=True, max_length=16)
    entity_id: str = Field(primary_key=True, max_length=64)
    quickbooks_customer_id: str = Field(max_length=64)
    display_name: str = Field(max_length=255)
    linked_at: datetime = _column(_TIMESTAMP)
    linked_by: str | None = Field(default=None, max_length=64)
    currency: str = Field(default="", primary_key=True, max_length=3)
    realm_key: str = Field(default="", max_length=64)  # the QuickBooks company of the customer


class DealFollowUpRow(SQLModel, table=True):
    __tablename__ = "deal_follow_ups"
    __table_args__ = (
        Index(
            "ix_deal_follow_ups_unfinished",
            "updated_at",
            postgresql_where=text("state <> 'done'"),
        ),
    )

    company_id: str = Field(primary_key=True, max_length=64)
    invoice_id: str = Field(primary_key=True, max_length=36)
    deal_id: str = Field(max_length=64)
    note: str = _column(Text)
    marker: str = Field(max_length=255)
    quickbooks_customer_id: str = Field(max_length=64)
    customer_name: str = Field(max_length=255)
    requested_by: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)
    created_at: datetime = _column(_TIMESTAMP)
    updated_at: datetime = _column(_TIMESTAMP)


class DealTimelineEntryRow(SQLModel, table=True):
    __tablename__ = "deal_timeline_entries"
    __table_args__ = (
        Index(
            "ix_deal_timeline_entries_unfinished",
            "updated_at",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )

    company_id: str = Field(primary_key=True, max_length=64)
    invoice_id: str = Field(primary_key=True, max_length=36)
    key: str = Field(primary_key=True, max_length=96)
    deal_id: str = Field(max_length=64)
    milestone: str = Field(max_length=32)
    occurred_at: datetime = _column(_TIMESTAMP)
    details: dict[str, Any] = _column(JSONB)
    state: str = Field(max_length=16)
    content: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = _column(_TIMESTAMP)
    updated_at: datetime = _column(_TIMESTAMP)
    # "note" or "activity" (migration 0027; rows before it are notes)
    kind: str = Field(
        default="note", sa_column=Column(String(16), nullable=False, server_default="note")
    )


class DealFieldKeysRow(SQLModel, table=True):
    __tablename__ = "deal_field_keys"

    company_id: str = Field(primary_key=True, max_length=64)
    invoiced: str = Field(max_length=64)
    paid: str = Field(max_length=64)
    balance_due: str = Field(max_length=64)
    invoice_status: str = Field(max_length=64)
    updated_at: datetime = _column(_TIMESTAMP)


class DealFieldValuesRow(SQLModel, table=True):
    __tablename__ = "deal_field_values"

    company_id: str = Field(primary_key=True, max_length=64)
    deal_id: str = Field(primary_key=True, max_length=64)
    currency: str | None = Field(default=None, max_length=3)
    invoiced: Decimal = _column(_AMOUNT)
    paid: Decimal = _column(_AMOUNT)
    balance_due: Decimal = _column(_AMOUNT)
    status: str = Field(max_length=32)
    updated_at: datetime = _column(_TIMESTAMP)


class InvoiceRuleRow(SQLModel, table=True):
    """A company's invoicing rule (issue 17): "won" or "enters stage", in a pipeline or any."""

    __tablename__ = "invoice_rules"

    company_id: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    trigger: str = Field(max_length=16)
    stage_id: str | None = Field(default=None, max_length=32)
    pipeline_id: str | None = Field(default=None, max_length=32)
    template_id: str | None = Field(default=None, max_length=64)
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    version: int = Field(default=1)
    updated_at: datetime | None = _column(_TIMESTAMP, nullable=True)


class RuleRunRow(SQLModel, table=True):
    """A rule's run on a deal: its key is what makes the rule invoice a deal at most once."""

    __tablename__ = "invoice_rule_runs"
    __table_args__ = (
        Index("ix_invoice_rule_runs_deal", "company_id", "deal_id"),
        Index(
            "ix_invoice_rule_runs_pending",
            "updated_at",
            postgresql_where=text("state = 'PENDING'"),
        ),
    )

    company_id: str = Field(primary_key=True, max_length=64)
    rule_id: str = Field(primary_key=True, max_length=64)
    deal_id: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=16)
    attempt: int = Field(default=1)
    invoice_id: str | None = Field(default=None, max_length=64)
    failure_code: str | None = Field(default=None, max_length=64)
    failure_params: dict[str, Any] = _column(JSONB)
    failure_field: str | None = _column(Text, nullable=True)
    noted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _column(_TIMESTAMP)
    updated_at: datetime = _column(_TIMESTAMP)


class DealInstallmentRow(SQLModel, table=True):
    """One installment of a deal's schedule (migration 0028)."""

    __tablename__ = "deal_installments"
    __table_args__ = (
        Index(
            "ix_deal_installments_due",
            "due_on",
            postgresql_where=text("state = 'scheduled'"),
        ),
        Index("ix_deal_installments_deal", "company_id", "deal_id"),
    )

    company_id: str = Field(primary_key=True, max_length=64)
    schedule_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(primary_key=True)
    deal_id: str = Field(max_length=64)
    count: int
    percentage: Decimal = _column(Numeric(9, 6))
    amount: Decimal = _column(_AMOUNT)
    currency: str = Field(max_length=3)
    due_on: date
    created_at: datetime = _column(_TIMESTAMP)
    state: str = Field(max_length=16)
    invoice_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    attempt: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
