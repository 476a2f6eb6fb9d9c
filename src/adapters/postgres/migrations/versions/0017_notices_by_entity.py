"""Notices found by realm and entity: a QuickBooks company's reference data (items, terms,
preferences) is kept until a notice about it arrives, and every process asks for the latest one
when it uses that data (issue 15).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_accounting_notices_realm_entity",
        "accounting_notices",
        ["realm_id", "entity", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_accounting_notices_realm_entity", table_name="accounting_notices")
