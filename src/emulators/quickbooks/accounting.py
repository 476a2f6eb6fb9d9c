"""Accounting API v3 routes under ``/v3/company/{realmId}/`` (§1.1).

``minorversion`` is accepted with any value and the API behaves as 75: since 1 Aug 2025 Intuit
ignores 1-74 instead of rejecting them (§1.4). ``format=json``, the ``Request-Id`` header and
unknown ``include`` values are ignored.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import faults, invoices
from .clock import envelope_time, meta_time
from .config import EmulatorConfig
from .faults import QBOError
from .limits import LATENCY_MS, Throttle
from .metering import Meter, classify
from .oauth import AccessDenied, TokenStore, base_url
from .ops import Accounting, kind_for
from .pdf import invoice_pdf
from .rules import CURRENCY_NAMES, exchange_rate
from .store import Company, Store, StoredResponse
from .wire import JSON_CONTENT_TYPE, dumps, loads

Handler = Callable[[Company], Awaitable[web.Response]]
PREFIX = "/v3/company/{realm}"


class AccountingRoutes:
    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        tokens: TokenStore,
        throttle: Throttle,
        ops: Accounting,
        meter: Meter,
    ) -> None:
        self.config = config
        self.store = store
        self.tokens = tokens
        self.throttle = throttle
        self.ops = ops
        self.meter = meter

    def register(self, app: web.Application) -> None:
        r = app.router
        r.add_get(PREFIX + "/companyinfo/{id}", self.companyinfo)
        r.add_get(PREFIX + "/preferences", self.preferences)
        r.add_post(PREFIX + "/preferences", self.update_preferences)
        r.add_get(PREFIX + "/query", self.query)
        r.add_post(PREFIX + "/query", self.query)
        r.add_get(PREFIX + "/cdc", self.cdc)
        r.add_post(PREFIX + "/batch", self.batch)
        r.add_get(PREFIX + "/exchangerate", self.exchangerate)
        r.add_post(PREFIX + "/invoice/{id}/send", self.send)
        r.add_get(PREFIX + "/invoice/{id}/pdf", self.pdf)
        r.add_get(PREFIX + "/{entity}/{id}", self.read)
        r.add_post(PREFIX + "/{entity}", self.write)
        r.add_route("*", PREFIX + "/{tail:.*}", self.unknown)
        r.add_get(invoices.PAY_PATH + "{token}", self.pay_page)

    # ---------------------------------------------------------------- plumbing

    def _now_str(self, company: Company | None) -> str:
        tz = company.tz if company else None
        now = self.store.clock.now()
        return envelope_time(now, tz) if tz else now.isoformat(timespec="milliseconds")

    def _fault(self, request: web.Request, err: QBOError, company: Company | None) -> web.Response:
        xml = faults.wants_xml(request)
        if err.status == 429:
            mode = self.config.limits.throttle_body
            xml = mode == "xml" or (mode == "auto" and xml)
        return faults.fault_response(err, self._now_str(company), xml=xml)

    def ok(self, company: Company, key: str, body: Any) -> web.Response:
        envelope = {key: body, "time": envelope_time(self.store.clock.now(), company.tz)}
        return web.Response(
            body=dumps(envelope).encode(), headers={"Content-Type": JSON_CONTENT_TYPE}
        )

    async def guard(
        self,
        request: web.Request,
        handler: Handler,
        *,
        write: bool = False,
        batch_ids: list[str] | None = None,
    ) -> web.Response:
        realm = request.match_info["realm"]
        header = request.headers.get("Authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            token = self.tokens.check(bearer)
        except AccessDenied as denied:
            epoch_ms = int(self.store.clock.now().timestamp() * 1000)
            return faults.auth_failed_response(denied.detail, epoch_ms)
        company = self.store.company(realm)
        if token.grant.realm_id != realm or company is None:
            err = faults.authorization_failed(
                f"Authorization failed: the token is not valid for company {realm}"
            )
            return self._fault(request, err, company)
        tail = request.path.split("/", 4)[4] if request.path.count("/") >= 4 else ""
        call = classify(request.method, tail, request.query, await request.read())
        app = token.grant.client_id
        if self.meter.refuses(app, call):
            # Intuit: CorePlus calls beyond the Builder-tier limit "will be throttled and an
            # HTTP 429 error will be returned" (limits-and-throttles page). [U] the body: we
            # answer the ThrottleExceeded fault (3001) third parties report, without Retry-After.
            return self._fault(request, faults.throttle_error(), company)
        if not self.throttle.enter(realm, batch=batch_ids is not None):
            return self._fault(request, faults.throttle_error(), company)
        try:
            latency = request.get(LATENCY_MS)
            if latency:
                await asyncio.sleep(latency / 1000)
            if not write:
                response = await self._run(request, handler, company)
            else:
                response = await self._write(request, handler, company, batch_ids)
        finally:
            self.throttle.leave(realm)
        if response.status < 500:
            self.meter.record(app, realm, call)
        return response

    async def _run(self, request: web.Request, handler: Handler, company: Company) -> web.Response:
        try:
            return await handler(company)
        except QBOError as err:
            return self._fault(request, err, company)

    async def _write(
        self,
        request: web.Request,
        handler: Handler,
        company: Company,
        batch_ids: list[str] | None,
    ) -> web.Response:
        request_id = request.query.get("requestid")
        async with company.lock:
            if request_id is None:
                return await self._run(request, handler, company)
            limit = 36 if batch_ids is not None else 50
            if len(request_id) > limit:
                return self._fault(
                    request, faults.string_length("requestid", limit, len(request_id)), company
                )
            if batch_ids is not None and any(len(b) > 10 for b in batch_ids):
                too_long = max(batch_ids, key=len)
                return self._fault(request, faults.string_length("bId", 10, len(too_long)), company)
            key = request_id if batch_ids is None else request_id + "|" + ",".join(batch_ids)
            cached = company.requestids.get(key)
            if cached is not None:
                # [U] a known requestid with a different body also replays the stored response.
                return web.Response(body=cached.body, status=cached.status, headers=cached.headers)
            response = await self._run(request, handler, company)
            if response.status < 500 and response.status != 429:
                body = response.body if isinstance(response.body, bytes) else b""
                headers = {"Content-Type": response.headers.get("Content-Type", JSON_CONTENT_TYPE)}
                company.requestids[key] = StoredResponse(response.status, headers, body)
            return response

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = loads(raw)
        except ValueError as exc:
            raise QBOError(
                "2010",
                "Request has invalid or unsupported property",
                f"Error parsing object: {exc}",
            ) from exc
        if not isinstance(body, dict):
            raise QBOError(
                "2010", "Request has invalid or unsupported property", "Expected an object"
            )
        return body

    @staticmethod
    def _include(request: web.Request) -> set[str]:
        return {p.strip().lower() for p in request.query.get("include", "").split(",") if p.strip()}

    def _link(self, request: web.Request, company: Company, entity: str, obj: Any) -> None:
        """``InvoiceLink`` on an invoice read or written with ``?include=invoiceLink``
        (reference §3.2, §4.1; minorversion >= 36, which the emulator always is): present only
        where the customer can pay online, otherwise left out. [U] QuickBooks may answer an
        empty string there instead; clients treat both alike."""
        if entity != "Invoice" or "invoicelink" not in self._include(request):
            return
        stored = company.get("Invoice", obj.get("Id")) if isinstance(obj, dict) else None
        if stored is None:
            return
        link = invoices.invoice_link(company, stored, base_url(self.config, request))
        if link:
            obj["InvoiceLink"] = link

    async def pay_page(self, request: web.Request) -> web.Response:
        """The customer's "pay this invoice" page an ``InvoiceLink`` opens (a stand-in for
        Intuit's; nothing is charged)."""
        token = request.match_info["token"]
        for company in self.store.companies.values():
            for invoice in company.table("Invoice").values():
                if invoices.pay_token(company, str(invoice["Id"])) != token:
                    continue
                if invoices.invoice_link(company, invoice, "") is None:
                    break
                number = html.escape(str(invoice.get("DocNumber") or invoice["Id"]))
                page = (
                    "<!doctype html><html lang=en><meta charset=utf-8>"
                    f"<title>Invoice {number}</title>"
                    f"<h1>{html.escape(company.name)}: invoice {number}</h1>"
                    f"<p>Balance due: <b>{invoice.get('Balance')}</b></p>"
                    "<button type=button>Pay now</button></html>"
                )
                return web.Response(text=page, content_type="text/html")
        raise web.HTTPNotFound(text="This invoice link is not valid.")

    # ---------------------------------------------------------------- handlers

    async def companyinfo(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            if request.match_info["id"] not in (company.realm_id, "1"):
                raise faults.object_not_found()
            return self.ok(company, "CompanyInfo", company.company_info)

        return await self.guard(request, handler)

    async def preferences(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            return self.ok(company, "Preferences", company.preferences)

        return await self.guard(request, handler)

    async def update_preferences(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            body = await self._json(request)
            prefs = company.preferences
            if str(body.get("SyncToken", "")) != prefs["SyncToken"]:
                raise faults.stale_object()
            was_mc = company.multicurrency
            merged = _deep_merge(
                prefs,
                {
                    k: v
                    for k, v in body.items()
                    if k[0].isupper() and k not in ("Id", "SyncToken", "MetaData")
                },
            )
            if was_mc and not merged.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"):
                raise faults.business("Multicurrency can't be turned off once it is enabled.")
            company.preferences = merged
            company.bump(company.preferences, self.store.clock.now())
            self.store.record(company, "Preferences", "1", "Update")
            return self.ok(company, "Preferences", company.preferences)

        return await self.guard(request, handler, write=True)

    async def query(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            if request.method == "POST":
                text = (await request.read()).decode("utf-8", errors="replace")
            else:
                text = request.query.get("query", "")
            result = self.ops.query(company, text, self.config.limits.max_results)
            return self.ok(company, "QueryResponse", result)

        return await self.guard(request, handler)

    async def cdc(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            entities = request.query.get("entities", "")
            since = request.query.get("changedSince", "")
            if not since:
                raise faults.required("changedSince")
            limits = self.config.limits
            blocks = self.ops.cdc(
                company, entities, since, limits.cdc_max_days, limits.cdc_max_objects
            )
            return self.ok(company, "CDCResponse", [{"QueryResponse": blocks}])

        return await self.guard(request, handler)

    async def exchangerate(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            params = {k.lower(): v for k, v in request.query.items()}
            source = params.get("sourcecurrencycode", "").upper()
            if source not in CURRENCY_NAMES:
                raise faults.invalid_value("sourcecurrencycode", f"Invalid currency {source}")
            now = self.store.clock.now()
            as_of = params.get("asofdate") or now.astimezone(company.tz).date().isoformat()
            body = {
                "SourceCurrencyCode": source,
                "TargetCurrencyCode": company.home_currency,
                "Rate": exchange_rate(company, source),
                "AsOfDate": as_of,
                "domain": "QBO",
                "sparse": False,
                "SyncToken": "0",
                "MetaData": {"LastUpdatedTime": meta_time(now, company.tz)},
            }
            return self.ok(company, "ExchangeRate", body)

        return await self.guard(request, handler)

    async def read(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            kind = kind_for(request.match_info["entity"])
            if kind is None:
                raise faults.unsupported(f"Read for {request.match_info['entity']}")
            obj = self.ops.read(company, kind.name, request.match_info["id"])
            self._link(request, company, kind.name, obj)
            return self.ok(company, kind.name, obj)

        return await self.guard(request, handler)

    async def write(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            kind = kind_for(request.match_info["entity"])
            if kind is None:
                raise faults.unsupported(f"Create for {request.match_info['entity']}")
            body = await self._json(request)
            operation = request.query.get("operation", "").lower()
            include = self._include(request)
            if operation == "delete":
                result = self.ops.delete(company, kind.name, body)
            elif operation == "void":
                result = self.ops.void(company, kind.name, body)
            elif operation == "update" or (operation in ("", "create") and body.get("Id")):
                if operation == "create":
                    raise faults.unsupported("Create with an Id")
                result = self.ops.update(company, kind.name, body, include)
            elif operation in ("", "create"):
                result = self.ops.create(company, kind.name, body, include)
            else:
                raise faults.unsupported(operation)
            if operation not in ("delete", "void"):
                self._link(request, company, kind.name, result)
            return self.ok(company, kind.name, result)

        return await self.guard(request, handler, write=True)

    async def send(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            await request.read()  # application/octet-stream, empty
            result = self.ops.send(
                company,
                request.match_info["id"],
                request.query.get("sendTo"),
                base_url(self.config, request),
            )
            self._link(request, company, "Invoice", result)
            return self.ok(company, "Invoice", result)

        return await self.guard(request, handler, write=True)

    async def pdf(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            invoice = self.ops.read(company, "Invoice", request.match_info["id"])
            return web.Response(body=invoice_pdf(company, invoice), content_type="application/pdf")

        return await self.guard(request, handler)

    async def batch(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = loads(raw)
            items = body.get("BatchItemRequest")
        except (ValueError, AttributeError):
            items = None
        batch_ids = (
            [str(i.get("bId", "")) for i in items if isinstance(i, dict)]
            if isinstance(items, list)
            else []
        )

        async def handler(company: Company) -> web.Response:
            if not isinstance(items, list) or not items:
                raise faults.required("BatchItemRequest")
            limit = self.config.limits.batch_max_items
            if len(items) > limit:
                # [U] code/text for an oversized batch.
                raise faults.business(
                    f"The maximum number of payloads in a single BatchItemRequest is {limit}. "
                    f"Supplied: {len(items)}",
                    "BatchItemRequest",
                )
            responses = [self._batch_item(company, item) for item in items]
            return self.ok(company, "BatchItemResponse", responses)

        return await self.guard(request, handler, write=True, batch_ids=batch_ids)

    def _batch_item(self, company: Company, item: Any) -> dict[str, Any]:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            if not isinstance(item, dict) or not bid:
                raise faults.required("bId")
            if "Query" in item:
                result = self.ops.query(company, str(item["Query"]), self.config.limits.max_results)
                return {"QueryResponse": result, "bId": bid}
            keys = [k for k in item if k not in ("bId", "operation", "optionsData")]
            if len(keys) != 1 or not isinstance(item[keys[0]], dict):
                raise faults.required("entity")
            kind = kind_for(keys[0])
            if kind is None:
                raise faults.unsupported(f"batch for {keys[0]}")
            operation = str(item.get("operation", "create")).lower()
            data = item[keys[0]]
            if operation == "create":
                result = self.ops.create(company, kind.name, data)
            elif operation == "update":
                options = item.get("optionsData")
                include = {"void"} if options in ("void", ["void"]) else set()
                result = self.ops.update(company, kind.name, data, include)
            elif operation == "delete":
                result = self.ops.delete(company, kind.name, data)
            else:
                raise faults.unsupported(operation)
            return {kind.name: result, "bId": bid}
        except QBOError as err:
            return {"Fault": err.fault(), "bId": bid}

    async def unknown(self, request: web.Request) -> web.Response:
        async def handler(company: Company) -> web.Response:
            raise faults.unsupported(f"{request.method} {request.path}")

        return await self.guard(request, handler)


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
