"""Which QuickBooks company (realm) an invoice and a customer link belong to.

QuickBooks ids are per company: after a company disconnects QuickBooks and connects another
QuickBooks company (a sandbox, then the real books), invoice 131 of the new company is not
invoice 131 of the old one. ``realm_key`` is the realm id's keyed digest, as
``connections.external_key`` holds it ('' while unknown: an invoice not yet in QuickBooks, or a
row of a company with no QuickBooks connection when this migration ran). The rows of today are
the connected company's: they take its key.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_CONNECTED = (
    "SELECT c.external_key FROM connections c WHERE c.company_id = {table}.company_id "
    "AND c.vendor = 'quickbooks' AND c.user_id = ''"
)


def upgrade() -> None:
    for table in ("invoices", "customer_links"):
        op.add_column(
            table,
            sa.Column("realm_key", sa.String(64), nullable=False, server_default=""),
        )
    op.execute(
        "UPDATE invoices SET realm_key = "  # noqa: S608 (no value from outside)
        f"COALESCE(({_CONNECTED.format(table='invoices')}), '') WHERE quickbooks_id IS NOT NULL"
    )
    op.execute(
        "UPDATE customer_links SET realm_key = "  # noqa: S608
        f"COALESCE(({_CONNECTED.format(table='customer_links')}), '')"
    )
    op.drop_index("ux_invoices_quickbooks_id", table_name="invoices")
    op.create_index(  # quickbooks_id second: found by company and QuickBooks id (webhooks)
        "ux_invoices_quickbooks_id",
        "invoices",
        ["company_id", "quickbooks_id", "realm_key"],
        unique=True,
        postgresql_where=sa.text("quickbooks_id IS NOT NULL"),
    )


def downgrade() -> None:
    # Fails once a company holds the same QuickBooks id in two companies: 0029 cannot say so.
    op.drop_index("ux_invoices_quickbooks_id", table_name="invoices")
    op.create_index(
        "ux_invoices_quickbooks_id",
        "invoices",
        ["company_id", "quickbooks_id"],
        unique=True,
        postgresql_where=sa.text("quickbooks_id IS NOT NULL"),
    )
    for table in ("invoices", "customer_links"):
        op.drop_column(table, "realm_key")
