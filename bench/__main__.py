"""`python -m bench`: start the real service (embedded or given Postgres), run every benchmark."""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
from dataclasses import replace
from pathlib import Path

from bench import bench_settings
from bench.harness import Figure, table, write
from entrypoints.bootstrap import Service
from entrypoints.log_config import configure_logging
from entrypoints.settings import load_settings, parse_api_tokens

TOKEN = "bench-token-for-every-company"


async def main() -> None:
    configure_logging("WARNING", "json")
    with tempfile.TemporaryDirectory(prefix="dealbooks-bench-") as tmp:
        settings = replace(
            load_settings(),
            database_url=os.environ.get("DEALBOOKS_BENCH_DATABASE_URL") or None,
            data_dir=Path(tmp),
            api_tokens=parse_api_tokens(f"{TOKEN}=*"),
        )
        service = Service(settings, grpc_port=0, http_port=0)
        await service.start()
        try:
            figures = await bench_settings.run(service, TOKEN)
        finally:
            await service.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(
        Figure("peak RSS of the benchmark process", rss_mb, "MiB", note="service + clients")
    )
    write(figures)
    print(table(figures))


if __name__ == "__main__":
    asyncio.run(main())
