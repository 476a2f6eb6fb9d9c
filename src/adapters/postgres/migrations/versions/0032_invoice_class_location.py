"""Invoices keep the class and the location QuickBooks recorded on them (full names), for the
panel. Rows from before read as none.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("class_name", sa.String(), nullable=True))
    op.add_column("invoices", sa.Column("location_name", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "location_name")
    op.drop_column("invoices", "class_name")
