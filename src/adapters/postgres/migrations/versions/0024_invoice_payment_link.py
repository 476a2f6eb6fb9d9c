"""The invoice's payment link: QuickBooks' InvoiceLink, kept with the invoice for the panel and
the deal note (issue 17). NULL, as for every invoice before this, means there is none.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("payment_link", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "payment_link")
