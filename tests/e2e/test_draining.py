"""Stopping a replica behind a load balancer: not ready first, still serving, then gone."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text

from entrypoints.service import Service
from entrypoints.settings import AppSettings

pytestmark = pytest.mark.e2e


@contextlib.asynccontextmanager
async def started(
    app_settings: AppSettings, fakes: dict[str, object], **changed: object
) -> AsyncIterator[Service]:
    """A service of its own on free ports, with ``changed`` settings; stopped unless the test
    stopped it."""
    service = Service(
        dataclasses.replace(app_settings, **changed), grpc_port=0, http_port=0, overrides=fakes
    )
    await service.start()
    try:
        yield service
    finally:
        if not service._draining:
            await service.stop()


async def test_a_stopping_replica_turns_unready_while_it_still_serves(
    app_settings: AppSettings, pg_engine: object, fakes: dict[str, object]
) -> None:
    """Before, /readyz answered 200 until the HTTP listener closed, after gRPC had stopped."""
    async with started(app_settings, fakes, drain_seconds=2.0) as service:
        assert service.grpc is not None
        base = f"http://127.0.0.1:{service.http_port_bound}"
        async with (
            aiohttp.ClientSession(base) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel,
        ):
            health = health_pb2_grpc.HealthStub(channel)
            async with http.get("/readyz") as resp:
                assert resp.status == 200
            stopping = asyncio.create_task(service.stop())
            await asyncio.sleep(0.3)
            async with http.get("/readyz") as resp:
                assert resp.status == 503
                assert (await resp.json())["status"] == "draining"
            check = await health.Check(health_pb2.HealthCheckRequest())
            assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
            async with http.get("/healthz") as resp:  # still serving meanwhile
                assert resp.status == 200
            await asyncio.wait_for(stopping, 15)


async def test_the_pool_size_bounds_each_of_a_process_database_pools(
    app_settings: AppSettings, pg_engine: object, fakes: dict[str, object]
) -> None:
    async with started(app_settings, fakes, database_pool_size=3) as service:
        assert service.container is not None
        gateways = service.container.gateways
        engine = gateways.engine()
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        assert gateways.invoice_views()._pool_size == 3
        assert gateways.jobs_app().connector._pool_args["max_size"] == 3  # type: ignore[attr-defined]
