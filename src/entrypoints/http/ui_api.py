"""The JSON API behind the Pipedrive UI extension: the gRPC services, transcoded.

``POST /api/v1/{Service}/{Method}`` takes the method's request message as proto3 JSON and
answers its response message the same way, by calling the very servicer the gRPC server uses:
one set of validation rules, one set of use cases, one mapping. Errors are problem+json
(``entrypoints.http.problems``), with the same reasons as the gRPC ``ErrorInfo``.

Callers are Pipedrive users inside the app: every request carries the HS256 JWT Pipedrive signs
(``GET_SIGNED_TOKEN``) as ``Authorization: Bearer``; the company comes from the token, never
from the request. ``GET /api/v1/invoice-pdf`` streams an invoice's PDF for a download link, and
``GET /api/openapi.json`` describes all of it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog
from aiohttp import web
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from application.auth import Principal
from domain.errors import InvalidValueError
from entrypoints import principal as call_principal
from entrypoints.http.openapi import openapi_document

log = structlog.get_logger("dealbooks.http.ui_api")

API_PREFIX: Final = "/api/v1"
OPENAPI_PATH: Final = "/api/openapi.json"
PDF_PATH: Final = f"{API_PREFIX}/invoice-pdf"
MAX_JSON_BYTES: Final = 256 * 1024
AuthenticateUi = Callable[[web.Request], Awaitable[Principal]]
_SAFE_FILE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class _Route:
    servicer: Any
    method: MethodDescriptor
    request_type: type[Message]


def _routes(servicers: Mapping[ServiceDescriptor, Any]) -> dict[tuple[str, str], _Route]:
    table: dict[tuple[str, str], _Route] = {}
    for service, servicer in servicers.items():
        for method in service.methods:
            table[(service.name, method.name)] = _Route(
                servicer, method, message_factory.GetMessageClass(method.input_type)
            )
    return table


def _bad_request(detail: str) -> InvalidValueError:
    return InvalidValueError("body", detail, reason="INVALID_JSON")


async def _parse(request: web.Request, request_type: type[Message]) -> Message:
    if request.content_type not in ("application/json", ""):
        raise web.HTTPUnsupportedMediaType(text="Send the request as application/json.")
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_JSON_BYTES, actual_size=len(raw), text="The request body is too large."
        )
    try:
        text = raw.decode("utf-8") if raw.strip() else "{}"
    except UnicodeDecodeError:
        raise _bad_request("The request body is not UTF-8 text.") from None
    message = request_type()
    try:
        json_format.Parse(text, message, ignore_unknown_fields=False, max_recursion_depth=32)
    except json_format.ParseError as exc:
        # The parser's message names the field and what was wrong with it.
        raise _bad_request(
            f"The request body does not match {request_type.__name__}: {exc}"
        ) from None
    except (ValueError, RecursionError, TypeError):
        raise _bad_request(f"The request body is not a valid {request_type.__name__}.") from None
    return message


def to_json(message: Message) -> dict[str, Any]:
    """Proto3 JSON with every field present, so the UI never meets a missing key."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def add_ui_api_routes(
    app: web.Application,
    *,
    servicers: Mapping[ServiceDescriptor, Any],
    authenticate: AuthenticateUi,
    me: Callable[[web.Request], Awaitable[dict[str, Any]]],
    public_url: str,
) -> None:
    """Register the transcoded services, the PDF download, ``/api/v1/me`` and the OpenAPI doc."""
    table = _routes(servicers)
    document = openapi_document(list(servicers), server_url=public_url, prefix=API_PREFIX)
    invoice_pdf = table.get(("InvoiceService", "GetInvoicePdf"))

    async def call(route: _Route, principal: Principal, message: Message) -> Message:
        call_principal.set_principal(principal)
        try:
            handler = getattr(route.servicer, route.method.name)
            result: Message = await handler(message, None)
            return result
        finally:
            call_principal.set_principal(None)

    async def handle_rpc(request: web.Request) -> web.Response:
        route = table.get((request.match_info["service"], request.match_info["method"]))
        if route is None:
            raise web.HTTPNotFound(text="No such method; see /api/openapi.json.")
        principal = await authenticate(request)
        message = await _parse(request, route.request_type)
        response = await call(route, principal, message)
        return web.json_response(to_json(response), headers={"Cache-Control": "no-store"})

    async def handle_pdf(request: web.Request) -> web.Response:
        assert invoice_pdf is not None
        principal = await authenticate(request)
        message = invoice_pdf.request_type(name=request.query.get("name", ""))
        response: Any = await call(invoice_pdf, principal, message)
        filename = _SAFE_FILE.sub("-", response.filename or "invoice.pdf")[:100]
        return web.Response(
            body=response.content,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    async def handle_me(request: web.Request) -> web.Response:
        # ``me`` authenticates the token itself (it needs the user, not only the principal).
        return web.json_response(await me(request), headers={"Cache-Control": "no-store"})

    async def handle_openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_post(f"{API_PREFIX}/{{service:[A-Za-z]+}}/{{method:[A-Za-z]+}}", handle_rpc)
    app.router.add_get(f"{API_PREFIX}/me", handle_me)
    if invoice_pdf is not None:
        app.router.add_get(PDF_PATH, handle_pdf)
    app.router.add_get(OPENAPI_PATH, handle_openapi)
