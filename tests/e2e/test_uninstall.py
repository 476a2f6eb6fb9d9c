"""Uninstall per user and per company, through the real service, both emulators and Postgres,
with the service's clock moved (issue 18; marketplaces.md §1.3 and §4 "Deletion policy").

Two users install the app (each through Pipedrive's OAuth, as Pipedrive does it: per user). The
first one's uninstall (Pipedrive's DELETE on the callback URL) removes their tokens and nothing
else: the company goes on with the second one's. The second one's, the last, revokes QuickBooks
and deletes its tokens at once, and the company's data stays until its purge is due, 30 days
later; then the hourly job purges it, logs ``company.purged`` and counts it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.system_clock import FrozenClock
from application.ports.connections import UserRemoval
from dealbooks.v1 import invoice_pb2, invoice_service_pb2_grpc
from domain.connection import Vendor
from domain.settings import CompanySettings
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings
from tests.e2e.polling import eventually
from tests.e2e.test_journey import draft_of, free_port
from tests.e2e.test_log_privacy import debug_logs  # noqa: F401 - the fixture
from tests.e2e.test_status_sync import create

pytestmark = pytest.mark.e2e
ALICE, BRUNO = "21000001", "21000002"
COMPANY_TABLES = ("invoices", "invoice_events", "deal_follow_ups", "company_settings")


class World:
    def __init__(self, service: Service, emulators: Emulators, clock: FrozenClock) -> None:
        self.service = service
        self.emulators = emulators
        self.clock = clock
        assert service.container is not None
        self.container = service.container
        self.tokens = service.container.gateways.token_store()
        self.engine: AsyncEngine = service.container.gateways.engine()

    @property
    def callback_url(self) -> str:
        return f"{self.service.settings.public_url}/oauth/pipedrive/callback"

    async def install_as(self, user: str) -> None:
        """The user authorizes the app in Pipedrive, which sends the browser to our callback."""
        settings = self.service.settings.pipedrive
        async with aiohttp.ClientSession() as http:
            consent = await http.get(
                f"{self.emulators.pipedrive_url}/oauth/authorize",
                params={
                    "client_id": settings.client_id,
                    "redirect_uri": self.callback_url,
                    "user_id": user,
                },
                allow_redirects=False,
            )
            assert consent.status == 302
            landing = await http.get(consent.headers["Location"], allow_redirects=False)
            assert landing.status == 302
            assert "/settings/marketplace/app/" in landing.headers["Location"]

    async def uninstall_as(self, user: str) -> None:
        """The user uninstalls the app: Pipedrive DELETEs our callback URL for them."""
        sent = await self.emulators.admin(
            "pipedrive", "POST", f"companies/{DEMO_COMPANY}/uninstall", user_id=int(user)
        )
        assert sent["status"] == 200, sent

    async def pipedrive_users(self) -> list[str]:
        async with self.engine.connect() as conn:
            users = await conn.execute(
                text("SELECT user_id FROM connections WHERE vendor = 'pipedrive' ORDER BY 1")
            )
            return list(users.scalars())

    async def save_settings(self) -> None:
        async with self.container.gateways.uow_factory()() as uow:
            await uow.settings.save(CompanySettings.default(DEMO_COMPANY).touched(self.clock.now()))
            await uow.commit()

    async def rows(self) -> dict[str, int]:
        """The company's rows in each of its tables."""
        counts = {}
        async with self.engine.connect() as conn:
            for table in COMPANY_TABLES:
                counts[table] = (
                    await conn.execute(
                        text(f"SELECT count(*) FROM {table} WHERE company_id = :c"),
                        {"c": DEMO_COMPANY},
                    )
                ).scalar_one()
        return counts

    async def run_the_hourly_purge_job(self) -> None:
        """What procrastinate's periodic deferrer does at minute 41 of every hour, waited for
        until this very job succeeded (the deferrer's own run at minute 41 may come as well)."""
        app = self.container.gateways.jobs_app()
        job = await app.configure_task("schedule_purges").defer_async(timestamp=int(time.time()))

        async def status() -> str | None:
            async with self.engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job}
                )
                return found.scalar_one_or_none()

        assert await eventually(status, lambda done: done == "succeeded") == "succeeded"

    async def purged_count(self) -> float:
        registry = self.container.entrypoints.metrics().registry
        return registry.get_sample_value("dealbooks_companies_purged_total") or 0.0

    async def quickbooks_accepts(self, access_token: str) -> bool:
        """Whether QuickBooks takes the token (a 429 is not an answer: this call is not paced
        with the service's own, which may have used the second's requests; asked again)."""
        url = f"{self.emulators.quickbooks_url}/v3/company/{US_REALM}/companyinfo/{US_REALM}"
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        async with aiohttp.ClientSession() as http:
            for _ in range(20):
                async with http.get(url, headers=headers) as answer:
                    if answer.status != 429:
                        return answer.status == 200
                await asyncio.sleep(0.5)
        raise AssertionError("QuickBooks kept answering 429")


@pytest.fixture
async def world(
    app_settings: AppSettings,
    pg_engine: object,
    debug_logs: Path,  # noqa: F811 - set before the service starts
) -> AsyncIterator[World]:
    http_port = free_port()
    public_url = f"http://127.0.0.1:{http_port}"
    emulators = Emulators(public_url=public_url)
    await emulators.start()
    settings = replace(
        app_settings,
        public_url=public_url,
        quickbooks=QuickBooksSettings(base_url=emulators.quickbooks_url),
        pipedrive=PipedriveSettings(oauth_url=emulators.pipedrive_url),
    )
    clock = FrozenClock(datetime.now(UTC))
    service = Service(settings, grpc_port=0, http_port=http_port, overrides={"clock": clock})
    await service.start()
    try:
        yield World(service, emulators, clock)
    finally:
        await service.stop()
        await emulators.stop()


def log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


async def test_one_user_then_the_last_uninstall_and_the_company_is_purged_30_days_later(
    world: World,
    debug_logs: Path,  # noqa: F811
) -> None:
    await world.install_as(ALICE)
    await world.install_as(BRUNO)
    await world.emulators.connect_quickbooks(world.tokens)
    quickbooks = await world.tokens.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert quickbooks is not None
    assert world.service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{world.service.grpc.port}") as channel:
        await world.save_settings()
        invoice = await create(channel, "uninstall-1")
        assert invoice.state == invoice_pb2.INVOICE_STATE_OPEN
        rows = await eventually(world.rows, lambda r: r["deal_follow_ups"] == 1)
        assert all(rows.values()), rows
        assert await world.pipedrive_users() == [ALICE, BRUNO]

        # Alice uninstalls: her tokens go at once, nothing else does.
        await world.uninstall_as(ALICE)

        assert await world.pipedrive_users() == [BRUNO]
        assert await world.rows() == rows
        assert await world.quickbooks_accepts(quickbooks.tokens.access_token)
        # The company still works, with Bruno's tokens (Pipedrive no longer knows Alice's).
        await world.emulators.admin("pipedrive", "DELETE", "requests")
        draft = await draft_of(invoice_service_pb2_grpc.InvoiceServiceStub(channel))
        assert draft.invoice.lines
        calls = (await world.emulators.admin("pipedrive", "GET", "requests"))["requests"]
        answered = {(c["user_id"], c["status"]) for c in calls if c["status"] == 200}
        assert answered
        assert {user for user, _ in answered} == {int(BRUNO)}

    # Bruno, the last user, uninstalls: QuickBooks is revoked and forgotten; the data stays.
    await world.uninstall_as(BRUNO)

    assert await world.pipedrive_users() == []
    assert await world.tokens.load(DEMO_COMPANY, Vendor.QUICKBOOKS) is None
    assert not await world.quickbooks_accepts(quickbooks.tokens.access_token)
    assert await world.rows() == rows
    async with world.engine.connect() as conn:
        due = (await conn.execute(text("SELECT due_at FROM company_purges"))).scalar_one()
    assert due == world.clock.now() + timedelta(days=30)

    # A day before it is due, the hourly job purges nothing.
    world.clock.advance(timedelta(days=29))
    await world.run_the_hourly_purge_job()
    assert await world.rows() == rows
    assert await world.purged_count() == 0

    world.clock.advance(timedelta(days=1))
    await world.run_the_hourly_purge_job()

    assert await eventually(world.rows, lambda r: not any(r.values())) == dict.fromkeys(
        COMPANY_TABLES, 0
    )
    async with world.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM company_purges"))).scalar_one() == 0
    assert await eventually(world.purged_count, lambda n: n == 1.0) == 1.0
    purged = [line for line in log_lines(debug_logs) if line.get("event") == "company.purged"]
    assert [line["company_id"] for line in purged] == [DEMO_COMPANY]
    assert set(purged[0]) <= {"event", "company_id", "uninstalled_at", "level", "timestamp", "job"}


async def test_a_process_dying_after_the_last_users_deletion_still_revokes_and_purges(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies right after the last user's tokens are deleted (the DELETE's
    transaction committed, nothing after it ran): the purge was recorded in that same
    transaction, the next hourly pass revokes QuickBooks and the data goes 30 days later."""
    await world.install_as(ALICE)
    await world.emulators.connect_quickbooks(world.tokens)
    quickbooks = await world.tokens.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert quickbooks is not None
    await world.save_settings()
    deleting = PostgresTokenStore.delete_user

    async def delete_then_die(self: PostgresTokenStore, *args: Any, **kwargs: Any) -> UserRemoval:
        await deleting(self, *args, **kwargs)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(PostgresTokenStore, "delete_user", delete_then_die)
    sent = await world.emulators.admin(
        "pipedrive", "POST", f"companies/{DEMO_COMPANY}/uninstall", user_id=int(ALICE)
    )
    assert sent["status"] == 500, sent
    monkeypatch.undo()

    assert await world.pipedrive_users() == []
    assert await world.quickbooks_accepts(quickbooks.tokens.access_token)  # not revoked yet
    async with world.engine.connect() as conn:
        due = (await conn.execute(text("SELECT due_at FROM company_purges"))).scalar_one()
    assert due == world.clock.now() + timedelta(days=30)

    await world.run_the_hourly_purge_job()
    assert not await world.quickbooks_accepts(quickbooks.tokens.access_token)
    assert await world.tokens.load(DEMO_COMPANY, Vendor.QUICKBOOKS) is None
    assert (await world.rows())["company_settings"] == 1

    world.clock.advance(timedelta(days=30))
    await world.run_the_hourly_purge_job()
    assert await eventually(world.rows, lambda r: not any(r.values())) == dict.fromkeys(
        COMPANY_TABLES, 0
    )
    assert await eventually(world.purged_count, lambda n: n == 1.0) == 1.0
