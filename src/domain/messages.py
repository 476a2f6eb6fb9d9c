"""What users read about their input: a stable code per message, its parameters, its English.

Every field violation and draft warning is a :class:`MessageCode` with language-neutral string
parameters (lowerCamelCase names). The English rendered here is for API callers who do not
translate; the UI translates the code itself (``codes.js``: ``code.<CODE>``, tokens such as
``field="tax_id"`` through ``value.<param>.<token>``, as :data:`ENGLISH_VALUES` does here).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class MessageCode(StrEnum):
    """Stable codes and their English (``{name}`` is a parameter; the UI's templates use the
    same names). The code is the wire format: never rename one, add a new one instead."""

    english: str

    def __new__(cls, code: str, english: str) -> MessageCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.english = english
        return member

    # Any value
    NOT_TEXT = "NOT_TEXT", "Must be text."
    REQUIRED = "REQUIRED", "Must not be empty."
    TOO_LONG = "TOO_LONG", "Must be at most {max} characters long."
    TOO_LONG_FOR_QUICKBOOKS = (
        "TOO_LONG_FOR_QUICKBOOKS",
        "Must be at most {max} characters long (QuickBooks' limit); it has {length}.",
    )
    NOT_ONE_LINE = "NOT_ONE_LINE", "Must fit on one line (no tabs or line breaks)."
    NOT_AN_EMAIL = "NOT_AN_EMAIL", "'{value}' does not look like an email address."
    CHOOSE_ONE_OF = "CHOOSE_ONE_OF", "Choose one of: {choices}."
    NOT_A_PERMISSION_SET = (
        "NOT_A_PERMISSION_SET",
        "'{value}' is not the id of a Pipedrive permission set.",
    )
    TOO_MANY_PERMISSION_SETS = (
        "TOO_MANY_PERMISSION_SETS",
        "At most {max} permission sets per action.",
    )
    NOT_A_BOOLEAN = "NOT_A_BOOLEAN", "Must be true or false."
    NOT_A_WHOLE_NUMBER = "NOT_A_WHOLE_NUMBER", "Must be a whole number."
    NOT_A_COUNT = "NOT_A_COUNT", "Must be a whole number, 0 or more."
    NEEDS_TIME_ZONE = "NEEDS_TIME_ZONE", "Must carry a time zone."
    NOT_A_DATE = "NOT_A_DATE", "'{value}' is not a date (use YYYY-MM-DD)."
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE", "Must be a date from {min} to {max}."
    NOT_A_MONTH = "NOT_A_MONTH", "'{value}' is not a month (use YYYY-MM)."
    # Numbers and money
    NOT_A_NUMBER = "NOT_A_NUMBER", "'{value}' is not a number."
    NUMBER_NOT_BOOLEAN = "NUMBER_NOT_BOOLEAN", "Must be a decimal number, not true or false."
    NUMBER_NOT_FLOAT = (
        "NUMBER_NOT_FLOAT",
        "Must be an exact decimal number, not a floating-point number.",
    )
    NOT_A_DECIMAL = "NOT_A_DECIMAL", "Must be a decimal number."
    NOT_FINITE = "NOT_FINITE", "Must be a finite number."
    NUMBER_TOO_LARGE = (
        "NUMBER_TOO_LARGE",
        "Must have at most {max} digits before the decimal point.",
    )
    MUST_BE_POSITIVE = "MUST_BE_POSITIVE", "Must be more than 0."
    MUST_NOT_BE_NEGATIVE = "MUST_NOT_BE_NEGATIVE", "Must be 0 or more."
    NOT_A_PERCENTAGE = "NOT_A_PERCENTAGE", "Must be a percentage, 0 to 100."
    AMOUNT_AS_TEXT = "AMOUNT_AS_TEXT", "Must be a decimal number; use Money.of for text."
    AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE", "Is too large to be an invoice amount."
    NOT_MONEY = "NOT_MONEY", "Must be an amount of money."
    CURRENCY_FORMAT = (
        "CURRENCY_FORMAT",
        "Must be a three-letter ISO 4217 currency code, such as EUR or USD.",
    )
    CURRENCY_NOT_UPPERCASE = (
        "CURRENCY_NOT_UPPERCASE",
        "Must be written in capital letters, such as EUR or USD.",
    )
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY", "{value} is not a currency we know."
    MIXED_CURRENCIES = "MIXED_CURRENCIES", "Cannot {operation} amounts in {left} and {right}."
    NOT_INVOICE_CURRENCY = (
        "NOT_INVOICE_CURRENCY",
        "Must be in the invoice's currency, {currency}, not {other}.",
    )
    # Customers
    CUSTOMER_NAME_REQUIRED = "CUSTOMER_NAME_REQUIRED", "Enter the customer's name."
    NOT_AN_ADDRESS = "NOT_AN_ADDRESS", "Must be an address."
    QUICKBOOKS_CUSTOMER_ID_REQUIRED = (
        "QUICKBOOKS_CUSTOMER_ID_REQUIRED",
        "Enter the QuickBooks customer id.",
    )
    CHOOSE_QUICKBOOKS_CUSTOMER = (
        "CHOOSE_QUICKBOOKS_CUSTOMER",
        "Choose the QuickBooks customer to link.",
    )
    # Invoices and their lines
    CHOOSE_CUSTOMER = "CHOOSE_CUSTOMER", "Choose a customer."
    LINES_REQUIRED = "LINES_REQUIRED", "Add at least one line."
    NOT_AN_INVOICE_LINE = "NOT_AN_INVOICE_LINE", "Must be an invoice line."
    ONLY_DISCOUNT_LINES = "ONLY_DISCOUNT_LINES", "Add at least one line that is not a discount."
    NEGATIVE_TOTAL = (
        "NEGATIVE_TOTAL",
        "The discounts are larger than the amount invoiced; the total would be {total}.",
    )
    DISCOUNT_OVER_SUBTOTAL = (
        "DISCOUNT_OVER_SUBTOTAL",
        "The discounts ({discounts}) are more than the lines before tax ({subtotal}), which "
        "QuickBooks refuses: lower them.",
    )
    ISSUE_DATE_REQUIRED = "ISSUE_DATE_REQUIRED", "Enter the issue date."
    DUE_BEFORE_ISSUE = "DUE_BEFORE_ISSUE", "Must be on or after the issue date ({issueDate})."
    TOO_MANY_LINES = "TOO_MANY_LINES", "At most {max} lines per invoice."
    TAX_CODE_REQUIRED = (
        "TAX_CODE_REQUIRED",
        "This QuickBooks company needs a tax code on every line.",
    )
    TAX_RATE_DIFFERS_FROM_CODE = (
        "TAX_RATE_DIFFERS_FROM_CODE",
        "The tax code {code} charges {rate} %, and QuickBooks applies the code: the line's "
        "{value} % becomes {rate} %.",
    )
    NO_SALES_TAX_IN_QUICKBOOKS = (
        "NO_SALES_TAX_IN_QUICKBOOKS",
        "This QuickBooks company has no sales tax set up, so QuickBooks charges none: the "
        "line's {value} % becomes 0 %.",
    )
    DISCOUNTS_OFF_IN_QUICKBOOKS = (
        "DISCOUNTS_OFF_IN_QUICKBOOKS",
        "Discounts are turned off in this QuickBooks company, so QuickBooks would leave this "
        "discount out. Turn on Discount in QuickBooks (Settings, Account and settings, Sales), "
        "or remove the line.",
    )
    DEPOSITS_OFF_IN_QUICKBOOKS = (
        "DEPOSITS_OFF_IN_QUICKBOOKS",
        "Deposits are turned off in this QuickBooks company. Turn on Deposit in QuickBooks "
        "(Settings, Account and settings, Sales), or leave the deposit empty.",
    )
    SALES_TAX_CODE_REQUIRED = (
        "SALES_TAX_CODE_REQUIRED",
        "Choose the sales tax rate QuickBooks applies to the taxable lines.",
    )
    UNKNOWN_TAX_CODE = (
        "UNKNOWN_TAX_CODE",
        "'{value}' is not an active tax code of this QuickBooks company; choose one from the list.",
    )
    UNKNOWN_SALES_TAX_CODE = (
        "UNKNOWN_SALES_TAX_CODE",
        "'{value}' is not an active sales tax rate of this QuickBooks company; choose one from "
        "the list.",
    )
    TAX_ON_TOP_OF_PRICE = (
        "TAX_ON_TOP_OF_PRICE",
        "This price includes {value} % tax in Pipedrive, but US prices are before tax: the sales "
        "tax is added on top of it.",
    )
    RECURRING_PRODUCT = (
        "RECURRING_PRODUCT",
        "This product is billed {frequency} in Pipedrive: this invoice bills one period of it.",
    )
    DEFAULT_ITEM_UNAVAILABLE = (
        "DEFAULT_ITEM_UNAVAILABLE",
        "The default item (QuickBooks id {id}) is not an active item of this QuickBooks company: "
        "choose an item for this line, and another default in the settings.",
    )
    NOT_A_SALES_ITEM = (
        "NOT_A_SALES_ITEM",
        "'{name}' is {itemType} in QuickBooks, which an invoice line cannot use: choose an item "
        "for this line.",
    )
    TAX_BY_QUICKBOOKS = (
        "TAX_BY_QUICKBOOKS",
        "QuickBooks calculates the sales tax from the customer's address: the line's {value} % "
        "is not used.",
    )
    UNKNOWN_TERM = (
        "UNKNOWN_TERM",
        "'{value}' is not an active term of this QuickBooks company; choose one from the list.",
    )
    NO_RECIPIENT = (
        "NO_RECIPIENT",
        "This invoice's customer has no email: give an address to send it to.",
    )
    NO_QUICKBOOKS_ID = "NO_QUICKBOOKS_ID", "QuickBooks did not return an invoice id."
    REJECTION_REASON_REQUIRED = "REJECTION_REASON_REQUIRED", "Say why the invoice was rejected."
    NEGATIVE_QUICKBOOKS_TOTAL = "NEGATIVE_QUICKBOOKS_TOTAL", "QuickBooks reported a negative total."
    BALANCE_OUT_OF_RANGE = (
        "BALANCE_OUT_OF_RANGE",
        "QuickBooks reported a balance of {balance} on a total of {total}.",
    )
    DISCOUNT_LINE_QUANTITY = "DISCOUNT_LINE_QUANTITY", "A discount line has quantity 1."
    DISCOUNT_LINE_PRICE = "DISCOUNT_LINE_PRICE", "A discount line takes an amount off."
    DISCOUNT_LINE_DISCOUNT = "DISCOUNT_LINE_DISCOUNT", "A discount line has no discount."
    DISCOUNT_LINE_TAX = "DISCOUNT_LINE_TAX", "A discount line carries no tax."
    NEGATIVE_PRICE = "NEGATIVE_PRICE", "Must be 0 or more; add a discount line to take money off."
    DISCOUNT_OVER_AMOUNT = "DISCOUNT_OVER_AMOUNT", "Cannot be more than the line amount ({max})."
    # Due dates
    NOT_WHOLE_DAYS = "NOT_WHOLE_DAYS", "Must be a whole number of days."
    DAYS_OUT_OF_RANGE = "DAYS_OUT_OF_RANGE", "Must be between 0 and {max} days; it is {value}."
    NOT_A_DAY_OF_MONTH = "NOT_A_DAY_OF_MONTH", "Must be a day of the month, 1 to 31; it is {value}."
    DUE_DATE_TOO_FAR = "DUE_DATE_TOO_FAR", "Is too far in the future to compute a due date."
    NOT_A_DUE_DATE_RULE = "NOT_A_DUE_DATE_RULE", "Must be a due-date rule."
    DUE_DATE_RULE_REQUIRED = "DUE_DATE_RULE_REQUIRED", "A due-date rule is required."
    UNKNOWN_DUE_DATE_RULE = (
        "UNKNOWN_DUE_DATE_RULE",
        "'{value}' is not a due-date rule; use one of: {choices}.",
    )
    # Settings and the field mapping
    NOT_A_FIELD_MAPPING = "NOT_A_FIELD_MAPPING", "Must be a field mapping."
    NOT_A_CRM_FIELD = "NOT_A_CRM_FIELD", "Must be a CRM field or nothing."
    CHOOSE_A_FIELD = "CHOOSE_A_FIELD", "Choose a field."
    NOT_A_FIELD_KEY = (
        "NOT_A_FIELD_KEY",
        "'{value}' is not a field key: use letters, digits, '_', '.' or '-' only.",
    )
    UNKNOWN_ENTITY = (
        "UNKNOWN_ENTITY",
        "'{value}' is not an entity fields can be read from; use one of: {choices}.",
    )
    UNKNOWN_SETTINGS_FIELD = (
        "UNKNOWN_SETTINGS_FIELD",
        "'{value}' is not a settings field that can be changed; use one of: {choices}.",
    )
    # Invoice templates
    CUSTOM_FIELD_TWICE = "CUSTOM_FIELD_TWICE", "Custom field {value} is set twice."
    VALUE_OR_DEAL_FIELD = (
        "VALUE_OR_DEAL_FIELD",
        "Give either a value or a deal field to read it from (one of the two).",
    )
    TEMPLATE_NAME_TAKEN = "TEMPLATE_NAME_TAKEN", "Another template is already named '{value}'."
    TOO_MANY_TEMPLATES = "TOO_MANY_TEMPLATES", "At most {max} templates per company."
    UNKNOWN_TEMPLATE = (
        "UNKNOWN_TEMPLATE",
        "'{value}' is not one of this company's invoice templates; choose one from the list.",
    )
    UNKNOWN_CUSTOM_FIELD = (
        "UNKNOWN_CUSTOM_FIELD",
        "This QuickBooks company has no sales custom field {value} turned on "
        "(QuickBooks: Settings > Sales > Custom fields).",
    )
    UNKNOWN_CLASS = (
        "UNKNOWN_CLASS",
        "'{value}' is not an active class of this QuickBooks company; choose one from the list.",
    )
    UNKNOWN_LOCATION = (
        "UNKNOWN_LOCATION",
        "'{value}' is not an active location of this QuickBooks company; choose one from the list.",
    )
    # Connections
    TOKENS_REQUIRED = "TOKENS_REQUIRED", "Both an access token and a refresh token are needed."
    COMPANY_IDS_REQUIRED = "COMPANY_IDS_REQUIRED", "A connection needs both company ids."
    # Requests
    PAGE_SIZE_NEGATIVE = "PAGE_SIZE_NEGATIVE", "Must be 0 (the default, 20) or more."
    PAGE_SIZE_OUT_OF_RANGE = (
        "PAGE_SIZE_OUT_OF_RANGE",
        "Must be between 0 (the default, 20) and {max}.",
    )
    PAGE_TOKEN_DAMAGED = "PAGE_TOKEN_DAMAGED", "This page token is damaged."
    FILTER_UNSUPPORTED = (
        "FILTER_UNSUPPORTED",
        'Filter by one invoice of the deal, as invoice = "{expected}", or leave it empty.',
    )
    FILTER_OTHER_DEAL = "FILTER_OTHER_DEAL", "That invoice is not one of this deal's."
    PAGE_TOKEN_ELSEWHERE = (
        "PAGE_TOKEN_ELSEWHERE",
        "This page token is not valid here; start again without one.",
    )
    REQUEST_ID_FORMAT = (
        "REQUEST_ID_FORMAT",
        "Use 1 to 64 letters, digits, '.', '_', ':' or '-' (a UUID is best).",
    )
    QUERY_REQUIRED = "QUERY_REQUIRED", "Type at least one character to search for."
    TOO_MANY_IN_BATCH = "TOO_MANY_IN_BATCH", "At most {max} invoices in one batch."
    DEAL_REPEATED = "DEAL_REPEATED", "This deal is already in the list."
    OTHER_COMPANY_DEAL = "OTHER_COMPANY_DEAL", "Must be a deal of the batch's company."
    REQUEST_ID_REPEATED = (
        "REQUEST_ID_REPEATED",
        "Another request of this batch has the same request_id; give each its own.",
    )
    UNUSABLE_REQUEST = (
        "UNUSABLE_REQUEST",
        "A value of this request cannot be used; check its numbers and dates.",
    )
    NOT_A_NAME = "NOT_A_NAME", "'{value}' is not a valid name; expected '{expected}'."
    BODY_NOT_UTF8 = "BODY_NOT_UTF8", "The request body is not UTF-8 text."
    BODY_NOT_MATCHING = "BODY_NOT_MATCHING", "The request body does not match {type}: {problem}"
    BODY_NOT_VALID = "BODY_NOT_VALID", "The request body is not a valid {type}."
    # Invoicing rules (issue 17)
    RULE_STAGE_REQUIRED = "RULE_STAGE_REQUIRED", "Choose the stage that makes the invoice."
    RULE_STAGE_NOT_FOR_WON = (
        "RULE_STAGE_NOT_FOR_WON",
        "A rule on won deals takes no stage; choose 'enters a stage' to use one.",
    )
    RULE_DUPLICATE = (
        "RULE_DUPLICATE",
        "Another rule already invoices deals on this event in this pipeline.",
    )
    TOO_MANY_RULES = "TOO_MANY_RULES", "At most {max} invoicing rules per company."
    RULE_RUN_NOT_FAILED = (
        "RULE_RUN_NOT_FAILED",
        "This rule's invoice for the deal did not fail: there is nothing to retry.",
    )
    RULE_RUN_REFUSED = (
        "RULE_RUN_REFUSED",
        "The automatic invoice could not be created: {reason}",
    )
    # Draft warnings: what QuickBooks would object to, shown before Create
    NO_MATCHING_ITEM = (
        "NO_MATCHING_ITEM",
        "No QuickBooks item is named '{name}' and no default item is set; "
        "choose an item for this line.",
    )
    LINKED_CUSTOMER_GONE = (
        "LINKED_CUSTOMER_GONE",
        "The linked QuickBooks customer '{name}' no longer exists; pick another or create one.",
    )
    LINKED_CUSTOMER_INACTIVE = (
        "LINKED_CUSTOMER_INACTIVE",
        "The linked QuickBooks customer '{name}' is inactive, and QuickBooks invoices no inactive "
        "customer: make it active in QuickBooks, or pick another.",
    )
    NO_EMAIL = (
        "NO_EMAIL",
        "There is no email for this customer: QuickBooks cannot email the invoice "
        "until one is added.",
    )
    NO_LINES = "NO_LINES", "The deal has no products; add at least one line."
    OVER_DEAL_VALUE = (
        "OVER_DEAL_VALUE",
        "Before tax, this invoice takes the deal {over} over its value of {value} ({invoiced} "
        "invoiced already).",
    )
    MISSING_TAX_CODE = (
        "MISSING_TAX_CODE",
        "This QuickBooks company needs a tax code on every line; choose one.",
    )
    CURRENCY_NOT_ENABLED = (
        "CURRENCY_NOT_ENABLED",
        "QuickBooks only invoices in {homeCurrency} for this company: turn on multicurrency "
        "in QuickBooks to invoice in {currency}.",
    )
    CUSTOMER_CURRENCY_DIFFERS = (
        "CUSTOMER_CURRENCY_DIFFERS",
        "The linked QuickBooks customer '{name}' is in {customerCurrency}, and QuickBooks "
        "invoices a customer only in its own currency: invoice in {customerCurrency}, or use "
        "a customer in {currency} such as '{suggestedName}'.",
    )
    CURRENCY_NOT_ADDED = (
        "CURRENCY_NOT_ADDED",
        "{currency} is not among this QuickBooks company's currencies; add it in QuickBooks first.",
    )
    MAPPING_ENTITY_MISSING = (
        "MAPPING_ENTITY_MISSING",
        "{field}: the deal has no {entity} to read it from.",
    )
    MAPPING_FIELD_EMPTY = "MAPPING_FIELD_EMPTY", "{field}: {source} is empty on this deal."
    MAPPING_WRONG_TYPE = "MAPPING_WRONG_TYPE", "{field}: {source} does not hold a usable value."
    # Shares of a deal and installments
    NOTHING_LEFT_TO_INVOICE = (
        "NOTHING_LEFT_TO_INVOICE",
        "Nothing is left to invoice on this deal ({value} before tax, all invoiced).",
    )
    SHARE_OVER_REST = (
        "SHARE_OVER_REST",
        "Must be at most {rest}, what is left to invoice on the deal before tax.",
    )
    TOO_PRECISE_FOR_CURRENCY = (
        "TOO_PRECISE_FOR_CURRENCY",
        "{value} has more decimals than QuickBooks keeps for {currency} amounts: {places} at most.",
    )
    SHARE_TOO_SMALL = (
        "SHARE_TOO_SMALL",
        "{value} is too small to share among the deal's lines; ask for more.",
    )
    DEPOSIT_OVER_TOTAL = (
        "DEPOSIT_OVER_TOTAL",
        "The deposit received must be at most the invoice's total, {total}.",
    )
    DEPOSIT_OVER_TOTAL_BEFORE_TAX = (
        "DEPOSIT_OVER_TOTAL_BEFORE_TAX",
        "QuickBooks calculates this invoice's sales tax when it creates it: the deposit received "
        "can be at most its total before tax, {total}.",
    )
    INSTALLMENTS_COUNT = "INSTALLMENTS_COUNT", "Must have 1 to {max} installments."
    INSTALLMENTS_NOT_WHOLE = (
        "INSTALLMENTS_NOT_WHOLE",
        "The installments must add up to 100 %; they add up to {total} %.",
    )
    INSTALLMENT_DATES_ORDER = (
        "INSTALLMENT_DATES_ORDER",
        "Must be on or after the installment before it and not before today ({today}).",
    )
    # Connections
    QUICKBOOKS_RECONNECT_SOON = (
        "QUICKBOOKS_RECONNECT_SOON",
        "QuickBooks will stop accepting dealbooks' connection on {date} (Intuit ends every "
        "connection after five years): an admin needs to reconnect QuickBooks before then.",
    )


#: The English of every code (what :func:`english` fills in).
ENGLISH: Final[Mapping[MessageCode, str]] = {code: code.english for code in MessageCode}

#: Parameters that are tokens, and how English shows each token (the UI: ``value.<param>.<token>``).
ENGLISH_VALUES: Final[Mapping[str, Mapping[str, str]]] = {
    "field": {"to": "To", "address": "Address", "email": "Email", "tax_id": "Tax ID"},
    "entity": {"organization": "organization", "person": "person", "deal": "deal"},
    # A QuickBooks item an invoice line cannot use (ItemOption.sold).
    "itemType": {"Group": "a bundle", "Category": "a category"},
    # Pipedrive's billing_frequency of a recurring product.
    "frequency": {
        "weekly": "every week",
        "monthly": "every month",
        "quarterly": "every quarter",
        "semi-annually": "every six months",
        "annually": "every year",
    },
}


class _Shown(dict[str, str]):
    """Parameters as English shows them; a parameter the caller left out stays ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def english(code: MessageCode, params: Mapping[str, str]) -> str:
    """The English sentence for ``code`` with ``params`` filled in."""
    shown = _Shown(
        {name: ENGLISH_VALUES.get(name, {}).get(value, value) for name, value in params.items()}
    )
    return ENGLISH[code].format_map(shown)


def as_params(params: Mapping[str, object]) -> dict[str, str]:
    """Parameters as the strings they travel as (``100`` -> ``"100"``)."""
    return {name: value if isinstance(value, str) else str(value) for name, value in params.items()}
