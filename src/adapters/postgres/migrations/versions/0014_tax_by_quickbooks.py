"""US automated sales tax: an invoice whose tax QuickBooks computes says so, and keeps the
tax QuickBooks computed (TxnTaxDetail.TotalTax) as its tax (issue 14, Tax).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("quickbooks_tax", sa.Numeric(20, 6), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("tax_by_quickbooks", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("invoices", "tax_by_quickbooks")
    op.drop_column("invoices", "quickbooks_tax")
