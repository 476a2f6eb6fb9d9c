"""The principal of the call being served, shared by the gRPC and HTTP entrypoints.

Servicers read it with ``current_principal()``; the gRPC interceptor and the HTTP JSON API set
it after authenticating the caller.
"""

from __future__ import annotations

from contextvars import ContextVar

from application.auth import Principal
from application.errors import UnauthenticatedError

_current: ContextVar[Principal | None] = ContextVar("dealbooks_principal", default=None)


def set_principal(principal: Principal | None) -> None:
    _current.set(principal)


def current_principal() -> Principal:
    principal = _current.get()
    if principal is None:  # the entrypoints guarantee one; a missing one is a wiring bug
        raise UnauthenticatedError("This call is not authenticated.")
    return principal
