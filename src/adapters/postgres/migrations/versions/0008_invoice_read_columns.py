"""The invoices table becomes the read side too; the change feed of 0007 goes.

GetInvoice and ListInvoices read one row per invoice with no arithmetic: the totals, the
balance and the QuickBooks link are columns, and each line's amount is kept inside ``lines``,
all written with every change of the invoice (in the same statement). Nothing is kept in
memory between reads any more, so nothing needs to hear of changes: the NOTIFY triggers of
0007 are dropped.

A rejected invoice also keeps why as a code and its parameters, beside the English sentence:
``failure_code`` is the refusal's error reason (``QUICKBOOKS_REJECTED``) and ``failure_params``
its metadata (``{"vendorCode": "6240"}``), so the UI says it in the user's language. Invoices
rejected before keep only their English ``failure_reason``, which the UI shows as is.

Existing rows are filled in from their own lines, as the service computes them. Their link to
QuickBooks is built for ``DEALBOOKS_QUICKBOOKS_ENVIRONMENT`` (the accountant UI's host differs
between sandbox and production), as the service would build it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_AMOUNTS = ("subtotal", "discount", "tax", "total", "balance")
_APP_BASE = {
    "sandbox": "https://app.sandbox.qbo.intuit.com",
    "production": "https://app.qbo.intuit.com",
}


def _fill_existing_rows() -> None:
    # The service's own mapping, so stored figures are exactly what it would write.
    from adapters.postgres.mappers import invoice_from_row, invoice_values

    connection = op.get_bind()
    environment = os.environ.get("DEALBOOKS_QUICKBOOKS_ENVIRONMENT", "sandbox")
    app_base = _APP_BASE.get(environment, _APP_BASE["sandbox"])
    rows = connection.execute(sa.text("SELECT * FROM invoices")).mappings().all()
    for row in rows:
        invoice = invoice_from_row(row)
        if invoice.quickbooks_id:
            invoice.quickbooks_url = f"{app_base}/app/invoice?txnId={invoice.quickbooks_id}"
        values = invoice_values(invoice)
        connection.execute(
            sa.text(
                "UPDATE invoices SET lines = CAST(:lines AS jsonb), quickbooks_url = :url, "
                + ", ".join(f"{name} = :{name}" for name in _AMOUNTS)
                + " WHERE id = :id"
            ),
            {
                "id": invoice.id,
                "lines": json.dumps(values["lines"]),
                "url": values["quickbooks_url"],
                **{name: values[name] for name in _AMOUNTS},
            },
        )


def upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS invoices_announce_truncate ON invoices")
    op.execute("DROP TRIGGER IF EXISTS invoices_announce_change ON invoices")
    op.execute("DROP FUNCTION IF EXISTS invoices_announce_truncate()")
    op.execute("DROP FUNCTION IF EXISTS invoices_announce_change()")
    for name in _AMOUNTS:
        op.add_column("invoices", sa.Column(name, sa.Numeric(20, 6), nullable=True))
    op.add_column("invoices", sa.Column("quickbooks_url", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("failure_code", sa.Text(), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("failure_params", JSONB(), nullable=False, server_default=sa.text("'{}'")),
    )
    _fill_existing_rows()
    for name in _AMOUNTS:
        op.alter_column("invoices", name, nullable=False)


def downgrade() -> None:
    op.drop_column("invoices", "failure_params")
    op.drop_column("invoices", "failure_code")
    op.drop_column("invoices", "quickbooks_url")
    for name in _AMOUNTS:
        op.drop_column("invoices", name)
    # The change feed of 0007 comes back with its revision's own upgrade.
    from importlib import import_module

    import_module(
        "adapters.postgres.migrations.versions.0007_invoice_change_feed"
    ).upgrade()
