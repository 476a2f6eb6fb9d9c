"""Timing helpers, the results table and bench/results.json."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results.json"


@dataclass
class Figure:
    figure: str
    value: float
    unit: str
    goal: str = ""
    baseline: float | None = None
    ratio: float | None = None
    note: str = ""


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def latencies(
    call: Callable[[], Awaitable[object]], count: int, *, gap: float = 0.0
) -> list[float]:
    """Sequential calls, ``gap`` seconds apart (not counted); milliseconds each."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
        if gap:
            await asyncio.sleep(gap)
    return samples


async def throughput(
    call: Callable[[], Awaitable[object]], *, concurrency: int, seconds: float
) -> float:
    """Calls per second from ``concurrency`` concurrent loops for ``seconds``."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The machine's Postgres processes (by their name: the bench's database, whether the
    embedded one or the one it was given, and any other on the machine)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return pids


class CpuMeter:
    """CPU seconds each role's processes use from :meth:`start` to :meth:`stop`. A role's
    processes are listed at each reading, so a Postgres backend started meanwhile counts from
    its start; one that ended meanwhile is not counted."""

    def __init__(self, roles: Callable[[], dict[str, list[int]]]) -> None:
        self._roles = roles
        self._start: dict[str, dict[int, float]] = {}

    def _read(self) -> dict[str, dict[int, float]]:
        read: dict[str, dict[int, float]] = {}
        for role, pids in self._roles().items():
            read[role] = {}
            for pid in pids:
                try:
                    read[role][pid] = cpu_seconds(pid)
                except OSError:
                    continue
        return read

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        used = {}
        for role, now in self._read().items():
            before = self._start.get(role, {})
            used[role] = sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())
        return used


async def settle(
    *pids: int, busy: float = 0.1, quiet_seconds: int = 3, limit: float = 600.0
) -> float:
    """Wait until the processes have used less than ``busy`` of a core in each of
    ``quiet_seconds`` consecutive seconds (their background jobs done), at most ``limit`` s;
    return the seconds waited. Asks nothing of the service, so it holds for any version."""
    started = time.perf_counter()
    quiet = 0
    used = sum(cpu_seconds(pid) for pid in pids)
    while quiet < quiet_seconds and time.perf_counter() - started < limit:
        await asyncio.sleep(1.0)
        now = sum(cpu_seconds(pid) for pid in pids)
        quiet = quiet + 1 if now - used < busy else 0
        used = now
    return time.perf_counter() - started


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def write(figures: list[Figure], *, only: str | tuple[str, ...] | None = None) -> None:
    """All the figures; with ``only`` (the prefix of one bench's figures, or the names of
    several) the file's other figures are kept and those replaced (``python -m bench <name>``)."""
    if only is not None and RESULTS.exists():
        kept = [
            Figure(**f)
            for f in json.loads(RESULTS.read_text())["figures"]
            if not f["figure"].startswith(only)
        ]
        figures = kept + figures
    payload = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "figures": [asdict(f) for f in figures],
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "unit", "baseline", "ratio", "goal")]
    for f in figures:
        rows.append(
            (
                f.figure,
                f"{f.value:,.2f}",
                f.unit,
                "" if f.baseline is None else f"{f.baseline:,.2f}",
                "" if f.ratio is None else f"{f.ratio:.2f}",
                f.goal,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
