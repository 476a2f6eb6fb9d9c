"""Resource names (AIP-122) parsed strictly: a bad name is INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import re

from domain.errors import InvalidValueError
from domain.messages import MessageCode

_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
_SETTINGS = re.compile(rf"^companies/(?P<company>{_ID})/settings$")


def parse_settings_name(name: str, field: str = "name") -> str:
    """``companies/{company}/settings`` -> company id."""
    return _match(_SETTINGS, name, field, "companies/{company}/settings")["company"]


def settings_name(company_id: str) -> str:
    return f"companies/{company_id}/settings"


_COMPANY = re.compile(rf"^companies/(?P<company>{_ID})$")
_DEAL = re.compile(rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})$")
_INVOICE = re.compile(
    rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})/invoices/(?P<invoice>{_ID})$"
)
_LINK = re.compile(
    rf"^companies/(?P<company>{_ID})/(?P<kind>organizations|persons)/(?P<id>{_ID})/customerLink$"
)
_CONNECTION = re.compile(rf"^companies/(?P<company>{_ID})/connection$")


def _match(pattern: re.Pattern[str], name: str, field: str, expected: str) -> re.Match[str]:
    match = pattern.match(name)
    if not match:
        raise InvalidValueError.of(
            field, MessageCode.NOT_A_NAME, value=name[:80], expected=expected
        )
    return match


def parse_company_name(name: str, field: str = "parent") -> str:
    return _match(_COMPANY, name, field, "companies/{company}")["company"]


def parse_deal_name(name: str, field: str = "parent") -> tuple[str, str]:
    m = _match(_DEAL, name, field, "companies/{company}/deals/{deal}")
    return m["company"], m["deal"]


_DEAL_INVOICING = re.compile(rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})/invoicing$")


def parse_deal_invoicing_name(name: str, field: str = "name") -> tuple[str, str]:
    m = _match(_DEAL_INVOICING, name, field, "companies/{company}/deals/{deal}/invoicing")
    return m["company"], m["deal"]


_INVOICE_FILTER = re.compile(r'^\s*invoice\s*=\s*"(?P<name>[^"]*)"\s*$')


def parse_invoice_filter(text: str, company_id: str, deal_id: str) -> str:
    """The AIP-160 filter of a deal's history: empty, or ``invoice = "<an invoice's name>"`` of
    that deal (-> its id; "" for no filter)."""
    if not text.strip():
        return ""
    expected = f"companies/{company_id}/deals/{deal_id}/invoices/{{invoice}}"
    found = _INVOICE_FILTER.match(text)
    if not found:
        raise InvalidValueError.of("filter", MessageCode.FILTER_UNSUPPORTED, expected=expected)
    company, deal, invoice = parse_invoice_name(found["name"], "filter")
    if (company, deal) != (company_id, deal_id):
        raise InvalidValueError.of("filter", MessageCode.FILTER_OTHER_DEAL)
    return invoice


def parse_invoice_name(name: str, field: str = "name") -> tuple[str, str, str]:
    m = _match(_INVOICE, name, field, "companies/{company}/deals/{deal}/invoices/{invoice}")
    return m["company"], m["deal"], m["invoice"]


def parse_link_name(name: str, field: str = "name") -> tuple[str, str, str]:
    """-> (company, "organization" | "person", entity id)."""
    m = _match(_LINK, name, field, "companies/{company}/organizations|persons/{id}/customerLink")
    entity = {"organizations": "organization", "persons": "person"}[m["kind"]]
    return m["company"], entity, m["id"]


def parse_connection_name(name: str, field: str = "name") -> str:
    return _match(_CONNECTION, name, field, "companies/{company}/connection")["company"]


def invoice_name(company_id: str, deal_id: str, invoice_id: str) -> str:
    return f"companies/{company_id}/deals/{deal_id}/invoices/{invoice_id}"


_TEMPLATE = re.compile(rf"^companies/(?P<company>{_ID})/invoiceTemplates/(?P<template>{_ID})$")


def parse_template_name(name: str, field: str = "name") -> tuple[str, str]:
    """``companies/{company}/invoiceTemplates/{template}`` -> (company, template)."""
    m = _match(_TEMPLATE, name, field, "companies/{company}/invoiceTemplates/{template}")
    return m["company"], m["template"]


def template_name(company_id: str, template_id: str) -> str:
    return f"companies/{company_id}/invoiceTemplates/{template_id}"


_RULE = re.compile(rf"^companies/(?P<company>{_ID})/invoiceRules/(?P<rule>{_ID})$")
_RULE_RUN = re.compile(
    rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})/invoiceRuleRuns/(?P<rule>{_ID})$"
)


def parse_rule_name(name: str, field: str = "name") -> tuple[str, str]:
    """``companies/{company}/invoiceRules/{rule}`` -> (company, rule)."""
    m = _match(_RULE, name, field, "companies/{company}/invoiceRules/{rule}")
    return m["company"], m["rule"]


def rule_name(company_id: str, rule_id: str) -> str:
    return f"companies/{company_id}/invoiceRules/{rule_id}"


def parse_rule_run_name(name: str, field: str = "name") -> tuple[str, str, str]:
    """``companies/{company}/deals/{deal}/invoiceRuleRuns/{rule}`` -> (company, deal, rule)."""
    m = _match(_RULE_RUN, name, field, "companies/{company}/deals/{deal}/invoiceRuleRuns/{rule}")
    return m["company"], m["deal"], m["rule"]


def rule_run_name(company_id: str, deal_id: str, rule_id: str) -> str:
    return f"companies/{company_id}/deals/{deal_id}/invoiceRuleRuns/{rule_id}"


_SCHEDULE = re.compile(
    rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})/installmentSchedules/(?P<schedule>{_ID})$"
)
_INSTALLMENT = re.compile(
    rf"^companies/(?P<company>{_ID})/deals/(?P<deal>{_ID})"
    rf"/installmentSchedules/(?P<schedule>{_ID})/installments/(?P<position>[1-9][0-9]{{0,2}})$"
)


def parse_schedule_name(name: str, field: str = "name") -> tuple[str, str, str]:
    pattern = "companies/{company}/deals/{deal}/installmentSchedules/{schedule}"
    m = _match(_SCHEDULE, name, field, pattern)
    return m["company"], m["deal"], m["schedule"]


def parse_installment_name(name: str, field: str = "name") -> tuple[str, str, str, int]:
    pattern = "companies/{company}/deals/{deal}/installmentSchedules/{schedule}/installments/{n}"
    m = _match(_INSTALLMENT, name, field, pattern)
    return m["company"], m["deal"], m["schedule"], int(m["position"])
