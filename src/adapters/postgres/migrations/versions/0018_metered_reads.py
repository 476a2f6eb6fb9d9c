"""The deployment's metered QuickBooks reads per month, shared by every process: what tells
the service that Intuit's monthly CorePlus quota is running low (issue 15).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quickbooks_metered_reads",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("calls", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quickbooks_metered_reads")
