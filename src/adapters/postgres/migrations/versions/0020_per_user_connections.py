"""Pipedrive connections per user, waiting purges, and the QuickBooks realm id sealed (issue 18).

- ``connections`` gets ``user_id`` in its key: a Pipedrive install is per user (an existing
  Pipedrive connection becomes the one of the user who made it, ``connected_by``); QuickBooks
  connections keep ``''``.
- The vendor account id (the QuickBooks realm id) is sealed like the tokens
  (``sealed_external_id``) and found by its keyed digest (``external_key``); ``external_id``
  goes. QuickBooks change notices and their queued jobs keep the digest instead of the realm.
- ``company_purges``: the companies whose data is forgotten once their last user uninstalled.

Sealing needs the service's secret key (``migrate.upgrade(..., secret_key=...)``, or
DEALBOOKS_SECRET_KEY on the command line): a database holding connections or notices refuses
to migrate without it. Downgrading needs it too (to open the sealed ids); it keeps one Pipedrive
connection per company, the one the company's calls used, and a notice or job of a realm no
connection knows keeps the digest (its realm cannot be recovered).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from adapters.postgres.crypto import SecretBox

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_APPLY_JOB = "apply_quickbooks_changes"
_NOTICES_BY_ENTITY = "ix_accounting_notices_realm_entity"  # 0017's, on the realm's digest now


def _box(connection: sa.Connection) -> SecretBox | None:
    """The secret key's box; None when nothing stored needs it. Raises when something does."""
    key = context.config.attributes.get("secret_key")
    if key:
        return SecretBox(key)
    stored = connection.execute(
        sa.text(
            "SELECT EXISTS (SELECT 1 FROM connections) OR EXISTS (SELECT 1 FROM accounting_notices)"
        )
    ).scalar_one()
    if stored:
        raise RuntimeError(
            "migration 0019 encrypts the stored QuickBooks realm ids: run it with the service's "
            "DEALBOOKS_SECRET_KEY (dealbooks migrate reads it from the environment)"
        )
    return None


def _rekey(
    connection: sa.Connection,
    old_arg: str,
    new_arg: str,
    convert: Callable[[str], str] | None,
) -> None:
    """Every apply job's realm argument ``old_arg`` becomes ``new_arg`` with its value
    converted, in its arguments, lock and queueing lock; finished jobs too (nothing keeps the
    old value). procrastinate's tables exist only once the service has started."""
    exists = connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
    if not exists.scalar():
        return
    rows = connection.execute(
        sa.text("SELECT id, args, queueing_lock FROM procrastinate_jobs WHERE task_name = :task"),
        {"task": _APPLY_JOB},
    ).all()
    for job_id, raw, queueing_lock in rows:
        args: dict[str, Any] = raw if isinstance(raw, dict) else json.loads(raw)
        if old_arg not in args:
            continue
        if convert is None:
            raise RuntimeError("migration 0019 needs DEALBOOKS_SECRET_KEY to re-key queued jobs")
        value = convert(str(args.pop(old_arg)))
        args[new_arg] = value
        connection.execute(
            sa.text(
                "UPDATE procrastinate_jobs SET args = CAST(:args AS jsonb), lock = :lock, "
                "queueing_lock = :queueing_lock WHERE id = :id"
            ),
            {
                "args": json.dumps(args),
                "lock": f"realm-{value}",
                "queueing_lock": f"notices-{value}" if queueing_lock else None,
                "id": job_id,
            },
        )


def upgrade() -> None:
    connection = op.get_bind()
    box = _box(connection)

    op.add_column(
        "connections",
        sa.Column("user_id", sa.String(64), nullable=False, server_default=""),
    )
    op.execute("UPDATE connections SET user_id = connected_by WHERE vendor = 'pipedrive'")
    op.drop_constraint("connections_pkey", "connections", type_="primary")
    op.create_primary_key("connections_pkey", "connections", ["company_id", "vendor", "user_id"])

    op.add_column("connections", sa.Column("sealed_external_id", sa.Text(), nullable=True))
    op.add_column("connections", sa.Column("external_key", sa.String(64), nullable=True))
    rows = connection.execute(
        sa.text("SELECT company_id, vendor, user_id, external_id FROM connections")
    ).all()
    for company_id, vendor, user_id, external_id in rows:
        assert box is not None
        connection.execute(
            sa.text(
                "UPDATE connections SET sealed_external_id = :sealed, external_key = :key "
                "WHERE company_id = :c AND vendor = :v AND user_id = :u"
            ),
            {
                "sealed": box.seal({"id": external_id}),
                "key": box.digest(external_id),
                "c": company_id,
                "v": vendor,
                "u": user_id,
            },
        )
    op.alter_column("connections", "sealed_external_id", nullable=False)
    op.alter_column("connections", "external_key", nullable=False)
    op.drop_index("ix_connections_vendor_external_id", table_name="connections")
    op.drop_column("connections", "external_id")
    op.create_index(
        "ix_connections_vendor_external_key", "connections", ["vendor", "external_key"]
    )

    op.add_column("accounting_notices", sa.Column("realm_key", sa.String(64), nullable=True))
    realms = connection.execute(sa.text("SELECT DISTINCT realm_id FROM accounting_notices")).all()
    for (realm,) in realms:
        assert box is not None
        connection.execute(
            sa.text("UPDATE accounting_notices SET realm_key = :key WHERE realm_id = :realm"),
            {"key": box.digest(realm), "realm": realm},
        )
    op.alter_column("accounting_notices", "realm_key", nullable=False)
    op.drop_index(_NOTICES_BY_ENTITY, table_name="accounting_notices")
    op.drop_column("accounting_notices", "realm_id")
    op.create_index(
        _NOTICES_BY_ENTITY, "accounting_notices", ["realm_key", "entity", "received_at"]
    )
    _rekey(connection, "realm_id", "realm_key", box.digest if box else None)

    op.create_table(
        "company_purges",
        sa.Column("company_id", sa.String(64), primary_key=True),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    connection = op.get_bind()
    box = _box(connection)
    op.drop_table("company_purges")

    # The realms the connections know, by digest: what a notice or job can get back.
    realms: dict[str, str] = {}
    rows = connection.execute(
        sa.text(
            "SELECT external_key, sealed_external_id FROM connections WHERE vendor = 'quickbooks'"
        )
    ).all()
    for key, sealed in rows:
        assert box is not None
        realms[key] = box.open(sealed)["id"]

    op.add_column("accounting_notices", sa.Column("realm_id", sa.String(64), nullable=True))
    op.execute("UPDATE accounting_notices SET realm_id = realm_key")
    for key, realm in realms.items():
        connection.execute(
            sa.text("UPDATE accounting_notices SET realm_id = :realm WHERE realm_key = :key"),
            {"realm": realm, "key": key},
        )
    op.alter_column("accounting_notices", "realm_id", nullable=False)
    op.drop_index(_NOTICES_BY_ENTITY, table_name="accounting_notices")
    op.drop_column("accounting_notices", "realm_key")
    op.create_index(_NOTICES_BY_ENTITY, "accounting_notices", ["realm_id", "entity", "received_at"])
    _rekey(connection, "realm_key", "realm_id", lambda key: realms.get(key, key))

    # One Pipedrive connection per company again: the one its calls used.
    op.execute(
        """
        DELETE FROM connections AS c
        WHERE c.vendor = 'pipedrive' AND c.user_id <> (
            SELECT kept.user_id FROM connections AS kept
            WHERE kept.company_id = c.company_id AND kept.vendor = 'pipedrive'
            ORDER BY (kept.status = 'connected') DESC, kept.connected_at DESC NULLS LAST,
                kept.user_id DESC
            LIMIT 1
        )
        """
    )
    op.add_column("connections", sa.Column("external_id", sa.String(64), nullable=True))
    rows = connection.execute(
        sa.text("SELECT company_id, vendor, user_id, sealed_external_id FROM connections")
    ).all()
    for company_id, vendor, user_id, sealed in rows:
        assert box is not None
        connection.execute(
            sa.text(
                "UPDATE connections SET external_id = :id "
                "WHERE company_id = :c AND vendor = :v AND user_id = :u"
            ),
            {"id": box.open(sealed)["id"], "c": company_id, "v": vendor, "u": user_id},
        )
    op.alter_column("connections", "external_id", nullable=False)
    op.drop_index("ix_connections_vendor_external_key", table_name="connections")
    op.drop_column("connections", "external_key")
    op.drop_column("connections", "sealed_external_id")
    op.create_index("ix_connections_vendor_external_id", "connections", ["vendor", "external_id"])
    op.drop_constraint("connections_pkey", "connections", type_="primary")
    op.create_primary_key("connections_pkey", "connections", ["company_id", "vendor"])
    op.drop_column("connections", "user_id")
