"""The JSON API behind the Pipedrive UI extension: the gRPC services, transcoded.

``POST /api/v1/{Service}/{Method}`` takes the request message as proto3 JSON and calls the very
servicer the gRPC server uses (one validation, one mapping); errors are problem+json. A
server-streaming method answers NDJSON (``application/x-ndjson``) as grpc-gateway does: a line
``{"result": message}`` for each message the servicer yields, and ``{"error": problem}`` as the
last line if it fails midway. Callers
send the JWT Pipedrive signs (``GET_SIGNED_TOKEN``); the company comes from the token, never
from the request.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog
from aiohttp import web
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from application.auth import Principal
from application.reasons import Reason
from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from entrypoints import error_catalog
from entrypoints import principal as call_principal
from entrypoints.http.openapi import openapi_document
from entrypoints.http.problems import exception_to_problem
from entrypoints.request_text import ensure_no_nul

log = structlog.get_logger("dealbooks.http.ui_api")

API_PREFIX: Final = "/api/v1"
MAX_JSON_BYTES: Final = 256 * 1024
AuthenticateUi = Callable[[web.Request], Awaitable[Principal]]
_SAFE_FILE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class _Route:
    handler: Callable[[Message, None], Any]  # the servicer's method (a stream when streaming)
    request_type: type[Message]
    streaming: bool = False


def _bad_request(code: MessageCode, **params: object) -> InvalidValueError:
    return InvalidValueError(FieldViolation.of("body", code, **params), reason=Reason.INVALID_JSON)


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
        raise _bad_request(MessageCode.BODY_NOT_UTF8) from None
    message = request_type()
    try:
        json_format.Parse(text, message, ignore_unknown_fields=False, max_recursion_depth=32)
    except json_format.ParseError as exc:
        # The parser's message names the field and what was wrong with it.
        raise _bad_request(
            MessageCode.BODY_NOT_MATCHING, type=request_type.__name__, problem=exc
        ) from None
    except (ValueError, RecursionError, TypeError):
        raise _bad_request(MessageCode.BODY_NOT_VALID, type=request_type.__name__) from None
    return message


def _line(message: Message) -> bytes:
    return json.dumps({"result": to_json(message)}, separators=(",", ":")).encode() + b"\n"


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
    table = {
        (service.name, method.name): _Route(
            getattr(servicer, method.name),
            message_factory.GetMessageClass(method.input_type),
            method.server_streaming,
        )
        for service, servicer in servicers.items()
        for method in service.methods
    }
    document = openapi_document(list(servicers), server_url=public_url, prefix=API_PREFIX)
    invoice_pdf = table[("InvoiceService", "GetInvoicePdf")]

    async def call(route: _Route, principal: Principal, message: Message) -> Message:
        ensure_no_nul(message)  # as the gRPC interceptor does
        call_principal.set_principal(principal)
        try:
            answer: Message = await route.handler(message, None)
            return answer
        finally:
            call_principal.set_principal(None)

    async def handle_rpc(request: web.Request) -> web.StreamResponse:
        route = table.get((request.match_info["service"], request.match_info["method"]))
        if route is None:
            raise web.HTTPNotFound(text="No such method; see /api/openapi.json.")
        principal = await authenticate(request)
        message = await _parse(request, route.request_type)
        if route.streaming:
            return await stream(request, route, principal, message)
        response = await call(route, principal, message)
        return web.json_response(to_json(response), headers={"Cache-Control": "no-store"})

    async def stream(
        request: web.Request, route: _Route, principal: Principal, message: Message
    ) -> web.StreamResponse:
        ensure_no_nul(message)  # before the response starts: a problem+json with its status
        call_principal.set_principal(principal)
        answers: AsyncIterator[Message] = route.handler(message, None)
        try:
            # The first answer before the response starts: a request refused as a whole is a
            # problem+json with its status, as any other call's.
            first = await anext(answers, None)
            request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
            response = web.StreamResponse(
                headers={
                    "Content-Type": "application/x-ndjson",
                    "Cache-Control": "no-store",
                    "x-request-id": request_id,
                }
            )
            await response.prepare(request)
            try:
                if first is not None:
                    await response.write(_line(first))
                async for answer in answers:
                    await response.write(_line(answer))
            except (ConnectionResetError, asyncio.CancelledError):
                raise  # the caller left: the servicer's own clean-up runs (aclose below)
            except Exception as exc:
                if not error_catalog.is_expected(exc):
                    log.exception("ui_api.stream_failed")
                problem = exception_to_problem(exc, instance=request.path, request_id=request_id)
                body = problem.body if isinstance(problem.body, bytes) else b"{}"
                await response.write(b'{"error":' + body + b"}\n")
            await response.write_eof()
            return response
        finally:
            await answers.aclose()  # type: ignore[attr-defined]
            call_principal.set_principal(None)

    async def handle_pdf(request: web.Request) -> web.Response:
        principal = await authenticate(request)
        message = json_format.ParseDict(
            {"name": request.query.get("name", "")}, invoice_pdf.request_type()
        )
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
    app.router.add_get(f"{API_PREFIX}/invoice-pdf", handle_pdf)
    app.router.add_get("/api/openapi.json", handle_openapi)
