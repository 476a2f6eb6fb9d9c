"""Installing and uninstalling the Pipedrive app, with the in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmAuthorizer
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.system_clock import FrozenClock
from application.errors import UpstreamRejectedError, UpstreamUnavailableError
from application.installation import (
    CompletePipedriveInstall,
    CompletePipedriveInstallCommand,
    UninstallPipedrive,
    UninstallPipedriveCommand,
)
from application.ports.crm import CrmInstall, CrmUser
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor
from domain.due_date_policy import DueDatePolicy
from domain.field_mapping import FieldMapping
from domain.settings import CompanySettings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
COMPANY = "13000001"
ADMIN = CrmUser(
    id="21000001",
    name="Alice Admin",
    email="alice@acme-demo.test",
    company_id=COMPANY,
    company_name="Acme Demo GmbH",
    company_domain="acme-demo",
    is_admin=True,
)
TOKENS = OAuthTokens("access-1", "refresh-1", NOW + timedelta(hours=1), NOW + timedelta(days=60))


@dataclass
class World:
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(NOW))
    authorizer: InMemoryCrmAuthorizer = field(default_factory=InMemoryCrmAuthorizer)
    token_store: InMemoryTokenStore = field(default_factory=InMemoryTokenStore)
    uow_factory: InMemoryUnitOfWorkFactory = field(default_factory=InMemoryUnitOfWorkFactory)
    jobs: InMemoryJobQueue = field(default_factory=InMemoryJobQueue)

    def __post_init__(self) -> None:
        self.authorizer.add_install(
            "good-code",
            CrmInstall(
                tokens=TOKENS,
                api_domain="https://acme-demo.pipedrive.com",
                scopes=("base", "deals:full"),
                user=ADMIN,
            ),
        )
        self.install = CompletePipedriveInstall(
            self.authorizer, self.token_store, self.jobs, self.clock
        )
        self.uninstall = UninstallPipedrive(
            self.token_store, self.authorizer, self.uow_factory, self.clock
        )

    async def save_settings(self, company_id: str) -> None:
        async with self.uow_factory() as uow:
            await uow.settings.save(
                CompanySettings(company_id, FieldMapping.default(), DueDatePolicy.default())
            )
            await uow.commit()

    async def settings(self, company_id: str) -> CompanySettings | None:
        async with self.uow_factory() as uow:
            return await uow.settings.get(company_id)

    async def connect_quickbooks(self, company_id: str) -> None:
        await self.token_store.save(
            Connection(company_id, Vendor.QUICKBOOKS, "9341453", TOKENS, display_name="Books")
        )


@pytest.fixture
def world() -> World:
    return World()


async def test_install_stores_the_pipedrive_connection_of_the_company(world: World) -> None:
    user = await world.install.execute(CompletePipedriveInstallCommand("good-code"))

    assert user == ADMIN
    connection = await world.token_store.load(COMPANY, Vendor.PIPEDRIVE)
    assert connection is not None
    assert (connection.external_id, connection.api_domain, connection.display_name) == (
        COMPANY,
        "https://acme-demo.pipedrive.com",
        "Acme Demo GmbH",
    )
    assert (connection.connected_by, connection.connected_at) == (ADMIN.id, NOW)
    assert connection.tokens == TOKENS
    assert connection.status is ConnectionStatus.CONNECTED


async def test_install_queues_the_webhook_subscriptions_once_the_tokens_are_stored(
    world: World,
) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    world.authorizer.used_codes.clear()
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))  # a reinstall

    assert world.jobs.deferred == [("subscribe_crm_webhooks", {"company_id": COMPANY})]


async def test_reinstalling_replaces_a_broken_connection(world: World) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    await world.token_store.mark_broken(COMPANY, Vendor.PIPEDRIVE, "refused", NOW)
    world.authorizer.used_codes.clear()

    await world.install.execute(CompletePipedriveInstallCommand("good-code"))

    connection = await world.token_store.load(COMPANY, Vendor.PIPEDRIVE)
    assert connection is not None
    assert connection.status is ConnectionStatus.CONNECTED


async def test_an_invalid_code_stores_nothing(world: World) -> None:
    with pytest.raises(UpstreamRejectedError):
        await world.install.execute(CompletePipedriveInstallCommand("forged"))

    assert world.token_store.connections == {}
    assert world.jobs.deferred == []


async def test_uninstall_revokes_and_deletes_connections_and_settings(world: World) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    await world.connect_quickbooks(COMPANY)
    await world.save_settings(COMPANY)
    await world.save_settings("other-company")

    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert world.authorizer.revoked == ["refresh-1"]
    assert await world.token_store.load(COMPANY, Vendor.PIPEDRIVE) is None
    assert await world.token_store.load(COMPANY, Vendor.QUICKBOOKS) is None
    assert await world.settings(COMPANY) is None
    assert await world.settings("other-company") is not None


async def test_uninstall_goes_on_when_the_revoke_fails(world: World) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    await world.save_settings(COMPANY)
    world.authorizer.revoke_error = UpstreamUnavailableError("down")

    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY))

    assert await world.token_store.load(COMPANY, Vendor.PIPEDRIVE) is None
    assert await world.settings(COMPANY) is None


async def test_uninstalling_an_unknown_company_changes_nothing(world: World) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))

    await world.uninstall.execute(UninstallPipedriveCommand("99999999"))

    assert world.authorizer.revoked == []
    assert await world.token_store.load(COMPANY, Vendor.PIPEDRIVE) is not None
