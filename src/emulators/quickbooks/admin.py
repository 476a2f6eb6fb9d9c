"""Admin API under ``/_emulator/`` (JSON, no auth) for tests and demos."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .clock import parse_datetime
from .faults import QBOError
from .oauth import base_url
from .ops import kind_for, present
from .rules import currency_ref
from .seed import new_company, put, tracking_preferences
from .store import Company
from .wire import dec, to_wire

if TYPE_CHECKING:
    from .app import Emulator

P = "/_emulator"


def _class_tracking(accounting: dict[str, Any]) -> str:
    if accounting.get("ClassTrackingPerTxnLine"):
        return "line"
    return "invoice" if accounting.get("ClassTrackingPerTxn") else "none"


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(to_wire(body), status=status)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"invalid JSON: {exc}"}), content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "expected a JSON object"}), content_type="application/json"
        )
    return body


class AdminRoutes:
    def __init__(self, emulator: Emulator) -> None:
        self.em = emulator

    def register(self, app: web.Application) -> None:
        r = app.router
        r.add_post(P + "/reset", self.reset)
        r.add_post(P + "/seed", self.seed)
        r.add_get(P + "/companies", self.companies)
        r.add_get(P + "/companies/{realm}/invoices", self.invoices)
        r.add_get(P + "/companies/{realm}/entities/{entity}", self.entities)
        r.add_post(P + "/companies/{realm}/payments", self.payment)
        r.add_post(P + "/companies/{realm}/invoices/{id}/{action}", self.invoice_action)
        r.add_post(P + "/companies/{realm}/preferences", self.preferences)
        r.add_get(P + "/companies/{realm}/emails", self.emails)
        r.add_get(P + "/clock", self.get_clock)
        r.add_post(P + "/clock", self.set_clock)
        r.add_post(P + "/faults", self.add_fault)
        r.add_get(P + "/faults", self.list_faults)
        r.add_delete(P + "/faults", self.clear_faults)
        r.add_delete(P + "/faults/{id}", self.delete_fault)
        r.add_get(P + "/meter", self.get_meter)
        r.add_delete(P + "/meter", self.clear_meter)
        r.add_put(P + "/meter/quota", self.put_quota)
        r.add_get(P + "/requests", self.requests)
        r.add_delete(P + "/requests", self.clear_requests)
        r.add_put(P + "/webhooks", self.put_webhooks)
        r.add_get(P + "/webhooks", self.get_webhooks)
        r.add_post(P + "/webhooks/flush", self.flush_webhooks)
        r.add_post(P + "/tokens", self.mint_token)
        r.add_post(P + "/tokens/expire", self.expire_tokens)

    def _company(self, request: web.Request) -> Company:
        company = self.em.store.company(request.match_info["realm"])
        if company is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "unknown realm"}), content_type="application/json"
            )
        return company

    # ---------------------------------------------------------------- state

    async def reset(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.em.reset(seed=body.get("seed"))
        return _ok({"ok": True, "realms": list(self.em.store.companies)})

    async def companies(self, request: web.Request) -> web.Response:
        return _ok(
            {
                "companies": [
                    {
                        "realm_id": c.realm_id,
                        "name": c.name,
                        "country": c.country,
                        "home_currency": c.home_currency,
                        "multicurrency": c.multicurrency,
                        "custom_txn_numbers": c.custom_txn_numbers,
                        "automated_sales_tax": c.automated_sales_tax,
                        "online_payments": c.online_payments,
                        "time_zone": c.timezone,
                    }
                    for c in self.em.store.companies.values()
                ]
            }
        )

    async def seed(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("demo"):
            self.em.seed_demo()
        results = []
        try:
            for spec in body.get("companies", []):
                results.append(await self._seed_company(spec))
        except QBOError as err:
            return _bad(f"seed failed: {err}")
        return _ok({"companies": results, "realms": list(self.em.store.companies)})

    async def _seed_company(self, spec: dict[str, Any]) -> dict[str, Any]:
        store = self.em.store
        now = self.em.clock.now()
        realm_id = str(spec.get("realm_id") or spec.get("realmId") or "")
        company = store.company(realm_id) if realm_id else None
        if company is None:
            if not realm_id:
                realm_id = str(9130354840900000 + len(store.companies) + 1)
            country = str(spec.get("country", "US")).upper()
            home = str(spec.get("home_currency", "USD" if country == "US" else "GBP")).upper()
            company = store.add(
                new_company(
                    realm_id,
                    now,
                    name=str(spec.get("name", f"Company {realm_id}")),
                    country=country,
                    home_currency=home,
                    multicurrency=bool(spec.get("multicurrency", country != "US")),
                    custom_txn_numbers=bool(spec.get("custom_txn_numbers", False)),
                )
            )
        result: dict[str, Any] = {"realm_id": company.realm_id}
        async with company.lock:
            result["tax_codes"] = self._seed_tax_codes(company, spec.get("tax_codes", []))
            for key, entity, name_key in (
                ("terms", "Term", "Name"),
                ("items", "Item", "Name"),
                ("customers", "Customer", "DisplayName"),
                ("classes", "Class", "FullyQualifiedName"),
                ("locations", "Department", "FullyQualifiedName"),
            ):
                ids = {}
                for obj in spec.get(key, []):
                    data = dict(obj)
                    if entity == "Item":
                        data.setdefault("IncomeAccountRef", {"value": "1"})
                    created = self.em.ops.create(company, entity, data)
                    ids[created[name_key]] = created["Id"]
                result[key] = ids
        return result

    def _seed_tax_codes(self, company: Company, specs: list[dict[str, Any]]) -> dict[str, str]:
        """``{"name": "20% S", "rate": 20}``; US AST codes add ``"state": "OH"``."""
        now = self.em.clock.now()
        ids = {}
        for spec in specs:
            name = str(spec["name"])
            rate_id = company.next_id("TaxRate")
            put(
                company,
                "TaxRate",
                rate_id,
                {
                    "Name": name,
                    "Description": name,
                    "Active": True,
                    "RateValue": dec(spec.get("rate"), Decimal(0)),
                    "AgencyRef": {"value": "1"},
                    "SpecialTaxType": "NONE",
                    "DisplayType": "ReadOnly",
                },
                now,
            )
            code_id = company.next_id("TaxCode")
            code: dict[str, Any] = {
                "Name": name,
                "Description": name,
                "Active": True,
                "Taxable": True,
                "TaxGroup": False,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": rate_id, "name": name},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            }
            if spec.get("state"):
                code["_state"] = str(spec["state"]).upper()
            put(company, "TaxCode", code_id, code, now)
            ids[name] = code_id
        return ids

    async def invoices(self, request: web.Request) -> web.Response:
        company = self._company(request)
        tz = company.tz
        return _ok(
            {
                "invoices": [
                    {**present(company, "Invoice", inv), "voided": bool(inv.get("_voided"))}
                    for inv in company.table("Invoice").values()
                ],
                "deleted": [
                    {"Id": obj_id, "deleted_at": at.astimezone(tz).isoformat()}
                    for obj_id, at in company.tombstones.get("Invoice", {}).items()
                ],
            }
        )

    async def entities(self, request: web.Request) -> web.Response:
        company = self._company(request)
        kind = kind_for(request.match_info["entity"])
        if kind is None:
            return _bad("unknown entity", 404)
        return _ok(
            {"items": [present(company, kind.name, o) for o in company.table(kind.name).values()]}
        )

    async def emails(self, request: web.Request) -> web.Response:
        return _ok({"emails": self._company(request).emails})

    # ---------------------------------------------------------------- people actions

    async def payment(self, request: web.Request) -> web.Response:
        """Record a payment as a person would in QBO; webhooks fire as for API writes."""
        company = self._company(request)
        body = await _body(request)
        invoice_id = str(body.get("invoice_id", ""))
        async with company.lock:
            invoice = company.get("Invoice", invoice_id)
            if invoice is None:
                return _bad("unknown invoice", 404)
            amount = dec(body.get("amount"), invoice["Balance"])
            payment: dict[str, Any] = {
                "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                "TotalAmt": amount,
                "CurrencyRef": {"value": invoice["CurrencyRef"]["value"]},
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                ],
            }
            for src, dst in (
                ("txn_date", "TxnDate"),
                ("payment_ref", "PaymentRefNum"),
                ("note", "PrivateNote"),
            ):
                if body.get(src):
                    payment[dst] = body[src]
            try:
                created = self.em.ops.create(company, "Payment", payment)
            except QBOError as err:
                return _ok({"Fault": err.fault()}, 400)
            return _ok(
                {"Payment": created, "Invoice": self.em.ops.read(company, "Invoice", invoice_id)}
            )

    async def invoice_action(self, request: web.Request) -> web.Response:
        """``void`` | ``delete`` | ``send`` an invoice from "the QBO UI" (no SyncToken needed)."""
        company = self._company(request)
        invoice_id = request.match_info["id"]
        action = request.match_info["action"]
        body = await _body(request)
        async with company.lock:
            invoice = company.get("Invoice", invoice_id)
            if invoice is None:
                return _bad("unknown invoice", 404)
            ref = {"Id": invoice_id, "SyncToken": invoice["SyncToken"]}
            try:
                if action == "void":
                    result = self.em.ops.void(company, "Invoice", ref)
                elif action == "delete":
                    result = self.em.ops.delete(company, "Invoice", ref)
                elif action == "send":
                    result = self.em.ops.send(
                        company, invoice_id, body.get("to"), base_url(self.em.config, request)
                    )
                elif action == "update":
                    patch = {**body, **ref, "sparse": True}
                    result = self.em.ops.update(company, "Invoice", patch)
                else:
                    return _bad("action must be void, delete, send or update", 404)
            except QBOError as err:
                return _ok({"Fault": err.fault()}, 400)
        return _ok({"Invoice": result})

    async def preferences(self, request: web.Request) -> web.Response:
        company = self._company(request)
        body = await _body(request)
        prefs = company.preferences
        accounting = prefs.setdefault("AccountingInfoPrefs", {})
        try:  # checked before anything changes
            tracking = tracking_preferences(
                str(body.get("class_tracking", _class_tracking(accounting))),
                bool(body.get("track_locations", accounting.get("TrackDepartments"))),
            )
        except ValueError as err:
            return _bad(str(err))
        accounting.update(tracking)
        sales = prefs.setdefault("SalesFormsPrefs", {})
        if "multicurrency" in body:
            prefs.setdefault("CurrencyPrefs", {})["MultiCurrencyEnabled"] = bool(
                body["multicurrency"]
            )
        if "home_currency" in body:
            code = str(body["home_currency"]).upper()
            company.home_currency = code
            prefs.setdefault("CurrencyPrefs", {})["HomeCurrency"] = {"value": code}
            for customer in company.table("Customer").values():
                customer.setdefault("CurrencyRef", currency_ref(code))
        if "custom_txn_numbers" in body:
            sales["CustomTxnNumbers"] = bool(body["custom_txn_numbers"])
        if "online_payments" in body:  # QuickBooks Payments turned on (or off) for the company
            sales["ETransactionPaymentEnabled"] = bool(body["online_payments"])
        if "automated_sales_tax" in body:
            prefs.setdefault("TaxPrefs", {})["PartnerTaxEnabled"] = bool(
                body["automated_sales_tax"]
            )
        if "allow_discount" in body:
            sales["AllowDiscount"] = bool(body["allow_discount"])
        if "allow_deposit" in body:
            sales["AllowDeposit"] = bool(body["allow_deposit"])
        if "default_terms" in body:
            sales["DefaultTerms"] = {"value": str(body["default_terms"])}
        if "reject_duplicate_doc_numbers" in body:
            company.reject_duplicate_doc_numbers = bool(body["reject_duplicate_doc_numbers"])
        if "next_doc_number" in body:
            company.next_doc_number = int(body["next_doc_number"])
        for code, rate in (body.get("exchange_rates") or {}).items():
            company.exchange_rates[str(code).upper()] = Decimal(str(rate))
        company.bump(prefs, self.em.clock.now())
        return _ok({"Preferences": prefs})

    # ---------------------------------------------------------------- clock

    def _clock_state(self) -> dict[str, Any]:
        return {"now": self.em.clock.now().isoformat(), "frozen": self.em.clock.frozen}

    async def get_clock(self, request: web.Request) -> web.Response:
        return _ok(self._clock_state())

    async def set_clock(self, request: web.Request) -> web.Response:
        """``{"now": ISO, "freeze": bool}`` | ``{"advance_seconds": n}`` |
        ``{"advance_days": n}`` | ``{"reset": true}``."""
        body = await _body(request)
        clock = self.em.clock
        try:
            if body.get("reset"):
                clock.reset()
            if "now" in body:
                when = parse_datetime(str(body["now"]), UTC)
                clock.set(when, freeze=bool(body.get("freeze", False)))
            elif "freeze" in body:
                clock.set(clock.now(), freeze=bool(body["freeze"]))
            if "advance_seconds" in body:
                clock.advance(timedelta(seconds=float(body["advance_seconds"])))
            if "advance_days" in body:
                clock.advance(timedelta(days=float(body["advance_days"])))
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok(self._clock_state())

    # ---------------------------------------------------------------- faults & log

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            rule = self.em.chaos.add(body)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return _ok(rule.describe(), 201)

    async def list_faults(self, request: web.Request) -> web.Response:
        return _ok({"faults": [r.describe() for r in self.em.chaos.rules]})

    async def clear_faults(self, request: web.Request) -> web.Response:
        count = len(self.em.chaos.rules)
        self.em.chaos.clear()
        return _ok({"deleted": count})

    async def delete_fault(self, request: web.Request) -> web.Response:
        if not self.em.chaos.remove(request.match_info["id"]):
            return _bad("unknown fault", 404)
        return _ok({"deleted": 1})

    async def requests(self, request: web.Request) -> web.Response:
        rows = self.em.requests
        realm = request.query.get("realm")
        if realm:
            rows = [r for r in rows if r["realm"] == realm]
        path = request.query.get("path")
        if path:
            rows = [r for r in rows if path in r["path"]]
        method = request.query.get("method")
        if method:
            rows = [r for r in rows if r["method"] == method.upper()]
        return _ok({"requests": rows})

    async def clear_requests(self, request: web.Request) -> web.Response:
        self.em.requests.clear()
        return _ok({"ok": True})

    # ---------------------------------------------------------------- metering

    async def get_meter(self, request: web.Request) -> web.Response:
        """Core and CorePlus calls of one month (``?month=YYYY-MM``, default: the clock's),
        per app and realm by kind; ``?realm=`` and ``?client_id=`` narrow it."""
        month = request.query.get("month")
        if month is not None and not re.fullmatch(r"\d{4}-\d{2}", month):
            return _bad("month must be YYYY-MM")
        return _ok(
            self.em.meter.report(month, request.query.get("realm"), request.query.get("client_id"))
        )

    async def clear_meter(self, request: web.Request) -> web.Response:
        """Forget every count (quotas stay)."""
        self.em.meter.clear()
        return _ok({"ok": True})

    async def put_quota(self, request: web.Request) -> web.Response:
        """``{"coreplus_per_month": n | null, "client_id": "..."}`` (default: the emulator's
        app): the app's CorePlus calls are refused with 429 once n were made this month."""
        body = await _body(request)
        client_id = str(body.get("client_id") or self.em.config.client_id)
        calls = body.get("coreplus_per_month")
        if calls is not None and (
            isinstance(calls, bool) or not isinstance(calls, int) or calls < 0
        ):
            return _bad("coreplus_per_month must be a non-negative integer or null")
        self.em.meter.set_quota(client_id, calls)
        return _ok({"client_id": client_id, "coreplus_per_month": calls})

    # ---------------------------------------------------------------- webhooks & tokens

    async def put_webhooks(self, request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            self.em.webhooks.configure(body)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok(self.em.webhooks.settings())

    async def get_webhooks(self, request: web.Request) -> web.Response:
        hooks = self.em.webhooks
        return _ok(
            {
                "settings": hooks.settings(),
                "pending": len(hooks.pending),
                "deliveries": hooks.deliveries,
            }
        )

    async def flush_webhooks(self, request: web.Request) -> web.Response:
        body = await _body(request)
        await self.em.webhooks.drain(float(body.get("timeout", 10)))
        return _ok({"deliveries": self.em.webhooks.deliveries})

    async def mint_token(self, request: web.Request) -> web.Response:
        """Connect a realm without the browser: returns the token-endpoint body plus realmId."""
        body = await _body(request)
        realm = str(body.get("realm_id") or self.em.config.us_realm_id)
        if realm not in self.em.store.companies:
            return _bad("unknown realm", 404)
        scopes = body.get("scopes") or ["com.intuit.quickbooks.accounting"]
        tokens = self.em.tokens.mint(realm, list(scopes), base_url(self.em.config, request))
        return _ok({**tokens, "realmId": realm})

    async def expire_tokens(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return _ok({"expired": self.em.tokens.expire_access(body.get("realm_id"))})
