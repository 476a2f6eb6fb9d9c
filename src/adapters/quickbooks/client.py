"""A thin aiohttp client for the QuickBooks Online Accounting API v3, one company at a time.

- URLs: ``{api_base}/v3/company/{realmId}/...`` with ``minorversion=75`` pinned (reference §1.4);
  ``Accept: application/json`` (``application/pdf`` for PDFs); JSON numbers parsed as Decimal.
- Pacing: every request (including retries) takes a slot from the injected cross-process
  ``RateLimiter`` under ``quickbooks:{realmId}``, within QBO's per-realm limits (500/min, 10/s,
  10 in flight; §1.7) less a small margin, so the limits hold across every process.
- Retries with exponential backoff and jitter on 429, 5xx and network errors only. Writes are
  safe to retry: each carries a ``requestid`` and QBO replays the original answer (§1.5).
- Every body is checked for a Fault, also inside a 200 and inside batch items (§1.6, §13.7); the
  capitalised ``Fault``, the lower-case 401 ``fault`` envelope and XML throttle bodies are parsed.
- ``intuit_tid`` (QBO's transaction id for support) is logged for every response.
- Cool-off: once requests to a company have used up their retries a few times in a row (an
  outage, not bad luck), its calls fail at once for a few seconds instead of each retrying on
  its own (an outage would otherwise cost every caller the whole backoff, and the retries would
  use up the company's request budget). Any answer ends it.
- Errors become application errors: 401 -> one token refresh, then IntegrationNotConnectedError;
  610 -> NotFoundError; validation faults -> UpstreamRejectedError with a plain-language message
  and ``vendor_code``/``intuit_tid`` in metadata; 429/5xx/timeouts -> UpstreamUnavailableError.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import random
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import aiohttp
import structlog

from adapters.quickbooks.oauth import (
    MINOR_VERSION,
    NOT_CONNECTED,
    REJECTED,
    QuickBooksTokenProvider,
    not_connected,
    unavailable,
)
from application.errors import (
    ApplicationError,
    NotFoundError,
    UpstreamRejectedError,
)
from application.ports.connections import RateLimit, RateLimiter

log = structlog.get_logger("dealbooks.quickbooks")

#: Intuit's per-realm limits for the Accounting API (reference §1.7).
QBO_RATE_LIMIT: Final = RateLimit(per_minute=500, per_second=10, concurrent=10)
#: QBO requests time out after 120 s on Intuit's side; we give up a little earlier per attempt.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=100, connect=10, sock_read=90)
MAX_ATTEMPTS: Final = 4
#: Intuit: "If you see [429], wait 60 seconds before retrying" — told to callers that give up.
THROTTLE_RETRY_AFTER: Final = 60.0
REQUEST_ID_MAX: Final = 50
#: After requests to a company gave up this many times in a row, its calls fail without being
#: sent for COOL_OFF_SECONDS. One give-up is no outage: with a quarter of all calls failing, one
#: request in 256 uses up its four attempts by bad luck.
GIVE_UPS_TO_COOL_OFF: Final = 3
COOL_OFF_SECONDS: Final = 5.0
BATCH_REQUEST_ID_MAX: Final = 36
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:~-]+$")


def pacing_limit(limit: RateLimit) -> RateLimit:
    """``limit`` less a margin: our limiter counts when a request starts, Intuit when it
    arrives; network jitter between the two could otherwise push an 11th request into
    Intuit's one-second window (one per second and 1% per minute absorb it)."""
    return RateLimit(
        per_minute=max(1, limit.per_minute - max(1, limit.per_minute // 100)),
        per_second=max(1, limit.per_second - 1),
        concurrent=limit.concurrent,
    )


def new_session(timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT) -> aiohttp.ClientSession:
    """The one QuickBooks session of the process (the composition root owns and closes it)."""
    return aiohttp.ClientSession(
        timeout=timeout,
        headers={"User-Agent": "dealbooks/0.1 (+https://dealbooks.dev)"},
        raise_for_status=False,
    )


def qbo_request_id(request_id: str, *, limit: int = REQUEST_ID_MAX) -> str:
    """Our request id as QBO accepts it (≤ 50 characters, 36 for batch): kept as is when it
    fits, else a readable prefix plus a SHA-256 digest, deterministic so retries match."""
    if len(request_id) <= limit and _REQUEST_ID_OK.match(request_id):
        return request_id
    digest = hashlib.sha256(request_id.encode()).hexdigest()
    keep = re.sub(r"[^A-Za-z0-9._:~-]", "", request_id)[: max(0, limit - 33)]
    return f"{keep}-{digest}"[-limit:] if keep else digest[:limit]


def loads(raw: bytes | str) -> Any:
    """JSON with exact numbers: decimals become ``Decimal``, never ``float``."""
    return json.loads(raw, parse_float=Decimal)


# -- faults ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuickBooksFault:
    code: str
    message: str
    detail: str
    element: str = ""
    type: str = ""


_XML_FAULT = re.compile(r"<Fault\b(?P<attrs>[^>]*)>", re.S)
_XML_ERROR = re.compile(
    r"<Error\b(?P<attrs>[^>]*)>(?P<body>.*?)</Error>",
    re.S,
)
_XML_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")
_XML_TAG = re.compile(r"<(Message|Detail)>(.*?)</\1>", re.S)


def fault_from_xml(text: str) -> QuickBooksFault | None:
    """The first error of an ``<IntuitResponse><Fault>`` body (throttles come as XML even when
    JSON was asked for, reference §1.6). Parsed with patterns: no XML parser sees vendor input."""
    fault = _XML_FAULT.search(text)
    error = _XML_ERROR.search(text)
    if fault is None or error is None:
        return None
    attrs = dict(_XML_ATTR.findall(error.group("attrs")))
    tags = dict(_XML_TAG.findall(error.group("body")))
    return QuickBooksFault(
        code=attrs.get("code", ""),
        message=html.unescape(tags.get("Message", "").strip()),
        detail=html.unescape(tags.get("Detail", "").strip()),
        element=attrs.get("element", ""),
        type=dict(_XML_ATTR.findall(fault.group("attrs"))).get("type", ""),
    )


def fault_from_json(body: Any) -> QuickBooksFault | None:
    """The first error of a ``Fault`` (or the 401 lower-case ``fault``) envelope, else None."""
    if not isinstance(body, Mapping):
        return None
    envelope = body.get("Fault")
    errors_key, keys = "Error", ("Message", "Detail", "code", "element")
    if not isinstance(envelope, Mapping):
        envelope = body.get("fault")
        errors_key, keys = "error", ("message", "detail", "code", "element")
    if not isinstance(envelope, Mapping):
        return None
    errors = envelope.get(errors_key)
    first = errors[0] if isinstance(errors, list) and errors else {}
    if not isinstance(first, Mapping):
        first = {}
    message, detail, code, element = (first.get(k) for k in keys)
    return QuickBooksFault(
        code=str(code or ""),
        message=str(message or ""),
        detail=str(detail or ""),
        element=str(element or ""),
        type=str(envelope.get("type") or ""),
    )


class QuickBooksRejectedError(UpstreamRejectedError):
    """QuickBooks refused the request; ``code`` is its error code (5010, 6240, ...)."""

    def __init__(self, message: str, fault: QuickBooksFault, intuit_tid: str) -> None:
        super().__init__(
            message,
            reason=REJECTED,
            metadata={
                "vendor_code": fault.code,
                "intuit_tid": intuit_tid,
                "vendor_message": fault.message[:300],
                "vendor_detail": fault.detail[:500],
                "element": fault.element,
            },
        )
        self.code = fault.code
        self.fault = fault


_PLAIN: Final[dict[str, str]] = {
    "5010": "Someone changed this in QuickBooks at the same time. Reload it and try again.",
    "6240": "QuickBooks already has a customer, vendor or employee with this name.",
    "6070": "QuickBooks found a line whose amount is not its quantity times its unit price.",
    "6140": "QuickBooks already has an invoice with this number; choose another number.",
    "6190": "This QuickBooks company cannot take changes: its subscription has ended or was "
    "cancelled.",
    "2500": "The invoice refers to something QuickBooks no longer has (a customer, product, "
    "tax code or term). Choose it again and retry.",
    "2050": "Some text is longer than QuickBooks allows.",
    "4000": "QuickBooks could not understand a search.",
    "4001": "QuickBooks could not understand a search.",
}


def plain_message(fault: QuickBooksFault) -> str:
    """What went wrong, in words for a user; QuickBooks' own text kept after it."""
    detail = fault.detail
    for prefix in ("Business Validation Error:", "Business Validation Error :"):
        if detail.startswith(prefix):
            detail = detail[len(prefix) :].strip()
    if fault.code in _PLAIN:
        base = _PLAIN[fault.code]
    elif fault.code in ("2010", "2020", "2030"):
        field = f" ({fault.element})" if fault.element else ""
        base = f"QuickBooks says a field is missing or not valid{field}."
    elif fault.code == "6000":
        base = "QuickBooks refused it:"
    else:
        base = "QuickBooks refused the request:"
    extra = detail or fault.message
    return f"{base} {extra}".strip() if extra and extra not in base else base


def fault_error(fault: QuickBooksFault, status: int, intuit_tid: str) -> ApplicationError:
    """The application error a fault stands for."""
    kind = fault.type.lower()
    if fault.code == "610":
        error: ApplicationError = NotFoundError(
            "quickbooks_object", fault.element or "", reason="QUICKBOOKS_OBJECT_NOT_FOUND"
        )
        error.metadata.update(vendor_code="610", intuit_tid=intuit_tid)
        return error
    if status == 429 or fault.code == "3001" or "throttle" in fault.message.lower():
        return unavailable(
            "QuickBooks is limiting how fast we can work for this company; "
            "it will be retried shortly.",
            THROTTLE_RETRY_AFTER,
            vendor_code=fault.code or "429",
            intuit_tid=intuit_tid,
        )
    if status >= 500 or kind in ("systemfault", "service") or fault.code in ("10000", "3003"):
        return unavailable(
            "QuickBooks is temporarily unavailable; it will be retried shortly.",
            vendor_code=fault.code or str(status),
            intuit_tid=intuit_tid,
        )
    if (
        status in (401, 403)
        or kind.startswith("authentication")
        or kind.startswith("authorization")
        or fault.code in ("120", "3100", "3200")
    ):
        error = not_connected(NOT_CONNECTED)
        error.metadata.update(vendor_code=fault.code, intuit_tid=intuit_tid)
        return error
    return QuickBooksRejectedError(plain_message(fault), fault, intuit_tid)


def parse_batch_items(body: Any, intuit_tid: str = "") -> dict[str, Any]:
    """``BatchItemResponse`` by ``bId``: the item's entity / QueryResponse, or the application
    error its Fault stands for (batch faults arrive inside an HTTP 200, reference §4.8)."""
    items = body.get("BatchItemResponse") if isinstance(body, Mapping) else None
    out: dict[str, Any] = {}
    for item in items or []:
        if not isinstance(item, Mapping):
            continue
        bid = str(item.get("bId", ""))
        fault = fault_from_json(item)
        if fault is not None:
            out[bid] = fault_error(fault, 400, intuit_tid)
        else:
            out[bid] = {k: v for k, v in item.items() if k != "bId"}
    return out


# -- the client --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = MAX_ATTEMPTS
    base_seconds: float = 0.5
    max_seconds: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter (never below a server's Retry-After)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** (attempt - 1)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_seconds))
        return delay


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    intuit_tid: str


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


class QuickBooksClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: QuickBooksTokenProvider,
        rate_limiter: RateLimiter,
        api_base: str,
        *,
        rate_limit: RateLimit = QBO_RATE_LIMIT,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        cool_off_seconds: float = COOL_OFF_SECONDS,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._limiter = rate_limiter
        self._api_base = api_base.rstrip("/")
        self._limit = pacing_limit(rate_limit)
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._spacing = 1.0 / self._limit.per_second
        self._next_start: dict[str, float] = {}
        self._recent_starts: dict[str, deque[float]] = {}
        self._quiet_starts = max(1, self._limit.per_second * 2 // 3)
        self._cool_off = cool_off_seconds
        self._down_until: dict[str, float] = {}
        self._give_ups: dict[str, int] = {}

    def _refuse_while_down(self, realm: str) -> None:
        """Fail at once while QuickBooks is known not to answer for this company."""
        if time.monotonic() < self._down_until.get(realm, 0.0):
            raise unavailable(
                "QuickBooks is not answering at the moment; it will be retried shortly.",
                retry_after=self._cool_off,
                vendor_code="COOLING_OFF",
            )

    def _gave_up(self, realm: str) -> None:
        self._give_ups[realm] = self._give_ups.get(realm, 0) + 1
        if self._give_ups[realm] >= GIVE_UPS_TO_COOL_OFF:
            self._down_until[realm] = time.monotonic() + self._cool_off

    def _answered(self, realm: str) -> None:
        self._give_ups.pop(realm, None)
        self._down_until.pop(realm, None)

    async def _spaced(self, realm: str) -> None:
        """Spread this process's starts evenly (1 / per_second apart) per realm. The shared
        limiter alone lets a full second's worth start together at each window edge; Intuit
        counts arrivals, a few milliseconds later, and would still see part of the previous
        burst in its one-second window (observed: 429s without this, and with a burst of 3
        allowed back to back).

        Below two thirds of the pace (fewer starts here in the last second) a call does not
        wait for its place in the even schedule, only for a quarter of the spacing since the
        previous start: a user's create is not held back ~0.1 s because a background read
        started just before it. Starts stay far enough apart that an edge of Intuit's window
        catches at most one of them, the limiter still caps every second, and every start
        reserves its place in the schedule, so a burst that follows is spaced from there."""
        now = time.monotonic()
        recent = self._recent_starts.setdefault(realm, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        scheduled = max(now, self._next_start.get(realm, 0.0))
        if len(recent) < self._quiet_starts:
            at = max(now, recent[-1] + self._spacing / 4) if recent else now
        else:
            at = scheduled
        self._next_start[realm] = scheduled + self._spacing
        recent.append(at)
        if at > now:
            await asyncio.sleep(at - now)

    async def get(self, company_id: str, path: str, **params: str) -> Any:
        return await self.request(company_id, "GET", path, params=params)

    async def post(
        self, company_id: str, path: str, body: Any, *, request_id: str, **params: str
    ) -> Any:
        return await self.request(
            company_id, "POST", path, params=params, json_body=body, request_id=request_id
        )

    async def query(self, company_id: str, text: str) -> dict[str, Any]:
        """``QueryResponse`` of a SELECT, sent as the POST body (no URL-length limit)."""
        body = await self.request(
            company_id, "POST", "query", data=text.encode(), content_type="application/text"
        )
        response = body.get("QueryResponse") if isinstance(body, Mapping) else None
        return dict(response) if isinstance(response, Mapping) else {}

    async def batch(
        self, company_id: str, items: list[dict[str, Any]], *, request_id: str
    ) -> dict[str, Any]:
        """Up to 30 items; answers by ``bId`` (an entity dict or an ApplicationError)."""
        answer = await self._exchange(
            company_id,
            "POST",
            "batch",
            params={"requestid": qbo_request_id(request_id, limit=BATCH_REQUEST_ID_MAX)},
            data=json.dumps({"BatchItemRequest": items}, default=str).encode(),
            content_type="application/json",
        )
        body = self._interpret(answer)
        return parse_batch_items(body, answer.intuit_tid)

    async def pdf(self, company_id: str, path: str) -> bytes:
        answer = await self._exchange(
            company_id, "GET", path, params={}, accept="application/pdf, application/json"
        )
        if answer.status == 200 and answer.body.startswith(b"%PDF"):
            return answer.body
        self._interpret(answer)  # raises on a Fault
        raise unavailable(
            "QuickBooks sent something that is not a PDF.", intuit_tid=answer.intuit_tid
        )

    async def request(
        self,
        company_id: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
    ) -> Any:
        query = dict(params or {})
        if request_id is not None:
            query["requestid"] = qbo_request_id(request_id)
        if json_body is not None:
            data = json.dumps(json_body, default=str).encode()
            content_type = "application/json"
        answer = await self._exchange(
            company_id, method, path, params=query, data=data, content_type=content_type
        )
        return self._interpret(answer)

    def _interpret(self, answer: _Answer) -> Any:
        text = answer.body.decode("utf-8", errors="replace")
        stripped = text.lstrip()
        body: Any = None
        fault: QuickBooksFault | None = None
        if stripped.startswith("<"):
            fault = fault_from_xml(stripped)
        elif stripped:
            try:
                body = loads(stripped)
            except ValueError:
                body = None
            fault = fault_from_json(body)
        if fault is None and answer.status >= 400:
            fault = QuickBooksFault(code=str(answer.status), message=text[:200], detail="")
        if fault is not None:
            log.warning(
                "quickbooks.fault_received",
                status=answer.status,
                vendor_code=fault.code,
                fault_type=fault.type,
                element=fault.element,
                intuit_tid=answer.intuit_tid,
            )
            raise fault_error(fault, answer.status, answer.intuit_tid)
        if body is None:
            raise unavailable(
                "QuickBooks sent an answer we could not read.", intuit_tid=answer.intuit_tid
            )
        return body

    async def _exchange(
        self,
        company_id: str,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        data: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> _Answer:
        connection = await self._tokens.current(company_id)
        realm = connection.external_id
        url = f"{self._api_base}/v3/company/{realm}/{path}"
        query = {"minorversion": MINOR_VERSION, **params}
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {
                "Authorization": f"Bearer {connection.tokens.access_token}",
                "Accept": accept,
            }
            if content_type:
                headers["Content-Type"] = content_type
            self._refuse_while_down(realm)  # also between retries: another call gave up
            await self._spaced(realm)
            started = time.perf_counter()
            try:
                async with (
                    self._limiter.slot(f"quickbooks:{realm}", self._limit),
                    self._session.request(
                        method, url, params=query, data=data, headers=headers, timeout=self._timeout
                    ) as response,
                ):
                    body = await response.read()
                    status = response.status
                    response_headers = response.headers
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt >= self._retry.max_attempts:
                    self._gave_up(realm)
                    log.warning(
                        "quickbooks.request_failed",
                        method=method,
                        path=path.split("?")[0],
                        realm_id=realm,
                        error=type(exc).__name__,
                        attempts=attempt,
                    )
                    raise unavailable(
                        "QuickBooks could not be reached; it will be retried shortly.",
                        vendor_code=type(exc).__name__,
                    ) from exc
                log.info(
                    "quickbooks.request_retried",
                    method=method,
                    path=path,
                    realm_id=realm,
                    reason=type(exc).__name__,
                    attempt=attempt,
                )
                await asyncio.sleep(self._retry.delay(attempt))
                continue
            tid = response_headers.get("intuit_tid", "")
            log.debug(
                "quickbooks.request_completed",
                method=method,
                path=path,
                realm_id=realm,
                status=status,
                intuit_tid=tid,
                attempt=attempt,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            answer = _Answer(status, body, response_headers.get("Content-Type", ""), tid)
            if status == 401:
                if refreshed:
                    self._interpret(answer)  # logs the fault
                    raise not_connected(NOT_CONNECTED)
                connection = await self._tokens.refresh(company_id, connection.tokens.access_token)
                refreshed = True
                attempt -= 1
                continue
            if status == 429 or status >= 500:
                if attempt >= self._retry.max_attempts:
                    self._gave_up(realm)
                    return answer  # _interpret turns it into UpstreamUnavailableError
                log.info(
                    "quickbooks.request_retried",
                    method=method,
                    path=path,
                    realm_id=realm,
                    reason=str(status),
                    intuit_tid=tid,
                    attempt=attempt,
                )
                await asyncio.sleep(self._retry.delay(attempt, _retry_after(response_headers)))
                continue
            self._answered(realm)
            return answer
