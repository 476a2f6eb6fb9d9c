"""The rate limiter's two tables become UNLOGGED.

Every vendor call records a start and a lease and deletes the lease afterwards: on logged
tables each of those commits waits for a WAL flush (about 1 ms here), twice per call, on the
path of every request that reaches QuickBooks or Pipedrive. What they hold only matters for
the next minute, so losing it in a Postgres crash costs at most one minute of unguarded pacing
(the adapters still back off on a 429); a transaction that touches only unlogged tables
commits without waiting for the disk.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = ("rate_limit_starts", "rate_limit_leases")


def upgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} SET UNLOGGED")


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} SET LOGGED")
