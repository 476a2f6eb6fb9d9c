"""The ``dealbooks`` command: serve, worker, migrate, demo, emulator."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

# grpc core prints a warning on every fork (the embedded Postgres forks); we never fork gRPC.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import structlog

from entrypoints.log_config import configure_logging
from entrypoints.settings import AppSettings, ConfigurationError, load_settings

log = structlog.get_logger("dealbooks.cli")

EMULATORS = ("quickbooks", "pipedrive")
DEMO_COMPANIES = ("us", "uk")

_CONFIGURATION = (
    "Configured by environment variables (README, Configuration), among them:\n"
    "  DEALBOOKS_ENV           development (default) or production\n"
    "  DEALBOOKS_DATABASE_URL  postgresql://...; unset: embedded Postgres in DEALBOOKS_DATA_DIR\n"
    "  DEALBOOKS_LOG_LEVEL     INFO (default); DEALBOOKS_LOG_FORMAT json or console\n"
    "  OTEL_EXPORTER_OTLP_ENDPOINT  send traces there (OTLP/HTTP); unset: no tracing"
)
_SERVE_CONFIGURATION = (
    f"{_CONFIGURATION}\n"
    "  DEALBOOKS_BIND_HOST     127.0.0.1; DEALBOOKS_GRPC_PORT 50051; DEALBOOKS_HTTP_PORT 8080\n"
    "  DEALBOOKS_WORKER_CONCURRENCY  jobs run at once (4)"
)


def package_version() -> str:
    """The installed distribution's version, else the one pyproject.toml declares (a checkout
    run with PYTHONPATH=src and never installed)."""
    try:
        return metadata.version("dealbooks")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dealbooks",
        description="Create QuickBooks Online invoices from Pipedrive deals.",
        epilog="`dealbooks COMMAND --help` shows a command's own options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, width=88),
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command(
        "serve",
        "gRPC API + HTTP gateway + a job worker",
        "Migrate the database, then serve the gRPC API and the HTTP gateway (OAuth, webhooks, "
        "UI, /healthz, /readyz, /metrics) and run a job worker, until SIGTERM or SIGINT.",
        _SERVE_CONFIGURATION,
    )
    command(
        "worker",
        "a job worker only",
        "Migrate the database, then run a job worker (no API) until SIGTERM or SIGINT; run as "
        "many as the load needs beside `dealbooks serve`.",
        f"{_CONFIGURATION}\n  DEALBOOKS_WORKER_CONCURRENCY  jobs run at once (4)",
    )
    command(
        "migrate",
        "apply the database migrations and exit",
        "Apply the database migrations (a release step) and exit.",
        _CONFIGURATION,
    )
    demo = command(
        "demo",
        "everything for a local demo (what `make run` starts)",
        "Start an embedded Postgres, both vendor emulators seeded with a demo company, the "
        "service connected to them and a Pipedrive-like deal page, then print a tour.",
        _SERVE_CONFIGURATION,
    )
    demo.add_argument(
        "--quickbooks",
        choices=DEMO_COMPANIES,
        default=None,
        help="the QuickBooks company to connect: us (automated sales tax) or uk (VAT codes, "
        "GBP, EUR added) (default: $DEALBOOKS_DEMO_QUICKBOOKS or us)",
    )
    demo.add_argument(
        "--quickbooks-port",
        type=int,
        help="the QuickBooks emulator's port (default: $DEALBOOKS_DEMO_QUICKBOOKS_PORT or 8089)",
    )
    demo.add_argument(
        "--pipedrive-port",
        type=int,
        help="the Pipedrive emulator's port (default: $DEALBOOKS_DEMO_PIPEDRIVE_PORT or 8091)",
    )
    emulator = commands.add_parser(
        "emulator",
        help="a vendor emulator on its own",
        description="Run a vendor API emulator until SIGTERM or SIGINT.",
        epilog="`dealbooks emulator NAME --help` shows the emulator's options.",
    )
    emulator.add_argument("name", choices=EMULATORS, help="which emulator")
    # The emulator parses the rest itself (its module is imported only when it runs, so the
    # other commands do not pay for loading both emulators).
    emulator.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


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
        await migrate.upgrade(engine, secret_key=settings.secret_key)
        log.info("database.migrated")
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    return 0


def _emulator(name: str, argv: list[str]) -> int:
    emulator = importlib.import_module(f"emulators.{name}.cli")
    return int(emulator.main(argv, prog=f"dealbooks emulator {name}"))


def _demo_defaults(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The demo's options left out take the environment's values (as before the options)."""
    env = os.environ
    if args.quickbooks is None:
        args.quickbooks = env.get("DEALBOOKS_DEMO_QUICKBOOKS", "us").strip().lower()
        if args.quickbooks not in DEMO_COMPANIES:
            parser.error(f"DEALBOOKS_DEMO_QUICKBOOKS must be us or uk, not {args.quickbooks!r}")
    for option, variable, default in (
        ("quickbooks_port", "DEALBOOKS_DEMO_QUICKBOOKS_PORT", 8089),
        ("pipedrive_port", "DEALBOOKS_DEMO_PIPEDRIVE_PORT", 8091),
    ):
        if getattr(args, option) is None:
            raw = env.get(variable) or str(default)
            if not raw.isdigit():
                parser.error(f"{variable} must be a port number, not {raw!r}")
            setattr(args, option, int(raw))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "emulator":
        return _emulator(args.name, args.args)
    if args.command == "demo":
        _demo_defaults(parser, args)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"dealbooks: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    tracing = None
    if settings.otlp_traces_endpoint is not None:
        from entrypoints.tracing import start_tracing

        tracing = start_tracing(settings.otlp_traces_endpoint)
        log.info("tracing.started", otlp_host=urlsplit(settings.otlp_traces_endpoint).hostname)
    try:
        return _run(args, settings)
    finally:
        if tracing is not None:
            tracing.stop()


def _run(args: argparse.Namespace, settings: AppSettings) -> int:
    if args.command in ("serve", "worker"):
        return asyncio.run(_serve(settings, api=args.command == "serve"))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    from entrypoints.demo import run_demo

    return asyncio.run(
        run_demo(
            settings,
            quickbooks=args.quickbooks,
            quickbooks_port=args.quickbooks_port,
            pipedrive_port=args.pipedrive_port,
        )
    )
