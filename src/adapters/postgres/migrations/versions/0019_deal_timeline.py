"""The deal's Pipedrive timeline follows the invoice (issue 16): the entries each invoice
milestone owes its deal, keyed by invoice and milestone key (replays add nothing), and the
company's choice of milestones and language (NULL: the defaults).

Self-contained: renumber freely if another revision takes 0018.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("company_settings", sa.Column("timeline", JSONB(), nullable=True))
    op.create_table(
        "deal_timeline_entries",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("invoice_id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("milestone", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", JSONB(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_deal_timeline_entries_unfinished",
        "deal_timeline_entries",
        ["updated_at"],
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )


def downgrade() -> None:
    op.drop_index("ix_deal_timeline_entries_unfinished", table_name="deal_timeline_entries")
    op.drop_table("deal_timeline_entries")
    op.drop_column("company_settings", "timeline")
