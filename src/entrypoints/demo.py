"""``dealbooks demo`` (what ``make run`` starts): the service on the embedded Postgres, with the
vendor emulators beside it when they are installed, and a printed tour of what to try."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from entrypoints.settings import DEV_API_TOKEN, load_settings

log = structlog.get_logger("dealbooks.demo")

BANNER = """
dealbooks demo is running.

  HTTP gateway   {http}   (/healthz, /readyz, /metrics)
  gRPC API       {grpc}   (health and reflection open; other calls need a token)
  API token      {token}

Try it (grpcurl):
  grpcurl -plaintext {grpc} list
  grpcurl -plaintext -H 'authorization: Bearer {token}' \\
      -d '{{"name": "companies/1001/settings"}}' {grpc} dealbooks.v1.SettingsService/GetSettings
  grpcurl -plaintext -H 'authorization: Bearer {token}' -d '{{"settings": {{"name": \\
      "companies/1001/settings", "due_date_policy": {{"rule": "DUE_DATE_RULE_DAYS_AFTER_ISSUE", \\
      "days": 14}}}}, "update_mask": "due_date_policy"}}' \\
      {grpc} dealbooks.v1.SettingsService/UpdateSettings

Press Ctrl+C to stop.
"""


async def _run() -> int:
    from entrypoints.bootstrap import Service

    os.environ.setdefault("DEALBOOKS_DATA_DIR", ".data")
    settings = load_settings()
    service = Service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        assert service.grpc is not None
        host = settings.bind_host
        token = next(
            (t for t, p in settings.api_tokens.items() if p.companies is None), DEV_API_TOKEN
        )
        print(
            BANNER.format(
                http=f"http://{host}:{service.http_port_bound}",
                grpc=f"{host}:{service.grpc.port}",
                token=token,
            ),
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await service.stop()
    return 0


def run_demo() -> int:
    return asyncio.run(_run())
