"""QuickBooks faults and the application errors they stand for (reference §1.6, §13.7).

A Fault can come in any answer: inside a 200, as the lower-case ``fault`` envelope of a 401, or
as XML (throttles, even when JSON was asked for). Pure functions: the
reference's verbatim payloads are tested without a server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from application.errors import (
    ApplicationError,
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.reasons import MetadataKey, Reason, ResourceType

#: Intuit: "If you see [429], wait 60 seconds before retrying" — told to callers that give up.
THROTTLE_RETRY_AFTER: Final = 60.0


_NOT_CONNECTED: Final = {
    Reason.QUICKBOOKS_NOT_CONNECTED: (
        "QuickBooks is not connected for this company. An admin can connect it in the settings."
    ),
    Reason.QUICKBOOKS_RECONNECT_REQUIRED: (
        "QuickBooks refused this company's saved sign-in (it was revoked or expired). "
        "An admin needs to reconnect QuickBooks in the dealbooks settings."
    ),
}


def not_connected(reason: Reason) -> IntegrationNotConnectedError:
    return IntegrationNotConnectedError(_NOT_CONNECTED[reason], reason=reason)


def unavailable(
    message: str, retry_after: float = 5.0, metadata: Mapping[str, str] | None = None
) -> UpstreamUnavailableError:
    """``metadata`` is keyed by :class:`~application.reasons.MetadataKey` members."""
    return UpstreamUnavailableError(
        message,
        reason=Reason.QUICKBOOKS_UNAVAILABLE,
        metadata=dict(metadata or {}),
        retry_after_seconds=retry_after,
    )


@dataclass(frozen=True, slots=True)
class QuickBooksFault:
    code: str
    message: str
    detail: str
    element: str = ""
    type: str = ""


_XML_FAULT = re.compile(r"<Fault\b(?P<attrs>[^>]*)>", re.S)
_XML_ERROR = re.compile(
    r"<Error\b(?P<attrs>[^>]*)>(?P<body>.*?)</Error>",
    re.S,
)
_XML_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")
_XML_TAG = re.compile(r"<(Message|Detail)>(.*?)</\1>", re.S)


def fault_from_xml(text: str) -> QuickBooksFault | None:
    """The first error of an ``<IntuitResponse><Fault>`` body (throttles come as XML even when
    JSON was asked for, reference §1.6). Parsed with patterns: no XML parser sees vendor input."""
    fault = _XML_FAULT.search(text)
    error = _XML_ERROR.search(text)
    if fault is None or error is None:
        return None
    attrs = dict(_XML_ATTR.findall(error.group("attrs")))
    tags = dict(_XML_TAG.findall(error.group("body")))
    return QuickBooksFault(
        code=attrs.get("code", ""),
        message=html.unescape(tags.get("Message", "").strip()),
        detail=html.unescape(tags.get("Detail", "").strip()),
        element=attrs.get("element", ""),
        type=dict(_XML_ATTR.findall(fault.group("attrs"))).get("type", ""),
    )


def fault_from_json(body: Any) -> QuickBooksFault | None:
    """The first error of a ``Fault`` (or the 401 lower-case ``fault``) envelope, else None."""
    envelopes = (body.get("Fault"), body.get("fault")) if isinstance(body, Mapping) else ()
    envelope = next((e for e in envelopes if isinstance(e, Mapping)), None)
    if envelope is None:
        return None
    errors = envelope.get("Error") or envelope.get("error")
    first = errors[0] if isinstance(errors, list) and errors else {}
    if not isinstance(first, Mapping):
        first = {}

    def text(*keys: str) -> str:
        return str(next((first[key] for key in keys if first.get(key)), ""))

    return QuickBooksFault(
        code=text("code"),
        message=text("Message", "message"),
        detail=text("Detail", "detail"),
        element=text("element"),
        type=str(envelope.get("type") or ""),
    )


class QuickBooksRejectedError(UpstreamRejectedError):
    """QuickBooks refused the request; ``code`` is its error code (5010, 6240, ...)."""

    def __init__(self, message: str, fault: QuickBooksFault, intuit_tid: str) -> None:
        super().__init__(
            message,
            reason=Reason.QUICKBOOKS_REJECTED,
            metadata={
                MetadataKey.VENDOR_CODE: fault.code,
                MetadataKey.INTUIT_TID: intuit_tid,
                MetadataKey.VENDOR_MESSAGE: fault.message[:300],
                MetadataKey.VENDOR_DETAIL: fault.detail[:500],
                MetadataKey.ELEMENT: fault.element,
            },
        )
        self.code = fault.code
        self.fault = fault


_PLAIN: Final[dict[str, str]] = {
    "5010": "Someone changed this in QuickBooks at the same time. Reload it and try again.",
    "6240": "QuickBooks already has a customer, vendor or employee with this name.",
    "6070": "QuickBooks found a line whose amount is not its quantity times its unit price.",
    "6140": "QuickBooks already has an invoice with this number; choose another number.",
    "6190": "This QuickBooks company cannot take changes: its subscription has ended or was "
    "cancelled.",
    "2500": "The invoice refers to something QuickBooks no longer has (a customer, product, "
    "tax code or term). Choose it again and retry.",
    "2050": "Some text is longer than QuickBooks allows.",
    "4000": "QuickBooks could not understand a search.",
    "4001": "QuickBooks could not understand a search.",
    "6000": "QuickBooks refused it:",  # a business rule; its own words follow
    **dict.fromkeys(
        ("2010", "2020", "2030"), "QuickBooks says a field is missing or not valid{field}."
    ),
}
#: The vendor codes whose rejection ``plain_message`` words itself. The UI says each in every
#: language as ``reason.QUICKBOOKS_REJECTED.<code>`` (``codes.js``; checked by
#: ``tests/unit/entrypoints/test_ui_codes.py``).
EXPLAINED_CODES: Final = frozenset(_PLAIN)


def plain_message(fault: QuickBooksFault) -> str:
    """What went wrong, in words for a user; QuickBooks' own text kept after it."""
    detail = fault.detail
    for prefix in ("Business Validation Error:", "Business Validation Error :"):
        if detail.startswith(prefix):
            detail = detail[len(prefix) :].strip()
    field = f" ({fault.element})" if fault.element else ""
    base = _PLAIN.get(fault.code, "QuickBooks refused the request:").replace("{field}", field)
    extra = detail or fault.message
    return f"{base} {extra}".strip() if extra and extra not in base else base


def fault_error(fault: QuickBooksFault, status: int, intuit_tid: str) -> ApplicationError:
    """The application error a fault stands for."""
    kind = fault.type.lower()
    if fault.code == "610":
        error: ApplicationError = NotFoundError(ResourceType.QUICKBOOKS_OBJECT, fault.element or "")
        error.metadata.update({MetadataKey.VENDOR_CODE: "610", MetadataKey.INTUIT_TID: intuit_tid})
        where = f" ({fault.element})" if fault.element else ""
        error.message = (  # QuickBooks' own words: "Something you're trying to use has been
            # made inactive" (reference §1.6); the UI words the reason itself
            f"Something this uses{where} is inactive or deleted in QuickBooks (a customer, "
            "product, account or tax code). Make it active again or choose another."
        )
        return error
    if status == 429 or fault.code == "3001" or "throttle" in fault.message.lower():
        return unavailable(
            "QuickBooks is limiting how fast we can work for this company; "
            "it will be retried shortly.",
            THROTTLE_RETRY_AFTER,
            {MetadataKey.VENDOR_CODE: fault.code or "429", MetadataKey.INTUIT_TID: intuit_tid},
        )
    if status >= 500 or kind in ("systemfault", "service") or fault.code in ("10000", "3003"):
        return unavailable(
            "QuickBooks is temporarily unavailable; it will be retried shortly.",
            metadata={
                MetadataKey.VENDOR_CODE: fault.code or str(status),
                MetadataKey.INTUIT_TID: intuit_tid,
            },
        )
    if (
        status in (401, 403)
        or kind.startswith("authentication")
        or kind.startswith("authorization")
        or fault.code in ("120", "3100", "3200")
    ):
        error = not_connected(Reason.QUICKBOOKS_NOT_CONNECTED)
        error.metadata.update(
            {MetadataKey.VENDOR_CODE: fault.code, MetadataKey.INTUIT_TID: intuit_tid}
        )
        return error
    return QuickBooksRejectedError(plain_message(fault), fault, intuit_tid)
