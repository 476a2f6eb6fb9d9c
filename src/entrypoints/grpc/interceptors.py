"""The request-context interceptor: request id, authentication, access log, error mapping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeAlias, cast

import grpc
import structlog

from application.errors import UpstreamUnavailableError
from application.reasons import Reason
from entrypoints import error_catalog
from entrypoints.grpc import Context
from entrypoints.grpc.auth import OPEN_SERVICES, TokenAuthenticator
from entrypoints.grpc.status import to_status
from entrypoints.log_config import safe_request_id
from entrypoints.metrics import Metrics
from entrypoints.principal import set_principal
from entrypoints.request_text import ensure_no_nul

log = structlog.get_logger("dealbooks.grpc")
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
SHUTTING_DOWN = UpstreamUnavailableError(
    "The server is restarting; send the request again (with the same request_id).",
    reason=Reason.SERVER_SHUTTING_DOWN,
    retry_after_seconds=1.0,
)


class RequestContextInterceptor(grpc.aio.ServerInterceptor):
    """Wraps each unary method once (the wrapped handler is kept per method): per call, only the
    wrapper runs, reading the request id and token from the call's own metadata, and refusing a
    request with a NUL in its text (:mod:`entrypoints.request_text`)."""

    def __init__(self, authenticator: TokenAuthenticator, metrics: Metrics) -> None:
        self._authenticator = authenticator
        self._metrics = metrics
        self._handlers: dict[str, Handler] = {}
        self._running: set[asyncio.Task[Any]] = set()
        self._shedding = False

    async def drain(self, seconds: float) -> None:
        """Wait (at most ``seconds``) for the RPCs still running to finish."""
        running = {task for task in self._running if not task.done()}
        if running:
            await asyncio.wait(running, timeout=seconds)

    async def shed(self, seconds: float) -> None:
        """End the RPCs still running with UNAVAILABLE and a retry delay rather than leave them
        for grpc to cut off: clients must not retry the CANCELLED they would see. Each gets
        ``seconds`` to unwind, e.g. to queue a job for an invoice it had stored as CREATING."""
        self._shedding = True
        for task in self._running:
            task.cancel()
        await self.drain(seconds)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = details.method
        wrapped = self._handlers.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(details)
        if handler is None or method.startswith(OPEN_SERVICES):
            return handler
        if handler.unary_unary is not None:
            wrapped = self._wrap(method, handler)
        elif handler.unary_stream is not None:
            wrapped = self._wrap_stream(method, handler)
        else:
            return handler
        self._handlers[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: Handler) -> Handler:
        # In grpc.aio the behaviour is a coroutine function (the stubs describe grpc's sync one).
        inner = cast(Callable[[Any, Context], Awaitable[Any]], handler.unary_unary)
        scope = self._scope(method)

        async def wrapper(request: Any, context: Context) -> Any:
            async with scope(context):
                ensure_no_nul(request)
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap_stream(self, method: str, handler: Handler) -> Handler:
        """A server-streaming method: the same request id, authentication, log and error
        mapping; an error after some answers ends the stream with its status."""
        inner = cast(Callable[[Any, Context], AsyncIterator[Any]], handler.unary_stream)
        scope = self._scope(method)

        async def wrapper(request: Any, context: Context) -> AsyncIterator[Any]:
            async with scope(context):
                ensure_no_nul(request)
                async for answer in inner(request, context):
                    yield answer

        return grpc.unary_stream_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _scope(self, method: str) -> Callable[[Context], AbstractAsyncContextManager[None]]:
        """What every call of ``method`` runs inside: request id, principal, metrics, access
        log, and the mapping of an exception to its status."""
        authenticate = self._authenticator.authenticate
        requests = self._metrics.rpc_requests
        succeeded = requests.labels(method=method, code="OK")  # the usual outcome, bound once
        duration = self._metrics.rpc_duration.labels(method=method)
        running = self._running

        @asynccontextmanager
        async def scope(context: Context) -> AsyncIterator[None]:
            started = time.perf_counter()
            request_id = authorization = None
            for key, value in context.invocation_metadata() or ():
                if key == "x-request-id":
                    request_id = str(value)  # text: only "-bin" keys carry bytes
                elif key == "authorization":
                    authorization = str(value)
            request_id = safe_request_id(request_id)
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
            await context.send_initial_metadata((("x-request-id", request_id),))
            code = "OK"
            task = asyncio.current_task()
            if task is not None:
                running.add(task)
            try:
                set_principal(authenticate(authorization))
                yield
            except grpc.aio.AbortError:
                status_code = context.code()
                code = status_code.name if isinstance(status_code, grpc.StatusCode) else "ABORTED"
                raise
            except asyncio.CancelledError:
                if not self._shedding:
                    code = "CANCELLED"  # the client went away
                    raise
                code = "UNAVAILABLE"
                await context.abort_with_status(to_status(SHUTTING_DOWN, request_id))
            except Exception as exc:
                code = error_catalog.lookup(exc).grpc_code
                if error_catalog.is_expected(exc):
                    log.info("rpc.rejected", reason=getattr(exc, "reason", ""), code=code)
                else:
                    log.exception("rpc.failed")
                await context.abort_with_status(to_status(exc, request_id))
            finally:
                running.discard(task)
                set_principal(None)
                elapsed = time.perf_counter() - started
                (succeeded if code == "OK" else requests.labels(method=method, code=code)).inc()
                duration.observe(elapsed)
                log.info("rpc.completed", code=code, duration_ms=round(elapsed * 1000, 2))

        return scope
