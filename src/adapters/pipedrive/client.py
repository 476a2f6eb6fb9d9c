"""A thin client for one company's Pipedrive API over the shared vendor HTTP layer (pacing,
retries, token refresh: ``adapters.vendor_http``); here is how Pipedrive's answers are read.

- Base URL: the company's ``api_domain`` (from its stored connection).
- POST (not idempotent: a note could be added twice) is retried only when Pipedrive cannot have
  acted on it: 429, 503, or a connection that never opened.
- Errors: 401 -> one token refresh, then IntegrationNotConnectedError; 404 -> NotFoundError;
  other 4xx -> UpstreamRejectedError (vendor message in ``metadata``); 429/5xx/timeouts ->
  UpstreamUnavailableError; a spent daily budget is not retried; a non-JSON 403 (Pipedrive's
  firewall page after sustained 429s, reference §10) is a hard stop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import structlog

from adapters.vendor_http.client import (
    Answer,
    RetryableError,
    TokenRefusedError,
    VendorHttp,
    VendorRules,
    header_seconds,
)
from application.errors import (
    ApplicationError,
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.connections import RateLimit
from application.reasons import MetadataKey, Reason, ResourceType
from domain.connection import Connection, Vendor

log = structlog.get_logger("dealbooks.pipedrive")

# Pipedrive's burst limit is per token over a rolling 2-second window; for OAuth apps it is
# 80 / 160 / 400 / 480 requests per 2 s on the Lite / Growth / Premium / Ultimate plans
# (reference §10). We pace for the smallest, Lite. The shared limiter counts starts over 1.2 s
# (see PostgresRateLimiter): 26 per window keep any 2-second window of arrivals at 78 or fewer
# (three windows) even when their delays vary by up to 1.6 s, as on a loaded machine (38 let
# 85 through there). 10 in flight.
SMALLEST_OAUTH_BURST: Final = 80
PIPEDRIVE_RATE_LIMIT: Final = RateLimit(per_minute=1300, per_second=26, concurrent=10)
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=5, sock_read=20)
NO_ADVICE_WAIT: Final = 2.0  # a 429 without advice waits at least one burst window
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
#: Pipedrive's 403 to a token without the operation's scope (reference §3.8).
SCOPE_MISMATCH: Final = "Scope and URL mismatch"


def _unreachable(exc: Exception) -> ApplicationError:
    if isinstance(exc, aiohttp.ClientConnectorError):
        detail = "connect"
    else:
        detail = "timeout" if isinstance(exc, TimeoutError) else "network"
    return UpstreamUnavailableError(
        "Pipedrive could not be reached; try again in a moment.",
        reason=Reason.PIPEDRIVE_UNAVAILABLE,
        metadata={MetadataKey.DETAIL: detail, MetadataKey.ERROR: type(exc).__name__},
    )


PIPEDRIVE: Final = VendorRules(
    vendor=Vendor.PIPEDRIVE,
    limit=PIPEDRIVE_RATE_LIMIT,
    timeout=DEFAULT_TIMEOUT,
    unreachable=_unreachable,
    idempotent=_IDEMPOTENT.__contains__,
)


def _vendor_message(body: Any) -> tuple[str, str]:
    """The ``error`` (else ``message``/``errors``) and ``error_info`` of a failure body."""
    if not isinstance(body, dict):
        return "", ""
    message = body.get("error") or body.get("message") or body.get("errors") or ""
    info = body.get("error_info") or ""
    return str(message)[:500], str(info)[:300]


def envelope_reader(
    company_id: str, path: str, resource: tuple[ResourceType, str] | None
) -> Callable[[Answer], dict[str, Any]]:
    """How an answer to ``path`` is read: its JSON envelope, or the error it stands for.
    ``resource`` (type, id) names what a 404 is about."""

    def read(answer: Answer) -> dict[str, Any]:
        status, body = answer.status, answer.json()
        message, info = _vendor_message(body)
        metadata: dict[str, str] = {MetadataKey.HTTP_STATUS: str(status), MetadataKey.PATH: path}
        if message:
            metadata[MetadataKey.VENDOR_MESSAGE] = message
        if info:
            metadata[MetadataKey.VENDOR_ERROR_INFO] = info

        if 200 <= status < 300:
            if not isinstance(body, dict):
                raise UpstreamUnavailableError(
                    "Pipedrive sent an answer that is not JSON.",
                    reason=Reason.PIPEDRIVE_BAD_RESPONSE,
                    metadata=metadata,
                )
            if body.get("success") is False:
                raise UpstreamRejectedError(
                    f"Pipedrive refused the request: {message or 'no reason given'}",
                    reason=Reason.PIPEDRIVE_REJECTED,
                    metadata=metadata,
                )
            return body
        if status == 401:
            raise TokenRefusedError(
                IntegrationNotConnectedError(
                    "Pipedrive refused the app's access; reinstall the app from the "
                    "Pipedrive Marketplace.",
                    reason=Reason.PIPEDRIVE_NOT_CONNECTED,
                    metadata={MetadataKey.COMPANY: company_id},
                )
            )
        if status == 403 and body is None and answer.body:  # not JSON
            log.error(
                "pipedrive.request_blocked",
                company_id=company_id,
                path=path,
                content_type=answer.headers.get("Content-Type", ""),
            )
            raise UpstreamUnavailableError(
                "Pipedrive blocked the app's requests (HTTP 403 with a non-JSON page, its "
                "firewall's answer to too many requests). Nothing was retried; wait before "
                "trying again.",
                reason=Reason.PIPEDRIVE_BLOCKED,
                metadata=metadata,
                retry_after_seconds=60.0,
            )
        if status == 403 and message == SCOPE_MISMATCH:
            # A call outside the scopes the company granted (adapters/pipedrive/scopes.py): a
            # bug or a Developer Hub registration that lacks a scope, never the user's doing.
            log.error("pipedrive.scope_missing", company_id=company_id, path=path)
        if status == 404:
            raise NotFoundError(*(resource or (ResourceType.PIPEDRIVE_OBJECT, path)))
        if status == 429:
            advised = header_seconds(answer.headers, "retry-after")
            if advised is None:
                advised = header_seconds(answer.headers, "x-ratelimit-reset")
            error = UpstreamUnavailableError(
                "Pipedrive is throttling this company's requests; try again shortly.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={**metadata, MetadataKey.DETAIL: "429"},
                retry_after_seconds=advised if advised is not None else NO_ADVICE_WAIT,
            )
            if answer.headers.get("x-daily-ratelimit-token-remaining") == "0":
                error.metadata[MetadataKey.DETAIL] = "daily budget spent"
                raise error  # the company's daily budget is spent: no point retrying
            raise RetryableError(error, after=error.retry_after_seconds, acted=False)
        if status >= 500:
            error = UpstreamUnavailableError(
                "Pipedrive is not answering properly right now; try again in a moment.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={**metadata, MetadataKey.DETAIL: str(status)},
            )
            after = header_seconds(answer.headers, "retry-after")
            raise RetryableError(error, after=after, acted=status != 503)
        raise UpstreamRejectedError(
            f"Pipedrive refused the request: {message or f'HTTP {status}'}",
            reason=Reason.PIPEDRIVE_REJECTED,
            metadata=metadata,
        )

    return read


class PipedriveClient:
    def __init__(self, http: VendorHttp) -> None:
        self._http = http

    async def connection(self, company_id: str) -> Connection:
        """The connection calls for the company use now (whose tokens)."""
        return await self._http.connection(company_id)

    async def request(
        self,
        company_id: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        resource: tuple[ResourceType, str] | None = None,
    ) -> dict[str, Any]:
        """``method path`` (``/api/v2/deals/1``) for the company; ``resource`` names a 404."""
        headers = {"Accept": "application/json"}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        return await self._http.call(
            company_id,
            method.upper(),
            lambda connection: f"{connection.api_domain}{path}",
            envelope_reader(company_id, path, resource),
            params=params,
            data=data,
            headers=headers,
        )
