"""A contact is linked to one QuickBooks customer per currency: a QuickBooks customer has one
currency, so a deal in another currency needs another customer ("Globex GmbH (EUR)") without
losing the first. Links made before have the currency "".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customer_links",
        sa.Column("currency", sa.String(length=3), nullable=False, server_default=""),
    )
    op.drop_constraint("customer_links_pkey", "customer_links", type_="primary")
    op.create_primary_key(
        "customer_links_pkey", "customer_links", ["company_id", "entity", "entity_id", "currency"]
    )


def downgrade() -> None:
    # Back to one link a contact: the latest one stays.
    op.execute(
        "DELETE FROM customer_links AS l USING customer_links AS newer "
        "WHERE (l.company_id, l.entity, l.entity_id) = "
        "(newer.company_id, newer.entity, newer.entity_id) "
        "AND (l.linked_at, l.currency) < (newer.linked_at, newer.currency)"
    )
    op.drop_constraint("customer_links_pkey", "customer_links", type_="primary")
    op.create_primary_key("customer_links_pkey", "customer_links", ["company_id", "entity", "entity_id"])
    op.drop_column("customer_links", "currency")
