"""The system under test, in its own process: the service (embedded or given Postgres) and a
bare grpc.aio health server as the baseline, the demo company and the bench's companies
(``bench.fleet``) connected. Both emulators run in a third process
(``bench.emulators``), as QuickBooks and Pipedrive run on machines of their own.

Prints one JSON line with the ports, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from bench import fleet
from entrypoints.emulated import Emulators
from entrypoints.log_config import configure_logging
from entrypoints.service import Service
from entrypoints.settings import AppSettings, load_settings, parse_api_tokens

TOKEN = "bench-token-for-every-company"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_settings(urls: dict[str, str]) -> AppSettings:
    """The service's settings in the bench: the emulators', one token for every company."""
    settings = replace(load_settings(), api_tokens=parse_api_tokens(f"{TOKEN}=*"))
    return replace(
        settings,
        quickbooks=replace(settings.quickbooks, base_url=urls["quickbooks_url"]),
        pipedrive=replace(settings.pipedrive, oauth_url=urls["pipedrive_url"]),
    )


async def _relay(stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        sys.stderr.buffer.write(line)
        sys.stderr.flush()


async def main() -> None:
    configure_logging("WARNING", "json")
    with tempfile.TemporaryDirectory(prefix="dealbooks-bench-") as tmp:
        http_port = _free_port()
        emulator_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.emulators",
            f"http://127.0.0.1:{http_port}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert emulator_process.stdout is not None
        urls = json.loads(await emulator_process.stdout.readline())
        # Only their URLs here: connecting the demo company goes through their admin API.
        emulators = Emulators(**urls)
        settings = replace(
            service_settings(urls),
            database_url=os.environ.get("DEALBOOKS_BENCH_DATABASE_URL") or None,
            data_dir=Path(tmp),
        )
        # Calls here, jobs in a worker process of their own, as deployed.
        service = Service(settings, grpc_port=0, http_port=http_port, run_worker=False)
        await service.start()
        assert service.container is not None
        assert service.grpc is not None
        database_url = str(service.container.config.database_url())
        worker_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.worker",
            json.dumps({**urls, "database_url": database_url}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert worker_process.stdout is not None
        await worker_process.stdout.readline()  # ready
        # Then its log (warnings and errors), relayed: a pipe nobody reads fills up and stops
        # the worker at its next log line.
        relay = asyncio.get_running_loop().create_task(_relay(worker_process.stdout))
        token_store = service.container.gateways.token_store()
        await emulators.connect(token_store)
        companies = int(os.environ.get("DEALBOOKS_BENCH_COMPANIES") or fleet.COMPANIES)
        companies_fleet = await fleet.build(emulators, token_store, companies)
        bare = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), bare)
        bare_port = bare.add_insecure_port("127.0.0.1:0")
        await bare.start()
        print(
            json.dumps(
                {
                    "grpc_port": service.grpc.port,
                    "http_port": service.http_port_bound,
                    "bare_port": bare_port,
                    "quickbooks_url": emulators.quickbooks_url,
                    "pipedrive_url": emulators.pipedrive_url,
                    "pid": os.getpid(),
                    "emulators_pid": emulator_process.pid,
                    "worker_pid": worker_process.pid,
                    "database_url": database_url,
                    "fleet": companies_fleet,
                }
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await bare.stop(0)
        assert worker_process.stdin is not None
        worker_process.stdin.close()
        await worker_process.wait()
        await relay
        await service.stop()
        assert emulator_process.stdin is not None
        emulator_process.stdin.close()
        await emulator_process.wait()


if __name__ == "__main__":
    asyncio.run(main())
