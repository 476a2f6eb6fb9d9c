"""The deal fields dealbooks keeps current on each deal with invoices (issue 16): the keys of
the company's four Pipedrive custom fields, and what was last written on each deal (a change
that leaves the totals as they were writes nothing).

Self-contained: renumber and re-chain freely if another revision takes 0024.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_field_keys",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("invoiced", sa.String(64), nullable=False),
        sa.Column("paid", sa.String(64), nullable=False),
        sa.Column("balance_due", sa.String(64), nullable=False),
        sa.Column("invoice_status", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deal_field_values",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("deal_id", sa.String(64), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("invoiced", sa.Numeric(20, 6), nullable=False),
        sa.Column("paid", sa.Numeric(20, 6), nullable=False),
        sa.Column("balance_due", sa.Numeric(20, 6), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deal_field_values")
    op.drop_table("deal_field_keys")
