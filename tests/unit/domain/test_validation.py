"""The checks value objects share: dates an invoice may have."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import FieldViolation
from domain.messages import MessageCode
from domain.validation import EARLIEST_DATE, LATEST_DATE, checked_date


@pytest.mark.parametrize("text", ["1900-01-01", "2026-03-13", "2999-12-31"])
def test_a_date_from_1900_to_2999_is_read(text: str) -> None:
    violations: list[FieldViolation] = []
    assert checked_date(text, "issue_date", violations) == date.fromisoformat(text)
    assert violations == []


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-20"])
def test_a_date_outside_1900_to_2999_is_refused_with_the_range(text: str) -> None:
    violations: list[FieldViolation] = []
    assert checked_date(text, "issue_date", violations) is None
    assert violations == [
        FieldViolation.of(
            "issue_date",
            MessageCode.DATE_OUT_OF_RANGE,
            min=EARLIEST_DATE.isoformat(),
            max=LATEST_DATE.isoformat(),
        )
    ]
    assert violations[0].description == "Must be a date from 1900-01-01 to 2999-12-31."


def test_text_that_is_no_date_is_not_a_date() -> None:
    violations: list[FieldViolation] = []
    assert checked_date("13/03/2026", "due_date", violations) is None
    assert violations == [FieldViolation.of("due_date", MessageCode.NOT_A_DATE, value="13/03/2026")]
