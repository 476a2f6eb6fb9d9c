"""Bearer-token authentication for gRPC: the principal of the current call, in a contextvar."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from application.auth import Principal
from application.errors import UnauthenticatedError
from entrypoints.principal import current_principal, set_principal

__all__ = ["TokenAuthenticator", "current_principal", "is_open_method", "set_principal"]

# Load balancers and grpcurl reach these without a token.
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class TokenAuthenticator:
    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens = dict(tokens)

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise UnauthenticatedError("This call needs an 'authorization: Bearer <token>' header.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("The authorization header must be 'Bearer <token>'.")
        token = token.strip()
        found: Principal | None = None
        for known, principal in self._tokens.items():
            # Compare every token in constant time; do not stop at the first match.
            if hmac.compare_digest(known.encode(), token.encode()):
                found = principal
        if found is None:
            raise UnauthenticatedError("The bearer token is not valid.", reason="INVALID_TOKEN")
        return found


def is_open_method(method: str) -> bool:
    return method.startswith(OPEN_SERVICES)
