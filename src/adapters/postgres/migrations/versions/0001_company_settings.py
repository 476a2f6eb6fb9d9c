"""Company settings: field mapping, due-date policy and defaults per Pipedrive company.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company_settings",
        sa.Column("company_id", sa.String(length=64), primary_key=True),
        sa.Column("field_mapping", postgresql.JSONB(), nullable=False),
        sa.Column("due_date_policy", postgresql.JSONB(), nullable=False),
        sa.Column("copy_customer_details", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("default_currency", sa.String(length=3), nullable=True),
        sa.Column("default_tax_code", sa.String(length=64), nullable=True),
        sa.Column("default_terms", sa.String(length=64), nullable=True),
        sa.Column("default_item", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("company_settings")
