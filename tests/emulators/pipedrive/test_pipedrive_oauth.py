"""The OAuth server: authorize, consent, code exchange, refresh, revoke and uninstall."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import encode_basic_auth
from aiohttp.test_utils import TestClient
from pipedrive_test_support import Receiver

from emulators.pipedrive.config import EmulatorConfig
from emulators.pipedrive.state import Emulator

CLIENT = {"Authorization": encode_basic_auth("dealbooks-demo-client", "dealbooks-demo-secret")}
CALLBACK = "http://127.0.0.1:8080/oauth/pipedrive/callback"


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def consent(client: TestClient, decision: str, state: str = "st-1") -> dict[str, str]:
    page = await client.get(
        "/oauth/authorize",
        params={"client_id": "dealbooks-demo-client", "redirect_uri": CALLBACK, "state": state},
    )
    assert page.status == 200
    html = await page.text()
    assert "Allow and install" in html
    assert "Cancel" in html
    answer = await client.post(
        "/oauth/authorize",
        data={
            "client_id": "dealbooks-demo-client",
            "redirect_uri": CALLBACK,
            "state": state,
            "decision": decision,
        },
        allow_redirects=False,
    )
    assert answer.status == 302
    assert answer.headers["Location"].startswith(CALLBACK + "?")
    return query_of(answer.headers["Location"])


async def exchange(client: TestClient, code: str, **extra: Any) -> Any:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        headers=extra.pop("auth", CLIENT),
        **extra,
    )


async def test_allow_redirects_with_a_code_and_the_state(client: TestClient) -> None:
    params = await consent(client, "allow")
    assert params["state"] == "st-1"
    assert params["code"].count(".") == 2


async def test_cancel_redirects_with_user_denied(client: TestClient) -> None:
    assert await consent(client, "deny") == {"error": "user_denied", "state": "st-1"}


async def test_a_code_buys_a_token_pair_with_api_domain_and_scopes(
    client: TestClient, emulator: Emulator
) -> None:
    code = (await consent(client, "allow"))["code"]
    response = await exchange(client, code)
    body = await response.json()
    assert response.status == 200, body
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "api_domain",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == "base,deals:full,contacts:read,users:read,admin,activities:full"
    assert body["api_domain"] == str(client.make_url("")).rstrip("/")
    me = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status == 200
    # Codes are single-use.
    replay = await exchange(client, code)
    assert replay.status == 400
    assert await replay.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid grant: authorization_code is invalid",
    }


async def test_codes_expire_after_five_minutes(client: TestClient, emulator: Emulator) -> None:
    code = (await consent(client, "allow"))["code"]
    emulator.clock.advance(301)
    response = await exchange(client, code)
    assert (await response.json())["error_description"] == (
        "Invalid grant: authorization_code has expired"
    )


async def test_client_credentials_are_checked(client: TestClient) -> None:
    code = (await consent(client, "allow"))["code"]
    wrong = await exchange(
        client, code, auth={"Authorization": encode_basic_auth("dealbooks-demo-client", "nope")}
    )
    assert wrong.status == 401
    assert (await wrong.json())["error"] == "invalid_client"
    anonymous = await client.post(
        "/oauth/token", data={"grant_type": "authorization_code", "code": code}
    )
    assert anonymous.status == 400
    assert (await anonymous.json())["error_description"] == (
        "Invalid client: cannot retrieve client credentials"
    )
    in_body = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "dealbooks-demo-client",
            "client_secret": "dealbooks-demo-secret",
        },
    )
    assert in_body.status == 200


async def test_grant_errors(client: TestClient) -> None:
    missing = await client.post("/oauth/token", data={}, headers=CLIENT)
    assert (await missing.json())["error_description"] == "Missing parameter: grant_type"
    unsupported = await client.post("/oauth/token", data={"grant_type": "password"}, headers=CLIENT)
    assert (await unsupported.json())["error"] == "unsupported_grant_type"
    json_body = await client.post("/oauth/token", json={"grant_type": "x"}, headers=CLIENT)
    assert json_body.status == 400
    bad_refresh = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers=CLIENT
    )
    assert (await bad_refresh.json())["error_description"] == (
        "Invalid grant: refresh_token is invalid"
    )


async def test_refresh_returns_a_new_access_token_and_the_same_refresh_token(
    client: TestClient, emulator: Emulator
) -> None:
    tokens = await (await exchange(client, (await consent(client, "allow"))["code"])).json()
    emulator.clock.advance(3600)
    expired = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/users/me", headers=expired)).status == 401
    refreshed = await client.post(
        "/oauth/token/",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=CLIENT,
    )
    body = await refreshed.json()
    assert refreshed.status == 200
    assert body["refresh_token"] == tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    fresh = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/v1/users/me", headers=fresh)).status == 200


async def test_refresh_tokens_expire_after_sixty_idle_days(
    client: TestClient, emulator: Emulator
) -> None:
    tokens = await (await client.post("/_emulator/tokens", json={})).json()
    emulator.clock.advance(61 * 86_400)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=CLIENT,
    )
    assert response.status == 400


async def test_revoking_the_access_token_keeps_the_install(client: TestClient) -> None:
    tokens = await (await client.post("/_emulator/tokens", json={})).json()
    revoked = await client.post(
        "/oauth/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        headers=CLIENT,
    )
    assert revoked.status == 200
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/users/me", headers=headers)).status == 401
    refreshed = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=CLIENT,
    )
    assert refreshed.status == 200


async def test_revoking_the_refresh_token_uninstalls(client: TestClient) -> None:
    tokens = await (await client.post("/_emulator/tokens", json={})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    hook = {
        "subscription_url": "https://app.example/h",
        "event_action": "*",
        "event_object": "*",
        "name": "all",
    }
    assert (await client.post("/v1/webhooks", json=hook, headers=headers)).status == 201
    revoked = await client.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"]}, headers=CLIENT
    )
    assert revoked.status == 200
    assert (await client.get("/v1/users/me", headers=headers)).status == 401
    remaining = await (await client.get("/_emulator/webhooks")).json()
    assert remaining["webhooks"] == []
    unknown = await client.post("/oauth/revoke", data={"token": "whatever"}, headers=CLIENT)
    assert unknown.status == 200


async def test_authorize_refuses_an_unregistered_redirect_uri(client: TestClient) -> None:
    response = await client.get(
        "/oauth/authorize",
        params={"client_id": "dealbooks-demo-client", "redirect_uri": "https://evil.example/cb"},
        allow_redirects=False,
    )
    assert response.status == 400


class TestAutoApprove:
    @pytest.fixture
    def config(self, receiver: Receiver) -> EmulatorConfig:
        return EmulatorConfig(auto_approve=True, callback_url=receiver.url)

    async def test_authorize_redirects_straight_to_the_callback(
        self, client: TestClient, receiver: Receiver, demo: dict[str, Any]
    ) -> None:
        bruno = demo["users"][1]["id"]
        response = await client.get(
            "/oauth/authorize",
            params={
                "client_id": "dealbooks-demo-client",
                "redirect_uri": receiver.url,
                "state": "abc",
                "user_id": str(bruno),
            },
            allow_redirects=False,
        )
        assert response.status == 302
        params = query_of(response.headers["Location"])
        assert params["state"] == "abc"
        assert params["code"].split(".")[1] == str(bruno)

    async def test_uninstall_sends_delete_with_basic_auth_to_the_callback(
        self, client: TestClient, receiver: Receiver, demo: dict[str, Any]
    ) -> None:
        tokens = await (await client.post("/_emulator/tokens", json={})).json()
        result = await (
            await client.post(f"/_emulator/companies/{demo['company_id']}/uninstall", json={})
        ).json()
        assert result["status"] == 200
        [call] = receiver.calls
        assert call["method"] == "DELETE"
        expected = base64.b64encode(b"dealbooks-demo-client:dealbooks-demo-secret").decode()
        assert call["headers"]["Authorization"] == f"Basic {expected}"
        body = json.loads(call["body"])
        assert set(body) == {"client_id", "company_id", "user_id", "timestamp"}
        assert body["company_id"] == demo["company_id"]
        assert body["user_id"] == demo["users"][0]["id"]
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/v1/users/me", headers=headers)).status == 401
