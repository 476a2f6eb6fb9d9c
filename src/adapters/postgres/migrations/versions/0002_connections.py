"""Vendor connections (sealed OAuth tokens), OAuth states, and the shared rate-limit ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("vendor", sa.String(16), primary_key=True),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("sealed_tokens", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("environment", sa.String(32), nullable=False, server_default=""),
        sa.Column("api_domain", sa.String(255), nullable=False, server_default=""),
        sa.Column("connected_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_connections_vendor_external_id", "connections", ["vendor", "external_id"])
    op.create_table(
        "oauth_states",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("return_to", sa.String(500), nullable=False, server_default=""),
        sa.Column("extra", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    # Calls started per key (rolling windows) and calls in flight (leases), shared by every
    # process so vendor limits hold for the whole deployment.
    op.create_table(
        "rate_limit_starts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rate_limit_starts_key_at", "rate_limit_starts", ["key", "started_at"])
    op.create_table(
        "rate_limit_leases",
        sa.Column("lease", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rate_limit_leases_key", "rate_limit_leases", ["key"])


def downgrade() -> None:
    op.drop_table("rate_limit_leases")
    op.drop_table("rate_limit_starts")
    op.drop_table("oauth_states")
    op.drop_index("ix_connections_vendor_external_id", table_name="connections")
    op.drop_table("connections")
