"""proto <-> shares of a deal and installment schedules."""

from __future__ import annotations

from dealbooks.v1 import installment_pb2
from domain.installment import DealShare, ShareKind

_KINDS = {
    installment_pb2.InvoiceShare.KIND_PERCENTAGE: ShareKind.PERCENTAGE,
    installment_pb2.InvoiceShare.KIND_AMOUNT: ShareKind.AMOUNT,
    installment_pb2.InvoiceShare.KIND_REST: ShareKind.REST,
}
_KINDS_TO_PROTO = {kind: number for number, kind in _KINDS.items()}


def share_from_proto(message: installment_pb2.InvoiceShare) -> DealShare | None:
    """The share asked for; None for the whole deal (an unset or unspecified share). An
    unparsable value is refused by :class:`DealShare` as a ``share.value`` field violation."""
    kind = _KINDS.get(message.kind)
    if kind is None:
        return None
    return DealShare(kind, message.value.strip() or "0")  # type: ignore[arg-type]


def share_to_proto(share: DealShare | None) -> installment_pb2.InvoiceShare | None:
    if share is None:
        return None
    value = "" if share.kind is ShareKind.REST else format(share.value.normalize(), "f")
    return installment_pb2.InvoiceShare(kind=_KINDS_TO_PROTO[share.kind], value=value)
