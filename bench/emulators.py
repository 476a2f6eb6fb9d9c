"""The QuickBooks and Pipedrive emulators in a process of their own: QuickBooks and Pipedrive
do their work on their own machines, so the emulators' CPU must not be counted as the
service's. Prints one JSON line with their URLs, then serves until stdin closes.

    python -m bench.emulators <the service's public URL> [--real-limits]

By default QuickBooks answers without throttling. With ``--real-limits`` it keeps its default
per-realm limits (QBO's: 500 requests a minute, 10 a second, 10 at once) and counts, per realm,
the requests it admitted and the ones it refused with 429; when stdin closes it prints a second
JSON line: per realm, the calls admitted, the 429s answered, and the most calls admitted in
any one-second and any sixty-second window (``bench.bench_scale_out``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter, defaultdict, deque
from typing import Any

from emulators.quickbooks.app import EMULATOR
from emulators.quickbooks.config import Limits
from emulators.quickbooks.limits import Throttle
from entrypoints.emulated import Emulators
from entrypoints.log_config import configure_logging

UNTHROTTLED = Limits(
    requests_per_minute=10**9, requests_per_second=10**9, concurrent_requests=10**6
)


class ThrottleTally:
    """Watches a Throttle's decisions (the emulator's own, unchanged): per realm, when each
    request was admitted and how many were refused."""

    def __init__(self, throttle: Throttle) -> None:
        self.admitted: defaultdict[str, list[float]] = defaultdict(list)
        self.refused: Counter[str] = Counter()
        enter = throttle.enter

        def counted(realm_id: str, *, batch: bool = False) -> bool:
            admitted = enter(realm_id, batch=batch)
            if admitted:
                self.admitted[realm_id].append(time.monotonic())
            else:
                self.refused[realm_id] += 1
            return admitted

        setattr(throttle, "enter", counted)  # noqa: B010 (an instance's method, wrapped)

    def report(self) -> dict[str, dict[str, int]]:
        realms = set(self.admitted) | set(self.refused)
        return {
            realm: {
                "calls": len(self.admitted[realm]),
                "throttled": self.refused[realm],
                "max_second": _most_in_window(self.admitted[realm], 1.0),
                "max_minute": _most_in_window(self.admitted[realm], 60.0),
            }
            for realm in sorted(realms)
        }


def _most_in_window(times: list[float], span: float) -> int:
    """The most of ``times`` (sorted) in any window of ``span`` seconds (half-open, as the
    emulator's own windows)."""
    window: deque[float] = deque()
    most = 0
    for at in times:
        window.append(at)
        while window[0] <= at - span:
            window.popleft()
        most = max(most, len(window))
    return most


async def main(public_url: str, real_limits: bool) -> None:
    configure_logging("WARNING", "json")
    emulators = Emulators(
        quickbooks_limits=Limits() if real_limits else UNTHROTTLED, public_url=public_url
    )
    await emulators.start()
    tally: ThrottleTally | None = None
    if real_limits:
        runner = emulators._runners["quickbooks"]  # the bench looks inside
        tally = ThrottleTally(runner.app[EMULATOR].throttle)
    print(
        json.dumps(
            {"quickbooks_url": emulators.quickbooks_url, "pipedrive_url": emulators.pipedrive_url}
        ),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    report: dict[str, Any] = {"realms": tally.report() if tally is not None else {}}
    print(json.dumps(report), flush=True)
    await emulators.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--real-limits" in sys.argv[2:]))
