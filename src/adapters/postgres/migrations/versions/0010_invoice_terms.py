"""Invoices keep the QuickBooks term they were created with (its id and name), for the panel.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("terms_id", sa.String(length=64), nullable=True))
    op.add_column("invoices", sa.Column("terms_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "terms_name")
    op.drop_column("invoices", "terms_id")
