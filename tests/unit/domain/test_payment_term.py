"""PaymentTerm: the due date a QuickBooks term gives an invoice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.messages import MessageCode
from domain.payment_term import PaymentTerm
from domain.validation import EARLIEST_DATE, LATEST_DATE

NET_30 = PaymentTerm("3", "Net 30", due_days=30)
ON_THE_15TH = PaymentTerm("6", "15th of the month", day_of_month_due=15, due_next_month_days=5)
ON_THE_31ST = PaymentTerm("7", "End of month", day_of_month_due=31)


def test_a_standard_term_is_due_its_days_after_the_issue_date() -> None:
    assert NET_30.due_date(date(2026, 12, 5)) == date(2027, 1, 4)
    assert PaymentTerm("1", "Due on receipt").due_date(date(2026, 12, 5)) == date(2026, 12, 5)


def test_a_date_driven_term_is_due_on_its_day_of_this_month() -> None:
    assert ON_THE_15TH.due_date(date(2026, 12, 1)) == date(2026, 12, 15)
    assert ON_THE_15TH.due_date(date(2026, 12, 10)) == date(2026, 12, 15)  # 5 days before


def test_issued_within_its_days_of_the_due_day_or_after_it_is_due_next_month() -> None:
    assert ON_THE_15TH.due_date(date(2026, 12, 11)) == date(2027, 1, 15)  # 4 days before
    assert ON_THE_15TH.due_date(date(2026, 12, 20)) == date(2027, 1, 15)


def test_a_day_the_month_lacks_is_its_last_day() -> None:
    assert ON_THE_31ST.due_date(date(2027, 2, 3)) == date(2027, 2, 28)
    assert ON_THE_31ST.due_date(date(2028, 2, 29)) == date(2028, 2, 29)  # due the day it is issued


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)),
    st.integers(min_value=1, max_value=31),
    st.integers(min_value=0, max_value=27),
)
def test_a_date_driven_due_date_is_never_before_the_issue_date_nor_a_month_and_more_after(
    issued: date, day: int, next_month_days: int
) -> None:
    term = PaymentTerm("t", "t", day_of_month_due=day, due_next_month_days=next_month_days)

    due = term.due_date(issued)

    assert issued <= due <= issued + timedelta(days=62)
    assert due.day == day or due.day > 27  # the month's last day when it has no ``day``
    if due.month == issued.month:
        assert (due - issued).days >= next_month_days


@given(
    st.sampled_from([EARLIEST_DATE, LATEST_DATE]) | st.dates(EARLIEST_DATE, LATEST_DATE),
    st.integers(1, 31),
    st.integers(0, 31),
)
def test_a_date_driven_term_dates_every_issue_date_invoices_may_have(
    issued: date, day: int, next_month_days: int
) -> None:
    term = PaymentTerm(
        "8", "Date driven", day_of_month_due=day, due_next_month_days=next_month_days
    )
    assert term.due_date(issued) >= issued


@pytest.mark.parametrize(
    ("term", "issued"),
    [
        (ON_THE_15TH, date(9999, 12, 20)),
        (NET_30, date(9999, 12, 20)),
        (PaymentTerm("9", "Net forever", due_days=10**9), date(2026, 12, 5)),
    ],
    ids=["date driven", "net 30", "more days than dates"],
)
def test_a_due_date_beyond_the_calendar_is_reported_on_the_issue_date(
    term: PaymentTerm, issued: date
) -> None:
    with pytest.raises(InvalidValueError) as err:
        term.due_date(issued)
    assert [(v.field, v.code) for v in err.value.violations] == [
        ("issue_date", MessageCode.DUE_DATE_TOO_FAR)
    ]
