"""Invoice templates (issue 14): each company's named presets of invoice details (terms,
messages, default tax code and item, sales custom fields, CC/BCC, online payment), applied to a
new invoice before the user's own edits. A name is unique per company (whatever its case), and
at most one template per company is the default.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_templates",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ux_invoice_templates_name",
        "invoice_templates",
        ["company_id", sa.text("lower(name)")],
        unique=True,
    )
    op.create_index(
        "ux_invoice_templates_default",
        "invoice_templates",
        ["company_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("ux_invoice_templates_default", table_name="invoice_templates")
    op.drop_index("ux_invoice_templates_name", table_name="invoice_templates")
    op.drop_table("invoice_templates")
