"""In-memory state: one ``Company`` per realm, each with its own lock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from .clock import Clock, meta_time, zone

Entity = dict[str, Any]


@dataclass
class Change:
    realm_id: str
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | Void | Emailed | Merge
    at: datetime


@dataclass
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Company:
    realm_id: str
    name: str
    country: str  # ISO 3166 alpha-2, e.g. "US", "GB"
    home_currency: str
    timezone: str
    entities: dict[str, dict[str, Entity]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, datetime]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    next_doc_number: int = 1001
    preferences: Entity = field(default_factory=dict)
    company_info: Entity = field(default_factory=dict)
    #: home-currency units per one unit of the foreign currency
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)
    requestids: dict[str, StoredResponse] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    #: [U] Intuit's duplicate-DocNumber check; on by default, toggled by the admin API.
    reject_duplicate_doc_numbers: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def is_us(self) -> bool:
        return self.country == "US"

    # ---------------------------------------------------------------- prefs

    @property
    def multicurrency(self) -> bool:
        return bool(self.preferences.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))

    @property
    def custom_txn_numbers(self) -> bool:
        return bool(self.preferences.get("SalesFormsPrefs", {}).get("CustomTxnNumbers"))

    @property
    def automated_sales_tax(self) -> bool:
        return bool(self.preferences.get("TaxPrefs", {}).get("PartnerTaxEnabled"))

    @property
    def online_payments(self) -> bool:
        """The company takes online payments (QuickBooks Payments): the Preferences flag
        ``SalesFormsPrefs.ETransactionPaymentEnabled`` (reference §7; [U] that this flag, of
        all the XSD's, is the one QuickBooks Payments sets)."""
        return bool(self.preferences.get("SalesFormsPrefs", {}).get("ETransactionPaymentEnabled"))

    # ---------------------------------------------------------------- entities

    def table(self, entity: str) -> dict[str, Entity]:
        return self.entities.setdefault(entity, {})

    def get(self, entity: str, entity_id: Any) -> Entity | None:
        return self.table(entity).get(str(entity_id))

    def next_id(self, entity: str) -> str:
        current = self.counters.get(entity, 0)
        existing = [int(k) for k in self.table(entity) if k.isdigit()]
        tomb = [int(k) for k in self.tombstones.get(entity, {}) if k.isdigit()]
        nxt = max([current, *existing, *tomb]) + 1
        self.counters[entity] = nxt
        return str(nxt)

    def stamp(self, obj: Entity, now: datetime, *, created: bool) -> None:
        stamp = meta_time(now, self.tz)
        meta = dict(obj.get("MetaData") or {})
        if created or "CreateTime" not in meta:
            meta["CreateTime"] = stamp
        meta["LastUpdatedTime"] = stamp
        obj["MetaData"] = meta

    def bump(self, obj: Entity, now: datetime) -> None:
        obj["SyncToken"] = str(int(obj.get("SyncToken", "0")) + 1)
        self.stamp(obj, now, created=False)


class Store:
    """All companies plus change listeners (webhooks subscribe here)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.companies: dict[str, Company] = {}
        self.changes: list[Change] = []
        self.listeners: list[Callable[[Change], None]] = []

    def company(self, realm_id: str) -> Company | None:
        return self.companies.get(realm_id)

    def add(self, company: Company) -> Company:
        self.companies[company.realm_id] = company
        return company

    def record(self, company: Company, entity: str, entity_id: str, operation: str) -> None:
        change = Change(company.realm_id, entity, entity_id, operation, self.clock.now())
        self.changes.append(change)
        for listener in list(self.listeners):
            listener(change)

    def clear(self) -> None:
        self.companies.clear()
        self.changes.clear()
