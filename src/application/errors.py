"""Application errors: what a use case reports, as types with a stable ``reason``.

Adapters translate vendor and database failures into these; entrypoints translate these into gRPC
codes and HTTP statuses through one catalog. No transport codes here.
"""

from __future__ import annotations

from application.reasons import MetadataKey, Reason, not_found_reason


class ApplicationError(Exception):
    """Base of every error a use case raises on purpose."""

    reason: str = Reason.APPLICATION_ERROR

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class NotFoundError(ApplicationError):
    """The named resource does not exist (or is not visible to the caller).

    ``resource_type`` is a :class:`~application.reasons.ResourceType`; the reason is that
    type's ``<TYPE>_NOT_FOUND``."""

    reason = Reason.NOT_FOUND

    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(
            f"{resource_type.replace('_', ' ').capitalize()} {name} was not found.",
            reason=not_found_reason(resource_type),
            metadata={MetadataKey.RESOURCE_TYPE: resource_type, MetadataKey.RESOURCE_NAME: name},
        )
        self.resource_type = resource_type
        self.resource_name = name


class AlreadyExistsError(ApplicationError):
    """Creating something that exists already."""

    reason = Reason.ALREADY_EXISTS


class ConcurrencyConflictError(ApplicationError):
    """Somebody else changed the resource since it was read (stale etag or version)."""

    reason = Reason.ETAG_MISMATCH


class RequestIdReusedError(ApplicationError):
    """The same request id was sent before with a different request (AIP-155)."""

    reason = Reason.REQUEST_ID_REUSED


class IntegrationNotConnectedError(ApplicationError):
    """QuickBooks or Pipedrive is not connected, or its connection was revoked."""

    reason = Reason.NOT_CONNECTED


class UpstreamRejectedError(ApplicationError):
    """QuickBooks or Pipedrive refused the request; the message says why in plain words."""

    reason = Reason.UPSTREAM_REJECTED


class UpstreamUnavailableError(ApplicationError):
    """QuickBooks or Pipedrive could not be reached or is throttling; retrying later may work."""

    reason = Reason.UPSTREAM_UNAVAILABLE

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

    reason = Reason.MISSING_CREDENTIALS


class PermissionDeniedError(ApplicationError):
    """Valid credentials that do not allow this company or this action."""

    reason = Reason.NOT_ALLOWED
