"""proto <-> shares of a deal and installment schedules."""

from __future__ import annotations

from dealbooks.v1 import installment_pb2, invoice_pb2
from domain.installment import DealShare, ShareKind
from domain.installment_schedule import Installment, InstallmentState

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


_STATES = {
    InstallmentState.SCHEDULED: installment_pb2.INSTALLMENT_STATE_SCHEDULED,
    InstallmentState.CREATED: installment_pb2.INSTALLMENT_STATE_CREATED,
    InstallmentState.FAILED: installment_pb2.INSTALLMENT_STATE_FAILED,
    InstallmentState.CANCELLED: installment_pb2.INSTALLMENT_STATE_CANCELLED,
}


def installment_to_proto(installment: Installment) -> installment_pb2.Installment:
    deal = f"companies/{installment.company_id}/deals/{installment.deal_id}"
    return installment_pb2.Installment(
        name=(
            f"{deal}/installmentSchedules/{installment.schedule_id}"
            f"/installments/{installment.position}"
        ),
        position=installment.position,
        count=installment.count,
        percentage=format(installment.percentage.normalize(), "f"),
        amount=invoice_pb2.Money(
            currency_code=installment.amount.currency,
            amount=installment.amount.to_decimal_string(),
        ),
        due_date=installment.due_on.isoformat(),
        state=_STATES[installment.state],
        invoice=f"{deal}/invoices/{installment.invoice_id}" if installment.invoice_id else "",
        failure_reason=installment.reason,
    )
