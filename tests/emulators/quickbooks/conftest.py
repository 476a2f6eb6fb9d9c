"""Fixtures: a real emulator on 127.0.0.1 (aiohttp TestServer) and a Bearer-authenticated client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

SRC = Path(__file__).resolve().parents[3] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from emulators.quickbooks.app import create_app  # noqa: E402
from emulators.quickbooks.config import EmulatorConfig, Limits  # noqa: E402

US = "9130354840911234"
UK = "9130354840922468"


class Api:
    """A thin QBO client: what any third party would write from Intuit's docs."""

    def __init__(self, client: TestClient, realm: str, token: str) -> None:
        self.client = client
        self.realm = realm
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path}"

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        params.setdefault("minorversion", "75")
        async with self.client.get(self.url(path), params=params, headers=self.headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def post(self, path: str, body: Any, **params: Any) -> tuple[int, Any]:
        params.setdefault("minorversion", "75")
        async with self.client.post(
            self.url(path), params=params, json=body, headers=self.headers
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def query(self, text: str) -> tuple[int, Any]:
        return await self.get("query", query=text)

    async def create_invoice(self, **extra: Any) -> dict[str, Any]:
        body = {
            "CustomerRef": {"value": "1"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 100.0,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
            **extra,
        }
        status, data = await self.post("invoice", body)
        assert status == 200, data
        return data["Invoice"]


def make_config(**overrides: Any) -> EmulatorConfig:
    config = EmulatorConfig(
        # Generous limits so functional tests are not throttled; throttle tests set their own.
        limits=Limits(requests_per_second=1000, requests_per_minute=10000),
        refresh_grace_seconds=0,
        webhook_aggregation_seconds=0.01,
        webhook_retry_scale=0.001,
        hang_seconds=5,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def config() -> EmulatorConfig:
    return make_config()


@pytest.fixture
async def client(config: EmulatorConfig) -> AsyncIterator[TestClient]:
    server = TestServer(create_app(config), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def mint(client: TestClient) -> Callable[..., Any]:
    async def _mint(realm: str = US, scopes: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"realm_id": realm}
        if scopes:
            body["scopes"] = scopes
        async with client.post("/_emulator/tokens", json=body) as resp:
            assert resp.status == 200
            return await resp.json()

    return _mint


@pytest.fixture
async def us(client: TestClient, mint: Callable[..., Any]) -> Api:
    tokens = await mint(US)
    return Api(client, US, tokens["access_token"])


@pytest.fixture
async def uk(client: TestClient, mint: Callable[..., Any]) -> Api:
    tokens = await mint(UK)
    return Api(client, UK, tokens["access_token"])


__all__ = ["UK", "US", "Api", "Limits", "make_config"]
