"""`make bench`: every benchmark against the real service in its own process, the results table
printed and written to bench/results.json. `python -m bench <name>` runs one benchmark that needs
no service process of the driver's (`metered_reads`, `fleet_month`, `scale_out`: the last
starts its own) and replaces only its figures in the file; `python -m bench service` runs only
the ones against the service's process (reads, creates, status freshness, webhooks)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bench import (
    bench_bulk,
    bench_fleet_month,
    bench_invoices,
    bench_metered_reads,
    bench_pipedrive_burst,
    bench_quickbooks_throughput,
    bench_scale_out,
    bench_sync,
    bench_sync_reads,
)
from bench.harness import Figure, table, write
from bench.server import TOKEN
from entrypoints.log_config import configure_logging


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def service_benches() -> list[Figure]:
    """The benchmarks that call the service in a process of its own (bench/server.py)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, ["src", "."]))}
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.server",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert server.stdout is not None
        ports = json.loads(await server.stdout.readline())
        figures: list[Figure] = []
        figures += await bench_invoices.run(ports, TOKEN)
        figures += await bench_sync.run(ports, TOKEN)
        figures.append(
            Figure(
                "RSS of the server process after the runs",
                _rss_mib(ports["pid"]),
                "MiB",
                note="the service alone (the emulators run in a process of their own)",
            )
        )
    finally:
        if server.stdin:
            server.stdin.close()
        await asyncio.wait_for(server.wait(), 60)
    return figures


async def main() -> None:
    configure_logging("WARNING", "json")
    figures = await service_benches()
    figures += await bench_quickbooks_throughput.run()
    figures += await bench_pipedrive_burst.run()
    figures += await bench_sync_reads.run()
    figures += await bench_metered_reads.run()
    figures += await bench_fleet_month.run()
    figures += await bench_scale_out.run()
    figures += await bench_bulk.run()
    write(figures)
    print(table(figures))


#: The benchmarks that run alone (in this process, against in-process emulators), and the
#: prefix their figures share in bench/results.json.
ALONE = {
    bench_metered_reads.NAME: (bench_metered_reads.run, bench_metered_reads.PREFIX),
    bench_fleet_month.NAME: (bench_fleet_month.run, bench_fleet_month.PREFIX),
    bench_scale_out.NAME: (bench_scale_out.run, bench_scale_out.PREFIX),
    bench_bulk.NAME: (bench_bulk.run, bench_bulk.PREFIX),
}


async def main_one(name: str) -> None:
    configure_logging("WARNING", "json")
    if name == SERVICE:
        figures = await service_benches()
        write(figures, only=tuple(f.figure for f in figures))
    else:
        run, prefix = ALONE[name]
        figures = await run()
        write(figures, only=prefix)
    print(table(figures))


#: ``python -m bench service``: only the benchmarks against the service's own process (reads,
#: creates, status freshness, webhooks), their figures replaced by name.
SERVICE = "service"

if __name__ == "__main__":
    if len(sys.argv) > 1:
        if sys.argv[1] not in (*ALONE, SERVICE):
            sys.exit(f"usage: python -m bench [{' | '.join((*ALONE, SERVICE))}]")
        asyncio.run(main_one(sys.argv[1]))
    else:
        asyncio.run(main())
