"""The ``dealbooks`` command: serve, migrate, emulator, demo."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys

# grpc core prints a warning on every fork (the embedded Postgres forks); we never fork gRPC.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import structlog

from entrypoints.log_config import configure_logging
from entrypoints.settings import AppSettings, ConfigurationError, load_settings

log = structlog.get_logger("dealbooks.cli")


async def _serve(settings: AppSettings, *, api: bool) -> int:
    from entrypoints.service import Service

    service = Service(settings, serve_api=api)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        await stop.wait()
        log.info("service.stopping")
    finally:
        await service.stop()
    return 0


async def _migrate(settings: AppSettings) -> int:
    from adapters.postgres import migrate
    from adapters.postgres.engine import build_engine
    from entrypoints.service import open_database

    url, embedded = await open_database(settings)
    engine = build_engine(url)
    try:
        await migrate.upgrade(engine)
        log.info("database.migrated")
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    return 0


def _emulator(argv: list[str]) -> int:
    if not argv or argv[0] not in ("quickbooks", "pipedrive"):
        print("usage: dealbooks emulator {quickbooks,pipedrive} [--host H] [--port P] ...")
        return 2
    emulator = importlib.import_module(f"emulators.{argv[0]}.cli")
    return int(emulator.main(argv[1:]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="dealbooks", description=__doc__)
    parser.add_argument(
        "command",
        choices=["serve", "worker", "migrate", "emulator", "demo"],
        help="serve: gRPC + HTTP + a job worker; worker: a job worker only; migrate: apply "
        "migrations; emulator: a vendor emulator; demo: everything for a local demo",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        return _emulator(rest)
    if rest:
        parser.error(f"unexpected arguments: {' '.join(rest)}")
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"dealbooks: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command in ("serve", "worker"):
        return asyncio.run(_serve(settings, api=args.command == "serve"))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    from entrypoints.demo import run_demo

    return asyncio.run(run_demo(settings))
