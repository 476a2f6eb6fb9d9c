"""A US company without automated sales tax: an invoice keeps the sales tax code applied to
its taxable lines (QuickBooks' TxnTaxCodeRef; issue 14, Tax).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("sales_tax_code_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "sales_tax_code_id")
