"""``python -m emulators.quickbooks``: run the emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from .app import create_app
from .config import EmulatorConfig


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog=prog or "emulators.quickbooks", description="QuickBooks Online emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--auto-approve", action="store_true", help="skip the consent page")
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        help="allowed OAuth redirect URI (repeatable)",
    )
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-verifier-token", default=defaults.webhook_verifier_token)
    parser.add_argument(
        "--webhook-format", choices=["classic", "cloudevents"], default=defaults.webhook_format
    )
    parser.add_argument(
        "--refresh-grace-seconds", type=float, default=defaults.refresh_grace_seconds
    )
    parser.add_argument("--public-base-url", help="base URL advertised in discovery documents")
    parser.add_argument("--no-seed", action="store_true", help="start without demo companies")
    parser.add_argument(
        "--coreplus-quota",
        type=int,
        help="CorePlus (read) calls a month for the app, then 429 (Builder tier: 500000)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_verifier_token=args.webhook_verifier_token,
        webhook_url=args.webhook_url,
        webhook_format=args.webhook_format,
        auto_approve=args.auto_approve,
        refresh_grace_seconds=args.refresh_grace_seconds,
        public_base_url=args.public_base_url,
        seed_demo=not args.no_seed,
        coreplus_monthly_quota=args.coreplus_quota,
    )
    if args.redirect_uris:
        config.redirect_uris = list(args.redirect_uris)
    return config


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    runner = web.AppRunner(create_app(config), handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    logging.getLogger(__name__).info("QuickBooks emulator on http://%s:%s", host, port)
    print(f"QuickBooks emulator listening on http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``prog``: the name the help shows (``dealbooks emulator quickbooks`` when run from there)."""
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve(config_from_args(args), args.host, args.port))
    return 0
