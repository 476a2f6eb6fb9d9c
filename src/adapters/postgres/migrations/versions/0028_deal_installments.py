"""Deals invoiced in installments (issue 17): one row per installment of a schedule, its amount
fixed when the schedule was made, its state and, once created, its invoice. The partial index
finds the installments due for the job that creates their invoices.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_installments",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("schedule_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("percentage", sa.Numeric(9, 6), nullable=False),
        sa.Column("amount", sa.Numeric(20, 6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("invoice_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_deal_installments_due",
        "deal_installments",
        ["due_on"],
        postgresql_where=sa.text("state = 'scheduled'"),
    )
    op.create_index(
        "ix_deal_installments_deal", "deal_installments", ["company_id", "deal_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_deal_installments_deal", table_name="deal_installments")
    op.drop_index("ix_deal_installments_due", table_name="deal_installments")
    op.drop_table("deal_installments")
