"""Invoices, their history events, AIP-155 request ids and customer links.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("customer", postgresql.JSONB(), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False, server_default=""),
        sa.Column("amount_paid", sa.Numeric(20, 6), nullable=False),
        sa.Column("quickbooks_id", sa.String(64), nullable=True),
        sa.Column("doc_number", sa.String(64), nullable=True),
        sa.Column("sync_token", sa.String(32), nullable=True),
        sa.Column("quickbooks_total", sa.Numeric(20, 6), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_recorded_for", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("creation", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_invoices_deal_newest",
        "invoices",
        ["company_id", "deal_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "ux_invoices_quickbooks_id",
        "invoices",
        ["company_id", "quickbooks_id"],
        unique=True,
        postgresql_where=sa.text("quickbooks_id IS NOT NULL"),
    )
    op.create_index(
        "ix_invoices_creating",
        "invoices",
        ["updated_at"],
        postgresql_where=sa.text("state = 'creating'"),
    )
    op.create_table(
        "invoice_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
    )
    op.create_index(
        "ix_invoice_events_deal", "invoice_events", ["company_id", "deal_id", sa.text("id DESC")]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_links",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("entity", sa.String(16), primary_key=True),
        sa.Column("entity_id", sa.String(64), primary_key=True),
        sa.Column("quickbooks_customer_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("customer_links")
    op.drop_table("idempotency_keys")
    op.drop_table("invoice_events")
    op.drop_table("invoices")
