"""The request-context interceptor: request id, authentication, access log, error mapping."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from entrypoints import error_catalog
from entrypoints.grpc import auth
from entrypoints.grpc.status import internal_status, to_status
from entrypoints.log_config import safe_request_id
from entrypoints.metrics import Metrics

log = structlog.get_logger("dealbooks.grpc")


class RequestContextInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticator: auth.TokenAuthenticator, metrics: Metrics) -> None:
        self._authenticator = authenticator
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method: str = details.method  # type: ignore[attr-defined]
        if auth.is_open_method(method):
            return handler
        inner = handler.unary_unary
        metadata = dict(details.invocation_metadata or ())  # type: ignore[attr-defined]
        authenticator, metrics = self._authenticator, self._metrics

        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            request_id = safe_request_id(metadata.get("x-request-id"))
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
            await context.send_initial_metadata((("x-request-id", request_id),))
            code = "OK"
            try:
                auth.set_principal(authenticator.authenticate(metadata.get("authorization")))
                return await inner(request, context)
            except grpc.aio.AbortError:
                status_code = context.code()
                code = status_code.name if isinstance(status_code, grpc.StatusCode) else "ABORTED"
                raise
            except Exception as exc:
                if error_catalog.is_expected(exc):
                    code = error_catalog.lookup(exc).grpc_code
                    log.info("rpc.rejected", reason=getattr(exc, "reason", ""), code=code)
                    await context.abort_with_status(to_status(exc, request_id))
                else:
                    code = "INTERNAL"
                    log.exception("rpc.failed")
                    await context.abort_with_status(internal_status(request_id))
            finally:
                auth.set_principal(None)
                elapsed = time.perf_counter() - started
                metrics.rpc_requests.labels(method=method, code=code).inc()
                metrics.rpc_duration.labels(method=method).observe(elapsed)
                log.info("rpc.completed", code=code, duration_ms=round(elapsed * 1000, 2))

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
