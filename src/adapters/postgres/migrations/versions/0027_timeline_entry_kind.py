"""Deal timeline entries as notes or done activities (issue 16): each entry keeps the kind the
settings chose when its milestone was recorded, so a retry posts and looks for the same kind
even if the settings changed since. Existing rows are notes, as they always were.

Revision ID: 0027
Revises: 0025 (0026 is another branch's; the chain is re-linked at merge)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deal_timeline_entries",
        sa.Column("kind", sa.String(16), nullable=False, server_default="note"),
    )


def downgrade() -> None:
    op.drop_column("deal_timeline_entries", "kind")
