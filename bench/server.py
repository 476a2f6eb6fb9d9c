"""The system under test, in its own process: the service (embedded or given Postgres) and a
bare grpc.aio health server as the baseline. Both emulators run in a third process
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

from entrypoints.bootstrap import Service
from entrypoints.emulated import Emulators
from entrypoints.log_config import configure_logging
from entrypoints.settings import load_settings, parse_api_tokens

TOKEN = "bench-token-for-every-company"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            load_settings(),
            database_url=os.environ.get("DEALBOOKS_BENCH_DATABASE_URL") or None,
            data_dir=Path(tmp),
            api_tokens=parse_api_tokens(f"{TOKEN}=*"),
        )
        settings = replace(
            settings,
            quickbooks=replace(settings.quickbooks, base_url=emulators.quickbooks_url),
            pipedrive=replace(settings.pipedrive, oauth_url=emulators.pipedrive_url),
        )
        service = Service(settings, grpc_port=0, http_port=http_port)
        await service.start()
        assert service.container is not None
        assert service.grpc is not None
        await emulators.connect(service.container.gateways.token_store())
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
                    "database_url": str(service.container.config.database_url()),
                }
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await bare.stop(0)
        await service.stop()
        assert emulator_process.stdin is not None
        emulator_process.stdin.close()
        await emulator_process.wait()


if __name__ == "__main__":
    asyncio.run(main())
