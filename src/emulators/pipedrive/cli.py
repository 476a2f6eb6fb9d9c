"""`python -m emulators.pipedrive` / `dealbooks emulator pipedrive`: run the emulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiohttp import web

from .app import create_app
from .config import EmulatorConfig


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog=prog or "emulators.pipedrive", description="Run the local Pipedrive API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--auto-approve", action="store_true", help="skip the OAuth consent page")
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument("--callback-url", default=defaults.callback_url)
    parser.add_argument("--jwt-secret", default=defaults.jwt_secret)
    parser.add_argument("--public-base-url", default=None, help="returned as api_domain")
    parser.add_argument("--no-seed", action="store_true", help="start without the demo company")
    return parser


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"Pipedrive emulator listening on http://{host}:{port}", flush=True)
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
    """``prog``: the name the help shows (``dealbooks emulator pipedrive`` when run from there)."""
    args = build_parser(prog).parse_args(argv)
    config = EmulatorConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        callback_url=args.callback_url,
        jwt_secret=args.jwt_secret,
        auto_approve=args.auto_approve,
        public_base_url=args.public_base_url,
        seed_demo=not args.no_seed,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
