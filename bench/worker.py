"""The bench's job worker, in a process of its own as deployed (``dealbooks worker``): the
service process answers calls, this one runs the background jobs (deal follow-ups, QuickBooks
change notices, catch-up). Arguments: the database URL and both emulators' URLs. Runs until
stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace

from bench.server import service_settings
from entrypoints.log_config import configure_logging
from entrypoints.service import Service


async def main() -> None:
    configure_logging("WARNING", "json")
    urls = json.loads(sys.argv[1])
    settings = replace(service_settings(urls), database_url=urls["database_url"])
    worker = Service(settings, serve_api=False)
    await worker.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await worker.stop()


if __name__ == "__main__":
    asyncio.run(main())
