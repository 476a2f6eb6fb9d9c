"""Application errors: what a use case reports, as types with a stable ``reason``.

Adapters translate vendor and database failures into these; entrypoints translate these into gRPC
codes and HTTP statuses through one catalog. No transport codes here.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of every error a use case raises on purpose."""

    reason: str = "APPLICATION_ERROR"

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class NotFoundError(ApplicationError):
    """The named resource does not exist (or is not visible to the caller)."""

    reason = "NOT_FOUND"

    def __init__(self, resource_type: str, name: str, *, reason: str | None = None) -> None:
        super().__init__(
            f"{resource_type.replace('_', ' ').capitalize()} {name} was not found.",
            reason=reason or f"{resource_type.upper()}_NOT_FOUND",
            metadata={"resource_type": resource_type, "resource_name": name},
        )
        self.resource_type = resource_type
        self.resource_name = name


class AlreadyExistsError(ApplicationError):
    """Creating something that exists already."""

    reason = "ALREADY_EXISTS"


class ConcurrencyConflictError(ApplicationError):
    """Somebody else changed the resource since it was read (stale etag or version)."""

    reason = "ETAG_MISMATCH"


class RequestIdReusedError(ApplicationError):
    """The same request id was sent before with a different request (AIP-155)."""

    reason = "REQUEST_ID_REUSED"


class IntegrationNotConnectedError(ApplicationError):
    """QuickBooks or Pipedrive is not connected, or its connection was revoked."""

    reason = "NOT_CONNECTED"


class UpstreamRejectedError(ApplicationError):
    """QuickBooks or Pipedrive refused the request; the message says why in plain words."""

    reason = "UPSTREAM_REJECTED"


class UpstreamUnavailableError(ApplicationError):
    """QuickBooks or Pipedrive could not be reached or is throttling; retrying later may work."""

    reason = "UPSTREAM_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        retry_after_seconds: float = 1.0,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds


class UnauthenticatedError(ApplicationError):
    """No credentials, or credentials that are not valid."""

    reason = "MISSING_CREDENTIALS"


class PermissionDeniedError(ApplicationError):
    """Valid credentials that do not allow this company or this action."""

    reason = "NOT_ALLOWED"
