"""ONE table: exception type -> canonical gRPC code, HTTP status, title. Both renderings use it."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import (
    AlreadyExistsError,
    ApplicationError,
    ConcurrencyConflictError,
    IntegrationNotConnectedError,
    NotFoundError,
    PermissionDeniedError,
    RequestIdReusedError,
    UnauthenticatedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from domain.errors import DomainError, InvalidStateTransitionError, InvalidValueError

ERROR_DOMAIN = "dealbooks"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    grpc_code: str  # a grpc.StatusCode name; kept a string so HTTP needs no gRPC import
    http_status: int
    title: str


# Most specific first: the first matching row wins.
CATALOG: tuple[tuple[type[Exception], CatalogEntry], ...] = (
    (InvalidValueError, CatalogEntry("INVALID_ARGUMENT", 400, "Invalid request")),
    (InvalidStateTransitionError, CatalogEntry("FAILED_PRECONDITION", 400, "Not allowed now")),
    (DomainError, CatalogEntry("FAILED_PRECONDITION", 400, "Not allowed now")),
    (NotFoundError, CatalogEntry("NOT_FOUND", 404, "Not found")),
    (AlreadyExistsError, CatalogEntry("ALREADY_EXISTS", 409, "Already exists")),
    (ConcurrencyConflictError, CatalogEntry("ABORTED", 409, "Changed concurrently")),
    (RequestIdReusedError, CatalogEntry("INVALID_ARGUMENT", 400, "Request id reused")),
    (IntegrationNotConnectedError, CatalogEntry("FAILED_PRECONDITION", 400, "Not connected")),
    (UpstreamRejectedError, CatalogEntry("FAILED_PRECONDITION", 400, "Rejected")),
    (UpstreamUnavailableError, CatalogEntry("UNAVAILABLE", 503, "Temporarily unavailable")),
    (UnauthenticatedError, CatalogEntry("UNAUTHENTICATED", 401, "Authentication required")),
    (PermissionDeniedError, CatalogEntry("PERMISSION_DENIED", 403, "Permission denied")),
    (ApplicationError, CatalogEntry("FAILED_PRECONDITION", 400, "Not allowed now")),
)
INTERNAL = CatalogEntry("INTERNAL", 500, "Internal error")
INTERNAL_MESSAGE = "Internal error."


def lookup(exc: BaseException) -> CatalogEntry:
    for exc_type, entry in CATALOG:
        if isinstance(exc, exc_type):
            return entry
    return INTERNAL


def is_expected(exc: BaseException) -> bool:
    return isinstance(exc, DomainError | ApplicationError)


def wire_metadata(exc: BaseException) -> dict[str, str]:
    """The error's metadata as both renderings send it: text keys (already lowerCamelCase
    ``MetadataKey`` members, AIP-193) and values, in the order they were set."""
    return {str(k): str(v) for k, v in getattr(exc, "metadata", {}).items()}
