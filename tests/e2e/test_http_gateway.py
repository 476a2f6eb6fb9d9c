"""The aiohttp gateway's health, readiness, metrics and problem+json errors."""

from __future__ import annotations

import aiohttp
import pytest

from application.reasons import Reason
from entrypoints.service import Service

pytestmark = pytest.mark.e2e


@pytest.fixture
async def http(service: Service) -> aiohttp.ClientSession:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{service.http_port_bound}") as session:
        yield session


async def test_healthz_is_ok(http: aiohttp.ClientSession) -> None:
    async with http.get("/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}
        assert resp.headers["x-request-id"]


async def test_readyz_checks_the_database(http: aiohttp.ClientSession) -> None:
    async with http.get("/readyz") as resp:
        assert resp.status == 200
        assert (await resp.json())["checks"]["database"] == "ok"


async def test_metrics_are_prometheus_text(http: aiohttp.ClientSession) -> None:
    await http.get("/readyz")
    async with http.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        body = await resp.text()
    assert "dealbooks_http_requests_total" in body
    assert "dealbooks_database_up 1.0" in body
    assert "dealbooks_quickbooks_notices_pending 0.0" in body
    assert "dealbooks_sync_lag_seconds" in body


async def test_an_unknown_route_is_a_problem_json_404(http: aiohttp.ClientSession) -> None:
    async with http.get("/nope", headers={"x-request-id": "abc-1"}) as resp:
        assert resp.status == 404
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        body = await resp.json()
    assert body["status"] == 404
    assert body["reason"] == Reason.ROUTE_NOT_FOUND
    assert body["instance"] == "/nope"
    assert body["request_id"] == "abc-1"


async def test_a_wrong_method_is_a_problem_json_405(http: aiohttp.ClientSession) -> None:
    async with http.post("/healthz") as resp:
        assert resp.status == 405
        assert (await resp.json())["reason"] == Reason.METHOD_NOT_ALLOWED


@pytest.mark.parametrize("path", ["/healthz", "/ui/settings", "/oauth/quickbooks/callback"])
async def test_trace_is_refused_and_echoes_nothing(http: aiohttp.ClientSession, path: str) -> None:
    # Intuit's security review: TRACE off (it would echo the request, cookies included, back).
    async with http.request("TRACE", path, headers={"Cookie": "secret=trace-me"}) as resp:
        assert resp.status == 405
        assert "trace-me" not in await resp.text()


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        # The signature covers the raw body, so the body is read: past 1 MiB it is refused.
        ("/webhooks/quickbooks", {"intuit-signature": "x" * 44}, 413),
        # Credentials are checked first: the body is never read.
        ("/webhooks/pipedrive", {"Authorization": "Basic ZGVhbGJvb2tzOng="}, 401),
        ("/api/v1/InvoiceService/ListInvoices", {"content-type": "application/json"}, 401),
    ],
)
async def test_an_oversized_body_is_refused_and_nothing_is_stored(
    http: aiohttp.ClientSession, path: str, headers: dict[str, str], status: int
) -> None:
    body = b'{"eventNotifications": [' + b" " * (2 * 1024 * 1024) + b"]}"

    async with http.post(path, data=body, headers=headers) as response:
        assert response.status == status
        assert response.content_type in ("application/problem+json", "application/json")

    metrics = await (await http.get("/metrics")).text()
    assert "dealbooks_quickbooks_notices_pending 0.0" in metrics  # nothing was stored


async def test_an_oversized_pipedrive_token_is_401(http: aiohttp.ClientSession) -> None:
    async with http.get(
        "/api/v1/me", headers={"Authorization": "Bearer " + "a" * 6_000 + ".b.c"}
    ) as response:
        assert response.status == 401
        assert response.content_type == "application/problem+json"


async def test_a_header_past_the_servers_limit_is_refused_before_the_app(
    http: aiohttp.ClientSession,
) -> None:
    """Past aiohttp's 8 KiB header field limit the HTTP parser refuses the request itself
    (400, or 431 in aiohttp versions that name it): no handler, so never a 500."""
    async with http.get(
        "/api/v1/me", headers={"Authorization": "Bearer " + "a" * 20_000 + ".b.c"}
    ) as response:
        assert response.status in (400, 431)
