"""Burst window (429 + retry-after) and the company's daily token budget."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulators.pipedrive.config import EmulatorConfig
from emulators.pipedrive.state import Emulator


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(burst_limit=3, api_token_burst_limit=2, daily_token_budget=100)


async def test_the_burst_window_refuses_with_429_and_retry_after(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    for _ in range(3):
        assert (await client.get("/api/v2/deals/1", headers=auth)).status == 200
    refused = await client.get("/api/v2/deals/1", headers=auth)
    assert refused.status == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["retry-after"]) >= 1
    body = await refused.json()
    assert body["success"] is False
    assert set(body) == {"success", "error", "error_info", "data", "additional_data"}
    emulator.clock.advance(2.1)
    assert (await client.get("/api/v2/deals/1", headers=auth)).status == 200


async def test_the_burst_window_is_per_token(
    client: TestClient, auth: dict[str, str], api_token: str
) -> None:
    for _ in range(3):
        await client.get("/api/v2/deals/1", headers=auth)
    assert (await client.get("/api/v2/deals/1", headers=auth)).status == 429
    other = await client.get("/api/v2/deals/1", headers={"x-api-token": api_token})
    assert other.status == 200
    assert other.headers["x-ratelimit-limit"] == "2"


async def test_the_daily_budget_is_spent_by_token_cost_and_resets_at_midnight(
    client: TestClient, api_token: str, emulator: Emulator, demo: dict[str, Any]
) -> None:
    auth = {"x-api-token": api_token}
    # 10 tokens per deal-products read; budget 100.
    for _ in range(10):
        emulator.clock.advance(1)
        response = await client.get("/api/v2/deals/1/products", headers=auth)
        assert response.status == 200
    emulator.clock.advance(1)
    refused = await client.get("/api/v2/deals/1", headers=auth)
    assert refused.status == 429
    assert refused.headers["x-daily-ratelimit-token-remaining"] == "0"
    assert int(refused.headers["retry-after"]) > 2
    budget = await (await client.get(f"/_emulator/companies/{demo['company_id']}/budget")).json()
    assert budget["remaining"] == 0
    emulator.clock.advance(86_400)
    assert (await client.get("/api/v2/deals/1", headers=auth)).status == 200
