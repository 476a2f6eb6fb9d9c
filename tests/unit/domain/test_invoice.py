from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from domain_builders import (
    DUE,
    ISSUED,
    LATER,
    NOW,
    a_line,
    a_requested_invoice,
    an_invoice_in,
    eur,
)

from domain.errors import CurrencyMismatchError, InvalidValueError
from domain.events import (
    EVENT_TYPES,
    InvoiceBecameOverdue,
    InvoiceCreated,
    InvoiceCreationFailed,
    InvoiceCreationRequested,
    InvoiceSent,
    InvoiceTotalsMismatched,
    InvoiceUpdatedInAccounting,
    InvoiceVoided,
    PaymentRecorded,
)
from domain.invoice import Invoice, InvoiceState, InvoiceStatus
from domain.invoice_line import DiscountKind, InvoiceLine, InvoiceTotals, TaxMethod
from domain.messages import MessageCode
from domain.money import Money

S = InvoiceState
D = Decimal
ZERO = Money.zero("EUR")


def fields_of(err: pytest.ExceptionInfo[InvalidValueError]) -> list[str]:
    return [v.field for v in err.value.violations]


# -- requesting ------------------------------------------------------------------------------


def test_a_requested_invoice_is_creating_with_one_creation_requested_event() -> None:
    invoice = a_requested_invoice()
    assert invoice.state is S.CREATING
    assert invoice.version == 0
    assert invoice.amount_paid == ZERO
    assert invoice.created_at == invoice.updated_at == NOW
    assert invoice.created_by == "user-7"
    assert invoice.lines == (a_line(),)
    assert invoice.events == [
        InvoiceCreationRequested(
            invoice_id=invoice.id, occurred_at=NOW, total=eur("110.00"), requested_by="user-7"
        )
    ]


def test_an_invoice_needs_at_least_one_line() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(lines=[])
    assert fields_of(err) == ["lines"]


def test_an_invoice_of_only_discount_lines_is_rejected() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(lines=[InvoiceLine.discount_line("d", D(5))])
    assert fields_of(err) == ["lines"]


def test_discounts_larger_than_the_lines_are_rejected() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(lines=[a_line(), InvoiceLine.discount_line("d", D(200))])
    assert fields_of(err) == ["lines"]
    assert "-90.00 EUR" in err.value.violations[0].description


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        # 1e7 x 1e7: each number is fine, their product has 15 digits before the point.
        ([a_line(quantity=D("1e7"), unit_price=D("1e7"))], "lines[0]"),
        # The net fits, the net plus 100 % tax does not.
        (
            [a_line(quantity=D(1), unit_price=D("6e13"), tax_rate=D(100), tax_method="exclusive")],
            "lines[0]",
        ),
        # Each line fits, their total does not.
        ([a_line(quantity=D(1), unit_price=D("6e13"))] * 2, "lines"),
    ],
    ids=["quantity x price", "with its tax", "the lines' total"],
)
def test_an_amount_too_large_to_store_is_refused(lines: list[InvoiceLine], field: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(lines=lines)
    assert [(v.field, v.code) for v in err.value.violations] == [
        (field, MessageCode.AMOUNT_TOO_LARGE)
    ]


def test_the_largest_amount_is_14_digits_before_the_point() -> None:
    lines = [a_line(quantity=D(1), unit_price=D("99999999999999.99"))]
    assert a_requested_invoice(lines=lines).total() == eur("99999999999999.99")


def test_the_due_date_cannot_be_before_the_issue_date() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(due_date=ISSUED - timedelta(days=1))
    assert fields_of(err) == ["due_date"]
    assert "2025-03-13" in err.value.violations[0].description


def test_the_due_date_may_be_the_issue_date_or_left_to_quickbooks() -> None:
    assert a_requested_invoice(due_date=ISSUED).due_date == ISSUED
    assert a_requested_invoice(due_date=None).due_date is None


def test_a_memo_longer_than_1000_characters_is_rejected() -> None:
    assert len(a_requested_invoice(memo="m" * 1000).memo) == 1000
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(memo="m" * 1001)
    assert fields_of(err) == ["memo"]


def test_no_memo_is_an_empty_memo() -> None:
    assert a_requested_invoice(memo=None).memo == ""


@pytest.mark.parametrize("currency", ["eur", "XXX", "EURO"])
def test_an_unknown_currency_is_rejected(currency: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(currency=currency)
    assert fields_of(err) == ["currency"]


def test_every_problem_with_a_request_is_reported_at_once() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(
            currency="ABC", lines=[], due_date=ISSUED - timedelta(days=1), memo="m" * 1001
        )
    assert fields_of(err) == ["currency", "lines", "due_date", "memo"]


def test_something_that_is_not_a_line_is_reported_with_its_path() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(lines=[a_line(), "5 pencils"])
    assert fields_of(err) == ["lines[1]"]


def test_the_time_must_carry_a_time_zone() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(now=datetime(2025, 3, 13, 9, 30))
    assert fields_of(err) == ["now"]


def test_invoices_are_equal_by_id() -> None:
    assert a_requested_invoice() == a_requested_invoice(memo="other")
    assert a_requested_invoice() != a_requested_invoice(id="inv-2")
    assert len({a_requested_invoice(), a_requested_invoice()}) == 1


# -- creation outcome ------------------------------------------------------------------------


def test_confirming_creation_records_the_quickbooks_ids_and_opens_the_invoice() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.confirm_created("qb-42", "1001", "0", eur("110.00"), LATER)
    assert invoice.state is S.OPEN
    assert (invoice.quickbooks_id, invoice.doc_number, invoice.sync_token) == ("qb-42", "1001", "0")
    assert invoice.quickbooks_total == eur("110.00")
    assert not invoice.totals_mismatch
    assert invoice.balance() == eur("110.00")
    assert invoice.pull_events() == [
        InvoiceCreated(
            invoice_id=invoice.id,
            occurred_at=LATER,
            quickbooks_id="qb-42",
            doc_number="1001",
            total=eur("110.00"),
        )
    ]


def test_a_different_quickbooks_total_is_kept_and_reported_not_hidden() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.confirm_created("qb-42", "1001", "0", eur("110.01"), LATER)
    assert invoice.totals_mismatch
    assert invoice.total() == eur("110.00")
    assert invoice.quickbooks_total == eur("110.01")
    assert invoice.balance() == eur("110.01")
    events = invoice.pull_events()
    assert [type(e) for e in events] == [InvoiceCreated, InvoiceTotalsMismatched]
    mismatch = events[1]
    assert isinstance(mismatch, InvoiceTotalsMismatched)
    assert (mismatch.expected, mismatch.quickbooks_total) == (eur("110.00"), eur("110.01"))


def test_a_quickbooks_total_in_another_currency_is_refused() -> None:
    invoice = an_invoice_in(S.CREATING)
    with pytest.raises(CurrencyMismatchError):
        invoice.confirm_created("qb-42", "1001", "0", Money.of("110", "USD"), LATER)
    assert invoice.state is S.CREATING


def test_confirming_creation_can_link_the_quickbooks_customer() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.confirm_created("qb-42", None, "0", eur("110"), LATER, customer_quickbooks_id="58")
    assert invoice.customer.quickbooks_id == "58"
    assert invoice.doc_number is None


def test_a_rejection_keeps_the_reason_in_plain_words() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.reject("  The customer is inactive in QuickBooks. ", LATER)
    assert invoice.state is S.CREATE_FAILED
    assert invoice.failure_reason == "The customer is inactive in QuickBooks."
    assert invoice.pull_events() == [
        InvoiceCreationFailed(
            invoice_id=invoice.id,
            occurred_at=LATER,
            reason="The customer is inactive in QuickBooks.",
        )
    ]


def test_a_rejection_keeps_its_code_and_parameters_until_quickbooks_confirms() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.reject(
        "QuickBooks already has an invoice with this number; choose another number.",
        LATER,
        code="VENDOR_REFUSED",  # an error reason, opaque to the domain
        params={"vendorCode": "6140"},
    )
    assert (invoice.failure_code, invoice.failure_params) == (
        "VENDOR_REFUSED",
        {"vendorCode": "6140"},
    )
    # A confirmation arriving after the rejection (the create's answer was late): it stands.
    invoice.confirm_created("qb-42", "1001", "0", invoice.total(), LATER)
    assert (invoice.failure_code, invoice.failure_params) == (None, {})


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(InvalidValueError) as err:
        an_invoice_in(S.CREATING).reject(" ", LATER)
    assert fields_of(err) == ["reason"]


def test_a_very_long_rejection_reason_is_shortened() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.reject("x" * 5000, LATER)
    assert invoice.failure_reason is not None
    assert len(invoice.failure_reason) == 1000


# -- facts from QuickBooks -------------------------------------------------------------------


def test_a_partial_payment_is_recorded_with_the_amount_paid_and_balance() -> None:
    invoice = an_invoice_in(S.OPEN)
    assert invoice.apply_accounting_facts(eur("110"), eur("80"), "1", DUE, LATER)
    assert invoice.state is S.PARTIALLY_PAID
    assert invoice.amount_paid == eur("30")
    assert invoice.balance() == eur("80")
    assert invoice.sync_token == "1"
    assert invoice.pull_events() == [
        PaymentRecorded(
            invoice_id=invoice.id,
            occurred_at=LATER,
            amount=eur("30"),
            amount_paid=eur("30"),
            balance=eur("80"),
        )
    ]


def test_a_second_payment_reports_only_the_new_amount() -> None:
    invoice = an_invoice_in(S.PARTIALLY_PAID)  # 10 paid
    invoice.apply_accounting_facts(eur("110"), eur("60"), "2", DUE, LATER)
    (event,) = invoice.pull_events()
    assert isinstance(event, PaymentRecorded)
    assert event.amount == eur("40")
    assert event.amount_paid == eur("50")


def test_a_zero_balance_on_a_positive_total_makes_the_invoice_paid() -> None:
    invoice = an_invoice_in(S.PARTIALLY_PAID)
    invoice.apply_accounting_facts(eur("110"), ZERO, "2", DUE, LATER)
    assert invoice.state is S.PAID
    assert invoice.balance() == ZERO
    assert invoice.amount_paid == eur("110")


def test_a_payment_removed_in_quickbooks_reopens_the_invoice() -> None:
    invoice = an_invoice_in(S.PAID)
    invoice.apply_accounting_facts(eur("110"), eur("110"), "5", DUE, LATER)
    assert invoice.state is S.OPEN
    assert invoice.amount_paid == ZERO
    assert [type(e) for e in invoice.pull_events()] == [InvoiceUpdatedInAccounting]


def test_a_total_edited_in_quickbooks_is_recorded_as_an_update() -> None:
    invoice = an_invoice_in(S.OPEN)
    invoice.apply_accounting_facts(eur("150"), eur("150"), "3", DUE + timedelta(days=5), LATER)
    assert invoice.state is S.OPEN
    assert invoice.quickbooks_total == eur("150")
    assert invoice.due_date == DUE + timedelta(days=5)
    assert invoice.totals_mismatch
    assert invoice.pull_events() == [
        InvoiceUpdatedInAccounting(
            invoice_id=invoice.id,
            occurred_at=LATER,
            total=eur("150"),
            balance=eur("150"),
            due_date=DUE + timedelta(days=5),
        )
    ]


def test_a_new_sync_token_alone_is_stored_without_a_history_event() -> None:
    invoice = an_invoice_in(S.OPEN)
    version = invoice.version
    assert invoice.apply_accounting_facts(eur("110"), eur("110"), "7", DUE, LATER)
    assert invoice.sync_token == "7"
    assert invoice.version == version + 1
    assert invoice.events == []


def test_facts_already_known_change_nothing() -> None:
    invoice = an_invoice_in(S.OPEN)
    version = invoice.version
    assert not invoice.apply_accounting_facts(eur("110"), eur("110"), "0", DUE, LATER)
    assert invoice.version == version
    assert invoice.events == []


def test_a_missing_due_date_in_the_facts_keeps_ours() -> None:
    invoice = an_invoice_in(S.OPEN)
    invoice.apply_accounting_facts(eur("110"), eur("110"), "0", None, LATER)
    assert invoice.due_date == DUE


def test_a_void_seen_in_quickbooks_voids_the_invoice_and_keeps_its_amounts() -> None:
    invoice = an_invoice_in(S.PARTIALLY_PAID)
    invoice.apply_accounting_facts(ZERO, ZERO, "4", DUE, LATER, voided=True)
    assert invoice.state is S.VOIDED
    assert invoice.amount_paid == eur("10")
    assert invoice.quickbooks_total == eur("110")
    assert invoice.pull_events() == [InvoiceVoided(invoice_id=invoice.id, occurred_at=LATER)]


def test_a_voided_invoice_owes_nothing_as_quickbooks_shows_it() -> None:
    invoice = an_invoice_in(S.PARTIALLY_PAID)
    invoice.void(LATER)
    assert invoice.balance() == ZERO
    assert invoice.totals().balance == ZERO
    assert invoice.totals().total == eur("110")  # what was invoiced stays readable


def test_a_void_seen_again_is_not_a_new_event() -> None:
    invoice = an_invoice_in(S.VOIDED)
    invoice.apply_accounting_facts(ZERO, ZERO, "0", DUE, LATER, voided=True)
    assert invoice.events == []


@pytest.mark.parametrize(
    ("total", "balance"),
    [("110", "110.01"), ("110", "-1"), ("-5", "0")],
)
def test_impossible_facts_are_refused(total: str, balance: str) -> None:
    invoice = an_invoice_in(S.OPEN)
    with pytest.raises(InvalidValueError):
        invoice.apply_accounting_facts(eur(total), eur(balance), "1", DUE, LATER)
    assert invoice.state is S.OPEN


def test_facts_in_another_currency_are_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        an_invoice_in(S.OPEN).apply_accounting_facts(
            Money.of("110", "USD"), Money.of("110", "USD"), "1", DUE, LATER
        )


def test_a_zero_total_invoice_stays_open() -> None:
    invoice = an_invoice_in(S.OPEN)
    invoice.apply_accounting_facts(ZERO, ZERO, "1", DUE, LATER)
    assert invoice.state is S.OPEN


# -- user actions ----------------------------------------------------------------------------


def test_sending_records_the_recipient_and_keeps_the_state() -> None:
    invoice = an_invoice_in(S.PARTIALLY_PAID)
    invoice.record_sent(" jane@acme.example ", LATER)
    assert invoice.state is S.PARTIALLY_PAID
    assert invoice.last_sent_at == LATER
    assert invoice.pull_events() == [
        InvoiceSent(invoice_id=invoice.id, occurred_at=LATER, to="jane@acme.example")
    ]


def test_sending_to_something_that_is_not_an_email_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        an_invoice_in(S.OPEN).record_sent("jane at acme", LATER)
    assert fields_of(err) == ["to"]


def test_marking_synced_changes_neither_version_nor_history() -> None:
    invoice = an_invoice_in(S.OPEN)
    version = invoice.version
    invoice.mark_synced(LATER)
    assert invoice.last_synced_at == LATER
    assert invoice.version == version
    assert invoice.events == []


def test_pulling_events_drains_them() -> None:
    invoice = a_requested_invoice()
    assert len(invoice.pull_events()) == 1
    assert invoice.pull_events() == []


# -- totals ----------------------------------------------------------------------------------


def test_totals_add_up_lines_discounts_and_tax() -> None:
    invoice = a_requested_invoice(
        lines=[
            a_line(discount=D("0.2")),  # 110.00 gross, 0.22 off, 109.78
            a_line(
                quantity=D(2),
                unit_price=D(50),
                discount=D(10),
                discount_kind=DiscountKind.AMOUNT,
                tax_rate=D(20),
                tax_method=TaxMethod.EXCLUSIVE,
            ),  # 100.00 gross, 10 off, 90.00 + 18.00 tax
            a_line(
                quantity=D(1), unit_price=D(120), tax_rate=D(20), tax_method=TaxMethod.INCLUSIVE
            ),  # 120.00 including 20.00 tax
            InvoiceLine.discount_line("Loyalty", D(5)),
        ]
    )
    assert invoice.totals() == InvoiceTotals(
        subtotal=eur("330.00"),
        discount=eur("15.22"),
        # After the 5 off 299.78 before tax: 18.00 and 20.00 x 294.78 / 299.78 = 17.70 + 19.67.
        tax=eur("37.37"),
        total=eur("332.15"),  # 299.78 - 5.00 + 37.37
        amount_paid=ZERO,
        balance=eur("332.15"),
    )


def test_totals_show_what_was_paid_and_what_remains() -> None:
    totals = an_invoice_in(S.PARTIALLY_PAID).totals()
    assert (totals.total, totals.amount_paid, totals.balance) == (
        eur("110.00"),
        eur("10"),
        eur("100.00"),
    )


def test_totals_are_computed_in_the_invoice_currency() -> None:
    invoice = a_requested_invoice(
        currency="JPY", lines=[a_line(quantity=D(3), unit_price=D("333.5"))]
    )
    assert invoice.totals().total == Money.of(1001, "JPY")


# -- overdue and status ----------------------------------------------------------------------

AFTER_DUE = DUE + timedelta(days=1)


@pytest.mark.parametrize(
    ("state", "today", "expected"),
    [
        (S.OPEN, DUE, InvoiceStatus.OPEN),
        (S.OPEN, AFTER_DUE, InvoiceStatus.OVERDUE),
        (S.PARTIALLY_PAID, DUE, InvoiceStatus.PARTIALLY_PAID),
        (S.PARTIALLY_PAID, AFTER_DUE, InvoiceStatus.OVERDUE),
        (S.PAID, AFTER_DUE, InvoiceStatus.PAID),
        (S.VOIDED, AFTER_DUE, InvoiceStatus.VOIDED),
        (S.DELETED, AFTER_DUE, InvoiceStatus.DELETED),
        (S.CREATING, AFTER_DUE, InvoiceStatus.CREATING),
        (S.CREATE_FAILED, AFTER_DUE, InvoiceStatus.CREATE_FAILED),
    ],
)
def test_status_shows_overdue_only_for_unpaid_invoices_past_due(
    state: InvoiceState, today: date, expected: InvoiceStatus
) -> None:
    assert an_invoice_in(state).status(today) is expected


def test_an_invoice_due_today_is_not_yet_overdue() -> None:
    assert not an_invoice_in(S.OPEN).is_overdue(DUE)
    assert an_invoice_in(S.OPEN).is_overdue(AFTER_DUE)


def test_an_invoice_without_due_date_is_never_overdue() -> None:
    invoice = an_invoice_in(S.OPEN, due_date=None)
    assert not invoice.is_overdue(date(2099, 1, 1))


def test_an_invoice_with_nothing_left_to_pay_is_not_overdue() -> None:
    invoice = an_invoice_in(S.OPEN)
    invoice.apply_accounting_facts(ZERO, ZERO, "1", DUE, LATER)
    assert not invoice.is_overdue(AFTER_DUE)


def test_becoming_overdue_is_recorded_once_per_due_date() -> None:
    invoice = an_invoice_in(S.OPEN)
    assert not invoice.record_overdue(DUE, LATER)
    assert invoice.record_overdue(AFTER_DUE, LATER)
    assert not invoice.record_overdue(AFTER_DUE + timedelta(days=1), LATER)
    assert invoice.pull_events() == [
        InvoiceBecameOverdue(
            invoice_id=invoice.id, occurred_at=LATER, due_date=DUE, balance=eur("110.00")
        )
    ]
    later_due = DUE + timedelta(days=30)
    invoice.apply_accounting_facts(eur("110"), eur("110"), "2", later_due, LATER)
    invoice.pull_events()
    assert invoice.record_overdue(later_due + timedelta(days=1), LATER)


def test_a_paid_invoice_never_becomes_overdue() -> None:
    assert not an_invoice_in(S.PAID).record_overdue(AFTER_DUE, LATER)


# -- events ----------------------------------------------------------------------------------


def test_every_event_kind_is_distinct_and_the_history_kinds_are_stable() -> None:
    kinds = [event_type.kind for event_type in EVENT_TYPES]
    assert len(kinds) == len(set(kinds))
    assert {"created", "sent", "payment_received", "overdue", "voided", "deleted"} <= set(kinds)


def test_events_are_immutable() -> None:
    event = InvoiceVoided(invoice_id=a_requested_invoice().id, occurred_at=NOW)
    with pytest.raises(AttributeError):
        event.occurred_at = LATER  # type: ignore[misc]


def test_invoice_can_be_rebuilt_from_stored_fields() -> None:
    stored = an_invoice_in(S.OPEN)
    rebuilt = Invoice(
        id=stored.id,
        company_id=stored.company_id,
        deal_id=stored.deal_id,
        customer=stored.customer,
        lines=stored.lines,
        currency=stored.currency,
        issue_date=stored.issue_date,
        due_date=stored.due_date,
        memo=stored.memo,
        state=stored.state,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        amount_paid=stored.amount_paid,
        quickbooks_id=stored.quickbooks_id,
        quickbooks_total=stored.quickbooks_total,
        sync_token=stored.sync_token,
        version=stored.version,
    )
    assert rebuilt.totals() == stored.totals()
    rebuilt.void(LATER)
    assert rebuilt.state is S.VOIDED


def _taxed_by_quickbooks() -> Invoice:
    return a_requested_invoice(
        lines=[a_line(tax_code_ref="TAX"), a_line(quantity=Decimal(1), unit_price=Decimal(40))],
        tax_by_quickbooks=True,
    )


def test_taxed_by_quickbooks_the_lines_carry_no_rate_of_ours() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_requested_invoice(
            lines=[a_line(), a_line(tax_rate=Decimal(5), tax_method=TaxMethod.EXCLUSIVE)],
            tax_by_quickbooks=True,
        )
    assert fields_of(err) == ["lines[1].tax_rate"]


def test_taxed_by_quickbooks_the_total_is_before_tax_until_quickbooks_answers() -> None:
    invoice = _taxed_by_quickbooks()
    totals = invoice.totals()
    assert (totals.tax, totals.total) == (eur("0"), eur("150.00"))


def test_taxed_by_quickbooks_the_tax_is_quickbooks_once_it_answers() -> None:
    invoice = _taxed_by_quickbooks()
    invoice.confirm_created("qb-42", "1001", "0", eur("159.08"), LATER, quickbooks_tax=eur("9.08"))
    totals = invoice.totals()
    assert (totals.tax, totals.total, totals.balance) == (eur("9.08"), eur("159.08"), eur("159.08"))
    assert not invoice.totals_mismatch
    assert [type(e) for e in invoice.pull_events()][-1] is InvoiceCreated


def test_taxed_by_quickbooks_a_line_added_there_is_a_mismatch_not_tax() -> None:
    invoice = _taxed_by_quickbooks()
    invoice.confirm_created("qb-42", "1001", "0", eur("159.08"), LATER, quickbooks_tax=eur("9.08"))
    invoice.apply_accounting_facts(eur("184.08"), eur("184.08"), "1", None, LATER, tax=eur("9.08"))
    assert invoice.totals_mismatch
    assert (invoice.totals().tax, invoice.totals().total) == (eur("9.08"), eur("159.08"))
    assert invoice.balance() == eur("184.08")


def test_our_own_tax_is_not_replaced_by_quickbooks() -> None:
    invoice = an_invoice_in(S.CREATING)
    invoice.confirm_created("qb-42", "1001", "0", eur("110.00"), LATER, quickbooks_tax=eur("3"))
    assert invoice.totals().total == eur("110.00")
