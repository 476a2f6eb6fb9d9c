from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.due_date_policy import MAX_DAYS, DueDatePolicy, DueDateRule
from domain.errors import InvalidValueError
from domain.validation import EARLIEST_DATE, LATEST_DATE

R = DueDateRule


def test_default_is_seven_days_after_issue_so_13_march_is_due_20_march() -> None:
    policy = DueDatePolicy.default()
    assert policy == DueDatePolicy(R.DAYS_AFTER_ISSUE, days=7)
    assert policy.due_date(date(2025, 3, 13)) == date(2025, 3, 20)


@pytest.mark.parametrize(
    ("policy", "issued", "due"),
    [
        (DueDatePolicy(R.DAYS_AFTER_ISSUE, days=0), date(2025, 3, 13), date(2025, 3, 13)),
        (DueDatePolicy(R.DAYS_AFTER_ISSUE, days=30), date(2025, 12, 15), date(2026, 1, 14)),
        (DueDatePolicy(R.DAYS_AFTER_ISSUE, days=1), date(2024, 2, 28), date(2024, 2, 29)),
        (DueDatePolicy(R.DAYS_AFTER_ISSUE, days=1), date(2025, 2, 28), date(2025, 3, 1)),
        (DueDatePolicy(R.END_OF_MONTH), date(2025, 2, 1), date(2025, 2, 28)),
        (DueDatePolicy(R.END_OF_MONTH), date(2024, 2, 10), date(2024, 2, 29)),
        (DueDatePolicy(R.END_OF_MONTH), date(2025, 4, 30), date(2025, 4, 30)),
        (DueDatePolicy(R.END_OF_MONTH), date(2025, 12, 31), date(2025, 12, 31)),
        (DueDatePolicy(R.END_OF_NEXT_MONTH), date(2025, 1, 31), date(2025, 2, 28)),
        (DueDatePolicy(R.END_OF_NEXT_MONTH), date(2024, 1, 15), date(2024, 2, 29)),
        (DueDatePolicy(R.END_OF_NEXT_MONTH), date(2025, 12, 5), date(2026, 1, 31)),
        (DueDatePolicy(R.DAYS_AFTER_END_OF_MONTH, days=10), date(2025, 3, 13), date(2025, 4, 10)),
        (DueDatePolicy(R.DAYS_AFTER_END_OF_MONTH, days=15), date(2025, 12, 1), date(2026, 1, 15)),
        (DueDatePolicy(R.DAYS_AFTER_END_OF_MONTH, days=0), date(2024, 2, 3), date(2024, 2, 29)),
        (DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=15), date(2025, 3, 13), date(2025, 4, 15)),
        (DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=31), date(2025, 3, 13), date(2025, 4, 30)),
        (DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=31), date(2025, 1, 31), date(2025, 2, 28)),
        (DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=30), date(2024, 1, 2), date(2024, 2, 29)),
        (DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=1), date(2025, 12, 31), date(2026, 1, 1)),
    ],
    ids=lambda value: str(value),
)  # fmt: skip
def test_due_date_follows_the_rule(policy: DueDatePolicy, issued: date, due: date) -> None:
    assert policy.due_date(issued) == due


def test_quickbooks_term_leaves_the_due_date_to_quickbooks() -> None:
    assert DueDatePolicy(R.QUICKBOOKS_TERM).due_date(date(2025, 3, 13)) is None


@pytest.mark.parametrize("rule", [R.DAYS_AFTER_ISSUE, R.DAYS_AFTER_END_OF_MONTH])
@pytest.mark.parametrize("days", [-1, 3651])
def test_days_out_of_range_are_rejected_for_the_days_rules(rule: DueDateRule, days: int) -> None:
    with pytest.raises(InvalidValueError) as err:
        DueDatePolicy(rule, days=days)
    assert [v.field for v in err.value.violations] == ["days"]


def test_3650_days_is_the_longest_term() -> None:
    assert DueDatePolicy(R.DAYS_AFTER_ISSUE, days=3650).days == 3650


@pytest.mark.parametrize("day", [0, 32, -1])
def test_day_of_month_must_be_1_to_31_for_day_of_next_month(day: int) -> None:
    with pytest.raises(InvalidValueError) as err:
        DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=day)
    assert [v.field for v in err.value.violations] == ["day_of_month"]


def test_settings_a_rule_does_not_use_are_ignored_and_stored_as_zero() -> None:
    policy = DueDatePolicy(R.END_OF_MONTH, days=-5, day_of_month=40)
    assert (policy.days, policy.day_of_month) == (0, 0)
    assert policy == DueDatePolicy(R.END_OF_MONTH)


def test_a_rule_given_as_its_text_value_is_accepted() -> None:
    policy = DueDatePolicy("end_of_month", 0, 0)  # type: ignore[arg-type]
    assert policy.rule is R.END_OF_MONTH


def test_an_unknown_rule_is_rejected() -> None:
    with pytest.raises(InvalidValueError) as err:
        DueDatePolicy("net_30", 30)  # type: ignore[arg-type]
    assert err.value.violations[0].field == "rule"


def test_validate_all_reports_every_problem_at_once() -> None:
    assert [v.field for v in DueDatePolicy.validate_all("nope", "x", 1.5)] == [
        "rule",
        "days",
        "day_of_month",
    ]
    assert DueDatePolicy.validate_all(R.DAYS_AFTER_ISSUE, 7, 0) == []
    assert [v.field for v in DueDatePolicy.validate_all(R.DAY_OF_NEXT_MONTH, 0, 32)] == [
        "day_of_month"
    ]


def test_booleans_are_not_day_counts() -> None:
    assert [v.field for v in DueDatePolicy.validate_all(R.DAYS_AFTER_ISSUE, True, 0)] == ["days"]


@pytest.mark.parametrize(
    "policy",
    [
        DueDatePolicy(R.DAYS_AFTER_ISSUE, days=30),
        DueDatePolicy(R.END_OF_NEXT_MONTH),
        DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=10),
        DueDatePolicy(R.DAYS_AFTER_END_OF_MONTH, days=30),
    ],
    ids=lambda p: p.rule.value,
)
def test_a_due_date_beyond_the_calendar_is_reported_on_the_issue_date(
    policy: DueDatePolicy,
) -> None:
    with pytest.raises(InvalidValueError) as err:
        policy.due_date(date(9999, 12, 20))
    assert err.value.violations[0].field == "issue_date"


@given(
    st.sampled_from([EARLIEST_DATE, LATEST_DATE]) | st.dates(EARLIEST_DATE, LATEST_DATE),
    st.sampled_from(list(DueDateRule)),
    st.sampled_from([0, MAX_DAYS]) | st.integers(0, MAX_DAYS),
    st.integers(1, 31),
)
def test_every_issue_date_invoices_may_have_has_a_due_date(
    issued: date, rule: DueDateRule, days: int, day: int
) -> None:
    DueDatePolicy(rule, days=days, day_of_month=day).due_date(issued)  # never raises


issue_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


@given(issue_dates, st.integers(min_value=0, max_value=3650))
def test_days_after_issue_is_exactly_that_many_days_later(issued: date, days: int) -> None:
    assert DueDatePolicy(R.DAYS_AFTER_ISSUE, days=days).due_date(issued) == issued + timedelta(
        days=days
    )


@given(issue_dates)
def test_end_of_month_is_the_last_day_of_the_issue_month(issued: date) -> None:
    due = DueDatePolicy(R.END_OF_MONTH).due_date(issued)
    assert due is not None
    assert (due.year, due.month) == (issued.year, issued.month)
    assert (due + timedelta(days=1)).day == 1


@given(issue_dates, st.integers(min_value=1, max_value=31))
def test_day_of_next_month_lands_in_the_next_month_never_after_the_chosen_day(
    issued: date, day: int
) -> None:
    due = DueDatePolicy(R.DAY_OF_NEXT_MONTH, day_of_month=day).due_date(issued)
    assert due is not None
    assert due > issued
    assert (due.year * 12 + due.month) - (issued.year * 12 + issued.month) == 1
    assert due.day == day or (due.day < day and (due + timedelta(days=1)).day == 1)


@given(issue_dates, st.sampled_from(list(DueDateRule)), st.integers(0, 3650), st.integers(1, 31))
def test_a_computed_due_date_is_never_before_the_issue_date(
    issued: date, rule: DueDateRule, days: int, day: int
) -> None:
    due = DueDatePolicy(rule, days=days, day_of_month=day).due_date(issued)
    assert due is None or due >= issued
