"""The composition root: dependency-injector containers and the service's start/stop sequence.

Only this module (and ``__main__``/``cli``) imports adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from dependency_injector import containers, providers

from adapters.postgres import migrate
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.engine import build_engine, build_session_factory
from adapters.postgres.unit_of_work import PostgresDatabaseProbe, SqlAlchemyUnitOfWorkFactory
from adapters.system_clock import SystemClock
from application.settings import GetSettings, UpdateSettings
from entrypoints.grpc.auth import TokenAuthenticator
from entrypoints.grpc.server import GrpcServer, build_server
from entrypoints.grpc.settings_servicer import SettingsServicer
from entrypoints.http.app import create_app
from entrypoints.metrics import Metrics
from entrypoints.settings import AppSettings

log = structlog.get_logger("dealbooks.service")


class Gateways(containers.DeclarativeContainer):
    """Driven adapters: singletons for the process lifetime."""

    config = providers.Configuration()
    engine = providers.Singleton(build_engine, config.database_url)
    session_factory = providers.Singleton(build_session_factory, engine)
    uow_factory = providers.Singleton(SqlAlchemyUnitOfWorkFactory, session_factory)
    database_probe = providers.Singleton(PostgresDatabaseProbe, engine)
    clock = providers.Singleton(SystemClock)


class Services(containers.DeclarativeContainer):
    """Use cases, built per use from the gateways."""

    gateways = providers.DependenciesContainer()
    get_settings = providers.Factory(GetSettings, uow_factory=gateways.uow_factory)
    update_settings = providers.Factory(
        UpdateSettings, uow_factory=gateways.uow_factory, clock=gateways.clock
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
    )


class Application(containers.DeclarativeContainer):
    config = providers.Configuration()
    gateways = providers.Container(Gateways, config=config)
    services = providers.Container(Services, gateways=gateways)
    entrypoints = providers.Container(Entrypoints, config=config, services=services)


def build_container(settings: AppSettings, database_url: str) -> Application:
    container = Application()
    container.config.from_dict(
        {"database_url": database_url, "api_tokens": dict(settings.api_tokens)}
    )
    container.check_dependencies()
    return container


@dataclass
class Service:
    """gRPC + HTTP in one process, on one event loop; ``start()`` binds, ``stop()`` drains."""

    settings: AppSettings
    grpc_port: int | None = None  # None: use the settings; 0: any free port
    http_port: int | None = None
    container: Application | None = None
    grpc: GrpcServer | None = None
    http_port_bound: int = 0
    _embedded: EmbeddedPostgres | None = None
    _runner: web.AppRunner | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        database_url = self.settings.database_url
        if database_url is None:
            self._embedded = EmbeddedPostgres(self.settings.data_dir.resolve())
            database_url = await asyncio.to_thread(self._embedded.start)
            log.info("database.embedded_started", data_dir=str(self._embedded.data_dir))
        self.container = container = build_container(self.settings, database_url)
        engine = container.gateways.engine()
        await migrate.upgrade(engine)
        log.info("database.migrated")

        host = self.settings.bind_host
        grpc_port = self.settings.grpc_port if self.grpc_port is None else self.grpc_port
        metrics = container.entrypoints.metrics()
        self.grpc = await build_server(
            settings_servicer=container.entrypoints.settings_servicer(),
            authenticator=container.entrypoints.authenticator(),
            metrics=metrics,
            address=f"{host}:{grpc_port}",
        )
        app = create_app(database_probe=container.gateways.database_probe(), metrics=metrics)
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
        if self.container is not None:
            await self.container.gateways.engine().dispose()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        log.info("service.stopped")
