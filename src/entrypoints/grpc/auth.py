"""Bearer-token authentication for gRPC: which principal a call's token stands for."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from application.auth import Principal
from application.errors import UnauthenticatedError
from application.reasons import Reason

# Load balancers and grpcurl reach these without a token.
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenAuthenticator:
    """Tokens are kept as SHA-256 digests, so the lookup's timing tells a caller nothing usable:
    it cannot choose what the digest of what it sends looks like."""

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._by_digest = {_digest(token): principal for token, principal in tokens.items()}

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise UnauthenticatedError("This call needs an 'authorization: Bearer <token>' header.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("The authorization header must be 'Bearer <token>'.")
        digest = _digest(token.strip())
        found = self._by_digest.get(digest)
        if found is None:
            raise UnauthenticatedError(
                "The bearer token is not valid.", reason=Reason.INVALID_TOKEN
            )
        return found
