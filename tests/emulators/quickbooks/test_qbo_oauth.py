"""OAuth 2.0 at Intuit's paths: authorize, code exchange, refresh rotation, revoke, discovery."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import qbo_fixtures as fx
from aiohttp.test_utils import TestClient, TestServer

from conftest import US, make_config
from emulators.quickbooks.app import create_app

REDIRECT = "http://127.0.0.1:8080/oauth/quickbooks/callback"
BASIC = "Basic " + base64.b64encode(b"dealbooks-demo-client:dealbooks-demo-secret").decode()
AUTH_PARAMS = {
    "client_id": "dealbooks-demo-client",
    "response_type": "code",
    "scope": "com.intuit.quickbooks.accounting",
    "redirect_uri": REDIRECT,
    "state": "csrf-123",
}


@pytest.fixture
def config():
    return make_config(auto_approve=True)


async def authorize(client: TestClient, **overrides: str) -> dict[str, str]:
    params = {**AUTH_PARAMS, **overrides}
    async with client.get("/connect/oauth2", params=params, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}


async def token_call(client: TestClient, data: dict[str, str], **headers: str):
    all_headers = {"Authorization": BASIC, "Accept": "application/json", **headers}
    async with client.post("/oauth2/v1/tokens/bearer", data=data, headers=all_headers) as resp:
        return resp.status, await resp.json(), resp.headers


async def exchange(client: TestClient) -> dict:
    params = await authorize(client)
    status, body, _ = await token_call(
        client,
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT},
    )
    assert status == 200, body
    return body


async def refresh(client: TestClient, refresh_token: str):
    return await token_call(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})


async def api_status(client: TestClient, access_token: str, realm: str = US) -> int:
    async with client.get(
        f"/v3/company/{realm}/companyinfo/{realm}",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    ) as resp:
        return resp.status


async def test_auto_approve_redirects_with_code_state_and_realm(client):
    params = await authorize(client)
    assert params["state"] == "csrf-123"
    assert params["realmId"] == US
    assert params["code"]


async def test_code_exchange_returns_intuit_token_fields(client):
    body = await exchange(client)
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "x_refresh_token_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert "realmId" not in body
    assert await api_status(client, body["access_token"]) == 200


async def test_used_code_is_invalid_grant(client):
    params = await authorize(client)
    data = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT}
    status, _, _ = await token_call(client, data)
    assert status == 200
    status, body, headers = await token_call(client, data)
    assert (status, body) == (400, {"error": "invalid_grant"})
    assert "intuit_tid" in headers


async def test_code_with_other_redirect_uri_is_invalid_grant(client):
    params = await authorize(client)
    data = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": "http://evil.example/cb",
    }
    status, body, _ = await token_call(client, data)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_bad_client_credentials_get_401_invalid_client(client):
    params = await authorize(client)
    bad = "Basic " + base64.b64encode(b"dealbooks-demo-client:wrong").decode()
    status, body, _ = await token_call(
        client,
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT},
        Authorization=bad,
    )
    assert (status, body) == (401, {"error": "invalid_client"})


async def test_client_secret_post_is_accepted(client):
    params = await authorize(client)
    async with client.post(
        "/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "client_id": "dealbooks-demo-client",
            "client_secret": "dealbooks-demo-secret",
        },
    ) as resp:
        assert resp.status == 200


async def test_refresh_rotates_and_old_token_dies_with_zero_grace(client):
    first = await exchange(client)
    status, second, _ = await refresh(client, first["refresh_token"])
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    status, body, _ = await refresh(client, first["refresh_token"])
    assert status == 400
    assert body["error"] == "invalid_grant"
    status, third, _ = await refresh(client, second["refresh_token"])
    assert status == 200
    assert await api_status(client, third["access_token"]) == 200


async def test_superseded_refresh_token_works_within_grace_only():
    config = make_config(auto_approve=True, refresh_grace_seconds=3600)
    async with TestClient(TestServer(create_app(config))) as client:
        first = await exchange(client)
        status, _, _ = await refresh(client, first["refresh_token"])
        assert status == 200
        status, _, _ = await refresh(client, first["refresh_token"])
        assert status == 200  # still inside the grace period
        await client.post("/_emulator/clock", json={"advance_seconds": 3601})
        status, body, _ = await refresh(client, first["refresh_token"])
        assert (status, body["error"]) == (400, "invalid_grant")


async def test_hard_expiry_is_reported_only_when_asked(client):
    first = await exchange(client)
    status, body, _ = await token_call(
        client,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        **{"x-include-refresh-token-hard-expires-in": "true"},
    )
    assert status == 200
    assert 0 < body["x_refresh_token_hard_expires_in"] <= 5 * 365 * 24 * 3600
    assert "x_refresh_token_hard_expires_in" not in first


async def test_unknown_grant_type_and_unknown_refresh_token(client):
    status, body, _ = await token_call(client, {"grant_type": "password"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body, _ = await refresh(client, "RT1-nope")
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_revoke_disconnects_both_tokens(client, encoding):
    tokens = await exchange(client)
    kwargs = (
        {"json": {"token": tokens["refresh_token"]}}
        if encoding == "json"
        else {"data": {"token": tokens["refresh_token"]}}
    )
    async with client.post(
        "/v2/oauth2/tokens/revoke", headers={"Authorization": BASIC}, **kwargs
    ) as resp:
        assert resp.status == 200
    status, body, _ = await refresh(client, tokens["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await api_status(client, tokens["access_token"]) == 401


async def test_revoke_needs_client_credentials(client):
    async with client.post("/v2/oauth2/tokens/revoke", json={"token": "x"}) as resp:
        assert resp.status == 401


@pytest.mark.parametrize(
    "path", ["/.well-known/openid_sandbox_configuration", "/.well-known/openid_configuration/"]
)
async def test_discovery_document_has_f9_shape_and_points_at_the_emulator(client, path):
    async with client.get(path) as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert set(doc) == set(fx.F9_DISCOVERY)
    base = str(client.make_url("")).rstrip("/")
    assert doc["token_endpoint"] == base + "/oauth2/v1/tokens/bearer"
    assert doc["authorization_endpoint"] == base + "/connect/oauth2"
    assert doc["revocation_endpoint"] == base + "/v2/oauth2/tokens/revoke"
    for key in ("response_types_supported", "token_endpoint_auth_methods_supported"):
        assert doc[key] == fx.F9_DISCOVERY[key]
    async with client.get(urlsplit(doc["jwks_uri"]).path) as resp:
        assert resp.status == 200
        assert (await resp.json())["keys"]


async def test_openid_scope_yields_verifiable_id_token_and_userinfo(client):
    params = await authorize(client, scope="com.intuit.quickbooks.accounting openid email")
    status, body, _ = await token_call(
        client,
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT},
    )
    assert status == 200
    async with client.get("/.well-known/openid_configuration") as resp:
        doc = await resp.json()
    async with client.get(urlsplit(doc["jwks_uri"]).path) as resp:
        jwks = await resp.json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(
        body["id_token"], key, algorithms=["RS256"], audience="dealbooks-demo-client"
    )
    assert claims["realmid"] == US
    assert claims["iss"] == doc["issuer"]
    async with client.get(
        urlsplit(doc["userinfo_endpoint"]).path,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ) as resp:
        info = await resp.json()
    assert info["sub"] == claims["sub"]
    assert info["email"]


async def test_consent_page_approve_and_deny():
    config = make_config(auto_approve=False)
    async with TestClient(TestServer(create_app(config))) as client:
        async with client.get("/connect/oauth2", params=AUTH_PARAMS) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert 'name="decision" value="approve"' in page
        assert re.search(r'<option value="9130354840911234" selected>', page)
        form = {**AUTH_PARAMS, "realmId": "9130354840922468", "decision": "approve"}
        async with client.post(
            "/connect/oauth2/decision", data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 302
            query = parse_qs(urlsplit(resp.headers["Location"]).query)
        assert query["realmId"] == ["9130354840922468"]
        assert query["state"] == ["csrf-123"]
        form["decision"] = "deny"
        async with client.post(
            "/connect/oauth2/decision", data=form, allow_redirects=False
        ) as resp:
            query = parse_qs(urlsplit(resp.headers["Location"]).query)
        assert query["error"] == ["access_denied"]


@pytest.mark.parametrize(
    "override",
    [{"client_id": "someone-else"}, {"redirect_uri": "http://evil.example/callback"}],
)
async def test_invalid_client_or_redirect_uri_shows_an_error_page_not_a_redirect(client, override):
    params = {**AUTH_PARAMS, **override}
    async with client.get("/connect/oauth2", params=params, allow_redirects=False) as resp:
        assert resp.status == 400
        assert "Location" not in resp.headers
        assert "text/html" in resp.headers["Content-Type"]


async def test_bad_scope_redirects_with_invalid_scope(client):
    async with client.get(
        "/connect/oauth2", params={**AUTH_PARAMS, "scope": "bogus"}, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        assert "error=invalid_scope" in resp.headers["Location"]


async def test_expired_access_token_gets_lowercase_401_envelope(client):
    tokens = await exchange(client)
    await client.post("/_emulator/clock", json={"advance_seconds": 3601})
    async with client.get(
        f"/v3/company/{US}/companyinfo/{US}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
        body = await resp.json()
    assert body["fault"]["type"] == "AUTHENTICATION"
    error = body["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["detail"].startswith("Token expired: ")
    assert isinstance(body["time"], int)
    status, fresh, _ = await refresh(client, tokens["refresh_token"])
    assert status == 200
    assert await api_status(client, fresh["access_token"]) == 200


async def test_admin_can_expire_access_tokens_now(client):
    tokens = await exchange(client)
    async with client.post("/_emulator/tokens/expire", json={}) as resp:
        assert (await resp.json())["expired"] >= 1
    assert await api_status(client, tokens["access_token"]) == 401


async def test_missing_bearer_is_401_and_other_realm_is_403(client):
    async with client.get(f"/v3/company/{US}/companyinfo/{US}") as resp:
        assert resp.status == 401
        assert "fault" in await resp.json()
    tokens = await exchange(client)
    other = "9130354840922468"
    async with client.get(
        f"/v3/company/{other}/companyinfo/{other}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ) as resp:
        assert resp.status == 403
        body = await resp.json()
    assert body["Fault"]["Error"][0]["code"] == "3100"
    assert body["Fault"]["type"] == "AuthorizationFault"
