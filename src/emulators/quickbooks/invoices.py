"""Invoice and Payment: the server-side computation and checks QBO performs (§3, §5)."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from . import faults
from .rules import (
    EMAIL_OK,
    Ctx,
    check_currency,
    check_length,
    currency_ref,
    exchange_rate,
    parse_date,
    ref_value,
    resolve,
    tracking_ref,
)
from .store import Company, Entity
from .wire import dec, money

ZERO = Decimal(0)
DETAIL_TYPES = {
    "SalesItemLineDetail": "SalesItemLineDetail",
    "SALES_ITEM_LINE_DETAIL": "SalesItemLineDetail",
    "DescriptionOnly": "DescriptionOnly",
    "DESCRIPTION_ONLY": "DescriptionOnly",
    "DiscountLineDetail": "DiscountLineDetail",
    "DISCOUNT_LINE_DETAIL": "DiscountLineDetail",
    "SubTotalLineDetail": "SubTotalLineDetail",
    "SUB_TOTAL_LINE_DETAIL": "SubTotalLineDetail",
    "GroupLineDetail": "GroupLineDetail",
    "GROUP_LINE_DETAIL": "GroupLineDetail",
}
ENUMS = {
    "EmailStatus": {"NotSet", "NeedToSend", "EmailSent"},
    "PrintStatus": {"NotSet", "NeedToPrint", "PrintComplete"},
    "GlobalTaxCalculation": {"TaxExcluded", "TaxInclusive", "NotApplicable"},
}
ENUM_ALIASES = {
    "NOT_SET": "NotSet",
    "NEED_TO_SEND": "NeedToSend",
    "EMAIL_SENT": "EmailSent",
    "NEED_TO_PRINT": "NeedToPrint",
    "PRINT_COMPLETE": "PrintComplete",
    "TAX_EXCLUDED": "TaxExcluded",
    "TAX_INCLUSIVE": "TaxInclusive",
    "NOT_APPLICABLE": "NotApplicable",
}
INVOICE_PASSTHROUGH = {
    "CustomerMemo",
    "PrivateNote",
    "BillEmailCc",
    "BillEmailBcc",
    "ShipDate",
    "TrackingNum",
    "ShipMethodRef",
    "ShipFromAddr",
    "ProjectRef",
    "AllowOnlineCreditCardPayment",
    "AllowOnlineACHPayment",
    "AllowIPNPayment",
    "AllowOnlinePayment",
    "TemplateRef",
}
#: [U] US AST: state -> (tax code id). Rates live on the seeded TaxCode/TaxRate entities.
US_STATE_FIELD = "_state"


@dataclass
class _Line:
    raw: dict[str, Any]
    kind: str
    amount: Decimal = ZERO
    tax_code: str | None = None
    out: dict[str, Any] = field(default_factory=dict)


def _enum(data: dict[str, Any], key: str, default: str | None) -> str | None:
    value = data.get(key)
    if value is None:
        return default
    value = ENUM_ALIASES.get(str(value), str(value))
    if value not in ENUMS[key]:
        raise faults.invalid_value(key, f"Invalid enumeration value {value} for {key}")
    return value


def enabled_custom_fields(company: Company) -> list[tuple[str, str]]:
    """(DefinitionId, Name) for enabled legacy custom fields, from the nested prefs shape."""
    groups = company.preferences.get("SalesFormsPrefs", {}).get("CustomField", [])
    use: dict[str, bool] = {}
    names: dict[str, str] = {}
    for group in groups:
        for item in group.get("CustomField", []):
            name = item.get("Name", "")
            if name.startswith("SalesFormsPrefs.UseSalesCustom"):
                use[name[-1]] = bool(item.get("BooleanValue"))
            elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                names[name[-1]] = item.get("StringValue", "")
    return [(n, names.get(n, "")) for n in sorted(use) if use[n]]


def _custom_fields(company: Company, data: dict[str, Any], existing: Entity | None) -> list:
    given = {
        str(cf.get("DefinitionId")): cf
        for cf in (data.get("CustomField") or [])
        if isinstance(cf, dict)
    }
    previous = {str(cf.get("DefinitionId")): cf for cf in (existing or {}).get("CustomField", [])}
    out = []
    for def_id, name in enabled_custom_fields(company):
        entry: dict[str, Any] = {"DefinitionId": def_id, "Type": "StringType", "Name": name}
        source = given.get(def_id) if def_id in given else previous.get(def_id)
        value = (source or {}).get("StringValue")
        if value not in (None, ""):
            if len(str(value)) > 31:
                raise faults.string_length("CustomField.StringValue", 31, len(str(value)))
            entry["StringValue"] = str(value)
        out.append(entry)
    return out


def _default_item(company: Company) -> Entity | None:
    for item in company.table("Item").values():
        if item.get("Name") == "Services":
            return item
    return None


def _sales_line(ctx: Ctx, line: _Line, customer: Entity, global_tax: str | None) -> None:
    company = ctx.company
    raw = line.raw
    det = raw.get("SalesItemLineDetail") or {}
    item_ref = det.get("ItemRef")
    if ref_value(item_ref) is None:
        # [U] QBO fills the default "Services" item when ItemRef is omitted.
        item = _default_item(company)
        if item is None:
            raise faults.required("Line.SalesItemLineDetail.ItemRef")
    else:
        item = resolve(company, "Item", item_ref, "Line.SalesItemLineDetail.ItemRef")
    qty = dec(det.get("Qty"))
    price = dec(det.get("UnitPrice"))
    amount = dec(raw.get("Amount"))
    if amount is None:
        if qty is None or price is None:
            raise faults.required("Line.Amount")
        amount = money(qty * price)
    elif qty and price and money(qty * price) != money(amount):
        # Checked only when both are non-zero: python-quickbooks sends Qty 0 / UnitPrice 0.
        raise faults.amount_calculation(raw.get("Amount"))
    line.amount = money(amount)
    out_det: dict[str, Any] = {"ItemRef": {"value": item["Id"], "name": item["Name"]}}
    if qty is not None:
        out_det["Qty"] = qty
    if price is not None:
        out_det["UnitPrice"] = price
    if "IncomeAccountRef" in item:
        out_det["ItemAccountRef"] = dict(item["IncomeAccountRef"])
    for key in ("ServiceDate", "DiscountRate", "DiscountAmt"):
        if det.get(key) not in (None, ""):
            out_det[key] = det[key]
    if ref_value(det.get("ClassRef")) is not None:
        element = "Line.SalesItemLineDetail.ClassRef"
        out_det["ClassRef"] = tracking_ref(company, "Class", det["ClassRef"], element)
    code = ref_value(det.get("TaxCodeRef"))
    if company.is_us:
        if code is None:
            taxable = item.get("Taxable") and customer.get("Taxable", True)
            code = "TAX" if taxable else "NON"
        if code not in ("TAX", "NON"):
            raise faults.invalid_reference("TaxCode", code, "Line.SalesItemLineDetail.TaxCodeRef")
    else:
        if code is None:
            code = ref_value(item.get("SalesTaxCodeRef")) or ref_value(
                customer.get("DefaultTaxCodeRef")
            )
        if code is None and global_tax != "NotApplicable":
            raise faults.business(
                "Make sure all your transactions have a VAT rate before you save.",
                "Line.SalesItemLineDetail.TaxCodeRef",
            )
        if code is not None:
            resolve(company, "TaxCode", code, "Line.SalesItemLineDetail.TaxCodeRef")
    if code is not None:
        out_det["TaxCodeRef"] = {"value": code}
    line.tax_code = code
    line.out = {"Amount": line.amount, "DetailType": "SalesItemLineDetail"}
    description = raw.get("Description")
    if description not in (None, ""):
        line.out["Description"] = description
    line.out["SalesItemLineDetail"] = out_det


def _rate_on(rate: Entity, day: date | None) -> Decimal:
    """The TaxRate's percentage on ``day``: its EffectiveTaxRate entry covering the day
    ([U] dates read by their first ten characters), else RateValue."""
    for entry in rate.get("EffectiveTaxRate") or []:
        start = str(entry.get("EffectiveDate") or "")[:10]
        end = str(entry.get("EndDate") or "")[:10]
        if (
            day is not None
            and (not start or start <= day.isoformat())
            and (not end or day.isoformat() <= end)
        ):
            return dec(entry.get("RateValue"), ZERO) or ZERO
    return dec(rate.get("RateValue"), ZERO) or ZERO


def _tax_rates(
    company: Company, code_id: str, day: date | None = None
) -> list[tuple[Entity, Decimal]]:
    code = company.get("TaxCode", code_id)
    if code is None:
        return []
    rates = []
    for detail in code.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
        rate = company.get("TaxRate", ref_value(detail.get("TaxRateRef")))
        if rate is not None:
            rates.append((rate, _rate_on(rate, day)))
    return rates


def _tax_lines(
    company: Company,
    bases: dict[str, Decimal],
    kept: tuple[Decimal, Decimal],
    override: Decimal | None,
    day: date,
) -> tuple[list[dict[str, Any]], Decimal]:
    """TaxLine per rate in force on ``day`` (TxnDate): {Amount, DetailType,
    TaxLineDetail{TaxRateRef, PercentBased, ...}}. ``bases``: the line amounts per tax code;
    ``kept``: the fraction (subtotal - discount) / subtotal of them that is taxed.

    [U] Each rate's NetAmountTaxable is its lines' amounts less their share of the discount,
    rounded to the cent once, and its Amount that x TaxPercent, rounded: the figures its tax
    line shows agree with each other (QuickBooks' own computation, 9.975 % of 4,495.16 =
    448.39, quickbooks-ruby #547)."""
    per_rate: dict[str, tuple[Entity, Decimal, Decimal]] = {}
    for code_id, base in bases.items():
        for rate, percent in _tax_rates(company, code_id, day):
            _, _, prev = per_rate.get(rate["Id"], (rate, percent, ZERO))
            per_rate[rate["Id"]] = (rate, percent, prev + base)
    per_rate = {
        rid: (rate, pct, money(base * kept[0] / kept[1]))
        for rid, (rate, pct, base) in per_rate.items()
    }
    amounts = {rid: money(base * pct / 100) for rid, (_, pct, base) in per_rate.items()}
    total = sum(amounts.values(), ZERO)
    if override is not None and per_rate:
        # AST "honors the amount and prorates it across tax rates".
        weights = {rid: pct for rid, (_, pct, _) in per_rate.items()}
        weight_sum = sum(weights.values(), ZERO) or Decimal(1)
        amounts = {rid: money(override * w / weight_sum) for rid, w in weights.items()}
        last = next(reversed(amounts))
        amounts[last] += override - sum(amounts.values(), ZERO)
        total = override
    lines = [
        {
            "Amount": amounts[rid],
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": rid},
                "PercentBased": True,
                "TaxPercent": pct,
                "NetAmountTaxable": money(base),
            },
        }
        for rid, (_, pct, base) in per_rate.items()
    ]
    return lines, total


def _ast_code_for(company: Company, addr: dict[str, Any] | None) -> str | None:
    state = None
    if isinstance(addr, dict):
        state = addr.get("CountrySubDivisionCode")
    if not state:
        state = (company.company_info.get("CompanyAddr") or {}).get("CountrySubDivisionCode")
    if not state:
        return None
    for code in company.table("TaxCode").values():
        if code.get(US_STATE_FIELD) == str(state).upper():
            return str(code["Id"])
    return None


def applied_payments(company: Company, invoice_id: str) -> list[tuple[str, Decimal]]:
    """(payment id, amount) of every payment line linked to the invoice."""
    out = []
    for payment in company.table("Payment").values():
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id:
                    out.append((payment["Id"], dec(line.get("Amount"), ZERO) or ZERO))
    return out


def refresh_balance(company: Company, invoice: Entity) -> None:
    """Balance = TotalAmt - Deposit - payments; LinkedTxn lists the payments."""
    applied = applied_payments(company, invoice["Id"]) if "Id" in invoice else []
    paid = sum((amount for _, amount in applied), ZERO)
    deposit = dec(invoice.get("Deposit"), ZERO) or ZERO
    invoice["Balance"] = money(invoice["TotalAmt"] - deposit - paid)
    links = [link for link in invoice.get("LinkedTxn", []) if link.get("TxnType") != "Payment"]
    seen = set()
    for payment_id, _ in applied:
        if payment_id not in seen:
            seen.add(payment_id)
            links.append({"TxnId": payment_id, "TxnType": "Payment"})
    invoice["LinkedTxn"] = links
    if "ExchangeRate" in invoice:
        rate = invoice["ExchangeRate"]
        invoice["HomeBalance"] = money(invoice["Balance"] * rate)
        invoice["HomeTotalAmt"] = money(invoice["TotalAmt"] * rate)


def _next_doc_number(company: Company) -> str:
    used = {inv.get("DocNumber") for inv in company.table("Invoice").values()}
    while str(company.next_doc_number) in used:
        company.next_doc_number += 1
    doc = str(company.next_doc_number)
    company.next_doc_number += 1
    return doc


def build_invoice(
    ctx: Ctx, data: dict[str, Any], existing: Entity | None, request: dict[str, Any]
) -> Entity:
    company = ctx.company
    out: dict[str, Any] = {}
    customer = resolve(company, "Customer", data.get("CustomerRef"), "CustomerRef")
    out["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}

    # currency
    requested = ref_value(data.get("CurrencyRef"))
    if company.multicurrency and requested is None:
        raise faults.required("CurrencyRef")
    currency = check_currency(company, requested)
    customer_currency = ref_value(customer.get("CurrencyRef")) or company.home_currency
    if currency != customer_currency:
        # [U] exact text; the rule itself is [C].
        raise faults.business(
            f"The currency of the transaction ({currency}) must match the customer's currency "
            f"({customer_currency}).",
            "CurrencyRef",
        )
    out["CurrencyRef"] = currency_ref(currency)
    rate = Decimal(1)
    if company.multicurrency:
        rate = exchange_rate(company, currency)
        given = dec(data.get("ExchangeRate"))
        if given is not None and currency != company.home_currency and given > 0:
            rate = given
        out["ExchangeRate"] = rate

    # numbering
    check_length(data, "DocNumber", 21)
    doc = data.get("DocNumber")
    if doc in (None, "") and existing is not None:
        doc = existing.get("DocNumber")
    if doc in (None, "") and (not company.custom_txn_numbers or data.get("AutoDocNumber")):
        doc = _next_doc_number(company)
    if doc not in (None, ""):
        doc = str(doc)
        out["DocNumber"] = doc
        if company.reject_duplicate_doc_numbers and "allowduplicatedocnum" not in ctx.include:
            self_id = existing["Id"] if existing else None
            for other in company.table("Invoice").values():
                if other["Id"] != self_id and other.get("DocNumber") == doc:
                    raise faults.duplicate_doc_number()
    # else: custom numbering on and none given -> DocNumber stays null [O ruckus #545].

    # dates and terms
    txn_date = parse_date(data.get("TxnDate"), "TxnDate") or ctx.today
    out["TxnDate"] = txn_date.isoformat()
    term_ref = data.get("SalesTermRef") or customer.get("SalesTermRef")
    term: Entity | None = None
    if ref_value(term_ref) is not None:
        term = resolve(company, "Term", term_ref, "SalesTermRef")
        out["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
    else:
        default = ref_value(company.preferences.get("SalesFormsPrefs", {}).get("DefaultTerms"))
        term = company.get("Term", default) if default else None
    due = parse_date(data.get("DueDate"), "DueDate") or _term_due_date(term, txn_date)
    out["DueDate"] = due.isoformat()

    # tax model
    global_tax = None
    if not company.is_us:
        global_tax = _enum(data, "GlobalTaxCalculation", None)
        if global_tax is None:
            raise faults.required("GlobalTaxCalculation")
        out["GlobalTaxCalculation"] = global_tax
    # US companies: GlobalTaxCalculation is "not applicable" and silently ignored.

    # lines
    raw_lines = data.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise faults.required("Line")
    lines: list[_Line] = []
    allows_discounts = company.preferences.get("SalesFormsPrefs", {}).get("AllowDiscount", True)
    for raw in raw_lines:
        if not isinstance(raw, dict):
            raise faults.invalid_value("Line", "Line must be an object")
        if raw.get("DetailType") in (None, ""):
            raise faults.required("Line.DetailType")
        kind = DETAIL_TYPES.get(str(raw["DetailType"]))
        if kind is None:
            raise faults.invalid_value(
                "Line.DetailType", f"Invalid enumeration value {raw['DetailType']}"
            )
        if kind == "SubTotalLineDetail":
            continue  # recomputed; QBO appends its own subtotal line
        if kind == "GroupLineDetail":
            raise faults.unsupported("GroupLineDetail")  # not emulated
        if kind == "DiscountLineDetail" and not allows_discounts:
            # [O] Integrators report QuickBooks leaves the discount out, without a fault,
            # when the company has Discount turned off (SalesFormsPrefs.AllowDiscount).
            continue
        lines.append(_Line(raw=raw, kind=kind))
    if not lines:
        raise faults.required("Line")

    existing_ids = {
        str(line.get("Id")) for line in (existing or {}).get("Line", []) if line.get("Id")
    }
    next_line_id = max([int(i) for i in existing_ids if i.isdigit()] + [0]) + 1
    subtotal = ZERO
    for line in lines:
        if line.kind == "SalesItemLineDetail":
            _sales_line(ctx, line, customer, global_tax)
            subtotal += line.amount
        elif line.kind == "DescriptionOnly":
            line.out = {"DetailType": "DescriptionOnly", "DescriptionLineDetail": {}}
            if line.raw.get("Description") not in (None, ""):
                line.out["Description"] = line.raw["Description"]
            amount = dec(line.raw.get("Amount"))
            if amount:
                line.out["Amount"] = money(amount)
    discount = ZERO
    for line in lines:
        if line.kind != "DiscountLineDetail":
            continue
        det = line.raw.get("DiscountLineDetail") or {}
        percent = dec(det.get("DiscountPercent"))
        if det.get("PercentBased") and percent is not None:
            line.amount = money(subtotal * percent / 100)
        else:
            amount = dec(line.raw.get("Amount"))
            if amount is None:
                raise faults.required("Line.Amount")
            line.amount = money(amount)
        discount += line.amount
        out_det: dict[str, Any] = {"PercentBased": bool(det.get("PercentBased", False))}
        if percent is not None:
            out_det["DiscountPercent"] = percent
        account_ref = det.get("DiscountAccountRef")
        if ref_value(account_ref) is not None:
            account = resolve(
                company, "Account", account_ref, "Line.DiscountLineDetail.DiscountAccountRef"
            )
            out_det["DiscountAccountRef"] = {"value": account["Id"], "name": account["Name"]}
        if ref_value(det.get("ClassRef")) is not None:
            element = "Line.DiscountLineDetail.ClassRef"
            out_det["ClassRef"] = tracking_ref(company, "Class", det["ClassRef"], element)
        line.out = {
            "Amount": line.amount,
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": out_det,
        }
    if discount > subtotal:
        raise faults.business("The discount can't be more than the subtotal.", "Line.Amount")

    out_lines = []
    for number, line in enumerate(lines, start=1):
        raw_id = str(line.raw.get("Id") or "")
        if raw_id and raw_id in existing_ids:
            line_id = raw_id
        else:
            line_id = str(next_line_id)
            next_line_id += 1
        out_lines.append({"Id": line_id, "LineNum": number, **line.out})
    out_lines.append(
        {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    out["Line"] = out_lines

    # tax
    apply_after = bool(data.get("ApplyTaxAfterDiscount", False))
    out["ApplyTaxAfterDiscount"] = apply_after
    kept = (Decimal(1), Decimal(1))  # the part of the lines taxed, as a fraction
    if subtotal > 0 and (apply_after or not company.is_us):
        kept = (subtotal - discount, subtotal)
    ratio = kept[0] / kept[1]
    tax_detail: dict[str, Any] = {}
    total_tax = ZERO
    request_tax = request.get("TxnTaxDetail") if isinstance(request, dict) else None
    override = None
    if isinstance(request_tax, dict):
        given = dec(request_tax.get("TotalTax"))
        # [U] A positive amount is honored (reference §3.3); so is 0 on create, where it can
        # only be the sender's figure (an update may echo an old TxnTaxDetail back).
        if given is not None and (given > 0 or (given == 0 and existing is None)):
            override = money(given)
    if company.is_us:
        taxable = sum((ln.amount for ln in lines if ln.tax_code == "TAX"), ZERO)
        if company.automated_sales_tax:
            # The invoice's ShipAddr, else its customer's (reference §3: a missing address is
            # the customer's); none: the company's own address (§3.3), never the BillAddr.
            ship = data.get("ShipAddr") or customer.get("ShipAddr")
            code_id = _ast_code_for(company, ship)
        else:
            code_id = ref_value((request_tax or {}).get("TxnTaxCodeRef")) or ref_value(
                ((existing or {}).get("TxnTaxDetail") or {}).get("TxnTaxCodeRef")
            )
            if code_id is not None:
                resolve(company, "TaxCode", code_id, "TxnTaxDetail.TxnTaxCodeRef")
        if code_id is not None and taxable > 0:
            tax_lines, total_tax = _tax_lines(company, {code_id: taxable}, kept, override, txn_date)
            tax_detail["TxnTaxCodeRef"] = {"value": code_id}
            tax_detail["TotalTax"] = total_tax
            tax_detail["TaxLine"] = tax_lines
        else:
            tax_detail["TotalTax"] = ZERO
    elif global_tax == "NotApplicable":
        tax_detail["TotalTax"] = ZERO
    else:
        bases: dict[str, Decimal] = {}
        for line in lines:
            if line.kind == "SalesItemLineDetail" and line.tax_code is not None:
                bases[line.tax_code] = bases.get(line.tax_code, ZERO) + line.amount
        tax_lines, total_tax = _tax_lines(company, bases, kept, override, txn_date)
        tax_detail["TotalTax"] = total_tax
        if tax_lines:
            tax_detail["TaxLine"] = tax_lines
        if global_tax == "TaxInclusive":
            # [U] We treat Line.Amount as net of tax and report the gross per line.
            for line, out_line in zip(lines, out_lines, strict=False):
                if line.kind == "SalesItemLineDetail" and line.tax_code is not None:
                    rates = _tax_rates(company, line.tax_code, txn_date)
                    pct = sum((p for _, p in rates), ZERO)
                    gross = money(line.amount * ratio * (1 + pct / 100))
                    out_line["SalesItemLineDetail"]["TaxInclusiveAmt"] = gross
    out["TxnTaxDetail"] = tax_detail

    total = money(subtotal - discount + total_tax)
    out["TotalAmt"] = total
    deposit = dec(data.get("Deposit"), ZERO) or ZERO
    if deposit:
        _check_deposit(company, deposit, total)
    out["Deposit"] = money(deposit)

    # addresses and delivery
    for key in ("BillAddr", "ShipAddr"):
        addr = data.get(key) or customer.get(key)
        if isinstance(addr, dict) and addr:
            addr = dict(addr)
            addr.setdefault("Id", company.next_id("PhysicalAddress"))
            out[key] = addr
    email = data.get("BillEmail")
    if email is None and customer.get("PrimaryEmailAddr"):
        email = dict(customer["PrimaryEmailAddr"])
    if email is not None:
        address = email.get("Address") if isinstance(email, dict) else None
        if not isinstance(address, str) or len(address) > 100:
            raise faults.invalid_value("BillEmail", "Invalid BillEmail")
        out["BillEmail"] = {"Address": address}
    out["EmailStatus"] = _enum(data, "EmailStatus", "NotSet")
    if out["EmailStatus"] == "NeedToSend" and "BillEmail" not in out:
        raise faults.required("BillEmail")
    # F1 shows NeedToPrint on an invoice created without a PrintStatus.
    out["PrintStatus"] = _enum(data, "PrintStatus", "NeedToPrint")
    for key in INVOICE_PASSTHROUGH:
        if key in data:
            out[key] = data[key]
    for key, entity in (("ClassRef", "Class"), ("DepartmentRef", "Department")):
        if ref_value(data.get(key)) is not None:
            out[key] = tracking_ref(company, entity, data[key], key)
    check_length(out, "PrivateNote", 4000)
    # Since 2024-09 an invoice that omits them takes the company's QuickBooks Payments
    # settings (reference §3.2, Intuit blog 2024-09-13). [U] Both follow the one company flag:
    # the API exposes no separate card and bank-transfer settings.
    out.setdefault("AllowOnlineCreditCardPayment", company.online_payments)
    out.setdefault("AllowOnlineACHPayment", company.online_payments)
    out.setdefault("AllowIPNPayment", False)
    out.setdefault("AllowOnlinePayment", False)
    out["CustomField"] = _custom_fields(company, data, existing)
    if existing is not None:
        for key in ("DeliveryInfo",):
            if key in existing:
                out[key] = existing[key]
        out["Id"] = existing["Id"]
        out["LinkedTxn"] = [dict(link) for link in existing.get("LinkedTxn", [])]
    else:
        out["LinkedTxn"] = []
    refresh_balance(company, out)
    out.pop("Id", None)
    return out


# [U] The link's shape: real links are https://connect.intuit.com/portal/app/CommerceNetwork/
# view/scs-v1-<hex>... (seen in public reports, not in the reference); the emulator serves the
# same path on itself, with a token derived from the realm and the invoice id.
PAY_PATH = "/portal/app/CommerceNetwork/view/"


def pay_token(company: Company, invoice_id: str) -> str:
    digest = hashlib.sha256(f"{company.realm_id}:{invoice_id}".encode()).hexdigest()
    return f"scs-v1-{digest[:40]}"


def invoice_link(company: Company, invoice: Entity, base_url: str) -> str | None:
    """The invoice's ``InvoiceLink`` (reference §3.2): "generated only if online payment is
    enabled and the invoice has a valid customer email". Online payment enabled means both the
    company (QuickBooks Payments) and the invoice (card or bank transfer allowed). [U] Whether
    a voided invoice keeps its link: QuickBooks' customer page then says there is nothing to
    pay, so the emulator drops it, as it does for an invoice allowing neither way to pay."""
    if not company.online_payments or invoice.get("_voided"):
        return None
    if not (invoice.get("AllowOnlineCreditCardPayment") or invoice.get("AllowOnlineACHPayment")):
        return None
    address = (invoice.get("BillEmail") or {}).get("Address")
    if not isinstance(address, str) or not EMAIL_OK.match(address):
        return None
    return f"{base_url}{PAY_PATH}{pay_token(company, str(invoice['Id']))}?locale=en_US"


def void_invoice(company: Company, invoice: Entity) -> None:
    """Zero all amounts and quantities and prepend "Voided" (Intuit; §12 F3)."""
    for line in invoice.get("Line", []):
        line["Amount"] = ZERO
        det = line.get("SalesItemLineDetail")
        if isinstance(det, dict):
            if "Qty" in det or "UnitPrice" in det:
                det["Qty"] = ZERO
            det.pop("UnitPrice", None)
            det.pop("TaxInclusiveAmt", None)
    invoice["TotalAmt"] = ZERO
    invoice["Balance"] = ZERO
    invoice["Deposit"] = ZERO
    invoice["TxnTaxDetail"] = {"TotalTax": ZERO}
    note = invoice.get("PrivateNote")
    invoice["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    invoice["LinkedTxn"] = []
    if "ExchangeRate" in invoice:
        invoice["HomeBalance"] = ZERO
        invoice["HomeTotalAmt"] = ZERO
    invoice["_voided"] = True


# ---------------------------------------------------------------- payment

PAYMENT_PASSTHROUGH = {"PaymentRefNum", "PaymentMethodRef", "PrivateNote", "CreditCardPayment"}


def build_payment(
    ctx: Ctx, data: dict[str, Any], existing: Entity | None, request: dict[str, Any]
) -> Entity:
    company = ctx.company
    out: dict[str, Any] = {}
    customer = resolve(company, "Customer", data.get("CustomerRef"), "CustomerRef")
    out["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    total = dec(data.get("TotalAmt"))
    if total is None:
        raise faults.required("TotalAmt")
    if total < 0:
        raise faults.business("The payment amount can't be negative.", "TotalAmt")
    total = money(total)
    customer_currency = ref_value(customer.get("CurrencyRef")) or company.home_currency
    currency = check_currency(company, ref_value(data.get("CurrencyRef")) or customer_currency)
    if currency != customer_currency:
        raise faults.business(
            "The currency of the payment must match the customer's currency.", "CurrencyRef"
        )
    out["CurrencyRef"] = {"value": currency, "name": currency_ref(currency)["name"]}
    if company.multicurrency:
        given = dec(data.get("ExchangeRate"))
        out["ExchangeRate"] = given if given else exchange_rate(company, currency)
    txn_date = parse_date(data.get("TxnDate"), "TxnDate") or ctx.today
    out["TxnDate"] = txn_date.isoformat()
    own_id = existing["Id"] if existing else None
    lines_out = []
    applied_total = Decimal(0)
    for raw in data.get("Line") or []:
        amount = dec(raw.get("Amount"))
        if amount is None:
            raise faults.required("Line.Amount")
        amount = money(amount)
        links = []
        for link in raw.get("LinkedTxn") or []:
            txn_type = link.get("TxnType")
            if txn_type != "Invoice":
                raise faults.unsupported(f"LinkedTxn of type {txn_type}")
            invoice = company.get("Invoice", link.get("TxnId"))
            if invoice is None:
                raise faults.invalid_reference("Invoice", str(link.get("TxnId")), "LinkedTxn")
            if ref_value(invoice.get("CustomerRef")) != customer["Id"]:
                raise faults.business(
                    "The invoice you're trying to apply the payment to belongs to another "
                    "customer.",
                    "LinkedTxn",
                )
            already = sum(
                (a for pid, a in applied_payments(company, invoice["Id"]) if pid != own_id),
                Decimal(0),
            )
            open_balance = invoice["TotalAmt"] - (dec(invoice.get("Deposit"), ZERO) or ZERO)
            if amount > open_balance - already:
                # [U] QBO's text for over-applying a payment.
                raise faults.business(
                    f"The amount applied ({amount}) exceeds the open balance of invoice "
                    f"{invoice['Id']} ({open_balance - already}).",
                    "Line.Amount",
                )
            links.append({"TxnId": invoice["Id"], "TxnType": "Invoice"})
        applied_total += amount
        lines_out.append({"Amount": amount, "LinkedTxn": links})
    if applied_total > total:
        raise faults.business(
            "The amount applied to invoices can't exceed the payment amount.", "TotalAmt"
        )
    out["Line"] = lines_out
    out["TotalAmt"] = total
    out["UnappliedAmt"] = money(total - applied_total)
    out["ProcessPayment"] = False
    deposit = data.get("DepositToAccountRef")
    if ref_value(deposit) is None:
        for account in company.table("Account").values():
            if account["Name"] == "Undeposited Funds":
                deposit = {"value": account["Id"]}
    if ref_value(deposit) is not None:
        account = resolve(company, "Account", deposit, "DepositToAccountRef")
        out["DepositToAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    for key in PAYMENT_PASSTHROUGH:
        if key in data:
            out[key] = data[key]
    return out


def linked_invoice_ids(payment: Entity | None) -> set[str]:
    ids: set[str] = set()
    for line in (payment or {}).get("Line", []):
        for link in line.get("LinkedTxn", []):
            if link.get("TxnType") == "Invoice":
                ids.add(str(link.get("TxnId")))
    return ids


def void_payment(payment: Entity) -> None:
    for line in payment.get("Line", []):
        line["Amount"] = ZERO
        line["LinkedTxn"] = []
    payment["TotalAmt"] = ZERO
    payment["UnappliedAmt"] = ZERO
    note = payment.get("PrivateNote")
    payment["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    payment["_voided"] = True


def unlink_invoice(payment: Entity, invoice_id: str) -> bool:
    """Remove the payment's application to ``invoice_id``; the amount becomes unapplied."""
    changed = False
    kept = []
    for line in payment.get("Line", []):
        links = [
            link
            for link in line.get("LinkedTxn", [])
            if not (link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id)
        ]
        if len(links) != len(line.get("LinkedTxn", [])):
            changed = True
            payment["UnappliedAmt"] = money(payment.get("UnappliedAmt", ZERO) + line["Amount"])
            if not links:
                continue
        kept.append({**line, "LinkedTxn": links})
    payment["Line"] = kept
    return changed


def _term_due_date(term: Entity | None, txn_date: date) -> date:
    """The DueDate QBO derives when none is sent: TxnDate + DueDays for a STANDARD term; for
    a DATE_DRIVEN one DayOfMonthDue (the month's last day if shorter), moved to the next month
    when TxnDate is past it or fewer than DueNextMonthDays days before it [U: whether the last
    day counts]; TxnDate + 30 with no term at all (F1)."""
    if term is None:
        return txn_date + timedelta(days=30)
    if term.get("Type") != "DATE_DRIVEN":
        return txn_date + timedelta(days=int(term.get("DueDays") or 0))
    day = int(term.get("DayOfMonthDue") or 1)
    year, month = txn_date.year, txn_date.month
    due = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    if (due - txn_date).days < int(term.get("DueNextMonthDays") or 0):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        due = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    return due


def _check_deposit(company: Company, deposit: Decimal, total: Decimal) -> None:
    """``Deposit`` "reduces Balance" and "needs Preferences.SalesFormsPrefs.AllowDeposit"
    (reference §3.2). [U] The faults for a deposit without that preference, a negative one
    or one over the total are not documented: a business validation error (6000) here, as
    QuickBooks answers other amounts it cannot take."""
    if not company.preferences.get("SalesFormsPrefs", {}).get("AllowDeposit", False):
        raise faults.business("Deposits are turned off for this company.", "Deposit")
    if deposit < 0 or deposit > total:
        raise faults.business(
            f"Deposit {deposit} must be between 0 and the invoice total {total}.", "Deposit"
        )
