"""Authentication, scopes, rate-limit headers, burst 429 and the daily token budget."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from emulators.pipedrive.state import Emulator

UNAUTHORIZED = {
    "success": False,
    "error": "unauthorized access",
    "errorCode": 401,
    "error_info": "Please check developers.pipedrive.com",
}


async def test_requests_without_or_with_a_bad_token_get_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"x-api-token": "nope"}):
        response = await client.get("/api/v2/deals/1", headers=headers)
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


async def test_api_token_works_as_header_and_as_query_parameter(
    client: TestClient, api_token: str
) -> None:
    by_header = await client.get("/api/v2/deals/1", headers={"x-api-token": api_token})
    by_query = await client.get(f"/v1/users/me?api_token={api_token}")
    assert by_header.status == by_query.status == 200
    assert by_query.headers["x-daily-requests-left"] == "10000"


async def test_an_expired_access_token_gets_401(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    assert (await client.get("/api/v2/deals/1", headers=auth)).status == 200
    emulator.clock.advance(3600)
    response = await client.get("/api/v2/deals/1", headers=auth)
    assert response.status == 401


async def test_a_token_without_the_scope_gets_scope_mismatch(client: TestClient) -> None:
    minted = await (await client.post("/_emulator/tokens", json={"scopes": "base"})).json()
    headers = {"Authorization": f"Bearer {minted['access_token']}"}
    assert (await client.get("/v1/users/me", headers=headers)).status == 200
    response = await client.get("/api/v2/deals/1", headers=headers)
    assert response.status == 403
    assert await response.json() == {
        "success": False,
        "error": "Scope and URL mismatch",
        "errorCode": 403,
        "error_info": "Please check developers.pipedrive.com",
    }
    read_only = await (
        await client.post("/_emulator/tokens", json={"scopes": ["deals:read", "contacts:read"]})
    ).json()
    headers = {"Authorization": f"Bearer {read_only['access_token']}"}
    assert (await client.get("/api/v2/deals/1/products", headers=headers)).status == 200
    assert (await client.patch("/api/v2/deals/1", json={}, headers=headers)).status == 403
    assert (await client.post("/api/v2/deals", json={"title": "x"}, headers=headers)).status == 403
    assert (await client.post("/v1/notes", json={}, headers=headers)).status == 403
    assert (await client.get("/v1/webhooks", headers=headers)).status == 403


async def test_every_api_response_carries_rate_limit_headers(
    client: TestClient, auth: dict[str, str]
) -> None:
    first = await client.get("/api/v2/deals/1", headers=auth)
    second = await client.get("/api/v2/deals/999", headers=auth)
    assert first.headers["x-ratelimit-limit"] == "160"
    assert first.headers["x-ratelimit-remaining"] == "159"
    assert second.headers["x-ratelimit-remaining"] == "158"
    assert first.headers["x-ratelimit-reset"] == "2"
    assert "x-daily-requests-left" not in first.headers  # api_token requests only
    spent = int(first.headers["x-daily-ratelimit-token-limit"]) - int(
        second.headers["x-daily-ratelimit-token-remaining"]
    )
    assert spent == 2  # GET deal costs 1 token in v2
