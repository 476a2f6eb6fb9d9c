"""Third-party client request shapes, the extension JWT helper, and the CLI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp import encode_basic_auth
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from emulators.pipedrive.cli import build_parser
from emulators.pipedrive.jwt import InvalidToken, sign_extension_token, verify_hs256

# ------------------------------------------------------------------ official clients' shapes


async def test_node_sdk_v2_shapes_work_with_only_the_base_path_changed(
    client: TestClient, api_token: str
) -> None:
    """npm `pipedrive` v2: basePath `${host}/api/v2`, `x-api-token` header, arrays as `a,b`."""
    base = "/api/v2"
    headers = {
        "x-api-token": api_token,
        "Accept": "application/json",
        "User-Agent": "Pipedrive-SDK-Javascript-33.7.0",
    }
    deal = await client.get(f"{base}/deals/1", headers=headers)
    assert deal.status == 200
    products = await client.get(
        f"{base}/deals/products", params={"deal_ids": "1,2", "limit": "100"}, headers=headers
    )
    assert products.status == 200
    org_id = (await deal.json())["data"]["org_id"]
    assert (await client.get(f"{base}/organizations/{org_id}", headers=headers)).status == 200
    fields = await client.get(f"{base}/dealFields", params={"limit": "500"}, headers=headers)
    assert fields.status == 200
    updated = await client.patch(
        f"{base}/deals/1",
        data=json.dumps({"title": "From the SDK"}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert updated.status == 200


async def test_node_sdk_oauth2_configuration_flow(client: TestClient) -> None:
    """`OAuth2Configuration({host})`: POST `${host}/oauth/token`, then basePath = api_domain."""
    location = (
        await client.get(
            "/oauth/authorize",
            params={
                "client_id": "dealbooks-demo-client",
                "redirect_uri": "http://127.0.0.1:8080/oauth/pipedrive/callback",
            },
        )
    ).status
    assert location == 200  # consent page (auto-approve is off)
    emulator_tokens = await (await client.post("/_emulator/tokens", json={})).json()
    refreshed = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": emulator_tokens["refresh_token"]},
        headers={
            "Authorization": encode_basic_auth("dealbooks-demo-client", "dealbooks-demo-secret")
        },
    )
    token = await refreshed.json()
    api_domain = token["api_domain"]
    assert api_domain == str(client.make_url("")).rstrip("/")
    # The SDK now calls `${api_domain}/api/v2/...`; api_domain is this very server.
    response = await client.get(
        "/api/v2/deals/1", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status == 200


async def test_pipedrive_python_lib_v1_shapes(client: TestClient, api_token: str) -> None:
    """`pipedrive-python-lib`: `Client(domain=host + '/')` -> `{host}/v1/...?api_token=`."""
    base = "/v1/"
    me = await client.get(f"{base}users/me", params={"api_token": api_token})
    assert me.status == 200
    note = await client.post(
        f"{base}notes", params={"api_token": api_token}, json={"deal_id": 1, "content": "hi"}
    )
    assert note.status == 200
    # `create_hook_subscription(url, action, object)` sends no `name`, which the current spec
    # requires: the emulator refuses it in the webhooks error shape, as the real API would.
    hook = await client.post(
        f"{base}webhooks",
        params={"api_token": api_token},
        json={
            "subscription_url": "https://x.example/h",
            "event_action": "*",
            "event_object": "deal",
        },
    )
    assert hook.status == 400
    assert (await hook.json())["errors"] == {"name": ["is required"]}


# ------------------------------------------------------------------ JWT


def _decode(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_extension_token_is_an_hs256_jwt_with_the_documented_claims() -> None:
    token = sign_extension_token("s3cret", company_id=13, user_id=21, ttl_seconds=300, now=1000)
    header, claims, signature = token.split(".")
    assert _decode(header) == {"alg": "HS256", "typ": "JWT"}
    assert _decode(claims) == {"userId": 21, "companyId": 13, "iat": 1000, "exp": 1300}
    expected = hmac.new(b"s3cret", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    assert verify_hs256(token, "s3cret", now=1100)["companyId"] == 13


def test_bad_or_expired_tokens_are_refused() -> None:
    token = sign_extension_token("s3cret", 1, 2, ttl_seconds=10, now=0)
    with pytest.raises(InvalidToken):
        verify_hs256(token, "other", now=1)
    with pytest.raises(InvalidToken):
        verify_hs256(token, "s3cret", now=10)
    with pytest.raises(InvalidToken):
        verify_hs256("a.b", "s3cret")


@given(
    company_id=st.integers(min_value=1, max_value=2**40),
    user_id=st.integers(min_value=1, max_value=2**40),
    secret=st.text(min_size=1, max_size=64),
)
def test_signed_tokens_always_verify_with_their_secret(
    company_id: int, user_id: int, secret: str
) -> None:
    token = sign_extension_token(secret, company_id, user_id, ttl_seconds=60)
    claims = verify_hs256(token, secret)
    assert (claims["companyId"], claims["userId"]) == (company_id, user_id)


def test_pyjwt_accepts_our_tokens() -> None:
    jwt = pytest.importorskip("jwt")
    secret = "dealbooks-demo-jwt-secret-of-32+bytes"
    token = sign_extension_token(secret, 5, 6, ttl_seconds=60)
    assert jwt.decode(token, secret, algorithms=["HS256"])["userId"] == 6


# ------------------------------------------------------------------ CLI


def test_the_cli_knows_its_flags() -> None:
    args = build_parser().parse_args(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--auto-approve",
            "--client-id",
            "cid",
            "--client-secret",
            "cs",
            "--callback-url",
            "http://x/cb",
            "--jwt-secret",
            "js",
            "--no-seed",
        ]
    )
    assert (args.host, args.port, args.auto_approve, args.no_seed) == ("0.0.0.0", 9000, True, True)
    assert (args.client_id, args.client_secret, args.callback_url, args.jwt_secret) == (
        "cid",
        "cs",
        "http://x/cb",
        "js",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_python_dash_m_serves_until_sigterm() -> None:
    port = _free_port()
    src = Path(__file__).resolve().parents[3] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.pipedrive", "--port", str(port), "--auto-approve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health") as r:
                    assert json.load(r) == {"status": "ok"}
                    break
            except OSError:
                assert time.monotonic() < deadline, process.stderr.read() if process.stderr else ""
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
