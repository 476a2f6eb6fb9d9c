"""`dealbooks serve` as a real process: it starts, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(port: int, deadline: float) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise AssertionError("the service did not become SERVING in time")


def test_serve_stops_within_10_seconds_of_sigterm_with_no_error(
    database_url: str, tmp_path: Path
) -> None:
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "DEALBOOKS_DATABASE_URL": database_url,
        "DEALBOOKS_GRPC_PORT": str(grpc_port),
        "DEALBOOKS_HTTP_PORT": str(http_port),
        "DEALBOOKS_LOG_FORMAT": "json",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "serve"], env=env, stdout=log, stderr=log
        )
        try:
            wait_serving(grpc_port, time.monotonic() + 30)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            stopped_in = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert code == 0
    assert stopped_in < 10
    assert "service.started" in events
    assert "service.stopped" in events
    assert not [line for line in lines if line.get("level") in ("error", "critical")]
