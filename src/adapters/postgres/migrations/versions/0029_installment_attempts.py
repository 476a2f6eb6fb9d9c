"""An installment refused by QuickBooks can be retried (issue 17): each try creates its invoice
under its own request id, so the row counts the tries. A cancelled installment is the state
'cancelled' (the column already takes it).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deal_installments",
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("deal_installments", "attempt")
