"""QuickBooks JSON <-> domain, as pure functions (``invoice_from_qbo``, ``customer_from_qbo``,
``invoice_to_qbo`` ...; CDC answers in ``cdc``), so the reference's verbatim payloads are tested
without a server. Tolerant readers: unknown fields are ignored and the enum-style spellings of
Intuit's doc samples (``SALES_ITEM_LINE_DETAIL``, ``NOT_SET``) are accepted (reference §13.24).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from application.ports.accounting import (
    US_NON_TAXABLE,
    US_TAXABLE,
    AccountingCustomer,
    AccountingInvoice,
    ClassTracking,
    InvoiceOptions,
    NamedRef,
)
from domain.customer import (
    ADDRESS_PART_MAX,
    EMAIL_MAX,
    Address,
    Customer,
    email_addresses,
    email_recipients,
    is_plausible_email,
)
from domain.invoice import Invoice
from domain.invoice_line import DESCRIPTION_MAX, DiscountKind, InvoiceLine, TaxMethod, totals_of
from domain.invoice_template import InvoiceExtras
from domain.money import Money

_ONE: Final = Decimal(1)
_UNIT_PRICE_STEP: Final = Decimal("1E-7")  # QBO keeps unit prices to 7 decimal places
_CENT: Final = Decimal("0.01")

_ENUM_ALIASES: Final = {
    "NOT_SET": "NotSet",
    "NEED_TO_SEND": "NeedToSend",
    "EMAIL_SENT": "EmailSent",
}


# -- JSON -> domain ----------------------------------------------------------------------------


def ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("value")
    if value in (None, ""):
        return None
    return str(value)


def qbo_decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def qbo_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_qbo_time(value: Any) -> datetime | None:
    """QBO times (``2015-07-24T10:33:39-07:00``, ``…10:33:39.11-07:00``, ``…Z``, ``-0700``, up
    to nanoseconds), all of which ``fromisoformat`` reads; UTC when no offset is given."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_voided(obj: Mapping[str, Any]) -> bool:
    """QBO has no void flag: a voided invoice has zero total and balance and a PrivateNote
    starting "Voided" (reference §4.4, §5)."""
    note = str(obj.get("PrivateNote") or "")
    return (
        qbo_decimal(obj.get("TotalAmt")) == 0
        and qbo_decimal(obj.get("Balance")) == 0
        and note.startswith("Voided")
    )


def invoice_from_qbo(
    obj: Mapping[str, Any],
    default_currency: str = "USD",
    options: InvoiceOptions | None = None,
) -> AccountingInvoice:
    """An ``Invoice`` JSON object (read, query, CDC or write response) as port facts. With the
    ``options`` a create was sent with, a class or location QuickBooks answers without its name
    is named from them."""
    currency = ref(obj.get("CurrencyRef")) or default_currency
    email = obj.get("BillEmail")
    address = email.get("Address") if isinstance(email, Mapping) else None
    status = str(obj.get("EmailStatus") or "NotSet")
    raw_meta = obj.get("MetaData")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    updated = parse_qbo_time(meta.get("LastUpdatedTime")) or parse_qbo_time(meta.get("CreateTime"))
    classes = _names(options.classes if options else ())
    locations = _names(options.locations if options else ())
    class_name, class_unnamed = _class_name(obj, classes)
    location_name = _named(obj.get("DepartmentRef"), locations)
    term = obj.get("SalesTermRef")
    unnamed = {
        "terms": bool(ref(term)) and _ref_name(term) is None,
        "class": class_unnamed,
        "location": bool(ref(obj.get("DepartmentRef"))) and location_name is None,
    }
    return AccountingInvoice(
        id=str(obj["Id"]),
        doc_number=str(obj["DocNumber"]) if obj.get("DocNumber") not in (None, "") else None,
        sync_token=str(obj.get("SyncToken", "0")),
        currency=currency,
        total=Money.of(qbo_decimal(obj.get("TotalAmt")), currency),
        balance=Money.of(qbo_decimal(obj.get("Balance")), currency),
        due_date=qbo_date(obj.get("DueDate")),
        txn_date=qbo_date(obj.get("TxnDate")),
        customer_id=ref(obj.get("CustomerRef")) or "",
        voided=is_voided(obj),
        email_status=_ENUM_ALIASES.get(status, status),
        last_updated=updated or datetime(1970, 1, 1, tzinfo=UTC),
        bill_email=str(address) if address else None,
        terms_id=ref(term),
        terms_name=_ref_name(term),
        tax=_total_tax(obj, currency),
        payment_link=_payment_link(obj.get("InvoiceLink")),
        class_name=class_name,
        location_name=location_name,
        unnamed=frozenset(kind for kind, missing in unnamed.items() if missing),
    )


def _class_name(obj: Mapping[str, Any], known: Mapping[str, str]) -> tuple[str | None, bool]:
    """The invoice's ClassRef, else its sales lines' (a company that assigns classes per line),
    each once; and whether a class was answered without a name to show it by.

    [U] Refs in an answer carry ``name``: confirmed for CustomerRef ("the response fills in
    name"), and seen on a SalesTermRef in a 2025 query answer, but not in Intuit's 2014 samples.
    An unnamed ref is named from ``known`` (id -> full name), else the class is unknown."""
    whole = obj.get("ClassRef")
    if ref(whole):
        named = _named(whole, known)
        return named, named is None
    names: dict[str, None] = {}
    unnamed = False
    for line in obj.get("Line") or ():
        detail = line.get("SalesItemLineDetail") if isinstance(line, Mapping) else None
        if not isinstance(detail, Mapping) or not ref(detail.get("ClassRef")):
            continue
        name = _named(detail.get("ClassRef"), known)
        if name:
            names[name] = None
        unnamed = unnamed or name is None
    return (None if unnamed else ", ".join(names) or None), unnamed


def _names(refs: Sequence[NamedRef]) -> dict[str, str]:
    return {r.id: r.name for r in refs}


def _named(value: Any, known: Mapping[str, str]) -> str | None:
    return _ref_name(value) or known.get(ref(value) or "")


def _payment_link(value: Any) -> str | None:
    """``InvoiceLink`` (reference §3.2): absent, or an empty string, when there is none."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return None
    return value


def _total_tax(obj: Mapping[str, Any], currency: str) -> Money | None:
    detail = obj.get("TxnTaxDetail")
    if not isinstance(detail, Mapping) or detail.get("TotalTax") is None:
        return None
    return Money.of(qbo_decimal(detail["TotalTax"]), currency)


def _ref_name(value: Any) -> str | None:
    name = value.get("name") if isinstance(value, Mapping) else None
    return str(name) if name else None


def _address_from_qbo(obj: Any) -> Address | None:
    if not isinstance(obj, Mapping):
        return None
    lines = [str(obj.get(f"Line{n}") or "") for n in range(1, 6)]
    address = Address(
        line1=lines[0],
        # Line2-Line5 (500 characters each in QuickBooks) in one line of ours, cut to fit.
        line2=", ".join(part for part in lines[1:] if part)[:ADDRESS_PART_MAX],
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


def _plausible_emails(text: object) -> str | None:
    """The addresses of a QuickBooks email field that look like addresses. QuickBooks checks
    only for an "@" and a "." (reference §6): a customer whose field holds something else
    reads without it (the draft then asks for one) rather than failing every read."""
    kept: list[str] = []
    for address in email_addresses(text) if isinstance(text, str) else []:
        # Joined with ", " the list may outgrow the field QuickBooks filled without spaces.
        if is_plausible_email(address) and len(", ".join([*kept, address])) <= EMAIL_MAX:
            kept.append(address)
    return ", ".join(kept) or None


def customer_from_qbo(obj: Mapping[str, Any]) -> AccountingCustomer:
    email = obj.get("PrimaryEmailAddr")
    address = _plausible_emails(email.get("Address") if isinstance(email, Mapping) else None)
    customer_id = str(obj["Id"])
    # PrimaryTaxIdentifier comes back masked to its last five characters (reference §6): kept
    # as QuickBooks shows it, for Customer.differences to compare; known_tax_id() is None then.
    tax_id = obj.get("ResaleNum") or obj.get("PrimaryTaxIdentifier") or None
    name = str(obj.get("DisplayName") or obj.get("FullyQualifiedName") or customer_id)
    # One line: a tab, line break or other control character is a space.
    name = re.sub(r"[\x00-\x1f\x7f\s]+", " ", name).strip() or customer_id
    billing = _address_from_qbo(obj.get("BillAddr"))
    shipping = _address_from_qbo(obj.get("ShipAddr"))
    if shipping is not None and shipping.same_place_as(billing):
        shipping = None  # QuickBooks' "same as billing address": not a ship-to of its own
    return AccountingCustomer(
        id=customer_id,
        customer=Customer(
            display_name=name[:100],
            email=address,
            billing_address=billing,
            tax_id=str(tax_id) if tax_id else None,
            quickbooks_id=customer_id,
            shipping_address=shipping,
        ),
        sync_token=str(obj.get("SyncToken", "0")),
        currency=ref(obj.get("CurrencyRef")),
        active=obj.get("Active", True) not in (False, "false"),
        terms_id=ref(obj.get("SalesTermRef")),
    )


# -- domain -> JSON ----------------------------------------------------------------------------


def _qbo_number(value: Decimal) -> Decimal:
    """A whole number without its decimals (``100.00`` -> ``100``; ``normalize()`` would make
    it ``1E+2``), a fraction as it is."""
    return value.quantize(_ONE) if value == value.to_integral_value() else value


def _unit_price(line: InvoiceLine, amount: Money) -> Decimal | None:
    """The ``UnitPrice`` of ``line`` going out at ``amount``, which QuickBooks refuses unless
    round(Qty x UnitPrice, 2) = Amount (fault 6070): the line's own unit price when it gives the
    amount, else amount / Qty to QuickBooks' 7 decimal places when that does, else None (the
    line then goes out with Qty and Amount only).

    [U] The reference says Amount must equal Qty x UnitPrice [O] and that a line with Amount
    alone is accepted; that QuickBooks compares to the cent, and takes Qty without UnitPrice,
    is unconfirmed (as the emulator does). Below 100,000 units, Amount / Qty always passes."""
    exact = (amount.amount / line.quantity).quantize(_UNIT_PRICE_STEP, ROUND_HALF_UP).normalize()
    for unit in (line.unit_price, exact):
        if (unit * line.quantity).quantize(_CENT, ROUND_HALF_UP) == amount.amount:
            return unit
    return None


def _with_discount(description: str, line: InvoiceLine, currency: str) -> str:
    """``description`` saying what the line's discount took off its list price, since the line
    goes out at its net: "Licence (list 150.00, 50 % off)", within 4000 characters ([U] the
    reference gives no limit for Line.Description; 4000 is the domain's and PrivateNote's)."""
    off = (
        f"{line.discount.normalize():f} %"
        if line.discount_kind is DiscountKind.PERCENTAGE
        else line.discount_amount(currency).to_decimal_string()
    )
    inclusive = " incl. tax" if line.tax_method is TaxMethod.INCLUSIVE and line.tax_rate else ""
    note = f"(list {line.gross(currency).to_decimal_string()}{inclusive}, {off} off)"
    if not description:
        return note
    return f"{description[: DESCRIPTION_MAX - len(note) - 1]} {note}"


def invoice_to_qbo(
    invoice: Invoice,
    *,
    is_us: bool,
    item_ids_by_name: Mapping[str, str],
    extras: InvoiceExtras | None = None,
    custom_fields: Sequence[NamedRef] = (),
    class_tracking: ClassTracking = ClassTracking.NONE,
    location_tracking: bool = False,
) -> dict[str, Any]:
    """The create body for ``invoice`` (reference §3.2, §3.4), with QuickBooks' total equal to
    the domain's to the cent.

    How discounts and tax are expressed, since QBO has no per-line discount:

    - Each item line goes out at the domain's net without tax: ``Amount`` = its net less any
      tax an INCLUSIVE price contains (QBO's ``Amount`` is always net of tax), ``Qty``, and
      ``UnitPrice`` = the line's own unit price, else Amount / Qty to QBO's 7 decimal places,
      when it passes QBO's check Amount = round(Qty x UnitPrice, 2) (fault 6070); else none.
      A line with a discount of its own says its list price and discount in its
      ``Description``: its discount stays on it, and on its tax rate, as in the domain.
    - The discount lines (deal-level discounts) become ONE ``DiscountLineDetail`` line (QBO
      allows one per invoice) of exactly sum(line amounts) - sum(domain nets without tax), so
      the invoice's net equals the domain's net to the cent.
    - The tax is sent as ``TxnTaxDetail.TotalTax`` = the domain's tax (QBO "honors the amount and
      prorates it across tax rates", §3.3). QBO taxes after the discount line, taking it off
      every line in the same ratio, as the domain does with discount lines, so the amount it
      taxes per rate is the domain's to the cent; and it rounds the tax once per rate, as the
      domain does for lines taxed at their code's rates (prices including tax too, at their
      amount before tax). So the TotalTax sent is QuickBooks' own figure, whether or not QBO
      honours it ([U] outside automated sales tax: python-quickbooks #301 saw a TotalTax
      ignored, quickbooks-ruby #547 a TaxLine amount kept); it settles a difference only for
      lines without a code's rates (stored before the domain had them).

    So TotalAmt = lines - discount + tax = the domain total. Non-US companies get a tax code on
    every line and ``GlobalTaxCalculation``: TaxInclusive when every taxed line is INCLUSIVE,
    TaxExcluded otherwise (mixed lines are sent without their inclusive tax, as above, so a
    mix is still exact), NotApplicable when no line carries tax or a tax code.
    US companies use the TAX / NON pseudo codes. With automated sales tax (the invoice's
    ``tax_by_quickbooks``) no tax is sent: QuickBooks computes it from the ship-to address, and
    a line without a code is taxable as its item is.

    ``extras`` adds the private note (before dealbooks' own line), the sales custom fields among
    ``custom_fields`` (those the company turned on; QuickBooks allows 3 string fields), CC/BCC
    and the online payment options (left out when None: QuickBooks then applies the company's
    QuickBooks Payments settings), and the class and location, each only while the company
    tracks it: the class on the invoice, or (``class_tracking`` per line) on each sales line
    and the discount line, so that a report by class nets the discount under the same class as
    the sales. [U] What QuickBooks does with a ref the company does not track is not documented:
    an invoice accepted while QuickBooks was unreachable, or retried after tracking was turned
    off, sends none.
    """
    currency = invoice.currency
    names = {k.casefold(): v for k, v in item_ids_by_name.items()}
    items = [line for line in invoice.lines if not line.is_discount]
    lines: list[dict[str, Any]] = []
    amounts = Decimal(0)
    net_ex_tax = Decimal(0)
    tax = totals_of(invoice.lines, currency).tax.amount
    discount_notes: list[str] = []
    for line in items:
        # At the domain's net without tax: a line's own discount stays on it (QuickBooks does
        # not spread it over the other lines and their tax rates, as it spreads the discount
        # line), and QuickBooks taxes per rate the very amounts the preview taxes.
        amount = line.net_excluding_tax(currency)
        amounts += amount.amount
        net_ex_tax += amount.amount
        detail: dict[str, Any] = {"Qty": _qbo_number(line.quantity)}
        unit = _unit_price(line, amount)
        if unit is not None:
            detail["UnitPrice"] = _qbo_number(unit)
        item_id = line.item_ref or names.get(line.name.casefold())
        if item_id:
            detail["ItemRef"] = {"value": item_id}
        taxed = line.tax_method is not TaxMethod.NONE and line.tax_rate > 0
        if is_us:
            code = line.tax_code_ref if line.tax_code_ref in (US_TAXABLE, US_NON_TAXABLE) else None
            if not invoice.tax_by_quickbooks:
                code = code or (US_TAXABLE if taxed else US_NON_TAXABLE)
            if code:  # with automated sales tax, no code lets the item say if it is taxable
                detail["TaxCodeRef"] = {"value": code}
        elif line.tax_code_ref:
            detail["TaxCodeRef"] = {"value": line.tax_code_ref}
        entry: dict[str, Any] = {
            "DetailType": "SalesItemLineDetail",
            "Amount": amount.amount,
            "SalesItemLineDetail": detail,
        }
        description = line.description or line.name
        if not line.discount_amount(currency).is_zero():
            description = _with_discount(description, line, currency)
        if description:
            entry["Description"] = description
        lines.append(entry)
    for line in invoice.lines:
        if line.is_discount:
            net_ex_tax += line.net(currency).amount  # negative
            label = line.description or line.name or "discount"
            discount_notes.append(f"{label}: {line.net(currency).to_decimal_string()}")
    discount = amounts - net_ex_tax
    if discount < 0:
        # Cannot happen: every item line goes out at its net without tax, and discount lines
        # only add. QuickBooks has no negative discount, and dropping one would make its total
        # differ from the preview's.
        raise ValueError(f"negative discount line {discount} for invoice {invoice.id}")
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
    if invoice.terms_id:
        # With DueDate sent too, QuickBooks records both as given (reference: DueDate is
        # computed from SalesTermRef only when absent): the date the preview showed.
        body["SalesTermRef"] = {"value": invoice.terms_id}
    to, cc = email_recipients(invoice.customer.email, extras.bill_email_cc if extras else "")
    if to:
        body["BillEmail"] = {"Address": to}
    if cc:
        body["BillEmailCc"] = {"Address": cc}
    if invoice.customer.billing_address is not None:
        body["BillAddr"] = _address_to_qbo(invoice.customer.billing_address)
    ship_to = invoice.customer.shipping_address
    if ship_to is None and invoice.tax_by_quickbooks:
        # Automated sales tax is for the ShipAddr, else the customer's own (reference §3.1),
        # else the company's address (§3.3 [C]), never the BillAddr: the address the form
        # shows is where QuickBooks' tax is for (a draft brings a customer's own ship-to in).
        ship_to = invoice.customer.billing_address
    if ship_to is not None:
        body["ShipAddr"] = _address_to_qbo(ship_to)
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
    if tax > 0 or any(
        line.tax_method is not TaxMethod.NONE and line.tax_rate > 0 for line in items
    ):
        # Also a tax of 0.00 (a few cents taxed): QuickBooks would otherwise round its own.
        body["TxnTaxDetail"] = {"TotalTax": tax}
    if is_us and invoice.sales_tax_code_id:
        body.setdefault("TxnTaxDetail", {})["TxnTaxCodeRef"] = {"value": invoice.sales_tax_code_id}
    if extras is not None:
        _extras_to_qbo(body, extras, custom_fields)
        _tracking_to_qbo(body, extras, class_tracking, location_tracking=location_tracking)
    return body


def _tracking_to_qbo(
    body: dict[str, Any],
    extras: InvoiceExtras,
    class_tracking: ClassTracking,
    *,
    location_tracking: bool,
) -> None:
    if extras.location_id and location_tracking:
        body["DepartmentRef"] = {"value": extras.location_id}
    if not extras.class_id or class_tracking is ClassTracking.NONE:
        return
    if class_tracking is ClassTracking.PER_INVOICE:
        body["ClassRef"] = {"value": extras.class_id}
        return
    for line in body["Line"]:
        for detail in ("SalesItemLineDetail", "DiscountLineDetail"):
            if detail in line:
                line[detail]["ClassRef"] = {"value": extras.class_id}


def _extras_to_qbo(
    body: dict[str, Any], extras: InvoiceExtras, custom_fields: Sequence[NamedRef]
) -> None:
    if extras.deposit:
        # [U] QuickBooks takes Deposit on create with SalesFormsPrefs.AllowDeposit on (the
        # reference says it needs it; what it answers without is not documented).
        body["Deposit"] = extras.deposit
    if extras.private_note:
        body["PrivateNote"] = f"{extras.private_note}\n\n{body['PrivateNote']}"[:4000]
    names = {field.id: field.name for field in custom_fields if field.active}
    fields = [
        {
            "DefinitionId": cf.definition_id,
            "Name": names[cf.definition_id],
            "Type": "StringType",
            "StringValue": cf.value,
        }
        for cf in extras.custom_fields
        if cf.definition_id in names and cf.value
    ]
    if fields:
        body["CustomField"] = fields
    if extras.bill_email_bcc:
        body["BillEmailBcc"] = {"Address": extras.bill_email_bcc}
    if extras.allow_online_card is not None:
        body["AllowOnlineCreditCardPayment"] = extras.allow_online_card
    if extras.allow_online_ach is not None:
        body["AllowOnlineACHPayment"] = extras.allow_online_ach


#: What a customer created in QuickBooks starts with, beside its name.
CREATED_DETAILS: Final = ("email", "billing_address", "shipping_address", "tax_id")


def customer_fields_to_qbo(
    details: Customer, *, is_us: bool, fields: frozenset[str] | None = None
) -> dict[str, Any]:
    wanted = fields if fields is not None else frozenset(CREATED_DETAILS)
    out: dict[str, Any] = {}
    if "display_name" in wanted:
        out["DisplayName"] = details.display_name
    if "email" in wanted and details.email:
        out["PrimaryEmailAddr"] = {"Address": details.email}
    if "billing_address" in wanted and details.billing_address is not None:
        out["BillAddr"] = _address_to_qbo(details.billing_address)
    # A new customer gets a ShipAddr only when it ships elsewhere; a change sends where it ships
    # even when that is the billing address: QuickBooks' ShipAddr does not follow BillAddr.
    ship_to = details.shipping_address if fields is None else details.ships_to()
    if "shipping_address" in wanted and ship_to is not None:
        out["ShipAddr"] = _address_to_qbo(ship_to)
    tax_id = details.known_tax_id()  # a masked one read from QuickBooks is never sent back
    if "tax_id" in wanted and tax_id:
        # No generic VAT id field on a US customer; ResaleNum is plain text there (§6), 16
        # characters at most: the use cases refuse a longer one, it is never cut here.
        # Elsewhere PrimaryTaxIdentifier is the tax registration number.
        if is_us:
            out["ResaleNum"] = tax_id
        else:
            out["PrimaryTaxIdentifier"] = tax_id
    return out


def escape_query(text: str) -> str:
    """A value for a QBO query string literal: backslash and quote escaped (reference §4.7)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
