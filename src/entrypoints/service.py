"""The service process: database, migrations, job worker, gRPC + HTTP; started and stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.jobs.queue import apply_schema
from adapters.pipedrive.webhook_payloads import parse_change
from adapters.postgres import migrate
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.notices import sync_figures
from adapters.quickbooks.webhook_payloads import notices_from_payload
from entrypoints.bootstrap import Application, build_container, discover_quickbooks_endpoints
from entrypoints.grpc.server import GrpcServer, build_server
from entrypoints.http.app import create_app
from entrypoints.http.deal_stream import add_deal_stream_route
from entrypoints.http.pipedrive_app import add_pipedrive_routes, add_pipedrive_webhook_route
from entrypoints.http.public_pages import PublicSite, add_public_pages
from entrypoints.http.quickbooks_app import (
    add_quickbooks_app_urls,
    add_quickbooks_routes,
    notices_recorder,
    support_status,
)
from entrypoints.http.ui_api import add_ui_api_routes
from entrypoints.http.ui_pages import SETTINGS_PAGE, add_ui_pages
from entrypoints.settings import AppSettings
from entrypoints.worker import register_tasks

log = structlog.get_logger("dealbooks.service")


async def open_database(settings: AppSettings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured database's URL, or else an embedded Postgres started for it."""
    if settings.database_url is not None:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir.resolve())
    url = await asyncio.to_thread(embedded.start)
    log.info("database.embedded_started", data_dir=str(embedded.data_dir))
    return url, embedded


@dataclass
class Service:
    """gRPC + HTTP in one process, on one event loop; ``start()`` binds, ``stop()`` drains."""

    settings: AppSettings
    grpc_port: int | None = None  # None: use the settings; 0: any free port
    http_port: int | None = None
    overrides: dict[str, object] = field(default_factory=dict)
    serve_api: bool = True  # False: `dealbooks worker`, jobs only
    run_worker: bool = True
    # More HTTP routes on the gateway (the demo's Pipedrive-like host page).
    extra_routes: Callable[[web.Application], None] | None = None
    demo_url: str | None = None  # the public landing page links to it (the trial)
    container: Application | None = None
    grpc: GrpcServer | None = None
    http_port_bound: int = 0
    _embedded: EmbeddedPostgres | None = None
    _runner: web.AppRunner | None = None
    _watch: asyncio.Task[None] | None = None
    _worker: asyncio.Task[None] | None = None
    _draining: bool = False

    async def start(self) -> None:
        database_url, self._embedded = await open_database(self.settings)
        self.container = container = build_container(self.settings, database_url, self.overrides)
        await discover_quickbooks_endpoints(container)
        engine = container.gateways.engine()
        jobs_app = container.gateways.jobs_app()
        await migrate.upgrade(engine, secret_key=self.settings.secret_key)
        await apply_schema(jobs_app, engine)
        log.info("database.migrated")
        await jobs_app.open_async()
        services = container.services
        register_tasks(
            jobs_app,
            finish=services.finish(),
            follow_up=services.follow_up(),
            timeline=services.timeline(),
            deal_fields=services.deal_fields(),
            create_deal_fields=services.create_deal_fields(),
            process_notices=services.process_notices(),
            catch_up=services.catch_up(),
            sweep=services.sweep(),
            overdue=services.overdue(),
            forget_notices=services.forget_notices(),
            subscribe_webhooks=services.subscribe_webhooks(),
            check_webhooks=services.check_webhooks(),
            run_rule=services.run_rule(),
            queue_rule_runs=services.queue_rule_runs(),
            queue_purges=services.queue_purges(),
            purge=services.purge_company(),
            on_purged=container.entrypoints.metrics().companies_purged.inc,
            token_store=container.gateways.token_store(),
            installments=services.due_installments(),
            cdc_minutes=self.settings.cdc_interval_minutes,
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
        servicers = container.entrypoints.servicers()
        self.grpc = await build_server(
            servicers,
            authenticator=container.entrypoints.authenticator(),
            metrics=metrics,
            address=f"{host}:{grpc_port}",
        )
        app = create_app(
            database_probe=container.gateways.database_probe(),
            metrics=metrics,
            sync_figures=lambda: self._figures(engine, container),
            draining=lambda: self._draining,
        )
        add_ui_api_routes(
            app,
            servicers=servicers.by_service(),
            authenticate=container.entrypoints.ui_sessions().principal,
            me=container.entrypoints.ui_sessions().me,
            public_url=self.settings.public_url,
        )
        deal_changes = container.gateways.deal_changes()
        await deal_changes.start()
        add_deal_stream_route(
            app,
            authenticate=container.entrypoints.ui_sessions().principal,
            changes=deal_changes,
            visibility=container.services.visibility(),
        )
        self._add_vendor_routes(app, container)
        if self.extra_routes is not None:
            self.extra_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        http_port = self.settings.http_port if self.http_port is None else self.http_port
        await web.TCPSite(self._runner, host, http_port).start()
        self.http_port_bound = self._runner.addresses[0][1]
        self._watch = asyncio.create_task(self._watch_database(), name="database-watch")
        log.info(
            "service.started",
            grpc_address=f"{host}:{self.grpc.port}",
            http_address=f"{host}:{self.http_port_bound}",
        )

    @staticmethod
    async def _figures(engine: AsyncEngine, container: Application) -> dict[str, object]:
        """For /metrics: the sync figures, and this month's metered reads against the quota."""
        budget = container.gateways.read_budget()
        return {
            **await sync_figures(engine),
            "quickbooks_reads_month": await budget.used(),
            "quickbooks_reads_rationed": await budget.rationed(),
        }

    def _add_vendor_routes(self, app: web.Application, container: Application) -> None:
        """OAuth callbacks, webhooks and the UI pages: the gateway side of both vendors."""
        services, settings = container.services, self.settings
        crm_change = services.crm_change()
        sign_in = container.entrypoints.sign_in()
        ui_sessions = container.entrypoints.ui_sessions()
        add_ui_pages(app, sdk_path=settings.ui_sdk_path)
        add_public_pages(
            app,
            PublicSite(
                support_status=support_status(sign_in, services.get_connections()),
                support_email=settings.support_email,
                demo_url=self.demo_url,
                purge_days=settings.purge_after.days,
            ),
        )
        add_quickbooks_app_urls(
            app,
            sign_in=sign_in,
            principal_for=ui_sessions.principal_for,
            settings_link=ui_sessions.settings_link_for,
            reconnect=services.reconnect_quickbooks(),
            check=services.check_quickbooks(),
            clock=container.gateways.clock(),
        )
        add_pipedrive_routes(
            app,
            complete_install=services.complete_install(),
            uninstall=services.uninstall(),
            client_id=settings.pipedrive.client_id,
            client_secret=settings.pipedrive.client_secret,
            # After an install Pipedrive users land on the app's settings, as with any app.
            settings_url=(
                "https://{company_domain}.pipedrive.com/settings/marketplace/app/{client_id}"
                "/app-settings"
            ),
            sign_in=sign_in,
        )
        add_pipedrive_webhook_route(
            app,
            user=settings.pipedrive.webhook_user,
            password=settings.pipedrive.webhook_password,
            on_change=lambda raw: crm_change.execute(parse_change(raw)),
        )
        add_quickbooks_routes(
            app,
            start_connect=services.reconnect_quickbooks(),
            complete_connect=services.complete_connect(),
            disconnect=services.disconnect_quickbooks(),
            authenticate_ui=ui_sessions.principal,
            settings_url=f"{settings.public_url}{SETTINGS_PAGE}",
            webhook_verifier_token=settings.quickbooks.webhook_verifier_token,
            on_webhook=notices_recorder(services.record_notices(), notices_from_payload),
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
        self._draining = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self.grpc is not None and self.settings.drain_seconds > 0:
            # Not ready, still serving: what a balancer needs to stop sending calls here.
            await self.grpc.set_serving(False)
            log.info("service.draining", seconds=self.settings.drain_seconds)
            await asyncio.sleep(self.settings.drain_seconds)
        if self.grpc is not None:
            await self.grpc.stop(grace)
        if self._runner is not None:
            if self.container is not None:  # open panel streams end first (the panels poll)
                await self.container.gateways.deal_changes().close()
            await self._runner.cleanup()
        if self._worker is not None:
            self._worker.cancel()  # procrastinate lets running jobs finish, up to the grace
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.container is not None:
            gateways = self.container.gateways
            await gateways.jobs().drain()
            with contextlib.suppress(Exception):  # never opened if the start failed early
                await gateways.jobs_app().close_async()
            await gateways.invoice_views().close()
            await gateways.rate_limiter().close()
            await gateways.read_budget().close()
            await gateways.engine().dispose()
            await gateways.quickbooks_session().close()
            await gateways.pipedrive_session().close()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        log.info("service.stopped")
