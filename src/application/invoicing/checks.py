"""Checks the invoice form and CreateInvoice share: what QuickBooks would refuse."""

from __future__ import annotations

from application.ports.accounting import InvoiceOptions
from application.views import DraftWarning
from domain.messages import MessageCode


def currency_warnings(currency: str, options: InvoiceOptions) -> list[DraftWarning]:
    prefs = options.preferences
    if currency == prefs.home_currency:
        return []
    if not prefs.multicurrency_enabled:
        return [
            DraftWarning.of(
                MessageCode.CURRENCY_NOT_ENABLED,
                "currency",
                homeCurrency=prefs.home_currency,
                currency=currency,
            )
        ]
    if prefs.enabled_currencies and currency not in prefs.enabled_currencies:
        return [DraftWarning.of(MessageCode.CURRENCY_NOT_ADDED, "currency", currency=currency)]
    return []
