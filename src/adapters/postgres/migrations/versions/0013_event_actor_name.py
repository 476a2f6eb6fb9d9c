"""The history names people: each event keeps the name of the person who caused it, as
Pipedrive gave it then ("Camille Laurent"), beside their id.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice_events", sa.Column("actor_name", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_events", "actor_name")
