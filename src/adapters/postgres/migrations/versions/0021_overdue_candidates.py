"""The hourly overdue pass finds its invoices by index instead of visiting every company
(issue 15): a partial index holds exactly the unsettled invoices whose overdue is not yet
recorded for their due date, so the pass reads the few falling due, not every company's
unsettled invoices.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_invoices_overdue_unrecorded",
        "invoices",
        ["due_date"],
        postgresql_where=sa.text(
            "state IN ('open', 'partially_paid') AND due_date IS NOT NULL "
            "AND overdue_recorded_for IS DISTINCT FROM due_date"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_overdue_unrecorded", table_name="invoices")
