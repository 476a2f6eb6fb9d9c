"""Who may create, send, void and delete invoices: the actions a company keeps for its admins
(issue 16). NULL, as for every company before this, means everyone may do everything.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("company_settings", sa.Column("permissions", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("company_settings", "permissions")
