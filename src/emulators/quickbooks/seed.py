"""Demo companies: a US company with automated sales tax, and a UK company with VAT codes
and multicurrency. Ids follow Intuit's sandbox where the reference names them (§11.13).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from .rules import CURRENCY_NAMES, currency_ref
from .store import Company, Entity

COUNTRY_3 = {"US": "USA", "GB": "GBR", "CA": "CAN", "AU": "AUS", "FR": "FRA", "DE": "DEU"}
TIMEZONES = {
    "US": "America/Los_Angeles",
    "GB": "Europe/London",
    "CA": "America/Toronto",
    "AU": "Australia/Sydney",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
}


def put(company: Company, entity: str, obj_id: str, obj: dict[str, Any], now: datetime) -> Entity:
    stored: Entity = {"domain": "QBO", "sparse": False, "Id": obj_id, "SyncToken": "0", **obj}
    company.stamp(stored, now, created=True)
    company.table(entity)[obj_id] = stored
    return stored


def tracking_preferences(class_tracking: str, track_locations: bool) -> dict[str, bool]:
    """``class_tracking``: "none", "invoice" (one class per transaction) or "line"."""
    if class_tracking not in ("none", "invoice", "line"):
        raise ValueError("class_tracking is none, invoice or line")
    return {
        "TrackDepartments": track_locations,
        "ClassTrackingPerTxn": class_tracking == "invoice",
        "ClassTrackingPerTxnLine": class_tracking == "line",
    }


def preferences(
    *,
    home_currency: str,
    multicurrency: bool,
    ast: bool,
    custom_txn_numbers: bool = False,
    custom_field_names: Sequence[str] = ("Crew #",),
    default_terms: str | None = "3",
    class_tracking: str = "none",
    track_locations: bool = False,
) -> Entity:
    """``custom_field_names``: the sales custom fields turned on, as DefinitionId 1, 2 ... (at
    most 3, QuickBooks' legacy string fields), in the nested shape of reference §7.6."""
    use = [
        {
            "Name": f"SalesFormsPrefs.UseSalesCustom{n}",
            "Type": "BooleanType",
            "BooleanValue": n <= len(custom_field_names),
        }
        for n in (3, 2, 1)
    ]
    names = [
        {
            "Name": f"SalesFormsPrefs.SalesCustomName{n}",
            "Type": "StringType",
            "StringValue": name,
        }
        for n, name in enumerate(custom_field_names[:3], start=1)
    ]
    sales: dict[str, Any] = {
        "CustomField": [{"CustomField": use}, {"CustomField": names}],
        "CustomTxnNumbers": custom_txn_numbers,
        "AllowDeposit": True,
        "AllowDiscount": True,
        "AllowEstimates": True,
        "AllowServiceDate": False,
        "AllowShipping": False,
        "DefaultCustomerMessage": "Thank you for your business and have a great day!",
        "ETransactionEnabledStatus": "NotApplicable",
        "ETransactionPaymentEnabled": False,
        "IPNSupportEnabled": False,
        "EmailCopyToCompany": False,
        "UsingPriceLevels": False,
        "UsingProgressInvoicing": False,
    }
    if default_terms is not None:
        sales["DefaultTerms"] = {"value": default_terms}
    return {
        "AccountingInfoPrefs": tracking_preferences(class_tracking, track_locations)
        | {
            "CustomerTerminology": "Customers",
            "FirstMonthOfFiscalYear": "January",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": sales,
        "EmailMessagesPrefs": {
            "InvoiceMessage": {
                "Subject": "Invoice [Invoice No.] from [Company Name]",
                "Message": "Your invoice is attached.",
            }
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True},
        "TimeTrackingPrefs": {"UseServices": True, "WorkWeekStartDate": "Monday"},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": ast},
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": multicurrency,
            "HomeCurrency": {"value": home_currency},
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"}]},
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
    }


def company_info(
    realm_id: str, name: str, country: str, tz_name: str, addr: dict[str, Any], email: str
) -> Entity:
    address = {**addr, "Country": COUNTRY_3.get(country, country)}
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": {"Id": "1", **address},
        "CustomerCommunicationAddr": {"Id": "1", **address},
        "LegalAddr": {"Id": "1", **address},
        "CustomerCommunicationEmailAddr": {"Address": email},
        "PrimaryPhone": {},
        "CompanyStartDate": "2024-01-01",
        "FiscalYearStartMonth": "January",
        "Country": country,
        "Email": {"Address": email},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "DefaultTimeZone": tz_name,
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IsQbdtMigrated", "Value": "false"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "PayrollFeature", "Value": "false"},
            {"Name": "AccountantFeature", "Value": "false"},
            {"Name": "ItemCategoriesFeature", "Value": "true"},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
    }


def _common(company: Company, now: datetime) -> None:
    accounts = [
        ("1", "Services", "Income", "ServiceFeeIncome", "Revenue"),
        ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
        ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
        ("79", "Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
        ("86", "Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
        ("35", "Checking", "Bank", "Checking", "Asset"),
    ]
    for acc_id, name, acc_type, sub, cls in accounts:
        put(
            company,
            "Account",
            acc_id,
            {
                "Name": name,
                "FullyQualifiedName": name,
                "Active": True,
                "AccountType": acc_type,
                "AccountSubType": sub,
                "Classification": cls,
                "CurrentBalance": Decimal(0),
                "CurrencyRef": currency_ref(company.home_currency),
                "SubAccount": False,
            },
            now,
        )
    for term_id, name, days in (
        ("1", "Due on receipt", 0),
        ("2", "Net 15", 15),
        ("3", "Net 30", 30),
        ("4", "Net 60", 60),
        ("5", "Net 7", 7),
    ):
        put(
            company,
            "Term",
            term_id,
            {"Name": name, "Active": True, "Type": "STANDARD", "DueDays": days, "DiscountDays": 0},
            now,
        )


def _tracking(company: Company, entity: str, name: str, parent: str | None = None) -> Entity:
    """A Class or a Department (location), as QuickBooks answers it."""
    row: dict[str, Any] = {"Name": name, "Active": True, f"Sub{entity}": parent is not None}
    full = name
    if parent is not None:
        row["ParentRef"] = {"value": parent}
        full = f"{company.table(entity)[parent]['FullyQualifiedName']}:{name}"
    return row | {"FullyQualifiedName": full}


def _item(name: str, price: str, taxable: bool, description: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Name": name,
        "FullyQualifiedName": name,
        "Active": True,
        "Type": "Service",
        "UnitPrice": Decimal(price),
        "IncomeAccountRef": {"value": "1", "name": "Services"},
        "PurchaseCost": Decimal(0),
        "Taxable": taxable,
        "TrackQtyOnHand": False,
    }
    if description:
        item["Description"] = description
    return item


def _customer(
    company: Company, name: str, email: str | None, addr: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "DisplayName": name,
        "FullyQualifiedName": name,
        "PrintOnCheckName": name,
        "CompanyName": name,
        "Active": True,
        "Taxable": company.is_us,
        "Job": False,
        "BillWithParent": False,
        "Balance": Decimal(0),
        "BalanceWithJobs": Decimal(0),
        "CurrencyRef": currency_ref(company.home_currency),
        "PreferredDeliveryMethod": "Print",
        "IsProject": False,
    }
    if email:
        obj["PrimaryEmailAddr"] = {"Address": email}
    if addr:
        obj["BillAddr"] = {"Id": company.next_id("PhysicalAddress"), **addr}
        obj["ShipAddr"] = {"Id": company.next_id("PhysicalAddress"), **addr}
    obj.update(extra)
    return obj


def demo_us(realm_id: str, now: datetime) -> Company:
    company = Company(
        realm_id=realm_id,
        name="Dealbooks Demo Inc.",
        country="US",
        home_currency="USD",
        timezone=TIMEZONES["US"],
    )
    company.preferences = preferences(
        home_currency="USD",
        multicurrency=False,
        ast=True,
        custom_field_names=("Crew #", "PO Number"),
        class_tracking="invoice",
        track_locations=True,
    )
    company.company_info = company_info(
        realm_id,
        "Dealbooks Demo Inc.",
        "US",
        TIMEZONES["US"],
        {
            "Line1": "123 Sierra Way",
            "City": "San Pablo",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "87999",
        },
        "noreply@dealbooks-demo.example",
    )
    _common(company, now)
    for item_id, (name, price, taxable, desc) in {
        "1": ("Services", "0", False, None),
        "2": ("Hours", "80", False, "Consulting hours"),
        "3": ("Design", "75", False, "Custom Design"),
        "4": ("Installation", "50", False, "Installation of landscape design"),
        "5": ("Rock Fountain", "275", True, "Rock Fountain"),
        "11": ("Pump", "15", True, "Fountain Pump"),
    }.items():
        put(company, "Item", item_id, _item(name, price, taxable, desc), now)
    # Classes (one per invoice) and locations, as a landscaper with two yards tracks them.
    for class_id, name, parent in (
        ("1", "Landscaping", None),
        ("2", "Design", "1"),
        ("3", "Maintenance", None),
    ):
        put(company, "Class", class_id, _tracking(company, "Class", name, parent), now)
    for location_id, name in (("1", "San Pablo"), ("2", "Oakland")):
        put(company, "Department", location_id, _tracking(company, "Department", name), now)
    # US tax: line codes are the pseudo codes TAX/NON; AST picks the state code below.
    put(
        company,
        "TaxCode",
        "TAX",
        {"Name": "TAX", "Description": "TAX", "Active": True, "Taxable": True, "TaxGroup": False},
        now,
    )
    put(
        company,
        "TaxCode",
        "NON",
        {"Name": "NON", "Description": "NON", "Active": True, "Taxable": False, "TaxGroup": False},
        now,
    )
    rates = [
        ("1", "California", "7.25"),
        ("2", "San Mateo County", "1"),
        ("3", "New York State", "4"),
        ("4", "New York City", "4.875"),
        ("5", "Texas", "6.25"),
    ]
    for rate_id, name, value in rates:
        put(
            company,
            "TaxRate",
            rate_id,
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "RateValue": Decimal(value),
                "AgencyRef": {"value": "1"},
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
            now,
        )
    for code_id, name, state, rate_ids in (
        ("2", "California", "CA", ["1", "2"]),
        ("3", "New York", "NY", ["3", "4"]),
        ("4", "Texas", "TX", ["5"]),
    ):
        put(
            company,
            "TaxCode",
            code_id,
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "Taxable": True,
                "TaxGroup": True,
                "_state": state,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {
                                "value": r,
                                "name": {x[0]: x[1] for x in rates}[r],
                            },
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                        for r in rate_ids
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
            now,
        )
    bayshore = {
        "Line1": "4581 Finch St.",
        "City": "Bayshore",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "94326",
    }
    customers = {
        "1": _customer(
            company,
            "Amy's Bird Sanctuary",
            "Birds@Intuitim.com",
            bayshore,
            GivenName="Amy",
            FamilyName="Lauterbach",
            Notes="Note added via API",
        ),
        "2": _customer(
            company,
            "Bill's Windsurf Shop",
            "Surf@Intuitim.com",
            {
                "Line1": "12 Ocean Dr.",
                "City": "Half Moon Bay",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94213",
            },
        ),
        "3": _customer(
            company,
            "Cool Cars",
            "Cool_Cars@intuit.com",
            {
                "Line1": "65 Ocean Dr.",
                "City": "Half Moon Bay",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94213",
            },
            SalesTermRef={"value": "2", "name": "Net 15"},
        ),
        "8": _customer(
            company,
            "0969 Ocean View Road",
            "Sporting_goods@intuit.com",
            {
                "Line1": "370 Easy St.",
                "City": "Middlefield",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94482",
            },
        ),
        "10": _customer(
            company,
            "Jeff's Jalopies",
            "Jalopies@intuit.com",
            {
                "Line1": "12 Willow Rd.",
                "City": "Menlo Park",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94305",
            },
        ),
        "24": _customer(
            company,
            "Sushi by Katsuyuki",
            "Sushi@intuit.com",
            {
                "Line1": "898 Elm St.",
                "City": "Maplewood",
                "CountrySubDivisionCode": "NY",
                "PostalCode": "07040",
            },
            SalesTermRef={"value": "3", "name": "Net 30"},
        ),
        "29": _customer(
            company,
            "Acme Corporation",
            "ap@acme.example",
            {
                "Line1": "1 Main St",
                "City": "Springfield",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94105",
            },
        ),
    }
    for cust_id, obj in customers.items():
        put(company, "Customer", cust_id, obj, now)
    put(
        company,
        "Vendor",
        "30",
        {
            "DisplayName": "Books by Bessie",
            "PrintOnCheckName": "Books by Bessie",
            "Active": True,
            "Balance": Decimal(0),
            "Vendor1099": False,
        },
        now,
    )
    put(
        company,
        "Employee",
        "55",
        {
            "DisplayName": "Emily Platt",
            "GivenName": "Emily",
            "FamilyName": "Platt",
            "PrintOnCheckName": "Emily Platt",
            "Active": True,
        },
        now,
    )
    company.counters["Customer"] = 60
    company.counters["Invoice"] = 129
    company.next_doc_number = 1037
    return company


#: The UK standard rate's history, as a TaxRate's EffectiveTaxRate [U: entry shape and date
#: format as QuickBooks writes other dates]: 17.5 %, 15 % (1 Dec 2008 - 31 Dec 2009), 17.5 %
#: again, 20 % since 4 Jan 2011.
UK_STANDARD_RATE_HISTORY = [
    {"RateValue": Decimal("17.5"), "EndDate": "2008-11-30T00:00:00Z"},
    {
        "RateValue": Decimal("15"),
        "EffectiveDate": "2008-12-01T00:00:00Z",
        "EndDate": "2009-12-31T00:00:00Z",
    },
    {
        "RateValue": Decimal("17.5"),
        "EffectiveDate": "2010-01-01T00:00:00Z",
        "EndDate": "2011-01-03T00:00:00Z",
    },
    {"RateValue": Decimal("20"), "EffectiveDate": "2011-01-04T00:00:00Z"},
]


def demo_intl(realm_id: str, now: datetime) -> Company:
    company = Company(
        realm_id=realm_id,
        name="Dealbooks Demo Ltd",
        country="GB",
        home_currency="GBP",
        timezone=TIMEZONES["GB"],
    )
    company.preferences = preferences(
        home_currency="GBP",
        multicurrency=True,
        ast=False,
        custom_field_names=("PO Number",),
        class_tracking="line",
    )
    company.company_info = company_info(
        realm_id,
        "Dealbooks Demo Ltd",
        "GB",
        TIMEZONES["GB"],
        {"Line1": "1 Long Acre", "City": "London", "PostalCode": "WC2E 9LH"},
        "noreply@dealbooks-demo.example",
    )
    _common(company, now)
    for class_id, name in (("1", "Consulting"), ("2", "Training")):  # a class per line
        put(company, "Class", class_id, _tracking(company, "Class", name), now)
    for cur_id, code in (("1", "EUR"), ("2", "USD")):
        put(
            company,
            "CompanyCurrency",
            cur_id,
            {"Code": code, "Name": CURRENCY_NAMES[code], "Active": True},
            now,
        )
    rates = [
        ("1", "20.0% S (sales)", "20"),
        ("2", "5.0% R (sales)", "5"),
        ("3", "0.0% Z (sales)", "0"),
        ("4", "Exempt (sales)", "0"),
    ]
    for rate_id, name, value in rates:
        put(
            company,
            "TaxRate",
            rate_id,
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "RateValue": Decimal(value),
                "AgencyRef": {"value": "1"},
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
                **({"EffectiveTaxRate": UK_STANDARD_RATE_HISTORY} if rate_id == "1" else {}),
            },
            now,
        )
    for code_id, name, rate_ids in (
        ("2", "20.0% S", ["1"]),
        ("3", "5.0% R", ["2"]),
        ("4", "0.0% Z", ["3"]),
        ("5", "Exempt", ["4"]),
        ("6", "No VAT", []),
    ):
        put(
            company,
            "TaxCode",
            code_id,
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "Taxable": bool(rate_ids),
                "TaxGroup": False,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {
                                "value": r,
                                "name": {x[0]: x[1] for x in rates}[r],
                            },
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                        for r in rate_ids
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
            now,
        )
    for item_id, (name, price, desc) in {
        "1": ("Services", "0", None),
        "2": ("Consulting", "120", "Consulting day rate"),
        "3": ("Licence", "500", "Annual licence"),
        "4": ("Training", "350", "Training day"),
    }.items():
        item = _item(name, price, True, desc)
        item["SalesTaxCodeRef"] = {"value": "2", "name": "20.0% S"}
        put(company, "Item", item_id, item, now)
    london = {"Line1": "10 Fleet St", "City": "London", "PostalCode": "EC4Y 1AA", "Country": "GB"}
    customers = {
        "1": _customer(company, "Brightwater Ltd", "accounts@brightwater.example", london),
        "2": _customer(
            company,
            "O'Brien & Sons",
            "finance@obrien.example",
            london,
            SalesTermRef={"value": "2", "name": "Net 15"},
        ),
        "3": _customer(
            company,
            "Müller GmbH",
            "buchhaltung@mueller.example",
            {"Line1": "Hauptstr. 1", "City": "Berlin", "PostalCode": "10115", "Country": "DE"},
            CurrencyRef=currency_ref("EUR"),
        ),
        "4": _customer(
            company,
            "Acme Inc",
            "ap@acme.example",
            {
                "Line1": "1 Main St",
                "City": "Springfield",
                "PostalCode": "94105",
                "CountrySubDivisionCode": "CA",
                "Country": "US",
            },
            CurrencyRef=currency_ref("USD"),
        ),
    }
    for cust_id, obj in customers.items():
        put(company, "Customer", cust_id, obj, now)
    company.next_doc_number = 1001
    return company


def new_company(
    realm_id: str,
    now: datetime,
    *,
    name: str,
    country: str,
    home_currency: str,
    multicurrency: bool,
    custom_txn_numbers: bool = False,
) -> Company:
    """An almost empty company (accounts, terms, a "Services" item, tax codes)."""
    base = demo_us(realm_id, now) if country == "US" else demo_intl(realm_id, now)
    company = Company(
        realm_id=realm_id,
        name=name,
        country=country,
        home_currency=home_currency,
        timezone=TIMEZONES.get(country, "UTC"),
    )
    company.preferences = preferences(
        home_currency=home_currency,
        multicurrency=multicurrency,
        ast=country == "US",
        custom_txn_numbers=custom_txn_numbers,
        custom_field_names=(),
    )
    info = dict(base.company_info)
    info["CompanyName"] = info["LegalName"] = name
    info["Country"] = country
    info["DefaultTimeZone"] = company.timezone
    company.company_info = info
    for entity in ("Account", "Term", "TaxCode", "TaxRate"):
        company.entities[entity] = base.table(entity)
    company.entities["Item"] = {"1": base.table("Item")["1"]}
    if multicurrency:
        company.entities["CompanyCurrency"] = {
            k: v for k, v in base.table("CompanyCurrency").items() if v["Code"] != home_currency
        }
    for row in company.table("Account").values():
        row["CurrencyRef"] = currency_ref(home_currency)
    return company
