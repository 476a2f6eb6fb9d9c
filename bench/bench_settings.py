"""Settings reads through the real service vs a bare grpc.aio server, measured in the same run."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench.harness import Figure, latencies, median, percentile, throughput
from dealbooks.v1 import settings_service_pb2, settings_service_pb2_grpc
from entrypoints.bootstrap import Service

CONCURRENCY = 20
SECONDS = 3.0
SAMPLES = 300


async def _bare_server() -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def run(service: Service, token: str) -> list[Figure]:
    assert service.grpc is not None
    bare, bare_port = await _bare_server()
    try:
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as ours,
            grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as theirs,
        ):
            settings = settings_service_pb2_grpc.SettingsServiceStub(ours)
            bare_health = health_pb2_grpc.HealthStub(theirs)
            metadata = (("authorization", f"Bearer {token}"),)
            request = settings_service_pb2.GetSettingsRequest(name="companies/1001/settings")

            async def get_settings() -> object:
                return await settings.GetSettings(request, metadata=metadata)

            async def bare_call() -> object:
                return await bare_health.Check(health_pb2.HealthCheckRequest())

            await throughput(get_settings, concurrency=4, seconds=0.5)  # warm up both
            await throughput(bare_call, concurrency=4, seconds=0.5)
            ours_lat = await latencies(get_settings, SAMPLES)
            bare_lat = await latencies(bare_call, SAMPLES)
            ours_rps = await throughput(get_settings, concurrency=CONCURRENCY, seconds=SECONDS)
            bare_rps = await throughput(bare_call, concurrency=CONCURRENCY, seconds=SECONDS)
    finally:
        await bare.stop(0)
    return [
        Figure(
            "GetSettings p50 latency",
            median(ours_lat),
            "ms",
            baseline=median(bare_lat),
            ratio=median(ours_lat) / median(bare_lat),
            note=f"{SAMPLES} sequential calls; baseline: bare grpc.aio health Check",
        ),
        Figure(
            "GetSettings p99 latency",
            percentile(ours_lat, 99),
            "ms",
            baseline=percentile(bare_lat, 99),
            ratio=percentile(ours_lat, 99) / percentile(bare_lat, 99),
        ),
        Figure(
            "GetSettings throughput",
            ours_rps,
            "req/s",
            goal="ratio >= 0.5 vs bare server",
            baseline=bare_rps,
            ratio=ours_rps / bare_rps,
            note=f"{CONCURRENCY} concurrent clients for {SECONDS:.0f} s, one server process",
        ),
    ]
