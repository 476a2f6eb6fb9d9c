"""A voided invoice owes nothing: its stored balance (the read side's) becomes 0, as the
invoice now computes it and QuickBooks shows it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE invoices SET balance = 0 WHERE state = 'voided'")


def downgrade() -> None:
    op.execute(
        "UPDATE invoices SET balance = COALESCE(quickbooks_total, total) - amount_paid "
        "WHERE state = 'voided'"
    )
