"""Change data capture answers (``GET /cdc``, reference §4.4) as port facts: the changes of a
read, and where a read cut short at QuickBooks' cap resumes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.quickbooks.mappers import invoice_from_qbo, parse_qbo_time, ref
from application.ports.accounting import AccountingChanges, AccountingInvoice


def _cdc_blocks(body: Any) -> list[Mapping[str, Any]]:
    """The ``QueryResponse`` blocks of a CDC response (reference §4.9, §12 F4)."""
    responses = body.get("CDCResponse") or [] if isinstance(body, Mapping) else []
    return [
        block
        for response in responses
        if isinstance(response, Mapping)
        for block in response.get("QueryResponse") or []
        if isinstance(block, Mapping)
    ]


def _is_deleted(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"


def changes_from_cdc(
    body: Mapping[str, Any], as_of: datetime, default_currency: str = "USD"
) -> AccountingChanges:
    """A CDC response: changed invoices, deleted invoice ids, and the invoices the changed
    payments are linked to."""
    invoices: dict[str, AccountingInvoice] = {}
    deleted: list[str] = []
    touched: set[str] = set()
    for block in _cdc_blocks(body):
        for obj in block.get("Invoice") or []:
            if _is_deleted(obj):
                deleted.append(str(obj["Id"]))
            else:
                invoices[str(obj["Id"])] = invoice_from_qbo(obj, default_currency)
        for payment in block.get("Payment") or []:
            for line in payment.get("Line") or []:
                for link in line.get("LinkedTxn") or []:
                    if str(link.get("TxnType")) == "Invoice" and link.get("TxnId"):
                        touched.add(str(link["TxnId"]))
    server_time = parse_qbo_time(body.get("time"))
    return AccountingChanges(
        invoices=tuple(invoices.values()),
        deleted_invoice_ids=tuple(dict.fromkeys(deleted)),
        payment_invoice_ids=tuple(sorted(touched)),
        as_of=min(as_of, server_time) if server_time else as_of,
    )


@dataclass(frozen=True, slots=True)
class CdcCut:
    """Where a CDC response at the cap stopped for one entity: its changes from ``resume_from``
    on are still to read. ``deletions_skipped``: the cut fell among the changed objects, so
    none of the entity's deleted objects since the read's start were listed (they come last).
    ``stalled``: a cap's worth of its objects share the read's start, so no read gets further."""

    resume_from: datetime
    deletions_skipped: bool = False
    stalled: bool = False


def cdc_cuts(
    body: Mapping[str, Any], entities: Sequence[str], since: datetime, cap: int
) -> dict[str, CdcCut]:
    """The entities whose changes since ``since`` a CDC response may not hold in full, and
    where to read each again.

    CDC answers at most ``cap`` objects, with no paging; they are grouped by entity, each
    group in LastUpdatedTime order with its deleted objects after its changed ones (reference
    §4.9). A response under the cap is complete. At the cap, the last group holds its entity's
    changes up to its last object's time, and an entity asked for without a group may not have
    been reached. [U] that the cap cuts the groups as one sequence, so that the groups before
    the last one are complete: Intuit says only "grouped by type" and "a maximum of 1,000
    objects"; the emulator cuts them so.
    """
    groups = [
        (name, objects)
        for block in _cdc_blocks(body)
        for name in entities
        if isinstance(objects := block.get(name), list) and objects
    ]
    if not groups or sum(len(objects) for _, objects in groups) < cap:
        return {}
    reached = {name for name, _ in groups}
    # Not reached: read again from the same time, without the groups before it.
    cuts = {name: CdcCut(since) for name in entities if name not in reached}
    name, objects = groups[-1]
    last = objects[-1] if isinstance(objects[-1], Mapping) else {}
    updated = parse_qbo_time((last.get("MetaData") or {}).get("LastUpdatedTime"))
    stalled = updated is None or updated <= since
    cuts[name] = CdcCut(
        since if stalled or updated is None else updated,
        deletions_skipped=not _is_deleted(last),
        stalled=stalled,
    )
    return cuts


def needs_home_currency(body: Any) -> bool:
    """Whether a CDC response has an invoice without its currency (single-currency companies)."""
    return any(
        not _is_deleted(obj) and not ref(obj.get("CurrencyRef"))
        for block in _cdc_blocks(body)
        for obj in block.get("Invoice") or []
    )
