"""Every (state, action) pair: the new state, or InvalidStateTransitionError naming both."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_builders import DUE, LATER, an_invoice_in, eur

from domain.errors import InvalidStateTransitionError
from domain.invoice import Invoice, InvoiceState, allowed_actions
from domain.money import Money

S = InvoiceState
CREATING, CREATE_FAILED, OPEN = S.CREATING, S.CREATE_FAILED, S.OPEN
PARTIALLY_PAID, PAID, VOIDED, DELETED = S.PARTIALLY_PAID, S.PAID, S.VOIDED, S.DELETED


def confirm_created(invoice: Invoice) -> None:
    invoice.confirm_created("qb-42", "1001", "0", invoice.total(), LATER)


def reject(invoice: Invoice) -> None:
    invoice.reject("Duplicate document number.", LATER)


def partial_payment_facts(invoice: Invoice) -> None:
    total = invoice.total()
    invoice.apply_accounting_facts(total, total - eur(20), "9", DUE, LATER)


def full_payment_facts(invoice: Invoice) -> None:
    invoice.apply_accounting_facts(invoice.total(), Money.zero("EUR"), "9", DUE, LATER)


def unpaid_facts(invoice: Invoice) -> None:
    invoice.apply_accounting_facts(invoice.total(), invoice.total(), "9", DUE, LATER)


def voided_facts(invoice: Invoice) -> None:
    zero = Money.zero("EUR")
    invoice.apply_accounting_facts(zero, zero, "9", DUE, LATER, voided=True)


def void(invoice: Invoice) -> None:
    invoice.void(LATER)


def delete(invoice: Invoice) -> None:
    invoice.delete(LATER)


def send(invoice: Invoice) -> None:
    invoice.record_sent("jane@acme.example", LATER)


ALL_STATES = list(InvoiceState)

# action -> {state it is allowed in: the state it leads to}; any other state must raise.
EXPECTED: dict[str, tuple[Callable[[Invoice], None], dict[InvoiceState, InvoiceState]]] = {
    "confirm_created": (confirm_created, {CREATING: OPEN, CREATE_FAILED: OPEN}),
    "reject": (reject, {CREATING: CREATE_FAILED}),
    "partial_payment_facts": (
        partial_payment_facts,
        {OPEN: PARTIALLY_PAID, PARTIALLY_PAID: PARTIALLY_PAID, PAID: PARTIALLY_PAID},
    ),
    "full_payment_facts": (full_payment_facts, {OPEN: PAID, PARTIALLY_PAID: PAID, PAID: PAID}),
    "unpaid_facts": (unpaid_facts, {OPEN: OPEN, PARTIALLY_PAID: OPEN, PAID: OPEN}),
    "voided_facts": (
        voided_facts,
        {OPEN: VOIDED, PARTIALLY_PAID: VOIDED, PAID: VOIDED, VOIDED: VOIDED},
    ),
    "void": (void, {OPEN: VOIDED, PARTIALLY_PAID: VOIDED, PAID: VOIDED}),
    "delete": (
        delete,
        {
            OPEN: DELETED,
            PARTIALLY_PAID: DELETED,
            PAID: DELETED,
            VOIDED: DELETED,
            CREATE_FAILED: DELETED,
        },
    ),
    "send": (send, {OPEN: OPEN, PARTIALLY_PAID: PARTIALLY_PAID, PAID: PAID}),
}

CASES = [
    pytest.param(name, state, id=f"{name}-from-{state.value}")
    for name in EXPECTED
    for state in ALL_STATES
]


@pytest.mark.parametrize(("action", "state"), CASES)
def test_each_action_in_each_state_leads_to_the_expected_state_or_is_refused(
    action: str, state: InvoiceState
) -> None:
    perform, moves = EXPECTED[action]
    invoice = an_invoice_in(state)
    version = invoice.version
    if state in moves:
        perform(invoice)
        assert invoice.state is moves[state]
        assert invoice.version > version
        assert invoice.updated_at == LATER
    else:
        with pytest.raises(InvalidStateTransitionError) as err:
            perform(invoice)
        assert err.value.state == state.name
        assert state.value.replace("_", " ") in err.value.message
        assert err.value.action.replace("_", " ") in err.value.message
        assert err.value.metadata == {
            "invoice": "inv-1",
            "state": state.name,
            "action": err.value.action,
        }
        assert invoice.state is state
        assert invoice.version == version
        assert invoice.events == []


USER_ACTIONS = ["confirm_created", "reject", "void", "delete", "send"]
REFUSED = [
    pytest.param(a, s, id=f"{a}-from-{s.value}")
    for a in USER_ACTIONS
    for s in ALL_STATES
    if s not in EXPECTED[a][1]
]
ALLOWED = [
    pytest.param(a, s, id=f"{a}-from-{s.value}")
    for a in USER_ACTIONS
    for s in ALL_STATES
    if s in EXPECTED[a][1]
]


@pytest.mark.parametrize(("action", "state"), REFUSED)
def test_a_refused_user_action_names_that_action(action: str, state: InvoiceState) -> None:
    with pytest.raises(InvalidStateTransitionError) as err:
        EXPECTED[action][0](an_invoice_in(state))
    assert err.value.action == action


@pytest.mark.parametrize(("action", "state"), ALLOWED)
def test_every_successful_user_action_appends_exactly_one_history_event(
    action: str, state: InvoiceState
) -> None:
    invoice = an_invoice_in(state)
    EXPECTED[action][0](invoice)
    assert len(invoice.events) == 1
    assert invoice.events[0].invoice_id == invoice.id
    assert invoice.events[0].occurred_at == LATER


def test_void_is_rejected_for_deleted_invoice() -> None:
    invoice = an_invoice_in(DELETED)
    with pytest.raises(InvalidStateTransitionError) as err:
        invoice.void(LATER)
    assert err.value.message == "Cannot void invoice inv-1: it is deleted."


def test_void_is_allowed_for_a_paid_invoice() -> None:
    invoice = an_invoice_in(PAID)
    invoice.void(LATER)
    assert invoice.state is VOIDED


def test_an_invoice_still_being_created_cannot_be_deleted() -> None:
    with pytest.raises(InvalidStateTransitionError):
        an_invoice_in(CREATING).delete(LATER)


def test_allowed_actions_drive_the_menu() -> None:
    assert {"void", "delete", "send"} <= allowed_actions(OPEN)
    assert allowed_actions(DELETED) == frozenset()
    assert "send" not in allowed_actions(VOIDED)
    assert an_invoice_in(OPEN).can("void")
    assert not an_invoice_in(VOIDED).can("void")
    assert not an_invoice_in(OPEN).can("no_such_action")
