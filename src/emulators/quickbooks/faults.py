"""QBO error bodies: the ``Fault`` envelope, the lower-case 401 envelope and throttle faults.

Messages and details are verbatim from the reference where it gives them (§1.6, §12 F5/F6).
Codes the reference marks [U] are noted at their constructor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from .wire import JSON_CONTENT_TYPE, dumps


@dataclass
class QBOError(Exception):
    """One QBO fault. ``status`` is the HTTP status when it is the top-level response."""

    code: str
    message: str
    detail: str
    element: str = ""
    fault_type: str = "ValidationFault"
    status: int = 400
    extra: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code} {self.message}: {self.detail}"

    def fault(self) -> dict[str, Any]:
        errors = [
            {
                "Message": self.message,
                "Detail": self.detail,
                "code": self.code,
                "element": self.element,
            },
            *self.extra,
        ]
        return {"Error": errors, "type": self.fault_type}


# ---------------------------------------------------------------- constructors


def object_not_found() -> QBOError:
    return QBOError(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def stale_object() -> QBOError:
    return QBOError(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time. "
        "root finished before you did, so your work was not saved.",
    )


def duplicate_name(kind: str = "name") -> QBOError:
    if kind == "item":
        # [U] Item text; the reference only confirms the code for duplicate Item Name.
        detail = (
            "The name supplied already exists. : Another product or service is already "
            "using this name. Please use a different name."
        )
    else:
        detail = (
            "The name supplied already exists. : Another customer, vendor or employee is "
            "already using this name. Please use a different name."
        )
    return QBOError("6240", "Duplicate Name Exists Error", detail)


def required(param: str) -> QBOError:
    # [U] 2010 vs 2020; we use 2020 as §11 suggests.
    return QBOError(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {param} is missing in the request",
        element=param,
    )


def invalid_reference(label: str, ref_id: str, element: str = "") -> QBOError:
    return QBOError(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {label} element id {ref_id} not found",
        element=element,
    )


def invalid_number(element: str, value: Any) -> QBOError:
    return QBOError(
        "2030",
        "Invalid ID",
        f"{element} should be a valid number. Supplied value:{value}",
        element=element,
    )


def string_length(element: str, max_len: int, supplied: int) -> QBOError:
    # [U] code 2050 for length violations.
    return QBOError(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length is either shorter or longer than supported by specification. "
        f"Min:0 Max:{max_len} supplied:{supplied}",
        element=element,
    )


def invalid_value(element: str, detail: str) -> QBOError:
    # [U] QBO's code for a malformed field value (bad date, bad enum).
    return QBOError("2010", "Request has invalid or unsupported property", detail, element=element)


def amount_calculation(supplied: Any) -> QBOError:
    return QBOError(
        "6070",
        "Amount calculation incorrect in the request.",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
        element="Line.Amount",
    )


def business(detail: str, element: str = "") -> QBOError:
    return QBOError(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )


def duplicate_doc_number() -> QBOError:
    # [U] code 6140 is what public clients use; the message is from Intuit's 2017 blog.
    return QBOError(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. "
        "This number has already been used.",
        element="DocNumber",
    )


def unsupported(operation: str) -> QBOError:
    return QBOError("500", "Unsupported Operation", f"Operation {operation} is not supported.")


def query_parser(detail: str) -> QBOError:
    return QBOError("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation(detail: str) -> QBOError:
    # [U] 4001 for validation (vs 4000 parse); ruckus/quickbooks-ruby #24 shows the text.
    return QBOError("4001", "Invalid query", f"QueryValidationError: {detail}")


def application_error() -> QBOError:
    return QBOError(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again. If the problem persists, contact "
        "customer support.",
        fault_type="SystemFault",
        status=500,
    )


def service_unavailable() -> QBOError:
    return QBOError(
        "3003",
        "message=ServiceUnavailable; errorCode=003003; statusCode=503",
        "The service is temporarily unavailable.",
        fault_type="SERVICE",
        status=503,
    )


def authorization_failed(detail: str) -> QBOError:
    # [U] 401 vs 403 for a token of another realm; we answer 403 / 3100 (§1.6 table).
    return QBOError(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
        fault_type="AuthorizationFault",
        status=403,
    )


# ---------------------------------------------------------------- responses


def wants_xml(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "").lower()
    return ("xml" in accept) and ("json" not in accept.split("xml")[0])


def fault_body(err: QBOError, time_str: str) -> dict[str, Any]:
    return {"Fault": err.fault(), "time": time_str}


def fault_xml(err: QBOError, time_str: str) -> str:
    errors = "".join(
        f"<Error code={quoteattr(e['code'])}"
        + (f" element={quoteattr(e['element'])}" if e.get("element") else "")
        + f"><Message>{escape(e['Message'])}</Message><Detail>{escape(e['Detail'])}</Detail>"
        "</Error>"
        for e in err.fault()["Error"]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time_str}">'
        f'<Fault type="{err.fault_type}">{errors}</Fault></IntuitResponse>'
    )


def fault_response(
    err: QBOError, time_str: str, *, xml: bool = False, headers: dict[str, str] | None = None
) -> web.Response:
    if xml:
        return web.Response(
            text=fault_xml(err, time_str),
            status=err.status,
            content_type="application/xml",
            charset="utf-8",
            headers=headers,
        )
    all_headers = {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    return web.Response(
        body=dumps(fault_body(err, time_str)).encode(), status=err.status, headers=all_headers
    )


def throttle_error() -> QBOError:
    return QBOError(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        element="",
        fault_type="SERVICE",
        status=429,
    )


def auth_failed_response(detail: str, epoch_ms: int) -> web.Response:
    """401 with the lower-case envelope observed on real QBO (§1.6)."""
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_ms,
        "status": None,
        "cdcresponse": [],
    }
    return web.Response(
        body=dumps(body).encode(),
        status=401,
        headers={
            "Content-Type": JSON_CONTENT_TYPE,
            "WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"',
        },
    )
