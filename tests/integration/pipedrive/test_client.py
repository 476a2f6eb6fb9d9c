"""The Pipedrive client against emulator faults: retries, 429, 401, 403, 404, 400, timeouts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aiohttp
import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.pipedrive.gateway import PipedriveCrmGateway
from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.reasons import MetadataKey, Reason, ResourceType
from domain.connection import Vendor
from tests.integration.pipedrive.support import (
    EmulatorHandle,
    connection_from_token,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
USERS_ME = "^/api/v1/users/me$"
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
    "<body><h1>Sorry, you have been blocked</h1></body></html>"
)


@dataclass
class Env:
    handle: EmulatorHandle
    gateway: PipedriveCrmGateway
    store: InMemoryTokenStore
    company_id: str
    deal_id: str


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with running_emulator() as handle, aiohttp.ClientSession() as session:
        seeded = await handle.seed()
        token = await handle.mint(seeded["company_id"])
        store = InMemoryTokenStore()
        await store.save(connection_from_token(token))
        gateway = make_gateway(
            session,
            store,
            handle.base_url,
            backoff_base=0.02,
            timeout=aiohttp.ClientTimeout(total=0.5),
        )
        await handle.admin("DELETE", "/requests")
        yield Env(handle, gateway, store, str(seeded["company_id"]), str(seeded["deals"][0]))


async def statuses(env: Env, path: str, method: str = "GET") -> list[int]:
    return [r["status"] for r in await env.handle.requests(path, method)]


async def test_server_errors_are_retried_until_pipedrive_answers(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=500, count=2)

    user = await env.gateway.current_user(env.company_id)

    assert user.company_id == env.company_id
    assert await statuses(env, USERS_ME) == [500, 500, 200]


async def test_persistent_server_errors_become_unavailable_after_a_few_attempts(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=503)

    with pytest.raises(UpstreamUnavailableError) as caught:
        await env.gateway.current_user(env.company_id)

    assert caught.value.reason == Reason.PIPEDRIVE_UNAVAILABLE
    assert caught.value.retry_after_seconds >= 1
    assert await statuses(env, USERS_ME) == [503] * 4


async def test_a_429_waits_for_retry_after_and_is_not_seen_by_the_caller(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=429, count=1, headers={"retry-after": "1"})
    started = time.monotonic()

    await env.gateway.current_user(env.company_id)

    assert time.monotonic() - started >= 1.0
    assert await statuses(env, USERS_ME) == [429, 200]


async def test_a_spent_daily_budget_is_not_retried(env: Env) -> None:
    await env.handle.admin("POST", f"/companies/{env.company_id}/budget", {"spent": 10**9})

    with pytest.raises(UpstreamUnavailableError) as caught:
        await env.gateway.current_user(env.company_id)

    assert caught.value.retry_after_seconds > 2
    assert caught.value.metadata[MetadataKey.DETAIL] == "daily budget spent"
    assert await statuses(env, USERS_ME) == [429]


async def test_a_non_json_403_is_a_hard_stop(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=403, body=CLOUDFLARE_PAGE)

    with pytest.raises(UpstreamUnavailableError) as caught:
        await env.gateway.current_user(env.company_id)

    assert caught.value.reason == Reason.PIPEDRIVE_BLOCKED
    assert "blocked" in caught.value.message
    assert await statuses(env, USERS_ME) == [403]  # never retried


async def test_a_json_403_is_a_rejection_with_the_vendor_message(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=403)

    with pytest.raises(UpstreamRejectedError) as caught:
        await env.gateway.current_user(env.company_id)

    assert caught.value.reason == Reason.PIPEDRIVE_REJECTED
    assert (
        caught.value.metadata[MetadataKey.VENDOR_MESSAGE]
        == "You do not have permissions to do this."
    )


async def test_a_400_keeps_the_vendor_message(env: Env) -> None:
    with pytest.raises(UpstreamRejectedError) as caught:
        await env.gateway.add_deal_note(env.company_id, "987654", "hello")

    assert caught.value.reason == Reason.PIPEDRIVE_REJECTED
    assert caught.value.metadata[MetadataKey.VENDOR_MESSAGE] == "Deal not found"
    assert caught.value.metadata[MetadataKey.HTTP_STATUS] == "400"


async def test_a_404_is_not_found(env: Env) -> None:
    with pytest.raises(NotFoundError) as caught:
        await env.gateway.get_deal(env.company_id, "987654")

    assert (caught.value.resource_type, caught.value.resource_name) == (ResourceType.DEAL, "987654")


async def test_a_note_is_not_posted_twice_after_a_server_error(env: Env) -> None:
    await env.handle.fault(path="^/api/v1/notes$", method="POST", status=500)

    with pytest.raises(UpstreamUnavailableError):
        await env.gateway.add_deal_note(env.company_id, env.deal_id, "once")

    assert await statuses(env, "^/api/v1/notes$", "POST") == [500]


async def test_a_note_is_html_escaped_with_line_breaks(env: Env) -> None:
    await env.gateway.add_deal_note(env.company_id, env.deal_id, 'a <b>\n"c" & d')

    (request,) = await env.handle.requests("^/api/v1/notes$", "POST")
    assert '"content": "a &lt;b&gt;<br>&quot;c&quot; &amp; d"' in request["body"]


async def test_a_timeout_is_retried(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, latency_ms=1500, count=1)

    user = await env.gateway.current_user(env.company_id)

    assert user.company_id == env.company_id


async def test_a_401_refreshes_the_token_once_and_retries(env: Env) -> None:
    before = await env.store.load(env.company_id, Vendor.PIPEDRIVE)
    await env.handle.fault(path=USERS_ME, status=401, count=1)

    await env.gateway.current_user(env.company_id)

    after = await env.store.load(env.company_id, Vendor.PIPEDRIVE)
    assert before is not None
    assert after is not None
    assert after.tokens.access_token != before.tokens.access_token
    assert await statuses(env, "^/oauth/token$", "POST") == [200]
    assert await statuses(env, USERS_ME) == [401, 200]


async def test_a_401_after_a_refresh_means_not_connected(env: Env) -> None:
    await env.handle.fault(path=USERS_ME, status=401)

    with pytest.raises(IntegrationNotConnectedError) as caught:
        await env.gateway.current_user(env.company_id)

    assert caught.value.reason == Reason.PIPEDRIVE_NOT_CONNECTED
    assert await statuses(env, "^/oauth/token$", "POST") == [200]
    assert await statuses(env, USERS_ME) == [401, 401]


async def test_a_company_without_a_connection_is_not_connected(env: Env) -> None:
    with pytest.raises(IntegrationNotConnectedError) as caught:
        await env.gateway.get_deal("424242", "1")

    assert caught.value.reason == Reason.PIPEDRIVE_NOT_CONNECTED


async def test_the_locale_kept_at_install_answers_without_asking_pipedrive(env: Env) -> None:
    connection = await env.store.load(env.company_id, Vendor.PIPEDRIVE)
    assert connection is not None
    await env.store.save(replace(connection, locale="fr_FR"))

    assert await env.gateway.acting_locale(env.company_id) == "fr_FR"
    assert await env.handle.requests(USERS_ME) == []


async def test_an_install_older_than_the_kept_locale_asks_pipedrive_once_a_call(env: Env) -> None:
    me = await env.gateway.current_user(env.company_id)
    await env.handle.admin("DELETE", "/requests")

    assert await env.gateway.acting_locale(env.company_id) == me.locale
    assert await statuses(env, USERS_ME) == [200]
