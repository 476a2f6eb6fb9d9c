"""The catalog of error reasons (AIP-193 ``ErrorInfo.reason``) and of their metadata keys.

Every raiser, the vendor adapters and fakes included, uses these members, so each value is
spelled once (``tests/unit/application/test_reasons.py`` fails on one spelled out elsewhere) and
an error's metadata is already in its wire form. The values are the wire format: reasons in
UPPER_SNAKE (at most 63 characters), metadata keys in lowerCamelCase; never rename one, add a
new one. The UI translates every reason (``codes.js``: ``reason.<REASON>``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.errors import DomainReason


class Reason(StrEnum):
    """Every reason the application, its adapters and its entrypoints put on an error."""

    # Bases: the class default of each application error
    APPLICATION_ERROR = "APPLICATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    ETAG_MISMATCH = "ETAG_MISMATCH"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    NOT_CONNECTED = "NOT_CONNECTED"
    UPSTREAM_REJECTED = "UPSTREAM_REJECTED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    NOT_ALLOWED = "NOT_ALLOWED"
    INTERNAL = "INTERNAL"
    # Not found: ``<RESOURCE TYPE>_NOT_FOUND`` for each ResourceType
    INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"
    DEAL_NOT_FOUND = "DEAL_NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    CUSTOMER_LINK_NOT_FOUND = "CUSTOMER_LINK_NOT_FOUND"
    WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND"
    QUICKBOOKS_CUSTOMER_NOT_FOUND = "QUICKBOOKS_CUSTOMER_NOT_FOUND"
    QUICKBOOKS_INVOICE_NOT_FOUND = "QUICKBOOKS_INVOICE_NOT_FOUND"
    QUICKBOOKS_OBJECT_NOT_FOUND = "QUICKBOOKS_OBJECT_NOT_FOUND"
    # The object QuickBooks did not find is the invoice's customer, made inactive there
    QUICKBOOKS_CUSTOMER_INACTIVE = "QUICKBOOKS_CUSTOMER_INACTIVE"
    PIPEDRIVE_OBJECT_NOT_FOUND = "PIPEDRIVE_OBJECT_NOT_FOUND"
    INVOICE_TEMPLATE_NOT_FOUND = "INVOICE_TEMPLATE_NOT_FOUND"
    INVOICE_RULE_NOT_FOUND = "INVOICE_RULE_NOT_FOUND"
    INVOICE_RULE_RUN_NOT_FOUND = "INVOICE_RULE_RUN_NOT_FOUND"
    INSTALLMENT_NOT_FOUND = "INSTALLMENT_NOT_FOUND"
    INSTALLMENT_SCHEDULE_NOT_FOUND = "INSTALLMENT_SCHEDULE_NOT_FOUND"
    # Who may call
    ADMIN_REQUIRED = "ADMIN_REQUIRED"
    ADMINS_ONLY = "ADMINS_ONLY"  # the company keeps this action for its admins
    # the action is for admins and chosen Pipedrive permission sets, which the user lacks
    PERMISSION_SET_REQUIRED = "PERMISSION_SET_REQUIRED"
    DEAL_NOT_VISIBLE = "DEAL_NOT_VISIBLE"  # Pipedrive does not show the deal to this user
    INVALID_TOKEN = "INVALID_TOKEN"
    INVALID_PIPEDRIVE_TOKEN = "INVALID_PIPEDRIVE_TOKEN"
    # Connecting QuickBooks
    OAUTH_STATE_INVALID = "OAUTH_STATE_INVALID"
    QUICKBOOKS_CONNECT_DENIED = "QUICKBOOKS_CONNECT_DENIED"
    # QuickBooks (adapters.quickbooks)
    QUICKBOOKS_NOT_CONNECTED = "QUICKBOOKS_NOT_CONNECTED"
    QUICKBOOKS_RECONNECT_REQUIRED = "QUICKBOOKS_RECONNECT_REQUIRED"
    QUICKBOOKS_REJECTED = "QUICKBOOKS_REJECTED"
    QUICKBOOKS_UNAVAILABLE = "QUICKBOOKS_UNAVAILABLE"
    # Pipedrive (adapters.pipedrive)
    PIPEDRIVE_NOT_CONNECTED = "PIPEDRIVE_NOT_CONNECTED"
    PIPEDRIVE_REJECTED = "PIPEDRIVE_REJECTED"
    PIPEDRIVE_UNAVAILABLE = "PIPEDRIVE_UNAVAILABLE"
    PIPEDRIVE_BLOCKED = "PIPEDRIVE_BLOCKED"
    PIPEDRIVE_BAD_RESPONSE = "PIPEDRIVE_BAD_RESPONSE"
    # Our own infrastructure
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    SERVER_SHUTTING_DOWN = "SERVER_SHUTTING_DOWN"
    # The HTTP gateway
    INVALID_JSON = "INVALID_JSON"
    BAD_REQUEST = "BAD_REQUEST"
    ROUTE_NOT_FOUND = "ROUTE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    HTTP_ERROR = "HTTP_ERROR"


class ResourceType(StrEnum):
    """What a ``NotFoundError`` did not find (``ResourceInfo.resource_type``); each has its
    ``<TYPE>_NOT_FOUND`` reason."""

    INVOICE = "invoice"
    DEAL = "deal"
    USER = "user"
    CUSTOMER_LINK = "customer_link"
    WEBHOOK = "webhook"
    QUICKBOOKS_CUSTOMER = "quickbooks_customer"
    QUICKBOOKS_INVOICE = "quickbooks_invoice"
    QUICKBOOKS_OBJECT = "quickbooks_object"
    PIPEDRIVE_OBJECT = "pipedrive_object"
    INVOICE_TEMPLATE = "invoice_template"
    INVOICE_RULE = "invoice_rule"
    INVOICE_RULE_RUN = "invoice_rule_run"
    INSTALLMENT = "installment"
    INSTALLMENT_SCHEDULE = "installment_schedule"


class MetadataKey(StrEnum):
    """``ErrorInfo.metadata`` keys (lowerCamelCase, as AIP-193 asks)."""

    # Set by the domain's errors (it spells them itself: it cannot import this module)
    INVOICE = "invoice"
    STATE = "state"
    ACTION = "action"
    LEFT = "left"
    RIGHT = "right"
    # Application and entrypoints
    COMPANY = "company"
    DEAL = "deal"  # a Pipedrive deal id
    RESOURCE_TYPE = "resourceType"
    RESOURCE_NAME = "resourceName"
    REQUEST_ID = "requestId"
    CURRENT_ETAG = "currentEtag"
    DETAIL = "detail"
    ERROR = "error"
    VENDOR_ERROR = "vendorError"
    REALM = "realm"  # a QuickBooks company (realm id)
    CUSTOMER_NAME = "customerName"  # a QuickBooks customer's display name
    # Vendor adapters
    VENDOR_CODE = "vendorCode"
    VENDOR_MESSAGE = "vendorMessage"
    VENDOR_DETAIL = "vendorDetail"
    VENDOR_ERROR_INFO = "vendorErrorInfo"
    ELEMENT = "element"
    INTUIT_TID = "intuitTid"
    HTTP_STATUS = "httpStatus"
    PATH = "path"
    # Added when an error is rendered: what the trailers' byte budget left out
    TRUNCATED = "truncated"
    OMITTED_VIOLATIONS = "omittedViolations"


MAX_REASON_LENGTH: Final = 63


def every_reason() -> frozenset[str]:
    """The domain's reasons and this module's: every ``ErrorInfo.reason`` the service emits."""
    return frozenset(DomainReason) | frozenset(Reason)


def not_found_reason(resource_type: str) -> str:
    """``INVOICE_NOT_FOUND`` for ``invoice``; ``NOT_FOUND`` for a type the catalog lacks."""
    wanted = f"{resource_type.upper()}_NOT_FOUND"
    return Reason(wanted) if wanted in Reason.__members__ else Reason.NOT_FOUND
