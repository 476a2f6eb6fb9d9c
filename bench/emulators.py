"""The QuickBooks and Pipedrive emulators in a process of their own, answering without
throttling: QuickBooks and Pipedrive do their work on their own machines, so the emulators'
CPU must not be counted as the service's. Prints one JSON line with their URLs, then serves
until stdin closes.

    python -m bench.emulators <the service's public URL>
"""

from __future__ import annotations

import asyncio
import json
import sys

from emulators.quickbooks.config import Limits
from entrypoints.emulated import Emulators
from entrypoints.log_config import configure_logging

UNTHROTTLED = Limits(
    requests_per_minute=10**9, requests_per_second=10**9, concurrent_requests=10**6
)


async def main(public_url: str) -> None:
    configure_logging("WARNING", "json")
    emulators = Emulators(quickbooks_limits=UNTHROTTLED, public_url=public_url)
    await emulators.start()
    print(
        json.dumps(
            {"quickbooks_url": emulators.quickbooks_url, "pipedrive_url": emulators.pipedrive_url}
        ),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await emulators.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
