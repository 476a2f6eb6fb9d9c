"""Invoicing rules (issue 17): a company's "when a deal is won / enters a stage" rules, and one
run per deal and rule (its primary key is what invoices a deal at most once per rule).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_rules",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("stage_id", sa.String(32), nullable=True),
        sa.Column("pipeline_id", sa.String(32), nullable=True),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "invoice_rule_runs",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("deal_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(64), nullable=True),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("failure_params", postgresql.JSONB(), nullable=False),
        sa.Column("failure_field", sa.Text(), nullable=True),
        sa.Column("noted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_invoice_rule_runs_deal", "invoice_rule_runs", ["company_id", "deal_id"]
    )
    op.create_index(
        "ix_invoice_rule_runs_pending",
        "invoice_rule_runs",
        ["updated_at"],
        postgresql_where=sa.text("state = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_rule_runs_pending", table_name="invoice_rule_runs")
    op.drop_index("ix_invoice_rule_runs_deal", table_name="invoice_rule_runs")
    op.drop_table("invoice_rule_runs")
    op.drop_table("invoice_rules")
