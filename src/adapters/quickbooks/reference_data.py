"""QuickBooks reference data -> what the invoice form offers (``invoice_options_from_qbo``):
preferences and company info, terms, tax codes with their rates over time, and the sales
custom fields a company turned on. Pure functions, like ``mappers``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from adapters.quickbooks.mappers import qbo_date, qbo_decimal, ref
from application.ports.accounting import (
    US_NON_TAXABLE,
    US_TAXABLE,
    ClassTracking,
    CompanyPreferences,
    InvoiceOptions,
    ItemOption,
    NamedRef,
    RatePeriod,
    TaxCodeOption,
    TaxRateOption,
)
from domain.money import is_known_currency
from domain.payment_term import PaymentTerm


def _preferences_from_qbo(
    prefs: Mapping[str, Any], info: Mapping[str, Any], currencies: Sequence[Mapping[str, Any]]
) -> CompanyPreferences:
    currency_prefs = prefs.get("CurrencyPrefs") or {}
    home = ref(currency_prefs.get("HomeCurrency")) or "USD"
    multicurrency = bool(currency_prefs.get("MultiCurrencyEnabled"))
    enabled = [home]
    if multicurrency:
        for row in currencies:
            code = str(row.get("Code") or "")
            if row.get("Active", True) and is_known_currency(code) and code not in enabled:
                enabled.append(code)
    country = str(info.get("Country") or "")
    is_us = country.upper() in ("US", "USA")
    sales = prefs.get("SalesFormsPrefs") or {}
    return CompanyPreferences(
        home_currency=home,
        multicurrency_enabled=multicurrency,
        enabled_currencies=tuple(enabled),
        is_us_company=is_us,
        custom_transaction_numbers=bool(
            (prefs.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers")
        ),
        company_name=str(info.get("CompanyName") or ""),
        country=country,
        time_zone=str(info.get("DefaultTimeZone") or "UTC"),
        default_terms_id=ref((prefs.get("SalesFormsPrefs") or {}).get("DefaultTerms")),
        # Reference §3.3 [C]: companies created since Nov 2017 use AST; PartnerTaxEnabled says so.
        automated_sales_tax=is_us and bool((prefs.get("TaxPrefs") or {}).get("PartnerTaxEnabled")),
        # Reference §7 lists both [C]; one left out of an answer is taken as on ([U]: QuickBooks
        # sends every SalesFormsPrefs field), so that nothing is refused on a guess.
        discounts_allowed=bool(sales.get("AllowDiscount", True)),
        deposits_allowed=bool(sales.get("AllowDeposit", True)),
        class_tracking=class_tracking_of(prefs),
        location_tracking=_tracks_locations(prefs),
    )


def class_tracking_of(prefs: Mapping[str, Any]) -> ClassTracking:
    """Per line wins: QuickBooks offers one or the other (its Advanced settings' "Assign
    classes": one to each transaction, or one to each row)."""
    accounting = prefs.get("AccountingInfoPrefs") or {}
    if accounting.get("ClassTrackingPerTxnLine"):
        return ClassTracking.PER_LINE
    if accounting.get("ClassTrackingPerTxn"):
        return ClassTracking.PER_INVOICE
    return ClassTracking.NONE


def _tracks_locations(prefs: Mapping[str, Any]) -> bool:
    return bool((prefs.get("AccountingInfoPrefs") or {}).get("TrackDepartments"))


def tracked_entities(prefs: Mapping[str, Any]) -> list[str]:
    """Classes and locations cost a read each: read only for a company that tracks them."""
    return (["Class"] if class_tracking_of(prefs) is not ClassTracking.NONE else []) + (
        ["Department"] if _tracks_locations(prefs) else []
    )


def with_inactive(entity: str) -> bool:
    """Whether the options ask for ``entity``'s inactive rows too: a query hides them unless
    it asks (reference §6, [O] for customers). Classes come with theirs, in the same read, so
    that one a template keeps after it was made inactive is named, not shown by its id.
    [U] Third-party tables built from Intuit's list Class.Active as filterable and
    Department.Active as not: asking for inactive locations could have QuickBooks refuse the
    whole read, so they are not. Nor are items (a company may have thousands retired)."""
    return entity == "Class"


def _named(rows: Sequence[Mapping[str, Any]]) -> tuple[NamedRef, ...]:
    """Classes and locations: a sub-class is known by its full name ("Services:Consulting")."""
    return tuple(
        NamedRef(
            str(r["Id"]),
            str(r.get("FullyQualifiedName") or r.get("Name") or r["Id"]),
            bool(r.get("Active", True)),
        )
        for r in rows
    )


def custom_fields_from_qbo(prefs: Mapping[str, Any]) -> tuple[NamedRef, ...]:
    """The sales custom fields turned on, from Preferences.SalesFormsPrefs.CustomField's nested
    shape (reference §7.6): ``UseSalesCustom<n>`` says whether field n is on, and
    ``SalesCustomName<n>`` names it; n is the invoice's DefinitionId."""
    groups = (prefs.get("SalesFormsPrefs") or {}).get("CustomField") or []
    used: dict[str, bool] = {}
    names: dict[str, str] = {}
    for group in groups:
        entries = group.get("CustomField") if isinstance(group, Mapping) else None
        for entry in entries or []:
            if not isinstance(entry, Mapping):
                continue
            name = str(entry.get("Name") or "")
            number = name[-1:]
            if name.startswith("SalesFormsPrefs.UseSalesCustom"):
                used[number] = entry.get("BooleanValue") in (True, "true")
            elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                names[number] = str(entry.get("StringValue") or "")
    return tuple(
        NamedRef(number, names.get(number) or f"Custom {number}")
        for number in sorted(used)
        if used[number] and number in ("1", "2", "3")
    )


def _term_from_qbo(term: Mapping[str, Any]) -> PaymentTerm:
    """A ``Term`` row: STANDARD (``DueDays``) or DATE_DRIVEN (``DayOfMonthDue``,
    ``DueNextMonthDays``), reference "Term"."""
    date_driven = term.get("Type") == "DATE_DRIVEN" or term.get("DayOfMonthDue") is not None
    return PaymentTerm(
        str(term["Id"]),
        str(term.get("Name") or term["Id"]),
        due_days=int(qbo_decimal(term.get("DueDays"))),
        day_of_month_due=int(qbo_decimal(term.get("DayOfMonthDue")) or 1) if date_driven else None,
        due_next_month_days=int(qbo_decimal(term.get("DueNextMonthDays"))),
        active=bool(term.get("Active", True)),
    )


def _effective_rates(rate: Mapping[str, Any]) -> list[RatePeriod]:
    """A TaxRate's ``EffectiveTaxRate`` entries ({RateValue, EffectiveDate, EndDate}; [U] the
    dates as QuickBooks writes its other dates, "2011-01-04T00:00:00-08:00", read by day)."""
    return [
        RatePeriod(
            qbo_date(str(entry.get("EffectiveDate") or "")[:10]),
            qbo_date(str(entry.get("EndDate") or "")[:10]),
            qbo_decimal(entry.get("RateValue")),
        )
        for entry in rate.get("EffectiveTaxRate") or []
        if isinstance(entry, Mapping)
    ]


def _rate_periods(parts: Sequence[Mapping[str, Any]]) -> tuple[RatePeriod, ...]:
    """A code's rate over time: the sum of its rates in force, between each date any of them
    changed. Empty when none of them has a history."""
    histories = [(qbo_decimal(r.get("RateValue")), _effective_rates(r)) for r in parts]
    if not any(history for _, history in histories):
        return ()
    starts = sorted({p.start for _, h in histories for p in h if p.start is not None})
    ends = sorted({p.end for _, h in histories for p in h if p.end is not None})
    cuts = sorted({*starts, *(end + timedelta(days=1) for end in ends)})

    def rate_on(day: date) -> Decimal:  # a rate without an entry for ``day``: its RateValue
        return sum(
            (next((p.percent for p in h if p.covers(day)), current) for current, h in histories),
            Decimal(0),
        )

    bounds: list[date | None] = [None, *cuts]
    periods = []
    for index, start in enumerate(bounds):
        end = cuts[index] - timedelta(days=1) if index < len(cuts) else None
        day = start if start is not None else end
        assert day is not None  # cuts is not empty: some rate has a dated entry
        periods.append(RatePeriod(start, end, rate_on(day)))
    return tuple(periods)


def invoice_options_from_qbo(
    prefs: Mapping[str, Any], info: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]
) -> InvoiceOptions:
    """Preferences, CompanyInfo and the TaxCode/TaxRate/Term/Item (CompanyCurrency) rows ->
    what the invoice form offers."""
    preferences = _preferences_from_qbo(prefs, info, rows.get("CompanyCurrency", []))
    rates = {str(r["Id"]): r for r in rows["TaxRate"]}
    codes = []
    for code in rows["TaxCode"]:
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        parts = [rates[i] for d in details if (i := ref(d.get("TaxRateRef")) or "") in rates]
        codes.append(
            TaxCodeOption(
                str(code["Id"]),
                str(code.get("Name") or code["Id"]),
                active=bool(code.get("Active", True)),
                rate_percent=sum((qbo_decimal(r.get("RateValue")) for r in parts), Decimal(0)),
                periods=_rate_periods(parts),
                rates=tuple(
                    TaxRateOption(
                        str(r["Id"]), qbo_decimal(r.get("RateValue")), tuple(_effective_rates(r))
                    )
                    for r in parts
                ),
            )
        )
    tax_codes = tuple(codes)
    sales_tax_codes: tuple[TaxCodeOption, ...] = ()
    if preferences.is_us_company:
        # US lines are taxable or not; without AST one code (a state's rate, a group) applies
        # to the taxable lines, as QuickBooks' "Select tax rate" on the invoice.
        tax_codes = (
            TaxCodeOption(US_TAXABLE, "Taxable"),
            TaxCodeOption(US_NON_TAXABLE, "Non-taxable"),
        )
        if not preferences.automated_sales_tax:
            pseudo = (US_TAXABLE, US_NON_TAXABLE)
            sales_tax_codes = tuple(c for c in codes if c.id not in pseudo)
    terms = tuple(_term_from_qbo(t) for t in rows["Term"])
    items = tuple(
        ItemOption(
            str(i["Id"]),
            str(i.get("Name") or i["Id"]),
            bool(i.get("Active", True)),
            description=str(i.get("Description") or ""),
            unit_price=format(qbo_decimal(i.get("UnitPrice")), "f"),
            type=str(i.get("Type") or "Service"),
        )
        for i in rows["Item"]
    )
    return InvoiceOptions(
        preferences,
        tax_codes,
        terms,
        items,
        sales_tax_codes,
        custom_fields=custom_fields_from_qbo(prefs),
        classes=_named(rows.get("Class") or ()),
        locations=_named(rows.get("Department") or ()),
    )
