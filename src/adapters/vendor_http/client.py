"""VendorHttp: the one way QuickBooks and Pipedrive are called.

A call takes the company's connection (TokenProvider), then up to ``attempts`` tries, each in a
slot of the shared RateLimiter under ``{vendor}:{external id}`` (the only pacing), sent with the
bearer token and read by the vendor's ``read``, which returns the answer's value or raises:

- ``RetryableError(error, after=...)``: trying again may work. Retried (tenacity) with
  exponential backoff and jitter, never sooner than the vendor's advice (``after`` seconds);
  a wait longer than ``patience`` is not made. A method that is not idempotent is retried only
  when the vendor cannot have acted (``acted=False``: throttled, or a connection that never
  opened). An unanswered request is retryable with the vendor's ``unreachable`` error. When the
  tries are used up, ``error`` is raised;
- ``TokenRefusedError(error)``: the token is refreshed once and the call made again; if the new
  token is refused too, ``error`` is raised;
- any other error: raised as it is.

Cool-off (a vendor with ``cooling_off``): once a company's calls used up their tries three
times in a row (an outage, not bad luck), its calls fail at once for ``cool_off_seconds`` on
the injected clock, instead of each spending the whole backoff and the company's request budget.
Any answer ends it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_random_exponential,
)

from adapters.vendor_http.tokens import TokenProvider
from application.errors import ApplicationError
from application.ports.clock import Clock
from application.ports.connections import RateLimit, RateLimiter
from domain.connection import Connection, Vendor

log = structlog.get_logger("dealbooks.vendor_http")

T = TypeVar("T")
GIVE_UPS_TO_COOL_OFF: Final = 3
ADVICE_JITTER: Final = 0.25  # s: callers told the same reset time do not all come back at once


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return loads(self.text())
        except ValueError:
            return None


def loads(text: str | bytes) -> Any:
    """JSON with exact numbers: decimals become ``Decimal``, never ``float``."""
    return json.loads(text, parse_float=Decimal)


def header_seconds(headers: Mapping[str, str], name: str) -> float | None:
    """A header's number of seconds (``Retry-After``), else None."""
    try:
        value = float(headers[name])
    except (KeyError, ValueError):
        return None
    return value if value >= 0 else None


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    unreachable: Callable[[Exception], Exception],
    **options: Any,
) -> Answer:
    """One request outside a company's connection (OAuth endpoints: no slot, retry or refresh);
    raises ``unreachable(error)`` when no answer comes."""
    try:
        async with session.request(method, url, **options) as response:
            return Answer(response.status, response.headers, await response.read())
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise unreachable(exc) from exc


class RetryableError(Exception):
    """Trying again may work; ``error`` is what the caller gets if it does not."""

    def __init__(
        self, error: ApplicationError, *, after: float | None = None, acted: bool = True
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.after = after  # the vendor's advice, in seconds
        self.acted = acted  # whether the vendor may have acted on the request


class TokenRefusedError(Exception):
    """The vendor refused the access token; ``error`` if it refuses the refreshed one too."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class VendorRules:
    """What the shared layer needs to know about one vendor."""

    vendor: Vendor
    limit: RateLimit  # per company, across every process
    timeout: aiohttp.ClientTimeout
    unreachable: Callable[[Exception], ApplicationError]  # no answer: network, timeout
    idempotent: Callable[[str], bool] = lambda method: True  # may this method be sent twice?
    attempts: int = 4
    backoff_base: float = 0.5  # ~seconds before the second try; doubles each try
    backoff_cap: float = 8.0
    patience: float = 30.0
    cooling_off: Callable[[float], ApplicationError] | None = None  # None: no cool-off
    cool_off_seconds: float = 5.0
    trace_header: str = ""  # a response header logged with every answer (Intuit's intuit_tid)


class VendorHttp:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenProvider,
        limiter: RateLimiter,
        clock: Clock,
        rules: VendorRules,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock
        self._rules = rules
        # "Equal jitter": half the exponential step for sure, the other half at random.
        half_base, half_cap = rules.backoff_base / 2, rules.backoff_cap / 2
        self._backoff = wait_exponential(multiplier=half_base, max=half_cap) + (
            wait_random_exponential(multiplier=half_base, max=half_cap)
        )
        self._give_ups: dict[str, int] = {}
        self._down_until: dict[str, datetime] = {}

    async def connection(self, company_id: str) -> Connection:
        """The company's connection calls use now (which vendor account it reaches)."""
        return await self._tokens.current(company_id)

    async def call(
        self,
        company_id: str,
        method: str,
        url: Callable[[Connection], str],
        read: Callable[[Answer], T],
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        budget: tuple[str, RateLimit] | None = None,
    ) -> T:
        """``method url(connection)`` for the company, its answer as ``read`` makes it.
        ``budget`` (a key prefix and its limit): a second shared limit the call also counts
        against, per vendor account, beside the vendor's own (e.g. QuickBooks' batch calls)."""
        request = _Request(method, url, params, data, headers or {}, budget)
        connection = await self._tokens.current(company_id)
        try:
            return await self._tries(connection, request, read)
        except TokenRefusedError:
            connection = await self._tokens.refresh(company_id, connection.tokens.access_token)
        try:
            return await self._tries(connection, request, read)
        except TokenRefusedError as refused:
            vendor = self._rules.vendor.value
            log.warning("vendor.request_unauthorized", vendor=vendor, company_id=company_id)
            raise refused.error from None

    async def _tries(
        self, connection: Connection, request: _Request, read: Callable[[Answer], T]
    ) -> T:
        rules = self._rules
        key = f"{rules.vendor.value}:{connection.external_id}"
        context = {"vendor": rules.vendor.value, "key": key, "method": request.method}
        context["path"] = urlsplit(request.url(connection)).path

        def log_retry(state: RetryCallState) -> None:
            error = _failure(state).error
            log.info(
                "vendor.request_retried",
                **context,
                attempt=state.attempt_number,
                wait_seconds=round(state.upcoming_sleep, 3),
                reason=error.reason,
                metadata=error.metadata,
            )

        retrying = AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._try(key, connection, request, read, context)
        except RetryableError as failure:
            self._gave_up(key)
            error = failure.error
            log.warning(
                "vendor.request_failed", **context, reason=error.reason, metadata=error.metadata
            )
            raise error from failure.__cause__
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    async def _try(
        self,
        key: str,
        connection: Connection,
        request: _Request,
        read: Callable[[Answer], T],
        context: dict[str, str],
    ) -> T:
        self._refuse_while_cooling(key)  # also between tries: another call may have given up
        try:
            value = read(await self._send(key, connection, request, context))
        except RetryableError as failure:
            if failure.acted and not self._rules.idempotent(request.method):
                raise failure.error from failure.__cause__  # the vendor may have acted on it
            raise
        except ApplicationError:
            self._answered(key)
            raise
        self._answered(key)
        return value

    async def _send(
        self, key: str, connection: Connection, request: _Request, context: dict[str, str]
    ) -> Answer:
        rules = self._rules
        headers = {"Authorization": f"Bearer {connection.tokens.access_token}", **request.headers}
        started = time.perf_counter()
        # The slot first, outside what counts as the vendor's failure: the limiter's own
        # trouble (its database) is not the vendor being unreachable.
        async with AsyncExitStack() as slots:
            if request.budget is not None:
                prefix, limit = request.budget
                external_id = key.split(":", 1)[1]
                await slots.enter_async_context(
                    self._limiter.slot(f"{prefix}:{external_id}", limit)
                )
            await slots.enter_async_context(self._limiter.slot(key, rules.limit))
            try:
                async with self._session.request(
                    request.method,
                    request.url(connection),
                    params=request.params,
                    data=request.data,
                    headers=headers,
                    timeout=rules.timeout,
                ) as response:
                    answer = Answer(response.status, response.headers, await response.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                never_opened = isinstance(exc, aiohttp.ClientConnectorError)
                raise RetryableError(rules.unreachable(exc), acted=not never_opened) from exc
        trace = {rules.trace_header: answer.headers.get(rules.trace_header, "")}
        log.debug(
            "vendor.request_completed",
            **context,
            **(trace if rules.trace_header else {}),
            status=answer.status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return answer

    def _stop(self, state: RetryCallState) -> bool:
        """After the last try, or when the wait is past patience (tenacity decides the wait
        before whether to stop)."""
        rules = self._rules
        return state.attempt_number >= rules.attempts or state.upcoming_sleep > rules.patience

    def _wait(self, state: RetryCallState) -> float:
        after, backoff = _failure(state).after, self._backoff(state)
        return backoff if after is None else max(backoff, after + random.uniform(0, ADVICE_JITTER))

    def _refuse_while_cooling(self, key: str) -> None:
        cooling_off, until = self._rules.cooling_off, self._down_until.get(key)
        if cooling_off is not None and until is not None and self._clock.now() < until:
            raise cooling_off(self._rules.cool_off_seconds)

    def _gave_up(self, key: str) -> None:
        self._give_ups[key] = self._give_ups.get(key, 0) + 1
        if self._give_ups[key] >= GIVE_UPS_TO_COOL_OFF:
            cool_off = timedelta(seconds=self._rules.cool_off_seconds)
            self._down_until[key] = self._clock.now() + cool_off

    def _answered(self, key: str) -> None:
        self._give_ups.pop(key, None)
        self._down_until.pop(key, None)


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: Callable[[Connection], str]
    params: Mapping[str, str] | None
    data: bytes | None
    headers: Mapping[str, str]
    budget: tuple[str, RateLimit] | None = None


def _failure(state: RetryCallState) -> RetryableError:
    """The failure tenacity is deciding about (only RetryableError is retried)."""
    failure = state.outcome.exception() if state.outcome is not None else None
    assert isinstance(failure, RetryableError)
    return failure
