"""A thin client for the QuickBooks Online Accounting API v3, one company at a time, over the
shared vendor HTTP layer (pacing, retries, token refresh, cool-off: ``adapters.vendor_http``).

- URLs: ``{api_base}/v3/company/{realmId}/...`` with ``minorversion=75`` pinned (reference §1.4).
- Pacing: per realm, within QBO's limits (500/min, 10/s, 10 in flight; §1.7).
- Writes are safe to retry: each carries a ``requestid`` and QBO replays the original answer (§1.5).
- Every body is checked for a Fault, also inside a 200 (``faults``); ``intuit_tid`` (QBO's
  transaction id for support) is logged for every answer.
- Errors: 401 -> one token refresh, then IntegrationNotConnectedError; 610 -> NotFoundError;
  validation faults -> UpstreamRejectedError; 429/5xx/timeouts -> UpstreamUnavailableError.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import aiohttp
import structlog

from adapters.quickbooks.faults import (
    QuickBooksFault,
    fault_error,
    fault_from_json,
    fault_from_xml,
    not_connected,
    unavailable,
)
from adapters.quickbooks.metering import (
    MeteredReadCounter,
    metered_answer,
    metered_kind,
)
from adapters.vendor_http.client import (
    Answer,
    RetryableError,
    TokenRefusedError,
    VendorHttp,
    VendorRules,
    header_seconds,
)
from application.errors import ApplicationError
from application.ports.connections import RateLimit
from application.ports.metering import ReadBudget
from application.reasons import MetadataKey, Reason
from domain.connection import Connection, Vendor

log = structlog.get_logger("dealbooks.quickbooks")

MINOR_VERSION: Final = "75"
#: Intuit's per-realm limits for the Accounting API (reference §1.7).
QBO_RATE_LIMIT: Final = RateLimit(per_minute=500, per_second=10, concurrent=10)
#: QBO requests time out after 120 s on Intuit's side; we give up a little earlier per attempt.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=100, connect=10, sock_read=90)
COOL_OFF_SECONDS: Final = 5.0
REQUEST_ID_MAX: Final = 50
#: Batch calls (reference §1.7, §4.8): at most 30 items a call, 40 calls a minute per realm and
#: app, on top of the regular limit (each batch call is also one of the 500 a minute). The
#: per-second and concurrency caps are the regular ones (a batch call counts there too).
#: 39 a minute rather than 40, and at most 5 a second: a call is counted when it starts and by
#: QuickBooks when it arrives, and a burst of batch calls can arrive spread over more than the
#: limiter's 200 ms margin (a busy process sends them late), which QuickBooks answers with 429s
#: that each cost a retry and a slot (the bench saw 9 at 40 a minute and 10 a second). 40 calls
#: a minute need fewer than one a second, so the slack costs 1/40 of the ceiling at most.
BATCH_MAX_ITEMS: Final = 30
BATCH_RATE_LIMIT: Final = RateLimit(per_minute=39, per_second=5, concurrent=5)
BATCH_BUDGET: Final = ("quickbooks-batch", BATCH_RATE_LIMIT)
BATCH_REQUEST_ID_MAX: Final = 36  # "For batch, the limit is 36 chars" (reference §1.5)
BATCH_ID_MAX: Final = 10  # each bId, when a requestid is sent
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:~-]+$")


def _unreachable(exc: Exception) -> ApplicationError:
    return unavailable(
        "QuickBooks could not be reached; it will be retried shortly.",
        metadata={MetadataKey.VENDOR_CODE: type(exc).__name__},
    )


def _cooling_off(seconds: float) -> ApplicationError:
    return unavailable(
        "QuickBooks is not answering at the moment; it will be retried shortly.",
        retry_after=seconds,
        metadata={MetadataKey.VENDOR_CODE: "COOLING_OFF"},
    )


QUICKBOOKS: Final = VendorRules(
    vendor=Vendor.QUICKBOOKS,
    limit=QBO_RATE_LIMIT,
    timeout=DEFAULT_TIMEOUT,
    unreachable=_unreachable,
    cooling_off=_cooling_off,
    cool_off_seconds=COOL_OFF_SECONDS,
    trace_header="intuit_tid",
)


def qbo_request_id(request_id: str) -> str:
    """Our request id as QBO accepts it (≤ 50 characters): kept as is when it fits, else a
    readable prefix plus a SHA-256 digest, deterministic so retries match."""
    if len(request_id) <= REQUEST_ID_MAX and _REQUEST_ID_OK.match(request_id):
        return request_id
    digest = hashlib.sha256(request_id.encode()).hexdigest()
    keep = re.sub(r"[^A-Za-z0-9._:~-]", "", request_id)[: REQUEST_ID_MAX - 33]
    return f"{keep}-{digest}"[-REQUEST_ID_MAX:] if keep else digest[:REQUEST_ID_MAX]


def json_body(body: Any) -> bytes:
    """``body`` as a request's JSON, each Decimal a JSON number written digit for digit in plain
    notation (``100``, ``2.50``, never ``1E+2``): QuickBooks money values are JSON numbers
    (reference §1.3 [C]; Intuit's own create request, §12 F1, sends ``"Amount": 100.0``).
    The standard library writes only ints and floats as numbers, and money never goes through
    a float, so containers are joined here and every other value is left to ``json.dumps``
    (anything it cannot write goes as text, as before)."""
    return _json_text(body).encode()


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, Mapping):
        members = (f"{json.dumps(str(k))}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, default=str)


def read_json(answer: Answer) -> Any:
    """The JSON body of an answer, or the error its Fault (or failure status) stands for."""
    tid = answer.headers.get("intuit_tid", "")
    text = answer.text().lstrip()
    body: Any
    if text.startswith("<"):
        body, fault = None, fault_from_xml(text)
    else:
        body = answer.json()
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
            intuit_tid=tid,
        )
        if answer.status == 401:
            raise TokenRefusedError(not_connected(Reason.QUICKBOOKS_NOT_CONNECTED))
        error = fault_error(fault, answer.status, tid)
        if answer.status == 429 or answer.status >= 500:
            raise RetryableError(error, after=header_seconds(answer.headers, "Retry-After"))
        raise error
    if body is None:
        raise unavailable(
            "QuickBooks sent an answer we could not read.",
            metadata={MetadataKey.INTUIT_TID: tid},
        )
    return body


def read_pdf(answer: Answer) -> bytes:
    if answer.status == 200 and answer.body.startswith(b"%PDF"):
        return answer.body
    read_json(answer)  # raises on a Fault
    raise unavailable(
        "QuickBooks sent something that is not a PDF.",
        metadata={MetadataKey.INTUIT_TID: answer.headers.get("intuit_tid", "")},
    )


class QuickBooksClient:
    """Every call to the Accounting API passes through ``request``, which counts the metered
    ones (CorePlus, ``adapters.quickbooks.metering``): each answered try goes to
    ``count_metered_read(kind)`` (a bounded label: the kind, never the company) and to one
    ``quickbooks.read_metered`` log line with the company id, from which per-company figures
    are summed (a table would cost a database write per read; a company label, unbounded
    series)."""

    def __init__(
        self,
        http: VendorHttp,
        api_base: str,
        count_metered_read: MeteredReadCounter | None = None,
        budget: ReadBudget | None = None,
    ) -> None:
        self._http = http
        self._api_base = api_base.rstrip("/")
        self._count_metered_read = count_metered_read
        self._budget = budget

    async def reads_rationed(self) -> bool:
        return self._budget is not None and await self._budget.rationed()

    async def get(self, company_id: str, path: str, **params: str) -> Any:
        return await self.request(company_id, "GET", path, params=params)

    async def realm(self, company_id: str) -> str:
        """The QuickBooks company the Pipedrive company is connected to now."""
        return (await self._http.connection(company_id)).external_id

    async def connection(self, company_id: str) -> Connection:
        """The Pipedrive company's QuickBooks connection now."""
        return await self._http.connection(company_id)

    async def post(
        self, company_id: str, path: str, body: Any, *, request_id: str, **params: str
    ) -> Any:
        data = json_body(body)
        return await self.request(
            company_id,
            "POST",
            path,
            params=params,
            data=data,
            content_type="application/json",
            request_id=request_id,
        )

    async def batch(
        self, company_id: str, items: list[dict[str, Any]], *, request_id: str
    ) -> list[dict[str, Any]]:
        """``BatchItemResponse`` of one ``POST /batch`` (≤ 30 items, each with a ``bId`` of ≤ 10
        characters; ``request_id`` ≤ 36 characters, sent as is so that a retry with the same
        items is the same request: QuickBooks replays the first answer only when the requestid
        and every bId match, reference §1.5). Paced by the regular limit and the batch one (40
        a minute per realm); a 429 or 5xx on the whole call is retried as any write. Items'
        own faults come back inside the 200, for the caller to read."""
        if not 0 < len(items) <= BATCH_MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {BATCH_MAX_ITEMS} items, not {len(items)}")
        if len(request_id) > BATCH_REQUEST_ID_MAX or not _REQUEST_ID_OK.match(request_id):
            raise ValueError("a batch requestid is at most 36 characters of [A-Za-z0-9._:~-]")
        if any(len(str(item.get("bId", ""))) > BATCH_ID_MAX for item in items):
            raise ValueError("a bId is at most 10 characters")
        data = json_body({"BatchItemRequest": items})
        body = await self.request(
            company_id,
            "POST",
            "batch",
            data=data,
            content_type="application/json",
            params={"requestid": request_id},
            budget=BATCH_BUDGET,
        )
        answers = body.get("BatchItemResponse") if isinstance(body, Mapping) else None
        if not isinstance(answers, list):
            raise unavailable("QuickBooks sent a batch answer we could not read.")
        return [dict(a) for a in answers if isinstance(a, Mapping)]

    async def query(self, company_id: str, text: str) -> dict[str, Any]:
        """``QueryResponse`` of a SELECT, sent as the POST body (no URL-length limit)."""
        body = await self.request(
            company_id, "POST", "query", data=text.encode(), content_type="application/text"
        )
        response = body.get("QueryResponse") if isinstance(body, Mapping) else None
        return dict(response) if isinstance(response, Mapping) else {}

    async def pdf(self, company_id: str, path: str) -> bytes:
        pdf: bytes = await self.request(
            company_id, "GET", path, read=read_pdf, accept="application/pdf, application/json"
        )
        return pdf

    async def request(
        self,
        company_id: str,
        method: str,
        path: str | Callable[[str], str],
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
        read: Callable[[Answer], Any] = read_json,
        accept: str = "application/json",
        budget: tuple[str, RateLimit] | None = None,
    ) -> Any:
        """``method path`` under the company's API base (``path(realm)`` for a path that names
        the realm), its answer as ``read`` makes it."""
        query = {"minorversion": MINOR_VERSION, **(params or {})}
        if request_id is not None:
            query["requestid"] = qbo_request_id(request_id)
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type

        def url(connection: Connection) -> str:
            realm = connection.external_id
            tail = path if isinstance(path, str) else path(realm)
            return f"{self._api_base}/v3/company/{realm}/{tail}"

        kind = metered_kind(method, path if isinstance(path, str) else path(""), data)
        if kind is not None:
            read = self._metered(company_id, kind, read)
        return await self._http.call(
            company_id, method, url, read, params=query, data=data, headers=headers, budget=budget
        )

    def _metered(
        self, company_id: str, kind: str, read: Callable[[Answer], Any]
    ) -> Callable[[Answer], Any]:
        """``read`` that first counts each answer QuickBooks served (every try is billed)."""

        def counted(answer: Answer) -> Any:
            if metered_answer(answer.status):
                log.info("quickbooks.read_metered", company_id=company_id, kind=kind)
                if self._count_metered_read is not None:
                    self._count_metered_read(kind)
                if self._budget is not None:
                    self._budget.count()
            return read(answer)

        return counted
