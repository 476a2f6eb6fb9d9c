"""QuickBooksAccountingGateway: the accounting port over QuickBooks Online, vendor JSON <-> domain.

Parsing is done by pure functions (``invoice_from_qbo``, ``customer_from_qbo``,
``changes_from_cdc``, ``invoice_to_qbo``) so the reference's verbatim payloads can be tested
without a server. Tolerant readers: unknown fields are ignored and the enum-style spellings of
Intuit's doc samples (``SALES_ITEM_LINE_DETAIL``, ``NOT_SET``) are accepted (reference §13.24).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import aiohttp
import structlog

from adapters.quickbooks.client import (
    COOL_OFF_SECONDS,
    QBO_RATE_LIMIT,
    QuickBooksClient,
    QuickBooksRejectedError,
    RetryPolicy,
)
from adapters.quickbooks.oauth import (
    REJECTED,
    QuickBooksEndpoints,
    QuickBooksTokenProvider,
)
from application.errors import NotFoundError, UpstreamRejectedError
from application.ports.accounting import (
    AccountingChanges,
    AccountingCustomer,
    AccountingInvoice,
    CompanyPreferences,
    InvoiceOptions,
    ItemOption,
    NamedRef,
    TaxCodeOption,
)
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, RateLimit, RateLimiter, TokenStore
from domain.customer import Address, Customer
from domain.invoice import Invoice, InvoiceLine, TaxMethod
from domain.money import Money, is_known_currency

log = structlog.get_logger("dealbooks.quickbooks")

OPTIONS_TTL: Final = timedelta(minutes=5)
QUERY_CHUNK: Final = 1000  # MAXRESULTS may not exceed 1000 (reference §4.7)
#: CDC looks back at most 30 days (reference §4.9); stay a day inside it, as Nango does.
CDC_MAX_LOOKBACK: Final = timedelta(days=29)
NAME_SUFFIX_TRIES: Final = 20
STALE_OBJECT: Final = "5010"
DUPLICATE_NAME: Final = "6240"
US_TAXABLE: Final = "TAX"
US_NON_TAXABLE: Final = "NON"
_UNIT_PRICE_PLACES: Final = 7  # QBO keeps unit prices to 7 decimal places

_ENUM_ALIASES: Final = {
    "NOT_SET": "NotSet",
    "NEED_TO_SEND": "NeedToSend",
    "EMAIL_SENT": "EmailSent",
}


# -- JSON -> domain ----------------------------------------------------------------------------


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("value")
    if value in (None, ""):
        return None
    return str(value)


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_qbo_time(value: Any) -> datetime | None:
    """QBO times: ``2015-07-24T10:33:39-07:00``, ``…10:33:39.11-07:00``, ``…Z``, ``-0700``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_voided(obj: Mapping[str, Any]) -> bool:
    """QBO has no void flag: a voided invoice has zero total and balance and a PrivateNote
    starting "Voided" (reference §4.4, §5)."""
    note = str(obj.get("PrivateNote") or "")
    return (
        _decimal(obj.get("TotalAmt")) == 0
        and _decimal(obj.get("Balance")) == 0
        and note.startswith("Voided")
    )


def invoice_from_qbo(obj: Mapping[str, Any], default_currency: str = "USD") -> AccountingInvoice:
    """An ``Invoice`` JSON object (read, query, CDC or write response) as port facts."""
    currency = _ref(obj.get("CurrencyRef")) or default_currency
    email = obj.get("BillEmail")
    address = email.get("Address") if isinstance(email, Mapping) else None
    status = str(obj.get("EmailStatus") or "NotSet")
    raw_meta = obj.get("MetaData")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    updated = parse_qbo_time(meta.get("LastUpdatedTime")) or parse_qbo_time(meta.get("CreateTime"))
    return AccountingInvoice(
        id=str(obj["Id"]),
        doc_number=str(obj["DocNumber"]) if obj.get("DocNumber") not in (None, "") else None,
        sync_token=str(obj.get("SyncToken", "0")),
        currency=currency,
        total=Money.of(_decimal(obj.get("TotalAmt")), currency),
        balance=Money.of(_decimal(obj.get("Balance")), currency),
        due_date=_date(obj.get("DueDate")),
        txn_date=_date(obj.get("TxnDate")),
        customer_id=_ref(obj.get("CustomerRef")) or "",
        voided=is_voided(obj),
        email_status=_ENUM_ALIASES.get(status, status),
        last_updated=updated or datetime(1970, 1, 1, tzinfo=UTC),
        bill_email=str(address) if address else None,
    )


def _address_from_qbo(obj: Any) -> Address | None:
    if not isinstance(obj, Mapping):
        return None
    lines = [str(obj.get(f"Line{n}") or "") for n in range(1, 6)]
    address = Address(
        line1=lines[0],
        line2=", ".join(part for part in lines[1:] if part),
        city=str(obj.get("City") or ""),
        region=str(obj.get("CountrySubDivisionCode") or ""),
        postal_code=str(obj.get("PostalCode") or ""),
        country=str(obj.get("Country") or ""),
    )
    return None if address.is_empty() else address


def _address_to_qbo(address: Address) -> dict[str, str]:
    out = {
        "Line1": address.line1 or address.formatted[:500],
        "Line2": address.line2,
        "City": address.city,
        "CountrySubDivisionCode": address.region,
        "PostalCode": address.postal_code,
        "Country": address.country,
    }
    return {key: value for key, value in out.items() if value}


def customer_from_qbo(obj: Mapping[str, Any]) -> AccountingCustomer:
    email = obj.get("PrimaryEmailAddr")
    address = email.get("Address") if isinstance(email, Mapping) else None
    customer_id = str(obj["Id"])
    # PrimaryTaxIdentifier comes back masked to its last five characters (reference §6).
    tax_id = obj.get("ResaleNum") or obj.get("PrimaryTaxIdentifier") or None
    name = str(obj.get("DisplayName") or obj.get("FullyQualifiedName") or customer_id)
    return AccountingCustomer(
        id=customer_id,
        customer=Customer(
            display_name=name[:100],
            email=str(address) if address else None,
            billing_address=_address_from_qbo(obj.get("BillAddr")),
            tax_id=str(tax_id) if tax_id else None,
            quickbooks_id=customer_id,
        ),
        sync_token=str(obj.get("SyncToken", "0")),
        currency=_ref(obj.get("CurrencyRef")),
        active=obj.get("Active", True) not in (False, "false"),
    )


def changes_from_cdc(
    body: Mapping[str, Any], as_of: datetime, default_currency: str = "USD"
) -> AccountingChanges:
    """A CDC response (reference §4.9, §12 F4): changed invoices, deleted invoice ids, and the
    invoices the changed payments are linked to."""
    invoices: dict[str, AccountingInvoice] = {}
    deleted: list[str] = []
    touched: set[str] = set()
    blocks: list[Any] = []
    for response in body.get("CDCResponse") or []:
        if isinstance(response, Mapping):
            blocks.extend(response.get("QueryResponse") or [])
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        for obj in block.get("Invoice") or []:
            if str(obj.get("status", "")).lower() == "deleted":
                deleted.append(str(obj["Id"]))
            else:
                invoices[str(obj["Id"])] = invoice_from_qbo(obj, default_currency)
        for payment in block.get("Payment") or []:
            for line in payment.get("Line") or []:
                for link in line.get("LinkedTxn") or []:
                    if str(link.get("TxnType")) == "Invoice" and link.get("TxnId"):
                        touched.add(str(link["TxnId"]))
    server_time = parse_qbo_time(body.get("time"))
    return AccountingChanges(
        invoices=tuple(invoices.values()),
        deleted_invoice_ids=tuple(dict.fromkeys(deleted)),
        payment_invoice_ids=tuple(sorted(touched)),
        as_of=min(as_of, server_time) if server_time else as_of,
    )


def _preferences_from_qbo(
    prefs: Mapping[str, Any], info: Mapping[str, Any], currencies: Sequence[Mapping[str, Any]]
) -> CompanyPreferences:
    currency_prefs = prefs.get("CurrencyPrefs") or {}
    home = _ref(currency_prefs.get("HomeCurrency")) or "USD"
    multicurrency = bool(currency_prefs.get("MultiCurrencyEnabled"))
    enabled = [home]
    if multicurrency:
        for row in currencies:
            code = str(row.get("Code") or "")
            if row.get("Active", True) and is_known_currency(code) and code not in enabled:
                enabled.append(code)
    country = str(info.get("Country") or "")
    return CompanyPreferences(
        home_currency=home,
        multicurrency_enabled=multicurrency,
        enabled_currencies=tuple(enabled),
        is_us_company=country.upper() in ("US", "USA"),
        custom_transaction_numbers=bool(
            (prefs.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers")
        ),
        company_name=str(info.get("CompanyName") or ""),
        country=country,
        time_zone=str(info.get("DefaultTimeZone") or "UTC"),
    )


# -- domain -> JSON ----------------------------------------------------------------------------


def _qbo_number(value: Decimal) -> Decimal:
    return value.normalize() if value == value.to_integral() else value


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _ex_tax_gross(line: InvoiceLine, currency: str) -> Money:
    """The line's quantity x unit price without the tax an INCLUSIVE price contains."""
    gross = line.gross(currency)
    if line.tax_method is not TaxMethod.INCLUSIVE or line.tax_rate == 0:
        return gross
    return Money(gross.amount / (1 + line.tax_rate / 100), currency).rounded()


def invoice_to_qbo(
    invoice: Invoice,
    *,
    is_us: bool,
    item_ids_by_name: Mapping[str, str] | None = None,
    default_item_id: str | None = None,
) -> dict[str, Any]:
    """The create body for ``invoice`` (reference §3.2, §3.4), with QuickBooks' total equal to
    the domain's to the cent.

    How discounts and tax are expressed, since QBO has no per-line discount:

    - Each item line goes out at its full price: ``Qty``, ``UnitPrice`` and ``Amount`` = gross
      (QBO checks Amount = Qty x UnitPrice, fault 6070). For an INCLUSIVE line the amounts are
      without the tax its price contains, because QBO's ``Amount`` is always net of tax.
    - Every line discount and every discount line becomes ONE ``DiscountLineDetail`` line (QBO
      allows one per invoice) of exactly sum(line amounts) - sum(domain nets without tax), so
      the invoice's net equals the domain's net to the cent whatever the rounding was per line.
    - The tax is sent as ``TxnTaxDetail.TotalTax`` = the domain's tax (QBO "honors the amount and
      prorates it across tax rates", §3.3), because QBO computes tax per rate on the discounted
      subtotal while the domain rounds per line: the two may differ by a cent otherwise.

    So TotalAmt = lines - discount + tax = the domain total. Non-US companies get a tax code on
    every line and ``GlobalTaxCalculation``: TaxInclusive when every taxed line is INCLUSIVE,
    TaxExcluded otherwise (mixed lines are sent without their inclusive tax, as above, so a
    mix is still exact), NotApplicable when no line carries tax or a tax code.
    US companies use the TAX / NON pseudo codes (automated sales tax picks the rate).
    """
    currency = invoice.currency
    names = {k.casefold(): v for k, v in (item_ids_by_name or {}).items()}
    items = [line for line in invoice.lines if not line.is_discount]
    lines: list[dict[str, Any]] = []
    amounts = Decimal(0)
    net_ex_tax = Decimal(0)
    tax = Decimal(0)
    discount_notes: list[str] = []
    for line in items:
        amount = _ex_tax_gross(line, currency)
        amounts += amount.amount
        net_ex_tax += line.net_excluding_tax(currency).amount
        tax += line.tax(currency).amount
        detail: dict[str, Any] = {"Qty": _qbo_number(line.quantity)}
        if line.tax_method is TaxMethod.INCLUSIVE and line.tax_rate != 0:
            unit = _quantize(amount.amount / line.quantity, _UNIT_PRICE_PLACES)
            if Money(unit * line.quantity, currency).rounded() == amount:
                detail["UnitPrice"] = _qbo_number(unit)
        else:
            detail["UnitPrice"] = _qbo_number(line.unit_price)
        item_id = line.item_ref or names.get(line.name.casefold()) or default_item_id
        if item_id:
            detail["ItemRef"] = {"value": item_id}
        taxed = line.tax_method is not TaxMethod.NONE and line.tax_rate > 0
        if is_us:
            code = line.tax_code_ref if line.tax_code_ref in (US_TAXABLE, US_NON_TAXABLE) else None
            detail["TaxCodeRef"] = {"value": code or (US_TAXABLE if taxed else US_NON_TAXABLE)}
        elif line.tax_code_ref:
            detail["TaxCodeRef"] = {"value": line.tax_code_ref}
        entry: dict[str, Any] = {
            "DetailType": "SalesItemLineDetail",
            "Amount": amount.amount,
            "SalesItemLineDetail": detail,
        }
        description = line.description or line.name
        if description:
            entry["Description"] = description
        lines.append(entry)
        if not line.discount_amount(currency).is_zero():
            label = line.name or line.description[:40] or "line"
            discount_notes.append(f"{label}: -{line.discount_amount(currency).to_decimal_string()}")
    for line in invoice.lines:
        if line.is_discount:
            net_ex_tax += line.net(currency).amount  # negative
            label = line.description or line.name or "discount"
            discount_notes.append(f"{label}: {line.net(currency).to_decimal_string()}")
    discount = amounts - net_ex_tax
    if discount > 0:
        lines.append(
            {
                "DetailType": "DiscountLineDetail",
                "Amount": discount,
                "Description": ("Discounts — " + "; ".join(discount_notes))[:4000],
                "DiscountLineDetail": {"PercentBased": False},
            }
        )
    body: dict[str, Any] = {
        "CustomerRef": {"value": invoice.customer.quickbooks_id},
        "CurrencyRef": {"value": currency},
        "TxnDate": invoice.issue_date.isoformat(),
        "Line": lines,
        "PrivateNote": f"dealbooks invoice {invoice.id} (Pipedrive deal {invoice.deal_id})",
    }
    if invoice.due_date is not None:
        body["DueDate"] = invoice.due_date.isoformat()
    if invoice.customer.email:
        body["BillEmail"] = {"Address": invoice.customer.email}
    if invoice.customer.billing_address is not None:
        body["BillAddr"] = _address_to_qbo(invoice.customer.billing_address)
    if invoice.memo:
        body["CustomerMemo"] = {"value": invoice.memo}
    if is_us:
        body["ApplyTaxAfterDiscount"] = True
    else:
        taxed_methods = {
            line.tax_method
            for line in items
            if line.tax_method is not TaxMethod.NONE and line.tax_rate > 0
        }
        if not taxed_methods and not any(line.tax_code_ref for line in items):
            body["GlobalTaxCalculation"] = "NotApplicable"
        elif taxed_methods == {TaxMethod.INCLUSIVE}:
            body["GlobalTaxCalculation"] = "TaxInclusive"
        else:
            body["GlobalTaxCalculation"] = "TaxExcluded"
    if tax > 0:
        body["TxnTaxDetail"] = {"TotalTax": tax}
    return body


# -- the gateway -------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """A value for a QBO query string literal: backslash and quote escaped (reference §4.7)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _derived(request_id: str, suffix: str) -> str:
    """A distinct, deterministic request id for a follow-up write of the same operation (QBO
    replays the first answer, failures included, for a repeated requestid)."""
    return f"{request_id}~{suffix}"


@dataclass
class _Cached:
    options: InvoiceOptions
    expires: float


class QuickBooksAccountingGateway:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        token_store: TokenStore,
        lock: DistributedLock,
        rate_limiter: RateLimiter,
        clock: Clock,
        client_id: str,
        client_secret: str,
        environment: str = "sandbox",
        base_url: str | None = None,
        endpoints: QuickBooksEndpoints | None = None,
        rate_limit: RateLimit = QBO_RATE_LIMIT,
        retry: RetryPolicy | None = None,
        cool_off_seconds: float = COOL_OFF_SECONDS,
        default_item_id: str | None = None,
        options_ttl: timedelta = OPTIONS_TTL,
    ) -> None:
        self._endpoints = endpoints or QuickBooksEndpoints.for_environment(environment, base_url)
        self.tokens = QuickBooksTokenProvider(
            session, token_store, lock, clock, self._endpoints, client_id, client_secret
        )
        self.client = QuickBooksClient(
            session,
            self.tokens,
            rate_limiter,
            self._endpoints.api_base,
            rate_limit=rate_limit,
            retry=retry,
            cool_off_seconds=cool_off_seconds,
        )
        self._clock = clock
        self._default_item_id = default_item_id
        self._options_ttl = options_ttl.total_seconds()
        self._options: dict[str, _Cached] = {}
        self._options_locks: dict[str, asyncio.Lock] = {}

    # -- customers -----------------------------------------------------------------------------

    async def search_customers(
        self, company_id: str, text: str, *, limit: int = 20
    ) -> list[AccountingCustomer]:
        needle = text.strip()
        if not needle:
            return []
        limit = max(1, min(limit, QUERY_CHUNK))
        # No OR in QBO's query language: name and email are two queries.
        queries = [
            f"SELECT * FROM Customer WHERE DisplayName LIKE '%{_escape(needle)}%' "  # noqa: S608
            f"MAXRESULTS {limit}"
        ]
        if "@" in needle:
            queries.append(
                f"SELECT * FROM Customer WHERE PrimaryEmailAddr = '{_escape(needle)}' "  # noqa: S608
                f"MAXRESULTS {limit}"
            )
        found: dict[str, AccountingCustomer] = {}
        for response in await asyncio.gather(*(self.client.query(company_id, q) for q in queries)):
            for obj in response.get("Customer") or []:
                customer = customer_from_qbo(obj)
                found.setdefault(customer.id, customer)
        return list(found.values())[:limit]

    async def get_customer(self, company_id: str, customer_id: str) -> AccountingCustomer:
        try:
            body = await self.client.get(company_id, f"customer/{customer_id}")
        except NotFoundError:
            raise NotFoundError("quickbooks_customer", customer_id) from None
        return customer_from_qbo(body["Customer"])

    async def create_customer(
        self, company_id: str, customer: Customer, *, request_id: str
    ) -> AccountingCustomer:
        is_us = (await self.invoice_options(company_id)).preferences.is_us_company
        for attempt in range(1, NAME_SUFFIX_TRIES + 1):
            name = customer.display_name if attempt == 1 else f"{customer.display_name} ({attempt})"
            body: dict[str, Any] = {"DisplayName": name}
            body.update(self._customer_fields(customer, customer.email, is_us=is_us))
            rid = request_id if attempt == 1 else _derived(request_id, f"name{attempt}")
            try:
                created = await self.client.post(company_id, "customer", body, request_id=rid)
            except QuickBooksRejectedError as exc:
                if exc.code == DUPLICATE_NAME:
                    # Taken by another customer, a vendor or an employee (inactive ones too):
                    # a distinct name, never a silent duplicate of somebody else.
                    continue
                raise
            log.info("quickbooks.customer_created", company_id=company_id, attempt=attempt)
            return customer_from_qbo(created["Customer"])
        raise UpstreamRejectedError(
            f"QuickBooks already has many customers named {customer.display_name!r}; "
            "link one of them or change the name.",
            reason=REJECTED,
            metadata={"vendor_code": DUPLICATE_NAME},
        )

    @staticmethod
    def _customer_fields(
        details: Customer, email: str | None, *, is_us: bool, fields: frozenset[str] | None = None
    ) -> dict[str, Any]:
        wanted = fields if fields is not None else frozenset({"email", "billing_address", "tax_id"})
        out: dict[str, Any] = {}
        if "email" in wanted and email:
            out["PrimaryEmailAddr"] = {"Address": email}
        if "billing_address" in wanted and details.billing_address is not None:
            out["BillAddr"] = _address_to_qbo(details.billing_address)
        if "tax_id" in wanted and details.tax_id:
            # No generic VAT id field on a US customer; ResaleNum is plain text there (§6).
            # Elsewhere PrimaryTaxIdentifier is the tax registration number.
            if is_us:
                out["ResaleNum"] = details.tax_id[:16]
            else:
                out["PrimaryTaxIdentifier"] = details.tax_id
        return out

    async def update_customer_details(
        self, company_id: str, customer_id: str, details: Customer, fields: frozenset[str]
    ) -> AccountingCustomer:
        is_us = (await self.invoice_options(company_id)).preferences.is_us_company
        patch = self._customer_fields(details, details.email, is_us=is_us, fields=fields)
        current = await self.get_customer(company_id, customer_id)
        if not patch:
            return current
        for attempt in (1, 2):
            body = {"Id": customer_id, "SyncToken": current.sync_token, "sparse": True, **patch}
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
            try:
                updated = await self.client.post(
                    company_id, "customer", body, request_id=f"cusupd-{digest}"
                )
            except QuickBooksRejectedError as exc:
                if exc.code == STALE_OBJECT and attempt == 1:
                    current = await self.get_customer(company_id, customer_id)
                    continue
                raise
            except NotFoundError:
                raise NotFoundError("quickbooks_customer", customer_id) from None
            return customer_from_qbo(updated["Customer"])
        raise AssertionError("unreachable")  # pragma: no cover

    # -- form data -----------------------------------------------------------------------------

    async def invoice_options(self, company_id: str) -> InvoiceOptions:
        cached = self._options.get(company_id)
        if cached is not None and cached.expires > time.monotonic():
            return cached.options
        lock = self._options_locks.setdefault(company_id, asyncio.Lock())
        async with lock:
            cached = self._options.get(company_id)
            if cached is not None and cached.expires > time.monotonic():
                return cached.options
            options = await self._read_options(company_id)
            self._options[company_id] = _Cached(options, time.monotonic() + self._options_ttl)
            return options

    async def _read_options(self, company_id: str) -> InvoiceOptions:
        prefs_body, info_body = await asyncio.gather(
            self.client.get(company_id, "preferences"),
            self._company_info(company_id),
        )
        prefs = prefs_body.get("Preferences") or {}
        multicurrency = bool((prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))
        queries = {
            "TaxCode": "SELECT * FROM TaxCode MAXRESULTS 1000",
            "TaxRate": "SELECT * FROM TaxRate MAXRESULTS 1000",
            "Term": "SELECT * FROM Term MAXRESULTS 1000",
            "Item": "SELECT * FROM Item MAXRESULTS 1000",
        }
        if multicurrency:
            queries["CompanyCurrency"] = "SELECT * FROM CompanyCurrency MAXRESULTS 1000"
        answers = await asyncio.gather(
            *(self.client.query(company_id, q) for q in queries.values())
        )
        rows = {
            entity: list(answer.get(entity) or [])
            for entity, answer in zip(queries, answers, strict=True)
        }
        preferences = _preferences_from_qbo(prefs, info_body, rows.get("CompanyCurrency", []))
        rates = {str(r["Id"]): _decimal(r.get("RateValue")) for r in rows["TaxRate"]}
        if preferences.is_us_company:
            tax_codes: tuple[TaxCodeOption, ...] = (
                TaxCodeOption(US_TAXABLE, "Taxable"),
                TaxCodeOption(US_NON_TAXABLE, "Non-taxable"),
            )
        else:
            codes = []
            for code in rows["TaxCode"]:
                details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
                percent = sum(
                    (rates.get(_ref(d.get("TaxRateRef")) or "", Decimal(0)) for d in details),
                    Decimal(0),
                )
                codes.append(
                    TaxCodeOption(
                        str(code["Id"]),
                        str(code.get("Name") or code["Id"]),
                        active=bool(code.get("Active", True)),
                        rate_percent=percent,
                    )
                )
            tax_codes = tuple(codes)
        terms = tuple(
            NamedRef(str(t["Id"]), str(t.get("Name") or t["Id"]), bool(t.get("Active", True)))
            for t in rows["Term"]
        )
        items = tuple(
            ItemOption(
                str(i["Id"]),
                str(i.get("Name") or i["Id"]),
                bool(i.get("Active", True)),
                description=str(i.get("Description") or ""),
                unit_price=format(_decimal(i.get("UnitPrice")), "f"),
                type=str(i.get("Type") or "Service"),
            )
            for i in rows["Item"]
        )
        return InvoiceOptions(preferences, tax_codes, terms, items)

    async def _company_info(self, company_id: str) -> Mapping[str, Any]:
        connection = await self.tokens.current(company_id)
        realm = connection.external_id
        body = await self.client.get(company_id, f"companyinfo/{realm}")
        info = body.get("CompanyInfo") if isinstance(body, Mapping) else None
        return info if isinstance(info, Mapping) else {}

    # -- invoices ------------------------------------------------------------------------------

    async def create_invoice(
        self, company_id: str, invoice: Invoice, *, request_id: str
    ) -> AccountingInvoice:
        if not invoice.customer.quickbooks_id:
            raise UpstreamRejectedError(
                "Link the invoice to a QuickBooks customer first.",
                reason=REJECTED,
                metadata={"vendor_code": "2020"},
            )
        options = await self.invoice_options(company_id)
        body = invoice_to_qbo(
            invoice,
            is_us=options.preferences.is_us_company,
            item_ids_by_name={item.name: item.id for item in options.items if item.active},
            default_item_id=self._default_item_id,
        )
        created = await self.client.post(company_id, "invoice", body, request_id=request_id)
        result = invoice_from_qbo(created["Invoice"], invoice.currency)
        log.info(
            "quickbooks.invoice_created",
            company_id=company_id,
            invoice_id=invoice.id,
            quickbooks_id=result.id,
        )
        return result

    async def get_invoice(self, company_id: str, invoice_id: str) -> AccountingInvoice | None:
        try:
            body = await self.client.get(company_id, f"invoice/{invoice_id}")
        except NotFoundError:
            return None  # deleted (or never there): QBO answers 610 either way
        return invoice_from_qbo(body["Invoice"], await self._home_currency(company_id, body))

    async def _home_currency(self, company_id: str, body: Any) -> str:
        obj = body.get("Invoice") if isinstance(body, Mapping) else None
        if isinstance(obj, Mapping) and _ref(obj.get("CurrencyRef")):
            return str(_ref(obj.get("CurrencyRef")))
        return (await self.invoice_options(company_id)).preferences.home_currency

    async def get_invoices(
        self, company_id: str, invoice_ids: Sequence[str]
    ) -> dict[str, AccountingInvoice]:
        wanted = list(dict.fromkeys(str(i) for i in invoice_ids if str(i).strip()))
        chunks = [wanted[i : i + QUERY_CHUNK] for i in range(0, len(wanted), QUERY_CHUNK)]
        found: dict[str, AccountingInvoice] = {}
        for chunk in chunks:
            ids = ",".join(f"'{_escape(i)}'" for i in chunk)
            response = await self.client.query(
                company_id,
                f"SELECT * FROM Invoice WHERE Id IN ({ids}) MAXRESULTS {QUERY_CHUNK}",  # noqa: S608
            )
            for obj in response.get("Invoice") or []:
                currency = _ref(obj.get("CurrencyRef")) or await self._home_currency(company_id, {})
                parsed = invoice_from_qbo(obj, currency)
                found[parsed.id] = parsed
        return found

    async def _read_for_write(self, company_id: str, invoice_id: str) -> Mapping[str, Any]:
        try:
            body = await self.client.get(company_id, f"invoice/{invoice_id}")
        except NotFoundError:
            raise NotFoundError("quickbooks_invoice", invoice_id) from None
        return dict(body["Invoice"])

    async def _with_sync_token(
        self, company_id: str, invoice_id: str, operation: str, request_id: str
    ) -> Any:
        """POST ``invoice?operation=…`` with the current SyncToken; on a stale one (5010,
        somebody changed the invoice meanwhile, e.g. a payment) re-read and retry once."""
        current = await self._read_for_write(company_id, invoice_id)
        for attempt in (1, 2):
            body = {"Id": invoice_id, "SyncToken": str(current.get("SyncToken", "0"))}
            rid = request_id if attempt == 1 else _derived(request_id, f"st{body['SyncToken']}")
            try:
                return await self.client.post(
                    company_id, "invoice", body, request_id=rid, operation=operation
                )
            except QuickBooksRejectedError as exc:
                if exc.code == STALE_OBJECT and attempt == 1:
                    log.info(
                        "quickbooks.stale_sync_token_retried",
                        company_id=company_id,
                        quickbooks_id=invoice_id,
                        operation=operation,
                    )
                    current = await self._read_for_write(company_id, invoice_id)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def void_invoice(
        self, company_id: str, invoice_id: str, *, request_id: str
    ) -> AccountingInvoice:
        try:
            body = await self._with_sync_token(company_id, invoice_id, "void", request_id)
        except NotFoundError:
            raise NotFoundError("quickbooks_invoice", invoice_id) from None
        return invoice_from_qbo(body["Invoice"], await self._home_currency(company_id, body))

    async def delete_invoice(self, company_id: str, invoice_id: str, *, request_id: str) -> None:
        try:
            await self._with_sync_token(company_id, invoice_id, "delete", request_id)
        except NotFoundError:
            return  # already gone: deleting is idempotent
        log.info("quickbooks.invoice_deleted", company_id=company_id, quickbooks_id=invoice_id)

    async def send_invoice(
        self, company_id: str, invoice_id: str, *, to: str | None, request_id: str
    ) -> AccountingInvoice:
        params = {"sendTo": to} if to else {}
        try:
            body = await self.client.request(
                company_id,
                "POST",
                f"invoice/{invoice_id}/send",
                params=params,
                data=b"",
                content_type="application/octet-stream",
                request_id=request_id,
            )
        except NotFoundError:
            raise NotFoundError("quickbooks_invoice", invoice_id) from None
        except QuickBooksRejectedError as exc:
            if exc.fault.element in ("BillEmail", "sendTo") or "BillEmail" in exc.fault.detail:
                raise UpstreamRejectedError(
                    "QuickBooks needs a valid email address to send the invoice to.",
                    reason=REJECTED,
                    metadata=exc.metadata,
                ) from exc
            raise
        return invoice_from_qbo(body["Invoice"], await self._home_currency(company_id, body))

    async def invoice_pdf(self, company_id: str, invoice_id: str) -> bytes:
        try:
            return await self.client.pdf(company_id, f"invoice/{invoice_id}/pdf")
        except NotFoundError:
            raise NotFoundError("quickbooks_invoice", invoice_id) from None

    async def invoice_link(self, company_id: str, invoice_id: str) -> str:
        return f"{self._endpoints.app_base}/app/invoice?txnId={invoice_id}"

    async def changes_since(self, company_id: str, since: datetime) -> AccountingChanges:
        now = self._clock.now()
        earliest = now - CDC_MAX_LOOKBACK
        clamped = since < earliest
        start = max(since, earliest).astimezone(UTC)
        body = await self.client.get(
            company_id,
            "cdc",
            entities="Invoice,Payment",
            changedSince=start.isoformat(timespec="seconds"),
        )
        home = (
            (await self.invoice_options(company_id)).preferences.home_currency
            if _needs_home_currency(body)
            else "USD"
        )
        changes = changes_from_cdc(body, now, home)
        if clamped:
            changes.extra["window_clamped_to"] = start.isoformat()
        return changes


def _needs_home_currency(body: Any) -> bool:
    for response in body.get("CDCResponse") or [] if isinstance(body, Mapping) else []:
        for block in response.get("QueryResponse") or []:
            for obj in block.get("Invoice") or []:
                if obj.get("status") != "Deleted" and not _ref(obj.get("CurrencyRef")):
                    return True
    return False
