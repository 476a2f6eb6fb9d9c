"""The rate limiter counts starts over windows 200 ms longer than the vendors' own.

We record a call when it starts; a vendor counts it when it arrives, some milliseconds later,
and not always the same number. Counting ``per_second`` starts over 1.2 s (and ``per_minute``
over 60.2 s) keeps every one-second (one-minute) window of arrivals within the limit as long as
that delay varies by less than 200 ms, while a call after a quiet spell still starts at once.
This replaces the QuickBooks client's own spacing of starts: pacing is done in one place.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_0005 = import_module("adapters.postgres.migrations.versions.0005_deal_follow_ups")


def _acquire(second: str, minute: str) -> str:
    """Migration 0005's rate_limit_acquire with its two windows set to ``second``/``minute``."""
    return (
        _0005.RATE_LIMIT_ACQUIRE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        .replace("interval '1 second'", f"interval '{second}'")
        .replace("interval '60 seconds'", f"interval '{minute}'")
    )


def upgrade() -> None:
    op.execute(_acquire("1.2 seconds", "60.2 seconds"))


def downgrade() -> None:
    op.execute(_acquire("1 second", "60 seconds"))
