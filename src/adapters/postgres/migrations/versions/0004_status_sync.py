"""Status sync: QuickBooks change notices kept once, and per-company CDC watermarks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounting_notices",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_accounting_notices_pending",
        "accounting_notices",
        ["received_at"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "sync_watermarks",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("changed_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_watermarks")
    op.drop_index("ix_accounting_notices_pending", table_name="accounting_notices")
    op.drop_table("accounting_notices")
