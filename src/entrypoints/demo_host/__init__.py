"""The demo's Pipedrive-like host page (``dealbooks demo`` and the browser tests only).

It plays Pipedrive's part around our UI extension (README, "What you will see"); a side box
records payments in the QuickBooks emulator. Never mounted by ``dealbooks serve``: it signs
tokens for anyone."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from emulators.pipedrive.jwt import sign_extension_token
from emulators.pipedrive.model import products_of
from emulators.pipedrive.state import EMULATOR_KEY
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.http.ui_pages import CSP, add_stored_files, stored_file

HERE: Final = Path(__file__).parent
TOKEN_TTL_SECONDS: Final = 300  # GET_SIGNED_TOKEN tokens live 5 minutes [C]


_HEADERS: Final = {
    "Content-Security-Policy": CSP.replace("frame-src 'none'", "frame-src 'self'"),
    "Cache-Control": "no-cache",
}


async def _object(request: web.Request) -> dict[str, Any]:
    """The JSON object a demo form sent; 400 (never 500) for anything else."""
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="Send a JSON object.") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Send a JSON object.")
    return body


def add_demo_host_routes(
    app: web.Application,
    *,
    emulators: Emulators,
    jwt_secret: str,
    client_id: str,
) -> None:
    pipedrive = emulators.pipedrive_app
    assert pipedrive is not None, "start the emulators first"

    def store() -> Any:
        return pipedrive[EMULATOR_KEY].store

    def users() -> list[dict[str, Any]]:
        return [
            {"id": u.id, "name": u.name, "locale": u.locale, "isAdmin": u.is_admin}
            for u in store().users_of(int(DEMO_COMPANY))
        ]

    def deal_view(deal_id: int) -> dict[str, Any] | None:
        s = store()
        deal = s.deals.get(deal_id)
        if deal is None or deal.data.get("is_deleted"):
            return None
        data = deal.data
        org = s.organizations.get(data.get("org_id") or 0)
        person = s.persons.get(data.get("person_id") or 0)
        address = (org.data.get("address") if org else None) or {}
        emails = (person.data.get("emails") if person else None) or []
        return {
            "id": data["id"],
            "title": data["title"],
            "value": str(data.get("value") or 0),
            "currency": data.get("currency") or "USD",
            "organization": org.data["name"] if org else "",
            "address": address.get("value", "") if isinstance(address, dict) else str(address),
            "person": person.data["name"] if person else "",
            "email": next((e.get("value") for e in emails if e.get("value")), ""),
            "products": [
                {
                    "name": p.data.get("name") or p.data.get("product_name") or "",
                    "quantity": str(p.data.get("quantity")),
                    "price": str(p.data.get("item_price")),
                    "discount": str(p.data.get("discount") or 0),
                    "sum": str(p.data.get("sum")),
                }
                for p in products_of(s, deal_id)
            ],
        }

    async def state(request: web.Request) -> web.Response:
        s = store()
        deals = [
            {"id": d.data["id"], "title": d.data["title"], "status": d.data.get("status", "open")}
            for d in sorted(s.deals.values(), key=lambda d: d.data["id"])
            if d.data.get("is_deleted") is not True and str(d.company_id) == DEMO_COMPANY
        ]
        wanted = request.query.get("deal", "")
        deal = deal_view(int(wanted)) if wanted.isdigit() else None
        if deal is None and deals:
            deal = deal_view(deals[0]["id"])
        return web.json_response(
            {
                "companyId": DEMO_COMPANY,
                "clientId": client_id,
                "users": users(),
                "deals": deals,
                "deal": deal,
            }
        )

    async def token(request: web.Request) -> web.Response:
        user_id = str((await _object(request)).get("userId", ""))
        if not user_id.isdigit() or int(user_id) not in {u["id"] for u in users()}:
            raise web.HTTPBadRequest(text="unknown demo user")
        signed = sign_extension_token(
            jwt_secret, int(DEMO_COMPANY), int(user_id), TOKEN_TTL_SECONDS, now=time.time()
        )
        return web.json_response({"token": signed})

    async def quickbooks_invoices(request: web.Request) -> web.Response:
        found = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
        rows = [
            {
                "id": inv["Id"],
                "number": inv.get("DocNumber", ""),
                "customer": (inv.get("CustomerRef") or {}).get("name", ""),
                "total": str(inv.get("TotalAmt", "")),
                "balance": str(inv.get("Balance", "")),
                "currency": (inv.get("CurrencyRef") or {}).get("value", ""),
                "voided": inv.get("voided", False),
            }
            for inv in found["invoices"]
        ]
        return web.json_response({"invoices": sorted(rows, key=lambda r: -int(r["id"]))})

    async def payment(request: web.Request) -> web.Response:
        body = await _object(request)
        try:
            amount = Decimal(str(body.get("amount", "")).strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount <= 0:
            raise web.HTTPBadRequest(text="The amount must be a number above 0.")
        try:
            result = await emulators.admin(
                "quickbooks",
                "POST",
                f"companies/{US_REALM}/payments",
                invoice_id=str(body.get("invoiceId", "")),
                amount=str(amount),
            )
        except RuntimeError as exc:  # the emulator refused it (unknown invoice, overpayment ...)
            raise web.HTTPBadRequest(text=f"QuickBooks refused the payment: {exc}") from None
        invoice = result.get("Invoice", {})
        return web.json_response({"balance": str(invoice.get("Balance", ""))})

    async def favicon(request: web.Request) -> web.Response:
        return web.Response(status=204)

    page = stored_file(HERE / "host.html", _HEADERS)
    add_stored_files(
        app,
        {
            "/": page,
            f"/settings/marketplace/app/{client_id}/app-settings": page,
            "/deals/list": page,
            "/demo/static/host.js": stored_file(HERE / "host.js", _HEADERS),
            "/demo/static/host.css": stored_file(HERE / "host.css", _HEADERS),
        },
    )
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/demo/state", state)
    app.router.add_post("/demo/token", token)
    app.router.add_get("/demo/quickbooks/invoices", quickbooks_invoices)
    app.router.add_post("/demo/quickbooks/payments", payment)
