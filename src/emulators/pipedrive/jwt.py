"""HS256 JWTs as Pipedrive puts them in custom UI iframe URLs (reference §12.3), stdlib only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_hs256(claims: dict[str, Any], secret: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def sign_extension_token(
    secret: str,
    company_id: int,
    user_id: int,
    ttl_seconds: int = 300,
    *,
    now: float | None = None,
) -> str:
    """The iframe/`GET_SIGNED_TOKEN` JWT: claims `userId`, `companyId`, `iat`, `exp`.

    Signed with the extension's JWT secret (which defaults to the app's client secret in
    Developer Hub). `GET_SIGNED_TOKEN` tokens live 5 minutes [C]; the iframe-URL token lifetime
    is [U] and left to the caller.
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "userId": user_id,
        "companyId": company_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return encode_hs256(claims, secret)


class InvalidToken(ValueError):
    """The token is malformed, badly signed or expired."""


def verify_hs256(token: str, secret: str, *, now: float | None = None) -> dict[str, Any]:
    """Verify signature and `exp`; return the claims. For tests and the demo host."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != "HS256":
        raise InvalidToken("unexpected alg")
    expected = hmac.new(
        secret.encode(), f"{header_b64}.{claims_b64}".encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken("bad signature")
    current = time.time() if now is None else now
    if "exp" in claims and current >= claims["exp"]:
        raise InvalidToken("expired")
    return claims
