"""Fixtures for the Pipedrive emulator tests: a fresh emulator per test on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pipedrive_test_support import Receiver

from emulators.pipedrive.app import create_app
from emulators.pipedrive.config import EmulatorConfig
from emulators.pipedrive.state import EMULATOR_KEY, Emulator


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(webhook_retry_delays=(0.01, 0.01, 0.01), webhook_timeout_seconds=2)


@pytest.fixture
async def client(config: EmulatorConfig) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(config), host="127.0.0.1")) as test_client:
        yield test_client


@pytest.fixture
def emulator(client: TestClient) -> Emulator:
    return client.server.app[EMULATOR_KEY]


@pytest.fixture
def demo(emulator: Emulator) -> dict[str, Any]:
    assert emulator.demo is not None
    return emulator.demo


@pytest.fixture
async def token(client: TestClient) -> dict[str, Any]:
    response = await client.post("/_emulator/tokens", json={})
    assert response.status == 201
    return await response.json()


@pytest.fixture
def auth(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def api_token(demo: dict[str, Any]) -> str:
    return demo["users"][0]["api_token"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box: dict[str, Receiver] = {}

    async def record(request: web.Request) -> web.Response:
        rec = box["r"]
        body = await request.text()
        rec.calls.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        status = rec.statuses.pop(0) if rec.statuses else 200
        return web.Response(status=status, text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    box["r"] = Receiver(url=str(server.make_url("/hooks/pipedrive")))
    yield box["r"]
    await server.close()
