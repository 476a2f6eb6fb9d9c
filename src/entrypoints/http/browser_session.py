"""Who a browser is, on the pages QuickBooks and people open outside Pipedrive (launch,
reconnect, support): a cookie set after signing in through Pipedrive's OAuth.

Inside Pipedrive the extension is authenticated by Pipedrive's JWT instead; this cookie is only
for top-level pages of the gateway. It holds the Pipedrive company and user ids and an expiry,
signed with HMAC-SHA256 under a key derived from ``DEALBOOKS_SECRET_KEY`` (nothing else, no
token): ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the public URL is HTTPS, 8 hours.

A sign-in binds its OAuth ``state`` to the browser that started it (a second, 10-minute cookie):
a callback whose state is not this browser's never signs anybody in (login CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

SESSION_COOKIE: Final = "dealbooks_session"
SIGN_IN_COOKIE: Final = "dealbooks_sign_in"
SESSION_TTL: Final = timedelta(hours=8)
SIGN_IN_TTL: Final = timedelta(minutes=10)
_KEY_LABEL: Final = b"dealbooks browser session v1"


@dataclass(frozen=True, slots=True)
class SessionUser:
    company_id: str
    user_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class BrowserSessions:
    secret_key: str
    secure: bool  # the public URL is HTTPS: cookies only over HTTPS

    def _key(self) -> bytes:
        return hmac.new(self.secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key(), payload, hashlib.sha256).digest())

    def encode(self, user: SessionUser, now: datetime) -> str:
        body = json.dumps(
            {"c": user.company_id, "u": user.user_id, "exp": int((now + SESSION_TTL).timestamp())},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{self._sign(body)}"

    def decode(self, value: str, now: datetime) -> SessionUser | None:
        """The signed-in user, or None for a missing, forged, malformed or expired cookie."""
        body_text, _, signature = value.partition(".")
        try:
            body = _unb64(body_text)
            good = hmac.compare_digest(signature.encode(), self._sign(body).encode())
            claims = json.loads(body) if good else None
        except (ValueError, TypeError):
            return None
        if not isinstance(claims, dict):
            return None
        company, user, exp = claims.get("c"), claims.get("u"), claims.get("exp")
        if not (isinstance(company, str) and company.isdigit()):
            return None
        if not (isinstance(user, str) and user.isdigit()) or not isinstance(exp, int):
            return None
        if exp <= now.timestamp():
            return None
        return SessionUser(company, user)

    def user(self, request: web.Request, now: datetime) -> SessionUser | None:
        value = request.cookies.get(SESSION_COOKIE)
        return self.decode(value, now) if value else None

    def sign_in(self, response: web.StreamResponse, user: SessionUser, now: datetime) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.encode(user, now),
            max_age=int(SESSION_TTL.total_seconds()),
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="Lax",
        )
        response.del_cookie(SIGN_IN_COOKIE, path="/")

    def bind_sign_in(self, response: web.StreamResponse, state: str) -> None:
        """Remember in this browser the sign-in it started (its OAuth state)."""
        response.set_cookie(
            SIGN_IN_COOKIE,
            state,
            max_age=int(SIGN_IN_TTL.total_seconds()),
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="Lax",  # sent on Pipedrive's top-level redirect back to the callback
        )

    def started_sign_in(self, request: web.Request, state: str) -> bool:
        """True when ``state`` is the sign-in this browser started."""
        cookie = request.cookies.get(SIGN_IN_COOKIE, "")
        return bool(state) and bool(cookie) and hmac.compare_digest(cookie, state)
