"""The composition root: dependency-injector containers and the service's start/stop sequence.

Only this module (and ``__main__``/``cli``) imports adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import procrastinate
import structlog
from aiohttp import web
from dependency_injector import containers, providers

from adapters.jobs.inbox import ProcrastinateNoticeInbox
from adapters.jobs.queue import ProcrastinateJobQueue, apply_schema, build_app
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.oauth import PipedriveAuthorizer
from adapters.pipedrive.webhook_payloads import parse_change
from adapters.postgres import migrate
from adapters.postgres.connections import PostgresOAuthStateStore, PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock, PostgresRateLimiter
from adapters.postgres.crypto import SecretBox
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.engine import build_engine, build_session_factory
from adapters.postgres.intake import PostgresInvoiceIntake
from adapters.postgres.notices import PostgresNoticeStore, sync_figures
from adapters.postgres.queries import PostgresInvoiceQueries
from adapters.postgres.unit_of_work import PostgresDatabaseProbe, SqlAlchemyUnitOfWorkFactory
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.quickbooks.oauth import QuickBooksAuthorizer, QuickBooksEndpoints
from adapters.quickbooks.webhook_payloads import MalformedWebhookError, notices_from_payload
from adapters.system_clock import SystemClock
from application.auth import Principal
from application.connections import (
    CompleteQuickBooksConnect,
    DisconnectQuickBooks,
    GetConnections,
    StartQuickBooksConnect,
)
from application.crm_events import (
    CheckAllCrmWebhooks,
    CrmWebhookTarget,
    HandleCrmChange,
    SubscribeCrmWebhooks,
)
from application.customers import GetCustomerLink, LinkCustomer, SearchCustomers, UnlinkCustomer
from application.errors import NotFoundError, UnauthenticatedError
from application.installation import CompletePipedriveInstall, UninstallPipedrive
from application.invoices import (
    CreateInvoice,
    DeleteInvoice,
    FinishInvoiceCreation,
    FollowUpOnDeal,
    GetInvoice,
    GetInvoicePdf,
    InvoiceReader,
    ListInvoiceEvents,
    ListInvoices,
    PrepareInvoice,
    RefreshInvoices,
    SendInvoice,
    VoidInvoice,
)
from application.settings import (
    GetSettings,
    ListInvoiceOptions,
    ListMappableFields,
    UpdateSettings,
)
from application.sync import (
    ApplyAccountingChanges,
    CatchUpCompany,
    ProcessChangeNotices,
    RecordChangeNotices,
    RecordOverdueInvoices,
    SweepStuckCreations,
)
from dealbooks.v1 import (
    connection_service_pb2,
    customer_service_pb2,
    invoice_service_pb2,
    settings_service_pb2,
)
from domain.connection import Vendor
from entrypoints.grpc.auth import TokenAuthenticator
from entrypoints.grpc.connection_servicer import ConnectionServicer
from entrypoints.grpc.customer_servicer import CustomerServicer
from entrypoints.grpc.invoice_servicer import InvoiceServicer
from entrypoints.grpc.server import GrpcServer, build_server
from entrypoints.grpc.settings_servicer import SettingsServicer
from entrypoints.http.app import create_app
from entrypoints.http.pipedrive_app import add_pipedrive_routes
from entrypoints.http.pipedrive_webhooks import add_pipedrive_webhook_route
from entrypoints.http.quickbooks_app import add_quickbooks_routes
from entrypoints.http.ui_api import add_ui_api_routes
from entrypoints.http.ui_auth import REASON as UI_TOKEN_REASON
from entrypoints.http.ui_auth import UiUser, UiUsers, authenticate_pipedrive_request
from entrypoints.http.ui_pages import SETTINGS_PAGE, add_ui_pages
from entrypoints.metrics import Metrics
from entrypoints.settings import AppSettings
from entrypoints.worker import register_tasks

log = structlog.get_logger("dealbooks.service")


def vendor_session() -> aiohttp.ClientSession:
    """One HTTP session per vendor for the process lifetime, with explicit timeouts.

    Built by ``Service.start`` inside the running loop and closed by ``Service.stop``.
    """
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30, connect=5, sock_read=25),
        connector=aiohttp.TCPConnector(limit=50, ttl_dns_cache=300),
    )


class Gateways(containers.DeclarativeContainer):
    """Driven adapters: singletons for the process lifetime."""

    config = providers.Configuration()
    engine = providers.Singleton(build_engine, config.database_url)
    session_factory = providers.Singleton(build_session_factory, engine)
    invoice_queries = providers.Singleton(
        PostgresInvoiceQueries, config.database_url, remember_answers=config.read_cache
    )
    uow_factory = providers.Singleton(
        SqlAlchemyUnitOfWorkFactory, session_factory, invoice_queries.provided.forget_deals
    )
    invoice_intake = providers.Singleton(
        PostgresInvoiceIntake, engine, invoice_queries.provided.forget_deals
    )
    database_probe = providers.Singleton(PostgresDatabaseProbe, engine)
    clock = providers.Singleton(SystemClock)
    secret_box = providers.Singleton(SecretBox, config.secret_key)
    token_store = providers.Singleton(PostgresTokenStore, session_factory, secret_box)
    oauth_states = providers.Singleton(PostgresOAuthStateStore, session_factory)
    lock = providers.Singleton(PostgresDistributedLock, engine)
    rate_limiter = providers.Singleton(PostgresRateLimiter, engine)
    notices = providers.Singleton(PostgresNoticeStore, engine)
    jobs_app: providers.Dependency[Any] = providers.Dependency()
    jobs = providers.Singleton(ProcrastinateJobQueue, jobs_app)
    inbox = providers.Singleton(ProcrastinateNoticeInbox, engine)

    quickbooks_session: providers.Dependency[aiohttp.ClientSession] = providers.Dependency()
    quickbooks_endpoints = providers.Singleton(
        QuickBooksEndpoints.for_environment,
        config.quickbooks.environment,
        config.quickbooks.base_url,
    )
    accounting = providers.Singleton(
        QuickBooksAccountingGateway,
        session=quickbooks_session,
        token_store=token_store,
        lock=lock,
        rate_limiter=rate_limiter,
        clock=clock,
        client_id=config.quickbooks.client_id,
        client_secret=config.quickbooks.client_secret,
        environment=config.quickbooks.environment,
        endpoints=quickbooks_endpoints,
    )
    accounting_authorizer = providers.Singleton(
        QuickBooksAuthorizer,
        quickbooks_session,
        clock,
        quickbooks_endpoints,
        config.quickbooks.client_id,
        config.quickbooks.client_secret,
        config.quickbooks.redirect_uri,
    )

    pipedrive_session: providers.Dependency[aiohttp.ClientSession] = providers.Dependency()
    crm = providers.Singleton(
        PipedriveCrmGateway,
        pipedrive_session,
        token_store,
        lock,
        rate_limiter,
        clock,
        config.pipedrive.oauth_url,
        config.pipedrive.client_id,
        config.pipedrive.client_secret,
    )
    crm_authorizer = providers.Singleton(
        PipedriveAuthorizer,
        pipedrive_session,
        clock,
        client_id=config.pipedrive.client_id,
        client_secret=config.pipedrive.client_secret,
        redirect_uri=config.pipedrive.redirect_uri,
        oauth_url=config.pipedrive.oauth_url,
    )


class Services(containers.DeclarativeContainer):
    """Use cases, built per use from the gateways."""

    config = providers.Configuration()
    gateways = providers.DependenciesContainer()
    uow = gateways.uow_factory
    get_settings = providers.Factory(GetSettings, uow_factory=uow)
    update_settings = providers.Factory(UpdateSettings, uow_factory=uow, clock=gateways.clock)
    list_fields = providers.Factory(ListMappableFields, crm=gateways.crm)
    list_options = providers.Factory(ListInvoiceOptions, accounting=gateways.accounting)
    reader = providers.Factory(InvoiceReader, gateways.accounting, gateways.clock)
    finish = providers.Factory(
        FinishInvoiceCreation,
        uow,
        gateways.accounting,
        gateways.crm,
        gateways.clock,
        gateways.jobs,
        intake=gateways.invoice_intake,
    )
    follow_up = providers.Factory(FollowUpOnDeal, uow, gateways.crm, gateways.clock)
    prepare = providers.Factory(
        PrepareInvoice, uow, gateways.accounting, gateways.crm, gateways.clock
    )
    create = providers.Factory(
        CreateInvoice,
        uow,
        gateways.accounting,
        gateways.crm,
        gateways.clock,
        finish,
        gateways.jobs,
        intake=gateways.invoice_intake,
    )
    get_invoice = providers.Factory(GetInvoice, gateways.invoice_queries, reader)
    list_invoices = providers.Factory(ListInvoices, gateways.invoice_queries, reader)
    void = providers.Factory(VoidInvoice, uow, gateways.accounting, gateways.clock)
    delete = providers.Factory(DeleteInvoice, uow, gateways.accounting, gateways.clock)
    send = providers.Factory(SendInvoice, uow, gateways.accounting, gateways.clock)
    pdf = providers.Factory(GetInvoicePdf, uow, gateways.accounting)
    refresh = providers.Factory(
        RefreshInvoices, uow, gateways.invoice_queries, gateways.accounting, gateways.clock, finish
    )
    events = providers.Factory(ListInvoiceEvents, uow)
    search_customers = providers.Factory(SearchCustomers, gateways.accounting)
    link_customer = providers.Factory(LinkCustomer, uow, gateways.accounting, gateways.clock)
    unlink_customer = providers.Factory(UnlinkCustomer, uow)
    get_customer_link = providers.Factory(GetCustomerLink, uow)
    get_connections = providers.Factory(
        GetConnections, gateways.token_store, gateways.clock, gateways.notices
    )
    disconnect_quickbooks = providers.Factory(
        DisconnectQuickBooks, gateways.token_store, gateways.accounting_authorizer, gateways.clock
    )
    start_connect = providers.Factory(
        StartQuickBooksConnect,
        gateways.oauth_states,
        gateways.accounting_authorizer,
        gateways.clock,
    )
    complete_connect = providers.Factory(
        CompleteQuickBooksConnect,
        gateways.oauth_states,
        gateways.accounting_authorizer,
        gateways.token_store,
        gateways.clock,
    )
    complete_install = providers.Factory(
        CompletePipedriveInstall,
        gateways.crm_authorizer,
        gateways.token_store,
        gateways.jobs,
        gateways.clock,
    )
    uninstall = providers.Factory(
        UninstallPipedrive,
        gateways.token_store,
        gateways.crm_authorizer,
        uow,
        gateways.clock,
        gateways.accounting_authorizer,
    )
    apply_changes = providers.Factory(
        ApplyAccountingChanges, uow, gateways.accounting, gateways.token_store, gateways.clock
    )
    record_notices = providers.Factory(RecordChangeNotices, gateways.inbox, gateways.clock)
    process_notices = providers.Factory(
        ProcessChangeNotices, gateways.notices, apply_changes, gateways.clock
    )
    catch_up = providers.Factory(
        CatchUpCompany, uow, gateways.accounting, gateways.notices, apply_changes, gateways.clock
    )
    sweep = providers.Factory(SweepStuckCreations, uow, gateways.jobs, gateways.clock)
    crm_change = providers.Factory(HandleCrmChange, uow)
    webhook_target = providers.Factory(
        CrmWebhookTarget,
        url=config.pipedrive.webhook_url,
        user=config.pipedrive.webhook_user,
        password=config.pipedrive.webhook_password,
    )
    subscribe_webhooks = providers.Factory(SubscribeCrmWebhooks, gateways.crm, webhook_target)
    check_webhooks = providers.Factory(CheckAllCrmWebhooks, gateways.token_store, gateways.jobs)
    overdue = providers.Factory(
        RecordOverdueInvoices, uow, gateways.accounting, gateways.token_store, gateways.clock
    )


class Entrypoints(containers.DeclarativeContainer):
    """Servicers and gateway pieces; they receive use cases by constructor."""

    config = providers.Configuration()
    services = providers.DependenciesContainer()
    metrics = providers.Singleton(Metrics)
    authenticator = providers.Singleton(TokenAuthenticator, config.api_tokens)
    settings_servicer = providers.Factory(
        SettingsServicer,
        get_settings=services.get_settings,
        update_settings=services.update_settings,
        list_fields=services.list_fields,
        list_options=services.list_options,
    )
    invoice_servicer = providers.Factory(
        InvoiceServicer,
        prepare=services.prepare,
        create=services.create,
        get=services.get_invoice,
        list_invoices=services.list_invoices,
        void=services.void,
        delete=services.delete,
        send=services.send,
        pdf=services.pdf,
        refresh=services.refresh,
        events=services.events,
    )
    customer_servicer = providers.Factory(
        CustomerServicer,
        search=services.search_customers,
        link=services.link_customer,
        unlink=services.unlink_customer,
        get_link=services.get_customer_link,
    )
    connection_servicer = providers.Factory(
        ConnectionServicer, get=services.get_connections, disconnect=services.disconnect_quickbooks
    )


class Application(containers.DeclarativeContainer):
    config = providers.Configuration()
    gateways = providers.Container(Gateways, config=config)
    services = providers.Container(Services, config=config, gateways=gateways)
    entrypoints = providers.Container(Entrypoints, config=config, services=services)


def build_container(
    settings: AppSettings, database_url: str, overrides: dict[str, object] | None = None
) -> Application:
    """``overrides`` replaces gateways by name (tests: in-memory fakes)."""
    container = Application()
    qbo, pd = settings.quickbooks, settings.pipedrive
    container.config.from_dict(
        {
            "database_url": database_url,
            "read_cache": settings.read_cache,
            "api_tokens": dict(settings.api_tokens),
            "secret_key": settings.secret_key,
            "quickbooks": {
                "environment": qbo.environment,
                "base_url": qbo.base_url or None,
                "client_id": qbo.client_id,
                "client_secret": qbo.client_secret,
                "redirect_uri": f"{settings.public_url}/oauth/quickbooks/callback",
            },
            "pipedrive": {
                "oauth_url": pd.oauth_url,
                "client_id": pd.client_id,
                "client_secret": pd.client_secret,
                "redirect_uri": f"{settings.public_url}/oauth/pipedrive/callback",
                "webhook_url": f"{settings.public_url}/webhooks/pipedrive",
                "webhook_user": pd.webhook_user,
                "webhook_password": pd.webhook_password,
            },
        }
    )
    for name, value in (overrides or {}).items():
        getattr(container.gateways, name).override(providers.Object(value))
    container.check_dependencies()
    return container


@dataclass
class Service:
    """gRPC + HTTP in one process, on one event loop; ``start()`` binds, ``stop()`` drains."""

    settings: AppSettings
    grpc_port: int | None = None  # None: use the settings; 0: any free port
    http_port: int | None = None
    overrides: dict[str, object] = field(default_factory=dict)
    serve_api: bool = True  # False: `dealbooks worker`, jobs only
    run_worker: bool = True
    container: Application | None = None
    grpc: GrpcServer | None = None
    http_port_bound: int = 0
    _embedded: EmbeddedPostgres | None = None
    _runner: web.AppRunner | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    _jobs_app: procrastinate.App | None = None
    _worker: asyncio.Task[None] | None = None
    # More HTTP routes on the gateway (the demo's Pipedrive-like host page).
    extra_routes: Callable[[web.Application], None] | None = None

    async def start(self) -> None:
        database_url = self.settings.database_url
        if database_url is None:
            self._embedded = EmbeddedPostgres(self.settings.data_dir.resolve())
            database_url = await asyncio.to_thread(self._embedded.start)
            log.info("database.embedded_started", data_dir=str(self._embedded.data_dir))
        self._sessions = [vendor_session(), vendor_session()]
        self._jobs_app = jobs_app = build_app(database_url)
        overrides = {
            "quickbooks_session": self._sessions[0],
            "pipedrive_session": self._sessions[1],
            "jobs_app": jobs_app,
            **self.overrides,
        }
        self.container = container = build_container(self.settings, database_url, overrides)
        engine = container.gateways.engine()
        await migrate.upgrade(engine)
        await apply_schema(jobs_app, engine)
        log.info("database.migrated")
        await jobs_app.open_async()
        services = container.services
        register_tasks(
            jobs_app,
            finish=services.finish(),
            follow_up=services.follow_up(),
            process_notices=services.process_notices(),
            catch_up=services.catch_up(),
            sweep=services.sweep(),
            overdue=services.overdue(),
            subscribe_webhooks=services.subscribe_webhooks(),
            check_webhooks=services.check_webhooks(),
            token_store=container.gateways.token_store(),
            cdc_cron=f"*/{self.settings.cdc_interval_minutes} * * * *",
        )
        if self.run_worker:
            self._worker = asyncio.create_task(
                jobs_app.run_worker_async(
                    concurrency=self.settings.worker_concurrency,
                    install_signal_handlers=False,
                    wait=True,
                    shutdown_graceful_timeout=self.settings.shutdown_grace_seconds,
                ),
                name="jobs-worker",
            )
        if not self.serve_api:
            log.info("worker.started", concurrency=self.settings.worker_concurrency)
            return

        host = self.settings.bind_host
        grpc_port = self.settings.grpc_port if self.grpc_port is None else self.grpc_port
        metrics = container.entrypoints.metrics()
        self.grpc = await build_server(
            settings_servicer=container.entrypoints.settings_servicer(),
            invoice_servicer=container.entrypoints.invoice_servicer(),
            customer_servicer=container.entrypoints.customer_servicer(),
            connection_servicer=container.entrypoints.connection_servicer(),
            authenticator=container.entrypoints.authenticator(),
            metrics=metrics,
            address=f"{host}:{grpc_port}",
        )
        app = create_app(
            database_probe=container.gateways.database_probe(),
            metrics=metrics,
            sync_figures=lambda: sync_figures(engine),
        )
        self._add_vendor_routes(app)
        if self.extra_routes is not None:
            self.extra_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        http_port = self.settings.http_port if self.http_port is None else self.http_port
        site = web.TCPSite(self._runner, host, http_port)
        await site.start()
        self.http_port_bound = self._runner.addresses[0][1]
        self._tasks.append(asyncio.create_task(self._watch_database(), name="database-watch"))
        log.info(
            "service.started",
            grpc_address=f"{host}:{self.grpc.port}",
            http_address=f"{host}:{self.http_port_bound}",
        )

    def _add_vendor_routes(self, app: web.Application) -> None:
        """OAuth callbacks and webhooks: the gateway side of both vendors."""
        assert self.container is not None
        services, gateways = self.container.services, self.container.gateways
        settings = self.settings
        # Our settings page (the custom UI issue builds it) lives inside Pipedrive's app
        # settings; after an install Pipedrive users land there, as with any marketplace app.
        settings_url = f"{settings.public_url}{SETTINGS_PAGE}"
        pipedrive_settings_url = (
            "https://{company_domain}.pipedrive.com/settings/marketplace/app/{client_id}"
            "/app-settings"
        )
        clock = gateways.clock()

        crm = gateways.crm()

        async def lookup_user(company_id: str, user_id: str) -> tuple[str, bool, str]:
            try:
                user = await crm.get_user(company_id, user_id)
            except NotFoundError:
                raise UnauthenticatedError(
                    "This Pipedrive user is not known in the company; reload the page.",
                    reason=UI_TOKEN_REASON,
                ) from None
            return user.name, user.is_admin, user.locale.replace("_", "-")

        ui_users = UiUsers(lookup_user)

        async def ui_user(request: web.Request) -> UiUser:
            claims = authenticate_pipedrive_request(
                request, settings.pipedrive.jwt_secret, now=clock.now()
            )
            return await ui_users.user(claims, now=clock.now())

        async def authenticate_ui(request: web.Request) -> Principal:
            user = await ui_user(request)
            # Admin or not as Pipedrive says (GET /v1/users/{id}): settings and the QuickBooks
            # connection are for admins; every user of the company may invoice.
            return Principal(
                subject=f"pipedrive-user-{user.claims.user_id}",
                companies=frozenset({user.claims.company_id}),
                is_admin=user.is_admin,
            )

        token_store = gateways.token_store()

        async def me(request: web.Request) -> dict[str, Any]:
            user = await ui_user(request)
            pipedrive = await token_store.load(user.claims.company_id, Vendor.PIPEDRIVE)
            link = settings.pipedrive.settings_link.format_map(
                {
                    "api_domain": (pipedrive.api_domain if pipedrive else "").rstrip("/"),
                    "client_id": settings.pipedrive.client_id,
                    "public_url": settings.public_url,
                }
            )
            return {
                "companyId": user.claims.company_id,
                "userId": user.claims.user_id,
                "name": user.name,
                "locale": user.locale,
                "isAdmin": user.is_admin,
                "settingsUrl": link,
            }

        entry = self.container.entrypoints
        add_ui_api_routes(
            app,
            servicers={
                invoice_service_pb2.DESCRIPTOR.services_by_name["InvoiceService"]: (
                    entry.invoice_servicer()
                ),
                customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"]: (
                    entry.customer_servicer()
                ),
                settings_service_pb2.DESCRIPTOR.services_by_name["SettingsService"]: (
                    entry.settings_servicer()
                ),
                connection_service_pb2.DESCRIPTOR.services_by_name["ConnectionService"]: (
                    entry.connection_servicer()
                ),
            },
            authenticate=authenticate_ui,
            me=me,
            public_url=settings.public_url,
        )
        add_ui_pages(app, sdk_path=settings.ui_sdk_path)

        record_notices = services.record_notices()
        crm_change = services.crm_change()

        async def on_webhook(raw: bytes, parsed: Any) -> None:
            try:
                notices = notices_from_payload(parsed)
            except MalformedWebhookError:
                return
            if notices:
                # Stored once with its job (no QuickBooks call): the answer leaves as soon as
                # that is committed, in the same transaction as concurrent deliveries.
                await record_notices.execute(notices)

        async def on_crm_change(raw: bytes) -> str:
            return await crm_change.execute(parse_change(raw))

        add_pipedrive_webhook_route(
            app,
            user=settings.pipedrive.webhook_user,
            password=settings.pipedrive.webhook_password,
            on_change=on_crm_change,
        )
        add_pipedrive_routes(
            app,
            complete_install=services.complete_install(),
            uninstall=services.uninstall(),
            client_id=settings.pipedrive.client_id,
            client_secret=settings.pipedrive.client_secret,
            settings_url=pipedrive_settings_url,
        )
        add_quickbooks_routes(
            app,
            start_connect=services.start_connect(),
            complete_connect=services.complete_connect(),
            disconnect=services.disconnect_quickbooks(),
            authenticate_ui=authenticate_ui,
            settings_url=settings_url,
            webhook_verifier_token=settings.quickbooks.webhook_verifier_token,
            on_webhook=on_webhook,
        )

    async def _watch_database(self) -> None:
        """Health follows the database: NOT_SERVING while it cannot answer."""
        assert self.container is not None
        assert self.grpc is not None
        probe = self.container.gateways.database_probe()
        serving = True
        while True:
            await asyncio.sleep(5)
            try:
                await probe.ping()
                healthy = True
            except Exception:  # any failure means not serving; the log says which
                healthy = False
            if healthy != serving:
                serving = healthy
                log.warning("database.health_changed", serving=serving)
                await self.grpc.set_serving(serving)

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_seconds
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.grpc is not None:
            await self.grpc.stop(grace)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._worker is not None:
            self._worker.cancel()  # procrastinate lets running jobs finish, up to the grace
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.container is not None:
            await self.container.gateways.jobs().drain()
        if self._jobs_app is not None:
            with contextlib.suppress(Exception):  # never opened if the start failed early
                await self._jobs_app.close_async()
        if self.container is not None:
            await self.container.gateways.invoice_queries().close()
            await self.container.gateways.rate_limiter().close()
            await self.container.gateways.engine().dispose()
        for session in self._sessions:
            await session.close()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        log.info("service.stopped")
