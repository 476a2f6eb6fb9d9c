"""Pipedrive connections per user, and waiting purges (issue 18).

- ``connections`` gets ``user_id`` in its key: a Pipedrive install is per user (an existing
  Pipedrive connection becomes the one of the user who made it, ``connected_by``); QuickBooks
  connections keep ``''``.
- ``company_purges``: the companies whose data is forgotten once their last user uninstalled.

Downgrading keeps one Pipedrive connection per company, the one the company's calls used.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "connections",
        sa.Column("user_id", sa.String(64), nullable=False, server_default=""),
    )
    op.execute("UPDATE connections SET user_id = connected_by WHERE vendor = 'pipedrive'")
    op.drop_constraint("connections_pkey", "connections", type_="primary")
    op.create_primary_key("connections_pkey", "connections", ["company_id", "vendor", "user_id"])

    op.create_table(
        "company_purges",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("company_purges")
    # One Pipedrive connection per company again: the one its calls used.
    op.execute(
        """
        DELETE FROM connections AS c
        WHERE c.vendor = 'pipedrive' AND c.user_id <> (
            SELECT kept.user_id FROM connections AS kept
            WHERE kept.company_id = c.company_id AND kept.vendor = 'pipedrive'
            ORDER BY (kept.status = 'connected') DESC, kept.connected_at DESC NULLS LAST,
                kept.user_id DESC
            LIMIT 1
        )
        """
    )
    op.drop_constraint("connections_pkey", "connections", type_="primary")
    op.create_primary_key("connections_pkey", "connections", ["company_id", "vendor"])
    op.drop_column("connections", "user_id")
