"""What :meth:`Invoice.request <domain.invoice.Invoice.request>` and ``revise`` check of a draft
before it becomes an invoice: every problem at once, each on its field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final

from domain.customer import Customer
from domain.errors import FieldViolation, InvalidValueError
from domain.invoice_line import InvoiceLine, TaxMethod, totals_of
from domain.messages import MessageCode
from domain.money import currency_violation
from domain.validation import checked_text

MEMO_MAX: Final = 1000


def checked_memo(
    customer: object,
    lines: Sequence[object],
    currency: str,
    issue_date: date,
    due_date: date | None,
    memo: str | None,
) -> str:
    """The memo as stored, once the whole draft passed its checks (every problem at once)."""
    violations: list[FieldViolation] = []
    if not isinstance(customer, Customer):
        violations.append(FieldViolation("customer", MessageCode.CHOOSE_CUSTOMER))
    currency_problem = currency_violation(currency)
    if currency_problem is not None:
        violations.append(currency_problem)
    if not lines:
        violations.append(FieldViolation("lines", MessageCode.LINES_REQUIRED))
    for index, line in enumerate(lines):
        if not isinstance(line, InvoiceLine):
            violations.append(FieldViolation(f"lines[{index}]", MessageCode.NOT_AN_INVOICE_LINE))
    valid_lines = [line for line in lines if isinstance(line, InvoiceLine)]
    too_large = _too_large(lines, currency) if currency_problem is None else []
    violations.extend(too_large)
    if valid_lines and all(line.is_discount for line in valid_lines):
        violations.append(FieldViolation("lines", MessageCode.ONLY_DISCOUNT_LINES))
    elif valid_lines and currency_problem is None and not too_large:
        total = totals_of(valid_lines, currency).total
        if total.is_negative():
            # The tax is charged after the discounts: the total is negative exactly when the
            # discounts are more than the lines before tax, which QuickBooks refuses too ("The
            # discount can't be more than the subtotal").
            violations.append(FieldViolation.of("lines", MessageCode.NEGATIVE_TOTAL, total=total))
    if not isinstance(issue_date, date):
        violations.append(FieldViolation("issue_date", MessageCode.ISSUE_DATE_REQUIRED))
    elif due_date is not None and (not isinstance(due_date, date) or due_date < issue_date):
        violations.append(
            FieldViolation.of(
                "due_date", MessageCode.DUE_BEFORE_ISSUE, issueDate=issue_date.isoformat()
            )
        )
    memo = checked_text(memo or "", "memo", MEMO_MAX, violations)
    if violations:
        raise InvalidValueError.many(violations)
    return memo


def _too_large(lines: Sequence[object], currency: str) -> list[FieldViolation]:
    """A violation for each line with an amount too large for :class:`Money` (quantity x
    price, or with its tax), else one for the lines when one of their totals is."""
    violations: list[FieldViolation] = []
    valid_lines: list[InvoiceLine] = []
    for index, line in enumerate(lines):
        if not isinstance(line, InvoiceLine):
            continue
        valid_lines.append(line)
        try:
            line.amounts(currency)
        except InvalidValueError as err:
            _reraise_unless_too_large(err)
            violations.append(FieldViolation(f"lines[{index}]", MessageCode.AMOUNT_TOO_LARGE))
    if not violations:
        try:
            totals_of(valid_lines, currency)
        except InvalidValueError as err:
            _reraise_unless_too_large(err)
            violations.append(FieldViolation("lines", MessageCode.AMOUNT_TOO_LARGE))
    return violations


def _reraise_unless_too_large(err: InvalidValueError) -> None:
    if any(v.code is not MessageCode.AMOUNT_TOO_LARGE for v in err.violations):
        raise err


def check_untaxed(lines: Sequence[InvoiceLine]) -> None:
    """QuickBooks computes the tax: a rate of ours on a line would be a figure nobody charges."""
    violations = [
        FieldViolation.of(
            f"lines[{index}].tax_rate",
            MessageCode.TAX_BY_QUICKBOOKS,
            value=format(line.tax_rate.normalize(), "f"),
        )
        for index, line in enumerate(lines)
        if line.tax_method is not TaxMethod.NONE and line.tax_rate != 0
    ]
    if violations:
        raise InvalidValueError.many(violations)
