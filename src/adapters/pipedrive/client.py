"""A thin aiohttp client for one company's Pipedrive API: auth, pacing, retries, errors.

- Base URL: the company's ``api_domain`` (from its stored connection); ``Authorization: Bearer``.
- Pacing: every request takes a slot from the injected cross-process ``RateLimiter`` under the
  key ``pipedrive:{company_id}``, so a burst for one company stays inside Pipedrive's window.
- Retries (backoff with jitter) on 429, 5xx and network errors only, honouring ``retry-after``
  and ``x-ratelimit-reset``. POST (not idempotent: a note could be added twice) is retried only
  when Pipedrive cannot have acted on it: 429, 503, or a connection that never opened.
- Errors become application errors: 401 -> one token refresh, then IntegrationNotConnectedError;
  404 -> NotFoundError; other 4xx -> UpstreamRejectedError (vendor message in ``metadata``);
  429/5xx/timeouts -> UpstreamUnavailableError; a non-JSON 403 (Pipedrive's firewall page after
  sustained 429s, reference §10) is a hard stop, never retried.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import aiohttp
import structlog

from adapters.pipedrive.oauth import NOT_CONNECTED, REJECTED, UNAVAILABLE, PipedriveTokenProvider
from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.connections import RateLimit, RateLimiter

log = structlog.get_logger("dealbooks.pipedrive")

# Pipedrive's burst limit is per token over a rolling 2-second window; for OAuth apps it is
# 80 / 160 / 400 / 480 requests per 2 s on the Lite / Growth / Premium / Ultimate plans
# (reference §10). We pace for the smallest, Lite: 35 starts per rolling second put at most 70
# into any 2-second window, leaving ~10 % headroom for the time between taking a slot and the
# request reaching Pipedrive (measured: 40/s let 81 arrive within 2 s). 10 in flight at most.
SMALLEST_OAUTH_BURST: Final = 80
PIPEDRIVE_RATE_LIMIT: Final = RateLimit(per_minute=2100, per_second=35, concurrent=10)
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=5, sock_read=20)
MAX_ATTEMPTS: Final = 4
MAX_WAIT_SECONDS: Final = 30.0
BLOCKED: Final = "PIPEDRIVE_BLOCKED"
BAD_RESPONSE: Final = "PIPEDRIVE_BAD_RESPONSE"
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


def loads(text: str) -> Any:
    """JSON with exact numbers: decimals become ``Decimal``, never ``float``."""
    return json.loads(text, parse_float=Decimal)


def _header_seconds(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _vendor_message(body: Any) -> tuple[str, str]:
    """The ``error`` (else ``message``/``errors``) and ``error_info`` of a failure body."""
    if not isinstance(body, dict):
        return "", ""
    message = body.get("error") or body.get("message") or body.get("errors") or ""
    info = body.get("error_info") or ""
    return str(message)[:500], str(info)[:300]


class _Retry(Exception):
    """Retry after ``wait`` seconds (None: the exponential backoff of the attempt)."""

    def __init__(
        self, error: UpstreamUnavailableError, wait: float | None = None, *, minimum: float = 0.0
    ) -> None:
        self.error = error
        self.wait = wait
        self.minimum = minimum


class PipedriveClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: PipedriveTokenProvider,
        rate_limiter: RateLimiter,
        *,
        rate_limit: RateLimit = PIPEDRIVE_RATE_LIMIT,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._limiter = rate_limiter
        self._limit = rate_limit
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        # At most `concurrent` callers per company in this process queue at the shared limiter;
        # the rest wait here, without polling the database.
        self._gates: dict[str, asyncio.Semaphore] = {}

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter"

    async def request(
        self,
        company_id: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        resource: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send ``method path`` (e.g. ``/api/v2/deals/1``) for the company; the JSON envelope.

        ``resource`` (type, id) names what a 404 is about.
        """
        method = method.upper()
        connection = await self._tokens.connection(company_id)
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(
                    company_id,
                    connection.api_domain,
                    connection.tokens.access_token,
                    method,
                    path,
                    params,
                    json_body,
                    resource,
                )
            except _Unauthorized:
                if refreshed:
                    log.warning("pipedrive.request_unauthorized", company_id=company_id, path=path)
                    raise IntegrationNotConnectedError(
                        "Pipedrive refused the app's access; reinstall the app from the "
                        "Pipedrive Marketplace.",
                        reason=NOT_CONNECTED,
                        metadata={"company": company_id},
                    ) from None
                refreshed = True
                attempt -= 1  # a refresh is not a retry
                connection = await self._tokens.refresh_rejected(
                    company_id, connection.tokens.access_token
                )
            except _Retry as retry:
                wait = max(
                    retry.minimum, retry.wait if retry.wait is not None else self._backoff(attempt)
                )
                if attempt >= self._max_attempts or wait > MAX_WAIT_SECONDS:
                    log.warning(
                        "pipedrive.request_failed",
                        company_id=company_id,
                        method=method,
                        path=path,
                        attempts=attempt,
                        reason=retry.error.metadata.get("detail", ""),
                    )
                    retry.error.retry_after_seconds = max(wait, 1.0)
                    raise retry.error from None
                log.info(
                    "pipedrive.request_retried",
                    company_id=company_id,
                    method=method,
                    path=path,
                    attempt=attempt,
                    wait_seconds=round(wait, 3),
                    reason=retry.error.metadata.get("detail", ""),
                )
                await self._sleep(wait)

    async def _once(
        self,
        company_id: str,
        api_domain: str,
        access_token: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        resource: tuple[str, str] | None,
    ) -> dict[str, Any]:
        idempotent = method in _IDEMPOTENT
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        gate = self._gates.setdefault(company_id, asyncio.Semaphore(self._limit.concurrent))
        try:
            async with (
                gate,
                self._limiter.slot(f"pipedrive:{company_id}", self._limit),
                self._session.request(
                    method,
                    f"{api_domain}{path}",
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout,
                ) as response,
            ):
                status = response.status
                response_headers = response.headers
                content_type = response.content_type
                text = await response.text()
        except aiohttp.ClientConnectorError as exc:
            raise _Retry(self._unavailable("connect", exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = self._unavailable(
                "timeout" if isinstance(exc, TimeoutError) else "network", exc
            )
            if not idempotent:
                raise error from exc
            raise _Retry(error) from exc

        body: Any
        try:
            body = loads(text) if text else None
        except ValueError:
            body = _NOT_JSON
        message, info = _vendor_message(body)
        metadata = {"http_status": str(status), "path": path}
        if message:
            metadata["vendor_message"] = message
        if info:
            metadata["vendor_error_info"] = info

        if 200 <= status < 300:
            if not isinstance(body, dict):
                raise UpstreamUnavailableError(
                    "Pipedrive sent an answer that is not JSON.",
                    reason=BAD_RESPONSE,
                    metadata=metadata,
                )
            if body.get("success") is False:
                raise UpstreamRejectedError(
                    f"Pipedrive refused the request: {message or 'no reason given'}",
                    reason=REJECTED,
                    metadata=metadata,
                )
            return body
        if status == 401:
            raise _Unauthorized
        if status == 403 and body is _NOT_JSON:
            log.error(
                "pipedrive.request_blocked",
                company_id=company_id,
                path=path,
                content_type=content_type,
            )
            raise UpstreamUnavailableError(
                "Pipedrive blocked the app's requests (HTTP 403 with a non-JSON page, its "
                "firewall's answer to too many requests). Nothing was retried; wait before "
                "trying again.",
                reason=BLOCKED,
                metadata=metadata,
                retry_after_seconds=60.0,
            )
        if status == 404:
            if resource is not None:
                raise NotFoundError(resource[0], resource[1])
            raise NotFoundError("pipedrive_object", path)
        if status == 429:
            daily_left = response_headers.get("x-daily-ratelimit-token-remaining")
            advised = _header_seconds(response_headers, "retry-after")
            if advised is None:
                advised = _header_seconds(response_headers, "x-ratelimit-reset")
            error = UpstreamUnavailableError(
                "Pipedrive is throttling this company's requests; try again shortly.",
                reason=UNAVAILABLE,
                metadata={**metadata, "detail": "429"},
                retry_after_seconds=advised if advised is not None else 2.0,
            )
            if daily_left == "0":  # the company's daily budget is spent: no point retrying
                error.metadata["detail"] = "daily budget spent"
                raise error
            if advised is None:
                raise _Retry(error, minimum=2.0)  # no advice: at least one burst window
            raise _Retry(error, advised + random.uniform(0, 0.25))
        if status >= 500:
            error = UpstreamUnavailableError(
                "Pipedrive is not answering properly right now; try again in a moment.",
                reason=UNAVAILABLE,
                metadata={**metadata, "detail": str(status)},
            )
            if idempotent or status == 503:
                raise _Retry(error, _header_seconds(response_headers, "retry-after"))
            raise error
        raise UpstreamRejectedError(
            f"Pipedrive refused the request: {message or f'HTTP {status}'}",
            reason=REJECTED,
            metadata=metadata,
        )

    @staticmethod
    def _unavailable(detail: str, exc: BaseException) -> UpstreamUnavailableError:
        return UpstreamUnavailableError(
            "Pipedrive could not be reached; try again in a moment.",
            reason=UNAVAILABLE,
            metadata={"detail": detail, "error": type(exc).__name__},
        )


class _Unauthorized(Exception):
    pass


_NOT_JSON: Final = object()
