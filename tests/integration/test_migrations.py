"""Alembic stairway: every revision upgrades, downgrades and upgrades again on a real Postgres."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.jobs.queue import apply_schema, build_app
from adapters.postgres import migrate
from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_engine, build_session_factory
from adapters.postgres.mappers import invoice_values
from adapters.postgres.notices import PostgresNoticeStore
from adapters.postgres.views import PostgresInvoiceViews
from application.views import InvoiceView
from domain.connection import Vendor
from domain.ids import CompanyId, InvoiceId
from domain.invoice import InvoiceState
from tests.support.postgres import DatabaseFactory
from tests.unit.domain.domain_builders import an_invoice_in

pytestmark = pytest.mark.integration

_ADDED_BY_0008 = {
    "subtotal",
    "discount",
    "tax",
    "total",
    "balance",
    "quickbooks_url",
    "failure_code",
    "failure_params",
}
_ADDED_BY_0032 = {"class_name", "location_name"}
_ADDED_AFTER_0010 = {
    "tax_by_quickbooks",
    "quickbooks_tax",
    "sales_tax_code_id",
    "payment_link",
    *_ADDED_BY_0032,
}
_ADDED_AFTER_0008 = {"terms_id", "terms_name", *_ADDED_AFTER_0010}
_JSON = ("customer", "lines", "failure_params")
REVISIONS = [
    r.revision
    for r in reversed(list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()))
]


def test_revisions_form_a_single_line() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert REVISIONS[0] == "0001"


async def test_stairway_upgrade_downgrade_upgrade_every_revision(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.create("stairway")
    engine = build_engine(url, pool_size=1)
    try:
        previous = "base"
        for revision in REVISIONS:
            await migrate.upgrade(engine, revision)
            await migrate.downgrade(engine, previous)
            await migrate.upgrade(engine, revision)
            previous = revision
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "company_settings" in tables
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()


async def _insert_invoice(engine: AsyncEngine, values: dict[str, Any]) -> None:
    """An invoice row as an earlier revision's service wrote it (``values``: its columns)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"INSERT INTO invoices ({', '.join(values)}, creation) VALUES ("
                + ", ".join(f"CAST(:{k} AS jsonb)" if k in _JSON else f":{k}" for k in values)
                + ", '{}')"
            ),
            {k: json.dumps(v) if k in _JSON else v for k, v in values.items()},
        )


async def test_invoices_stored_before_the_read_columns_get_them_from_their_lines(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0008 fills the read columns of existing invoices as the service would have written
    them: the read side answers what the invoice computes, link included."""
    monkeypatch.setenv("DEALBOOKS_QUICKBOOKS_ENVIRONMENT", "production")
    url = database_factory.create("read_columns")
    engine = build_engine(url, pool_size=1)
    invoice = an_invoice_in(InvoiceState.PARTIALLY_PAID, company_id=CompanyId("c-1"))
    invoice.quickbooks_url = "https://app.qbo.intuit.com/app/invoice?txnId=qb-42"
    values = invoice_values(invoice)
    old = {k: v for k, v in values.items() if k not in _ADDED_BY_0008 | _ADDED_AFTER_0008}
    old["lines"] = [{k: v for k, v in line.items() if k != "amount"} for line in old["lines"]]
    views = PostgresInvoiceViews(url)
    try:
        await migrate.upgrade(engine, "0007")
        await _insert_invoice(engine, old)
        await migrate.upgrade(engine, "head")

        today = date(2025, 3, 14)
        assert await views.get("c-1", invoice.id, today=today) == InvoiceView.of(invoice, today)
    finally:
        await views.close()
        await engine.dispose()


async def test_voided_invoices_stored_with_a_balance_owe_nothing_after_0011(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.create("voided_balance")
    engine = build_engine(url, pool_size=1)
    invoice = an_invoice_in(InvoiceState.VOIDED, company_id=CompanyId("c-1"))
    values = {k: v for k, v in invoice_values(invoice).items() if k not in _ADDED_AFTER_0010}
    values |= {"balance": 110}  # as 0008 to 0010 stored it
    views = PostgresInvoiceViews(url)
    try:
        await migrate.upgrade(engine, "0010")
        await _insert_invoice(engine, values)
        await migrate.upgrade(engine, "head")

        view = await views.get("c-1", invoice.id, today=date(2025, 3, 14))
        assert view is not None
        assert view.totals.balance.is_zero()
    finally:
        await views.close()
        await engine.dispose()


SECRET = "migration-test-secret-key-of-40-characters"
REALM = "9130354840911234"


async def _as_0019_stored_them(engine: AsyncEngine, box: SecretBox) -> None:
    """A QuickBooks and a Pipedrive connection, a notice and its queued job, as 0019 kept them."""
    sealed = box.seal({"access": "access-1", "refresh": "refresh-1"})
    async with engine.begin() as conn:
        for vendor, external_id, user in (("quickbooks", REALM, "admin"), ("pipedrive", "77", "7")):
            await conn.execute(
                text(
                    "INSERT INTO connections (company_id, vendor, external_id, sealed_tokens, "
                    "access_expires_at, status, connected_by, connected_at, updated_at, version) "
                    "VALUES ('77', :vendor, :external_id, :sealed, now(), 'connected', :user, "
                    "now(), now(), 1)"
                ),
                {"vendor": vendor, "external_id": external_id, "sealed": sealed, "user": user},
            )
        await conn.execute(
            text(
                "INSERT INTO accounting_notices (key, realm_id, entity, entity_id, operation, "
                "received_at) VALUES ('n1', :realm, 'Invoice', '5', 'Update', now())"
            ),
            {"realm": REALM},
        )
        await conn.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args) "
                "VALUES ('sync', 'apply_quickbooks_changes', :lock, :queueing, "
                "CAST(:args AS jsonb))"
            ),
            {
                "lock": f"realm-{REALM}",
                "queueing": f"notices-{REALM}",
                "args": json.dumps({"realm_id": REALM, "keys": ["n1"]}),
            },
        )


async def _dump(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return str(
            [
                (await conn.execute(text(f"SELECT * FROM {table}"))).all()
                for table in ("connections", "accounting_notices", "procrastinate_jobs")
            ]
        )


async def test_0020_seals_the_realm_and_gives_pipedrive_connections_their_user(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.create("sealed_realm")
    engine = build_engine(url, pool_size=1)
    box = SecretBox(SECRET)
    try:
        await migrate.upgrade(engine, "0019")
        await apply_schema(build_app(url), engine)
        await _as_0019_stored_them(engine, box)

        with pytest.raises(RuntimeError, match="DEALBOOKS_SECRET_KEY"):
            await migrate.upgrade(engine, "head")  # without the key nothing changes
        assert REALM in await _dump(engine)
        await migrate.upgrade(engine, "head", secret_key=SECRET)

        assert REALM not in await _dump(engine)
        store = PostgresTokenStore(build_session_factory(engine), box)
        quickbooks = await store.load_by_external_id(Vendor.QUICKBOOKS, REALM)
        assert quickbooks is not None
        assert (quickbooks.company_id, quickbooks.external_id) == ("77", REALM)
        assert quickbooks.tokens.refresh_token == "refresh-1"
        pipedrive = await store.load("77", Vendor.PIPEDRIVE)
        assert pipedrive is not None
        assert (pipedrive.user_id, pipedrive.external_id) == ("7", "77")
        notices = await PostgresNoticeStore(engine, box).pending(box.digest(REALM), 10)
        assert [(n.key, n.realm_id) for n in notices] == [("n1", REALM)]
        async with engine.connect() as conn:
            job = (
                await conn.execute(text("SELECT lock, queueing_lock, args FROM procrastinate_jobs"))
            ).one()
        async with engine.connect() as conn:
            index = (
                await conn.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE indexname = 'ix_accounting_notices_realm_entity'"
                    )
                )
            ).scalar_one()
        assert "(realm_key, entity, received_at)" in index  # 0017's, on the digest now
        key = box.digest(REALM)
        assert tuple(job) == (f"realm-{key}", f"notices-{key}", {"realm_key": key, "keys": ["n1"]})

        await migrate.downgrade(engine, "0019", secret_key=SECRET)
        async with engine.connect() as conn:
            realms = (
                await conn.execute(
                    text(
                        "SELECT external_id FROM connections WHERE vendor = 'quickbooks' UNION ALL "
                        "SELECT realm_id FROM accounting_notices UNION ALL "
                        "SELECT args->>'realm_id' FROM procrastinate_jobs"
                    )
                )
            ).scalars()
            assert list(realms) == [REALM, REALM, REALM]
    finally:
        await engine.dispose()


async def test_0030_gives_the_rows_of_today_the_quickbooks_company_connected_now(
    database_factory: DatabaseFactory,
) -> None:
    """Invoices in QuickBooks and customer links of a company connected to QuickBooks take
    its company's key; an invoice not in QuickBooks yet, or of a company with no connection,
    keeps none ('')."""
    url = database_factory.create("realm_keys")
    engine = build_engine(url, pool_size=1)
    box = SecretBox(SECRET)
    try:
        await migrate.upgrade(engine, "0029", secret_key=SECRET)
        async with engine.begin() as conn:  # as revision 0029's token store wrote it
            await conn.execute(
                text(
                    "INSERT INTO connections (company_id, vendor, sealed_tokens, "
                    "access_expires_at, status, version, sealed_external_id, external_key) "
                    "VALUES ('c-1', 'quickbooks', :tokens, '2030-01-01Z', 'connected', 1, "
                    ":realm, :key)"
                ),
                {
                    "tokens": box.seal({"access": "a", "refresh": "r"}),
                    "realm": box.seal({"id": REALM}),
                    "key": box.digest(REALM),
                },
            )
        rows = [
            ("in-qbo", "c-1", an_invoice_in(InvoiceState.OPEN, company_id=CompanyId("c-1"))),
            ("creating", "c-1", an_invoice_in(InvoiceState.CREATING, company_id=CompanyId("c-1"))),
            ("no-conn", "c-2", an_invoice_in(InvoiceState.OPEN, company_id=CompanyId("c-2"))),
        ]
        for invoice_id, _, invoice in rows:
            invoice.id = InvoiceId(invoice_id)
            values = invoice_values(invoice)
            await _insert_invoice(
                engine, {k: v for k, v in values.items() if k not in _ADDED_BY_0032}
            )
        async with engine.begin() as conn:
            for company in ("c-1", "c-2"):
                await conn.execute(
                    text(
                        "INSERT INTO customer_links (company_id, entity, entity_id, "
                        "quickbooks_customer_id, display_name, linked_at, currency) VALUES "
                        "(:company, 'organization', '5', '100', 'Acme', now(), '')"
                    ),
                    {"company": company},
                )

        await migrate.upgrade(engine, "head", secret_key=SECRET)

        async with engine.connect() as conn:
            invoices = dict((await conn.execute(text("SELECT id, realm_key FROM invoices"))).all())
            links = dict(
                (await conn.execute(text("SELECT company_id, realm_key FROM customer_links"))).all()
            )
        key = box.digest(REALM)
        assert invoices == {"in-qbo": key, "creating": "", "no-conn": ""}
        assert links == {"c-1": key, "c-2": ""}
    finally:
        await engine.dispose()
