"""A Pipedrive connection keeps its user's locale, read with the install (users/me), so that
the language of the deal's timeline notes costs no Pipedrive call per note.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty for installs made before: the gateway asks Pipedrive for those, as before.
    op.add_column(
        "connections",
        sa.Column("locale", sa.String(length=35), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("connections", "locale")
