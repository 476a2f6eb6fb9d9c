"""Which database failures mean "not reachable right now" (the caller may retry: UNAVAILABLE)
rather than a fault of ours, however they arrive: from asyncpg directly, or wrapped by
SQLAlchemy."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from application.errors import UpstreamUnavailableError
from application.reasons import Reason

# A lost or refused connection (the database restarting, the network), the server ending our
# session or query (an administrator, a shutdown, a crash: SQLSTATE class 57), or the driver
# finding the connection in a state it cannot go on from (seen when the server ended it while
# idle): a retry on another connection may succeed.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InternalClientError,
)


def is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (*UNREACHABLE, OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        cause = getattr(exc.orig, "__cause__", None)
        return isinstance(cause, UNREACHABLE)
    return False


def database_unavailable() -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        "The database is not reachable right now; try again in a moment.",
        reason=Reason.DATABASE_UNAVAILABLE,
        retry_after_seconds=2.0,
    )
