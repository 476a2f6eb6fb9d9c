"""Installing and uninstalling the Pipedrive app, with the in-memory fakes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from adapters.in_memory.accounting_auth import InMemoryAccountingAuthorizer
from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmAuthorizer
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.system_clock import FrozenClock
from application.errors import UpstreamRejectedError, UpstreamUnavailableError
from application.installation import (
    CompletePipedriveInstall,
    CompletePipedriveInstallCommand,
    PurgeCompany,
    QueueDuePurges,
    UninstallPipedrive,
    UninstallPipedriveCommand,
    UninstallReport,
)
from application.ports.crm import CrmInstall, CrmUser
from application.ports.sync import ChangeNotice
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


BRUNO = dataclasses.replace(ADMIN, id="21000002", name="Bruno Martin", is_admin=False)
BRUNO_TOKENS = dataclasses.replace(TOKENS, access_token="access-2", refresh_token="refresh-2")
REALM = "9341453"
QUICKBOOKS_TOKENS = dataclasses.replace(
    TOKENS, access_token="qb-access", refresh_token="qb-refresh"
)


@dataclass
class World:
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(NOW))
    authorizer: InMemoryCrmAuthorizer = field(default_factory=InMemoryCrmAuthorizer)
    accounting_authorizer: InMemoryAccountingAuthorizer = field(
        default_factory=InMemoryAccountingAuthorizer
    )
    token_store: InMemoryTokenStore = field(default_factory=InMemoryTokenStore)
    uow_factory: InMemoryUnitOfWorkFactory = field(default_factory=InMemoryUnitOfWorkFactory)
    jobs: InMemoryJobQueue = field(default_factory=InMemoryJobQueue)
    notices: InMemoryNoticeStore = field(default_factory=InMemoryNoticeStore)

    def __post_init__(self) -> None:
        # One fake database: the last user's deletion records the purge with it, as Postgres.
        self.token_store.purges = self.uow_factory.store.purges
        for code, user, tokens in (
            ("good-code", ADMIN, TOKENS),
            ("bruno-code", BRUNO, BRUNO_TOKENS),
        ):
            self.authorizer.add_install(
                code,
                CrmInstall(
                    tokens=tokens,
                    api_domain="https://acme-demo.pipedrive.com",
                    scopes=("base", "deals:full"),
                    user=user,
                ),
            )
        self.install = CompletePipedriveInstall(
            self.authorizer, self.token_store, self.jobs, self.clock, self.uow_factory
        )
        self.uninstall = UninstallPipedrive(
            self.token_store,
            self.authorizer,
            self.uow_factory,
            self.jobs,
            self.clock,
            self.accounting_authorizer,
            self.notices,
        )
        self.queue_purges = QueueDuePurges(
            self.uow_factory,
            self.jobs,
            self.clock,
            self.token_store,
            self.accounting_authorizer,
            self.notices,
        )
        self.purge = PurgeCompany(self.uow_factory, self.token_store, self.clock)

    async def install_as(self, code: str) -> None:
        self.authorizer.used_codes.discard(code)
        await self.install.execute(CompletePipedriveInstallCommand(code))

    async def save_settings(self, company_id: str) -> None:
        async with self.uow_factory() as uow:
            await uow.settings.save(
                CompanySettings(company_id, FieldMapping.default(), DueDatePolicy.default())
            )
            await uow.commit()

    async def settings(self, company_id: str) -> CompanySettings | None:
        async with self.uow_factory() as uow:
            return await uow.settings.get(company_id)

    async def connect_quickbooks(self, company_id: str, realm: str = REALM) -> None:
        await self.token_store.save(
            Connection(
                company_id, Vendor.QUICKBOOKS, realm, QUICKBOOKS_TOKENS, display_name="Books"
            )
        )

    def add_notice(self, realm: str) -> None:
        notice = ChangeNotice(f"n-{realm}", realm, "Invoice", "1", "Update", NOW)
        self.notices.notices[notice.key] = (notice, NOW, None)

    async def run_due_purges(self) -> list[str]:
        """What the hourly job does, then the purge jobs it queued: the companies purged."""
        await self.queue_purges.execute()
        purged = []
        for task, args in list(self.jobs.deferred):
            if task == "purge_company":
                self.jobs.deferred.remove((task, args))
                if await self.purge.execute(args["company_id"]):
                    purged.append(args["company_id"])
        return purged


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
    assert connection.locale == ADMIN.locale == "en_US"  # the timeline's language, kept
    assert connection.tokens == TOKENS
    assert connection.status is ConnectionStatus.CONNECTED


async def test_install_queues_the_webhook_subscriptions_and_deal_fields_once_tokens_are_stored(
    world: World,
) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    world.authorizer.used_codes.clear()
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))  # a reinstall

    assert world.jobs.deferred == [
        ("subscribe_crm_webhooks", {"company_id": COMPANY}),
        ("create_deal_fields", {"company_id": COMPANY}),
    ]


async def test_reinstalling_replaces_a_broken_connection(world: World) -> None:
    await world.install.execute(CompletePipedriveInstallCommand("good-code"))
    broken = await world.token_store.mark_broken(
        COMPANY, Vendor.PIPEDRIVE, "refused", NOW, user_id=ADMIN.id
    )
    assert broken is not None
    assert broken.status is ConnectionStatus.NEEDS_RECONNECT
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


async def test_each_installing_user_keeps_tokens_of_their_own(world: World) -> None:
    await world.install_as("good-code")
    await world.install_as("bruno-code")

    stored = {key: c.tokens for key, c in world.token_store.connections.items()}
    assert stored == {
        (COMPANY, Vendor.PIPEDRIVE, ADMIN.id): TOKENS,
        (COMPANY, Vendor.PIPEDRIVE, BRUNO.id): BRUNO_TOKENS,
    }
    in_use = await world.token_store.load(COMPANY, Vendor.PIPEDRIVE)
    assert in_use is not None
    assert in_use.user_id in (ADMIN.id, BRUNO.id)


async def test_one_users_uninstall_removes_only_their_tokens(world: World) -> None:
    await world.install_as("good-code")
    await world.install_as("bruno-code")
    await world.connect_quickbooks(COMPANY)
    await world.save_settings(COMPANY)
    world.jobs.deferred.clear()

    report = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert report.user_removed
    assert report.purge_due_at is None
    assert world.authorizer.revoked == ["refresh-1"]
    assert list(world.token_store.connections) == [
        (COMPANY, Vendor.PIPEDRIVE, BRUNO.id),
        (COMPANY, Vendor.QUICKBOOKS, ""),
    ]
    in_use = await world.token_store.load(COMPANY, Vendor.PIPEDRIVE)
    assert in_use is not None
    assert in_use.tokens == BRUNO_TOKENS  # the company's calls go on with Bruno's
    assert world.accounting_authorizer.revoked == []
    assert await world.settings(COMPANY) is not None
    async with world.uow_factory() as uow:
        assert await uow.purges.list_due(NOW + timedelta(days=400), 10) == []
    # Pipedrive dropped the webhooks Alice's token made: Bruno's makes them again.
    assert world.jobs.deferred == [("subscribe_crm_webhooks", {"company_id": COMPANY})]


async def test_the_same_uninstall_told_twice_changes_nothing_more(world: World) -> None:
    await world.install_as("good-code")
    await world.install_as("bruno-code")
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.jobs.deferred.clear()

    again = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert not again.user_removed
    assert world.authorizer.revoked == ["refresh-1"]
    assert list(world.token_store.connections) == [(COMPANY, Vendor.PIPEDRIVE, BRUNO.id)]
    assert world.jobs.deferred == []


async def test_the_last_users_uninstall_revokes_quickbooks_and_schedules_the_purge(
    world: World,
) -> None:
    await world.install_as("good-code")
    await world.connect_quickbooks(COMPANY)
    await world.save_settings(COMPANY)
    world.add_notice(REALM)

    report = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert report.purge_due_at == NOW + timedelta(days=30)
    assert world.authorizer.revoked == ["refresh-1"]
    assert world.accounting_authorizer.revoked == ["qb-refresh"]
    assert world.token_store.connections == {}
    assert world.notices.notices == {}  # the realm's notices can no longer be applied
    assert await world.settings(COMPANY) is not None  # kept until the purge is due
    async with world.uow_factory() as uow:
        assert await uow.purges.list_due(NOW + timedelta(days=30), 10) == [COMPANY]
        assert await uow.purges.list_due(NOW + timedelta(days=30, seconds=-1), 10) == []


async def test_the_purge_forgets_the_company_once_due_and_only_then(world: World) -> None:
    await world.install_as("good-code")
    await world.save_settings(COMPANY)
    await world.save_settings("other-company")
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    world.clock.advance(timedelta(days=29, hours=23))
    assert await world.run_due_purges() == []
    assert await world.settings(COMPANY) is not None

    world.clock.advance(timedelta(hours=1))
    assert await world.run_due_purges() == [COMPANY]

    assert await world.settings(COMPANY) is None
    assert await world.settings("other-company") is not None
    async with world.uow_factory() as uow:
        assert await uow.purges.get_for_update(COMPANY) is None
    assert await world.run_due_purges() == []  # nothing left to do


async def test_the_delay_before_the_purge_is_configurable(world: World) -> None:
    uninstall = dataclasses.replace(world.uninstall, purge_after=timedelta(days=7))
    await world.install_as("good-code")

    report = await uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert report.purge_due_at == NOW + timedelta(days=7)


async def test_installing_again_before_the_purge_keeps_the_data(world: World) -> None:
    await world.install_as("good-code")
    await world.save_settings(COMPANY)
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.clock.advance(timedelta(days=10))

    await world.install_as("bruno-code")
    world.clock.advance(timedelta(days=30))

    assert await world.run_due_purges() == []
    assert await world.settings(COMPANY) is not None


async def test_a_purge_job_for_a_company_installed_meanwhile_does_nothing(world: World) -> None:
    await world.install_as("good-code")
    await world.save_settings(COMPANY)
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.clock.advance(timedelta(days=31))
    await world.queue_purges.execute()  # the job is queued, then the install comes first
    await world.token_store.save(
        Connection(COMPANY, Vendor.PIPEDRIVE, COMPANY, TOKENS, user_id=BRUNO.id)
    )

    assert not await world.purge.execute(COMPANY)

    assert await world.settings(COMPANY) is not None
    async with world.uow_factory() as uow:
        assert await uow.purges.get_for_update(COMPANY) is None  # cancelled


async def test_uninstalling_again_after_a_reinstall_starts_a_new_delay(world: World) -> None:
    await world.install_as("good-code")
    await world.save_settings(COMPANY)
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.clock.advance(timedelta(days=20))
    await world.install_as("good-code")
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    world.clock.advance(timedelta(days=20))  # 40 days after the first uninstall
    assert await world.run_due_purges() == []
    world.clock.advance(timedelta(days=10))
    assert await world.run_due_purges() == [COMPANY]


async def test_a_repeated_last_uninstall_never_pushes_the_purge_later(world: World) -> None:
    await world.install_as("good-code")
    first = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.clock.advance(timedelta(days=3))

    again = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert again.purge_due_at == first.purge_due_at
    assert world.authorizer.revoked == ["refresh-1"]


async def test_the_uninstall_goes_on_when_the_revokes_fail(world: World) -> None:
    await world.install_as("good-code")
    await world.connect_quickbooks(COMPANY)
    world.authorizer.revoke_error = UpstreamUnavailableError("down")
    world.accounting_authorizer.fail_revoke = UpstreamUnavailableError("down")

    report = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert world.token_store.connections == {}
    assert report.purge_due_at is not None


async def test_another_companys_notices_for_the_same_quickbooks_company_stay(
    world: World,
) -> None:
    await world.install_as("good-code")
    await world.connect_quickbooks(COMPANY)
    await world.connect_quickbooks("other-company")
    world.add_notice(REALM)

    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert len(world.notices.notices) == 1
    assert await world.token_store.load("other-company", Vendor.QUICKBOOKS) is not None


async def test_uninstalling_an_unknown_user_of_a_company_in_use_changes_nothing(
    world: World,
) -> None:
    await world.install_as("good-code")

    report = await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, "99999999"))

    assert report == UninstallReport(user_removed=False)
    assert world.authorizer.revoked == []
    assert await world.token_store.load(COMPANY, Vendor.PIPEDRIVE) is not None


async def test_a_purge_job_run_before_its_time_forgets_nothing(world: World) -> None:
    await world.install_as("good-code")
    await world.save_settings(COMPANY)
    await world.uninstall.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))
    world.clock.advance(timedelta(days=29))

    assert not await world.purge.execute(COMPANY)

    assert await world.settings(COMPANY) is not None


class ProcessDied(BaseException):
    """The process stopped here (a crash, a kill): nothing after this line ran."""


@dataclass
class DyingAfterTheDeletion:
    """A token store whose process dies right after the last user's deletion commits."""

    store: InMemoryTokenStore

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def delete_user(self, *args: object, **kwargs: object) -> object:
        await self.store.delete_user(*args, **kwargs)  # type: ignore[arg-type]
        raise ProcessDied


async def test_a_process_dying_right_after_the_last_deletion_still_purges_in_time(
    world: World,
) -> None:
    await world.install_as("good-code")
    await world.connect_quickbooks(COMPANY)
    await world.save_settings(COMPANY)
    world.add_notice(REALM)
    dying = dataclasses.replace(
        world.uninstall, token_store=DyingAfterTheDeletion(world.token_store)
    )

    with pytest.raises(ProcessDied):
        await dying.execute(UninstallPipedriveCommand(COMPANY, ADMIN.id))

    assert await world.token_store.load(COMPANY, Vendor.PIPEDRIVE) is None
    async with world.uow_factory() as uow:
        assert await uow.purges.list_due(NOW + timedelta(days=30), 10) == [COMPANY]
    # The next hourly pass finishes what the uninstall had no time to do: QuickBooks revoked.
    world.clock.advance(timedelta(hours=1))
    assert await world.run_due_purges() == []
    assert world.accounting_authorizer.revoked == ["qb-refresh"]
    assert await world.token_store.load(COMPANY, Vendor.QUICKBOOKS) is None
    assert world.notices.notices == {}
    assert await world.settings(COMPANY) is not None

    world.clock.advance(timedelta(days=30))
    assert await world.run_due_purges() == [COMPANY]
    assert await world.settings(COMPANY) is None


async def test_the_hourly_pass_leaves_the_quickbooks_of_companies_in_use_alone(
    world: World,
) -> None:
    await world.install_as("good-code")
    await world.connect_quickbooks(COMPANY)

    await world.run_due_purges()

    assert world.accounting_authorizer.revoked == []
    assert await world.token_store.load(COMPANY, Vendor.QUICKBOOKS) is not None
