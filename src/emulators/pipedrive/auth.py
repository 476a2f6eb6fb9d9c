"""API authentication (Bearer / x-api-token / api_token), scopes and rate limiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import responses
from .model import ValidationError
from .openapi import OperationMeta, operation_meta
from .state import Emulator, emulator_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATION_ATTR = "_pipedrive_operation"


@dataclass(frozen=True)
class Principal:
    kind: str  # "oauth" | "api_token"
    company_id: int
    user_id: int
    scopes: frozenset[str] | None  # None for api_token (full access of the user)
    token_key: str  # what the burst window is counted against
    client_id: str | None = None


PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("pipedrive_principal", Principal)


def operation(version: str, method: str, spec_path: str) -> Callable[[Handler], Handler]:
    """Tie a handler to its OpenAPI operation (cost, scopes) for the API guard."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, OPERATION_ATTR, (version, method, spec_path))
        return handler

    return mark


def principal_of(request: web.Request) -> Principal:
    principal: Principal = request[PRINCIPAL_KEY]
    return principal


def authenticate(emulator: Emulator, request: web.Request) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = emulator.store.access_tokens.get(header[7:].strip())
        if token is None or emulator.clock.time() >= token.expires_at:
            return None
        return Principal(
            kind="oauth",
            company_id=token.company_id,
            user_id=token.user_id,
            scopes=frozenset(token.scopes),
            token_key="oauth:" + token.token,
            client_id=token.client_id,
        )
    api_token = request.headers.get("x-api-token") or request.query.get("api_token")
    if api_token:
        user = emulator.store.user_by_api_token(api_token)
        if user is None:
            return None
        return Principal(
            kind="api_token",
            company_id=user.company_id,
            user_id=user.id,
            scopes=None,
            token_key="api:" + user.api_token,
        )
    return None


def operation_marker(request: web.Request) -> tuple[str, str, str] | None:
    """(version, method, spec path) of the OpenAPI operation the request was routed to."""
    marker: Any = getattr(request.match_info.handler, OPERATION_ATTR, None)
    return tuple(marker) if marker is not None else None  # type: ignore[return-value]


def _meta_of(request: web.Request) -> OperationMeta | None:
    marker: Any = getattr(request.match_info.handler, OPERATION_ATTR, None)
    if marker is None:
        return None
    return operation_meta(*marker)


@web.middleware
async def api_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 / 403 (scope) / 429 before the handler; rate-limit headers on the response."""
    meta = _meta_of(request)
    if meta is None:
        return await handler(request)
    emulator = emulator_of(request)
    principal = authenticate(emulator, request)
    if principal is None:
        return responses.unauthorized()
    oauth_scopes = meta.oauth_scopes
    if principal.kind == "oauth" and oauth_scopes is not None:
        granted = principal.scopes or frozenset()
        if not granted & oauth_scopes:
            return responses.scope_mismatch()
    config = emulator.config
    verdict = emulator.limiter.check(
        token_key=principal.token_key,
        limit=config.burst_limit if principal.kind == "oauth" else config.api_token_burst_limit,
        company_id=principal.company_id,
        cost=meta.token_cost,
        is_api_token=principal.kind == "api_token",
        is_write=request.method in ("POST", "PUT", "PATCH"),
    )
    if not verdict.allowed:
        # The 429 body is [U] (not in docs or spec); the generic failure shape is the best bet.
        response = responses.fail(429, "Request over limit")
        response.headers.update(verdict.headers)
        return response
    request[PRINCIPAL_KEY] = principal
    try:
        response = await handler(request)
    except ValidationError as exc:
        response = responses.validation_failed(str(exc))
    except web.HTTPException as exc:
        exc.headers.update(verdict.headers)
        raise
    response.headers.update(verdict.headers)
    return response
