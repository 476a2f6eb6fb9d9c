"""Which QuickBooks calls Intuit meters, and the kind each is counted under (reference §1.7).

Intuit: "Core APIs are data-in (create/update) and unmetered. CorePlus APIs are data-out (reads,
queries) and metered". So GETs (``read:<Entity>``, ``pdf:Invoice``), queries (``query:<Entity>``,
sent as a POST) and CDC (``cdc``) count; creates, updates, voids, deletes and sends do not. The
kinds are a closed set (unknown entities become ``Other``), so they can label a metric.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

#: Counts one metered read of a kind (the Prometheus counter, in the composition root).
MeteredReadCounter = Callable[[str], None]

ENTITIES: Final = {
    name.lower(): name
    for name in (
        "Account",
        "Class",
        "CompanyCurrency",
        "CompanyInfo",
        "Customer",
        "Department",
        "ExchangeRate",
        "Invoice",
        "Item",
        "Payment",
        "Preferences",
        "TaxCode",
        "TaxRate",
        "Term",
    )
}
_FROM = re.compile(r"\bfrom\s+([A-Za-z]+)", re.IGNORECASE)
#: Answers that mean the call was refused, not served: not metered ([U] Intuit does not say
#: whether a refused call counts; a fault it answers, e.g. 610, does).
REFUSED: Final = frozenset({401, 403, 429})


def _entity(name: str) -> str:
    return ENTITIES.get(name.lower(), "Other")


def metered_kind(method: str, path: str, data: bytes | None) -> str | None:
    """The kind of a metered (CorePlus) call, or None for a Core one. ``path`` is the part
    after ``/v3/company/{realm}/``; ``data`` the body (a query's text)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    head = parts[0].lower() if parts else ""
    if head == "query":
        found = _FROM.search((data or b"").decode("utf-8", errors="replace"))
        return f"query:{_entity(found.group(1)) if found else 'Other'}"
    if head == "cdc":
        return "cdc"
    if method.upper() != "GET":
        return None
    if len(parts) == 3 and parts[2].lower() == "pdf":
        return f"pdf:{_entity(head)}"
    return f"read:{_entity(head)}"


def metered_answer(status: int) -> bool:
    """Whether an answer with this status was a served (so metered) call."""
    return status < 500 and status not in REFUSED
