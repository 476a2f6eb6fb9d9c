"""Validation shared by all entities, and the name-list entities (customer, item, term...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import faults
from .faults import QBOError
from .store import Company, Entity
from .wire import dec

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "CHF": "Swiss Franc",
    "JPY": "Japanese Yen",
    "SEK": "Swedish Krona",
    "NOK": "Norwegian Krone",
    "DKK": "Danish Krone",
    "INR": "Indian Rupee",
    "MXN": "Mexican Peso",
}

#: US dollars per unit; cross rates to any home currency are derived from it.
USD_PER_UNIT = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CAD": Decimal("0.74"),
    "AUD": Decimal("0.66"),
    "NZD": Decimal("0.61"),
    "CHF": Decimal("1.13"),
    "JPY": Decimal("0.0067"),
    "SEK": Decimal("0.095"),
    "NOK": Decimal("0.094"),
    "DKK": Decimal("0.145"),
    "INR": Decimal("0.012"),
    "MXN": Decimal("0.058"),
}

#: Fields QBO computes or owns; sent values are silently ignored (§1.3).
READ_ONLY = {
    "Id",
    "SyncToken",
    "sparse",
    "domain",
    "MetaData",
    "TotalAmt",
    "Balance",
    "HomeBalance",
    "HomeTotalAmt",
    "InvoiceLink",
    "DeliveryInfo",
    "status",
    "FullyQualifiedName",
    "BalanceWithJobs",
    "Level",
    "UnappliedAmt",
    "time",
}


@dataclass
class Ctx:
    company: Company
    now: datetime
    include: set[str] = field(default_factory=set)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.company.tz).date()


# ---------------------------------------------------------------- request helpers


def clean(
    body: dict[str, Any], extra_read_only: set[str] | None = None, keep: set[str] | None = None
) -> dict[str, Any]:
    """Drop read-only members and treat ``""`` as absent (python-quickbooks sends both)."""
    drop = (READ_ONLY | (extra_read_only or set())) - (keep or set())
    return {k: v for k, v in body.items() if k not in drop and v != "" and v is not None}


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        if value in (None, ""):
            return None
        return str(value)
    if isinstance(ref, str | int) and ref != "":
        return str(ref)
    return None


REF_LABELS = {
    "Customer": "Names",
    "Vendor": "Names",
    "Employee": "Names",
    "Item": "Item",
    "Term": "Term",
    "TaxCode": "TaxCode",
    "TaxRate": "TaxRate",
    "Account": "Account",
    "Invoice": "Invoice",
    "Class": "Class",
    "Department": "Department",
}


def tracking_ref(company: Company, entity: str, ref: Any, element: str) -> dict[str, str]:
    """A ClassRef or DepartmentRef as QuickBooks records it: checked (unknown -> 2500, inactive
    -> 610) and named by the full name. [U] Whether QuickBooks refuses one while the company's
    tracking preference is off is not documented: taken as recorded all the same."""
    obj = resolve(company, entity, ref, element)
    return {"value": obj["Id"], "name": obj.get("FullyQualifiedName") or obj["Name"]}


def build_tracking(entity: str) -> Callable[[Ctx, dict[str, Any], Entity | None], Entity]:
    """Class and Department (a location): a name unique under its parent, sub-levels by
    ParentRef, FullyQualifiedName "Parent:Child" (the Class and Department API pages)."""

    def build(ctx: Ctx, data: dict[str, Any], existing: Entity | None) -> Entity:
        name = data.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise faults.required("Name")
        active = data.get("Active", True) is not False
        out: dict[str, Any] = {"Name": name.strip(), "Active": active}
        check_length(out, "Name", 100)
        full = out["Name"]
        if ref_value(data.get("ParentRef")) is not None:
            parent = resolve(ctx.company, entity, data["ParentRef"], "ParentRef")
            out["ParentRef"] = {"value": parent["Id"]}
            full = f"{parent.get('FullyQualifiedName') or parent['Name']}:{full}"
        out[f"Sub{entity}"] = "ParentRef" in out
        out["FullyQualifiedName"] = full
        self_id = existing["Id"] if existing else None
        for other in ctx.company.table(entity).values():
            same = str(other.get("FullyQualifiedName")).casefold() == full.casefold()
            if other["Id"] != self_id and same:
                raise faults.duplicate_name("name")
        return out

    return build


def resolve(company: Company, entity: str, ref: Any, element: str) -> Entity:
    """A referenced entity; unknown id -> 2500, inactive -> 610."""
    value = ref_value(ref)
    if value is None:
        raise faults.required(element)
    obj = company.get(entity, value)
    if obj is None:
        raise faults.invalid_reference(REF_LABELS.get(entity, entity), value, element)
    if obj.get("Active") is False:
        raise faults.object_not_found()
    return obj


def name_ref(obj: Entity, name_key: str = "Name") -> dict[str, str]:
    return {"value": obj["Id"], "name": obj.get(name_key) or obj.get("DisplayName") or ""}


def parse_date(value: Any, element: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise faults.invalid_value(element, f"Invalid date {value} for {element}") from exc


def check_length(data: dict[str, Any], key: str, max_len: int) -> None:
    value = data.get(key)
    if isinstance(value, str) and len(value) > max_len:
        raise faults.string_length(key, max_len, len(value))


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def exchange_rate(company: Company, code: str) -> Decimal:
    """Home-currency units per one unit of ``code`` (company override, else the fixed table)."""
    if code == company.home_currency:
        return Decimal("1")
    if code in company.exchange_rates:
        return company.exchange_rates[code]
    src = USD_PER_UNIT.get(code, Decimal("1"))
    home = USD_PER_UNIT.get(company.home_currency, Decimal("1"))
    return (src / home).quantize(Decimal("0.000001"))


def active_currencies(company: Company) -> set[str]:
    codes = {company.home_currency}
    if company.multicurrency:
        codes |= {
            c["Code"] for c in company.table("CompanyCurrency").values() if c.get("Active", True)
        }
    return codes


def check_currency(company: Company, code: str | None, element: str = "CurrencyRef") -> str:
    if code is None:
        return company.home_currency
    code = code.upper()
    if not company.multicurrency:
        if code != company.home_currency:
            # [U] QBO's exact fault for a foreign currency without multicurrency.
            raise faults.business(
                f"Multicurrency is not enabled for this company; {code} can't be used. "
                f"Use the home currency {company.home_currency}.",
                element,
            )
        return code
    if code not in active_currencies(company):
        raise faults.invalid_reference("Currency", code, element)
    return code


# ---------------------------------------------------------------- name lists

NAME_FORBIDDEN = re.compile(r"[:\t\n]")
EMAIL_OK = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def emails_ok(text: object) -> bool:
    """What QuickBooks takes in a customer's email: an "@" and a "." (reference §6), 100
    characters; so also several addresses separated by commas, as its own forms keep them."""
    return isinstance(text, str) and "@" in text and "." in text and len(text) <= 100


PERSON_FIELDS = {
    "Title",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "Suffix",
    "DisplayName",
    "CompanyName",
    "PrintOnCheckName",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "AlternatePhone",
    "Mobile",
    "Fax",
    "WebAddr",
    "BillAddr",
    "ShipAddr",
    "Notes",
    "Active",
    "Job",
    "BillWithParent",
    "ParentRef",
    "SalesTermRef",
    "PaymentMethodRef",
    "CurrencyRef",
    "Taxable",
    "DefaultTaxCodeRef",
    "TaxExemptionReasonId",
    "PrimaryTaxIdentifier",
    "SecondaryTaxIdentifier",
    "ResaleNum",
    "BusinessNumber",
    "GSTIN",
    "GSTRegistrationType",
    "PreferredDeliveryMethod",
    "IsProject",
    "Vendor1099",
    "AcctNum",
    "EmployeeNumber",
    "SSN",
    "HiredDate",
    "ReleasedDate",
    "BirthDate",
    "Gender",
}

NAME_ENTITIES = ("Customer", "Vendor", "Employee")


def _display_name(data: dict[str, Any]) -> str | None:
    name = data.get("DisplayName")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [data.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    joined = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
    return joined or None


def _assign_addr_ids(company: Company, obj: dict[str, Any]) -> None:
    for key in ("BillAddr", "ShipAddr"):
        addr = obj.get(key)
        if isinstance(addr, dict) and addr:
            addr = dict(addr)
            addr.setdefault("Id", company.next_id("PhysicalAddress"))
            obj[key] = addr


def check_unique_name(
    company: Company, name: str, entities: tuple[str, ...], self_id: str | None, kind: str
) -> None:
    folded = name.casefold()
    for entity in entities:
        for obj in company.table(entity).values():
            if obj["Id"] == self_id and entity == entities[0]:
                continue
            other = obj.get("DisplayName") or obj.get("Name") or ""
            if other.casefold() == folded:
                raise faults.duplicate_name(kind)


def build_person(ctx: Ctx, entity: str, data: dict[str, Any], existing: Entity | None) -> Entity:
    """Customer, Vendor or Employee."""
    company = ctx.company
    out = {k: v for k, v in data.items() if k in PERSON_FIELDS}
    name = _display_name(out)
    if name is None:
        raise faults.required("DisplayName")
    if NAME_FORBIDDEN.search(name):
        raise faults.invalid_value(
            "DisplayName",
            "Invalid character in name: names cannot contain a colon, tab or newline.",
        )
    if len(name) > 500:
        raise faults.string_length("DisplayName", 500, len(name))
    check_length(out, "CompanyName", 100)
    self_id = existing["Id"] if existing else None
    order = (entity, *[e for e in NAME_ENTITIES if e != entity])
    check_unique_name(company, name, order, self_id, "name")
    out["DisplayName"] = name
    email = out.get("PrimaryEmailAddr")
    if email is not None:
        address = email.get("Address") if isinstance(email, dict) else None
        if not emails_ok(address):
            # [U] QBO's code for a malformed email.
            raise faults.invalid_value(
                "PrimaryEmailAddr", f"Invalid Email Address format: {address}"
            )
        out["PrimaryEmailAddr"] = {"Address": address}
    out.setdefault("PrintOnCheckName", name)
    out["FullyQualifiedName"] = name
    out.setdefault("Active", True)
    if entity == "Customer":
        if out.get("SalesTermRef") is not None:
            term = resolve(company, "Term", out["SalesTermRef"], "SalesTermRef")
            out["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
        if out.get("DefaultTaxCodeRef") is not None:
            code = resolve(company, "TaxCode", out["DefaultTaxCodeRef"], "DefaultTaxCodeRef")
            out["DefaultTaxCodeRef"] = {"value": code["Id"]}
        requested = ref_value(out.get("CurrencyRef"))
        previous = ref_value(existing.get("CurrencyRef")) if existing else None
        currency = check_currency(company, requested or previous)
        if previous is not None and currency != previous:
            # "Once set, it cannot be changed" [C]; the fault text is [U].
            raise faults.business(
                "You can't change the currency of a customer once it is set.", "CurrencyRef"
            )
        out["CurrencyRef"] = currency_ref(currency)
        out.setdefault("Taxable", company.is_us)
        out.setdefault("Job", False)
        out.setdefault("BillWithParent", False)
        out.setdefault("PreferredDeliveryMethod", "Print")
        out.setdefault("IsProject", False)
        out["Balance"] = Decimal(0)
        out["BalanceWithJobs"] = Decimal(0)
    if entity == "Vendor":
        out["Balance"] = Decimal(0)
        out.setdefault("Vendor1099", False)
    _assign_addr_ids(company, out)
    if existing:
        for key in ("BillAddr", "ShipAddr"):
            old, new = existing.get(key), out.get(key)
            if isinstance(old, dict) and isinstance(new, dict) and "Id" in old and new != old:
                new.setdefault("Id", old["Id"])
    return out


ITEM_FIELDS = {
    "Name",
    "Description",
    "Active",
    "Type",
    "UnitPrice",
    "RatePercent",
    "PurchaseDesc",
    "PurchaseCost",
    "IncomeAccountRef",
    "ExpenseAccountRef",
    "AssetAccountRef",
    "Taxable",
    "SalesTaxIncluded",
    "SalesTaxCodeRef",
    "PurchaseTaxCodeRef",
    "TrackQtyOnHand",
    "QtyOnHand",
    "InvStartDate",
    "Sku",
    "ParentRef",
    "SubItem",
    "ClassRef",
}

ITEM_TYPES = {"Service", "NonInventory", "Inventory", "Group", "Category"}


def build_item(ctx: Ctx, data: dict[str, Any], existing: Entity | None) -> Entity:
    company = ctx.company
    out = {k: v for k, v in data.items() if k in ITEM_FIELDS}
    name = out.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise faults.required("Name")
    if NAME_FORBIDDEN.search(name):
        raise faults.invalid_value("Name", "Invalid character in name")
    check_length(out, "Name", 100)
    check_unique_name(company, name, ("Item",), existing["Id"] if existing else None, "item")
    item_type = out.setdefault("Type", "Service")
    if item_type not in ITEM_TYPES:
        raise faults.invalid_value("Type", f"Invalid Type {item_type}")
    if item_type in {"Service", "NonInventory", "Inventory"}:
        account = resolve(company, "Account", out.get("IncomeAccountRef"), "IncomeAccountRef")
        out["IncomeAccountRef"] = name_ref(account)
    if out.get("ExpenseAccountRef") is not None:
        out["ExpenseAccountRef"] = name_ref(
            resolve(company, "Account", out["ExpenseAccountRef"], "ExpenseAccountRef")
        )
    if out.get("SalesTaxCodeRef") is not None:
        code = resolve(company, "TaxCode", out["SalesTaxCodeRef"], "SalesTaxCodeRef")
        out["SalesTaxCodeRef"] = name_ref(code)
    out["UnitPrice"] = dec(out.get("UnitPrice"), Decimal(0))
    out["PurchaseCost"] = dec(out.get("PurchaseCost"), Decimal(0))
    out["FullyQualifiedName"] = name
    out.setdefault("Active", True)
    out.setdefault("Taxable", False)
    out.setdefault("TrackQtyOnHand", False)
    return out


TERM_FIELDS = {
    "Name",
    "Active",
    "Type",
    "DueDays",
    "DiscountPercent",
    "DiscountDays",
    "DayOfMonthDue",
    "DueNextMonthDays",
    "DiscountDayOfMonth",
}


def build_term(ctx: Ctx, data: dict[str, Any], existing: Entity | None) -> Entity:
    out = {k: v for k, v in data.items() if k in TERM_FIELDS}
    name = out.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise faults.required("Name")
    check_length(out, "Name", 31)
    self_id = existing["Id"] if existing else None
    for other in ctx.company.table("Term").values():
        if other["Id"] != self_id and other["Name"].casefold() == name.casefold():
            raise faults.duplicate_name("name")
    if out.get("DayOfMonthDue") is not None:
        out["Type"] = "DATE_DRIVEN"
        out["DayOfMonthDue"] = int(out["DayOfMonthDue"])
    else:
        out["Type"] = "STANDARD"
        out["DueDays"] = int(dec(out.get("DueDays"), Decimal(0)) or 0)
    out.setdefault("Active", True)
    return out


ACCOUNT_FIELDS = {
    "Name",
    "Active",
    "AccountType",
    "AccountSubType",
    "Classification",
    "Description",
    "AcctNum",
    "CurrencyRef",
}


def build_account(ctx: Ctx, data: dict[str, Any], existing: Entity | None) -> Entity:
    out = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
    name = out.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise faults.required("Name")
    if not out.get("AccountType"):
        raise faults.required("AccountType")
    self_id = existing["Id"] if existing else None
    for other in ctx.company.table("Account").values():
        if other["Id"] != self_id and other["Name"].casefold() == name.casefold():
            raise faults.duplicate_name("name")
    out["FullyQualifiedName"] = name
    out.setdefault("Active", True)
    out.setdefault("CurrentBalance", Decimal(0))
    out["CurrencyRef"] = currency_ref(ctx.company.home_currency)
    return out


def build_company_currency(ctx: Ctx, data: dict[str, Any], existing: Entity | None) -> Entity:
    company = ctx.company
    if not company.multicurrency:
        raise faults.business("Multicurrency is not enabled for this company.")
    code = str(data.get("Code") or (existing or {}).get("Code") or "").upper()
    if not code:
        raise faults.required("Code")
    if code not in CURRENCY_NAMES or code == company.home_currency:
        raise faults.invalid_value("Code", f"Invalid currency code {code}")
    self_id = existing["Id"] if existing else None
    for other in company.table("CompanyCurrency").values():
        if other["Id"] != self_id and other["Code"] == code:
            raise faults.duplicate_name("name")
    return {
        "Code": code,
        "Name": CURRENCY_NAMES[code],
        "Active": bool(data.get("Active", True)),
    }


def mask_tax_identifier(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 5:
        return "XXXXXX" + value[-5:]
    return value


def raise_if(condition: bool, error: QBOError) -> None:
    if condition:
        raise error
