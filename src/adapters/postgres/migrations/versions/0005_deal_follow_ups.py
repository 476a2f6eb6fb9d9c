"""Deal follow-ups (the customer link and the Pipedrive note, done after the invoice exists)
and the rate limiter's decision in one statement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The same decision as PostgresRateLimiter made in five statements and two round trips, as
# one function call: the advisory lock serialises deciders per key, and each statement after
# it sees what was committed before the lock was granted (READ COMMITTED, volatile function).
# Returns 0 when a start and a lease were recorded, else how many seconds to wait.
RATE_LIMIT_ACQUIRE = """
CREATE FUNCTION rate_limit_acquire(
    p_key text, p_per_minute integer, p_per_second integer, p_concurrent integer,
    p_lease text, p_lease_seconds integer
) RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_minute bigint;
    v_second bigint;
    v_inflight bigint;
    v_oldest_minute timestamptz;
    v_oldest_second timestamptz;
    v_wait double precision := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 1));
    SELECT count(*), min(started_at) INTO v_minute, v_oldest_minute FROM rate_limit_starts
     WHERE key = p_key AND started_at > clock_timestamp() - interval '60 seconds';
    SELECT count(*), min(started_at) INTO v_second, v_oldest_second FROM rate_limit_starts
     WHERE key = p_key AND started_at > clock_timestamp() - interval '1 second';
    SELECT count(*) INTO v_inflight FROM rate_limit_leases
     WHERE key = p_key AND expires_at > clock_timestamp();
    IF v_minute < p_per_minute AND v_second < p_per_second AND v_inflight < p_concurrent THEN
        INSERT INTO rate_limit_starts (key, started_at) VALUES (p_key, clock_timestamp());
        INSERT INTO rate_limit_leases (lease, key, expires_at)
        VALUES (p_lease, p_key, clock_timestamp() + make_interval(secs => p_lease_seconds));
        IF random() < 0.02 THEN  -- housekeeping, 1 in 50 calls
            DELETE FROM rate_limit_starts
             WHERE started_at < clock_timestamp() - interval '2 minutes';
        END IF;
        RETURN 0;
    END IF;
    IF v_minute >= p_per_minute AND v_oldest_minute IS NOT NULL THEN
        v_wait := greatest(v_wait, EXTRACT(EPOCH FROM (
            v_oldest_minute + interval '60 seconds' - clock_timestamp())));
    END IF;
    IF v_second >= p_per_second AND v_oldest_second IS NOT NULL THEN
        v_wait := greatest(v_wait, EXTRACT(EPOCH FROM (
            v_oldest_second + interval '1 second' - clock_timestamp())));
    END IF;
    IF v_wait <= 0 THEN
        v_wait := 0.02;  -- a concurrency slot frees itself soon
    END IF;
    RETURN greatest(0.005, v_wait);
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "deal_follow_ups",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("invoice_id", sa.String(36), primary_key=True),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("marker", sa.String(255), nullable=False),
        sa.Column("quickbooks_customer_id", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.String(255), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_deal_follow_ups_unfinished",
        "deal_follow_ups",
        ["updated_at"],
        postgresql_where=sa.text("state <> 'done'"),
    )
    op.execute(RATE_LIMIT_ACQUIRE)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION rate_limit_acquire(text, integer, integer, integer, text, integer)"
    )
    op.drop_index("ix_deal_follow_ups_unfinished", table_name="deal_follow_ups")
    op.drop_table("deal_follow_ups")
