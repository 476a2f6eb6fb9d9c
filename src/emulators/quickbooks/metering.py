"""App Partner Program metering (reference §1.7): every Accounting API call an app makes is
counted per app (OAuth client id), realm, month and kind, as Core or CorePlus, and an app can be
given a monthly CorePlus quota.

Classification (Intuit: "Core APIs are data-in (create/update) and unmetered. CorePlus APIs are
data-out (reads, queries) and metered"):

- CorePlus: ``read:<Entity>`` (GET ``/{entity}/{id}``, ``/companyinfo/{id}``, ``/preferences``,
  ``/exchangerate``), ``query:<Entity>`` (``/query``, GET or POST), ``cdc``, ``pdf:Invoice``
  ([U] a PDF is data-out, so CorePlus), ``reports``, and ``batch`` when one of its items is a
  ``Query`` ([U] Intuit does not say how a batch is metered; we count the call once).
- Core: ``create|update|void|delete:<Entity>``, ``update:Preferences``, ``send:Invoice`` ([U]
  an action, not data-out) and a ``batch`` without a query.
- A call is metered once it is admitted (token valid, not throttled, within the quota) and
  answered below 500 ([U] whether Intuit bills a fault it answers, e.g. 610, is not stated; we
  count it: the data was asked for). Throttled (429), unauthenticated and blocked calls are not
  counted. OAuth endpoints are not Accounting API calls and are not counted.

The month is the UTC calendar month of the emulator's clock ([U] Intuit does not say in which
time zone its month turns). Builder tier counts per workspace; the emulator has one app per
workspace, so the quota is per client id.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from .clock import Clock
from .ops import SINGLETONS, kind_for

Tier = Literal["core", "coreplus"]
CORE: Final = "core"
COREPLUS: Final = "coreplus"
_FROM = re.compile(r"\bfrom\s+([A-Za-z]+)", re.IGNORECASE)
_OTHER_ENTITIES: Final = {**SINGLETONS, "exchangerate": "ExchangeRate"}


@dataclass(frozen=True, slots=True)
class Call:
    kind: str
    tier: Tier

    @property
    def metered(self) -> bool:
        return self.tier == COREPLUS


def _entity(name: str) -> str:
    kind = kind_for(name)
    if kind is not None:
        return kind.name
    return _OTHER_ENTITIES.get(name.lower(), "Other")


def _query_entity(text: str) -> str:
    found = _FROM.search(text)
    return _entity(found.group(1)) if found else "Other"


def _batch_has_query(body: bytes) -> bool:
    try:
        items = json.loads(body or b"{}").get("BatchItemRequest")
    except (ValueError, AttributeError):
        return False
    return isinstance(items, list) and any(isinstance(i, dict) and "Query" in i for i in items)


def classify(method: str, tail: str, query: Mapping[str, str], body: bytes) -> Call:
    """The kind of one call: ``tail`` is the path after ``/v3/company/{realm}/``."""
    parts = [p for p in tail.split("/") if p]
    head = parts[0].lower() if parts else ""
    method = method.upper()
    if head == "query":
        text = query.get("query", "") if method == "GET" else body.decode("utf-8", "replace")
        return Call(f"query:{_query_entity(text)}", COREPLUS)
    if head == "cdc":
        return Call("cdc", COREPLUS)
    if head == "reports":
        return Call("reports", COREPLUS)
    if head == "batch":
        return Call("batch", COREPLUS if _batch_has_query(body) else CORE)
    if len(parts) == 3 and parts[2].lower() in ("pdf", "send"):
        action = parts[2].lower()
        return Call(f"{action}:{_entity(head)}", COREPLUS if action == "pdf" else CORE)
    if method == "GET":
        return Call(f"read:{_entity(head)}" if head else "read:Other", COREPLUS)
    operation = query.get("operation", "").lower()
    if operation not in ("create", "update", "void", "delete"):
        operation = "update" if head == "preferences" or _has_id(body) else "create"
    return Call(f"{operation}:{_entity(head)}" if head else "other", CORE)


def _has_id(body: bytes) -> bool:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(parsed, dict) and bool(parsed.get("Id"))


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


@dataclass
class Meter:
    """Counts by (month, client id, realm, kind); quotas are CorePlus calls a month per app."""

    clock: Clock
    quotas: dict[str, int] = field(default_factory=dict)
    counts: defaultdict[tuple[str, str, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    tiers: dict[str, Tier] = field(default_factory=dict)
    #: CorePlus calls by (month, client id): what the quota is checked against.
    coreplus: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def clear(self) -> None:
        self.counts.clear()
        self.coreplus.clear()

    def reset(self, quotas: Mapping[str, int]) -> None:
        self.clear()
        self.quotas = dict(quotas)

    def set_quota(self, client_id: str, calls: int | None) -> None:
        if calls is None:
            self.quotas.pop(client_id, None)
        else:
            self.quotas[client_id] = calls

    def coreplus_used(self, client_id: str, month: str) -> int:
        return self.coreplus.get((month, client_id), 0)

    def refuses(self, client_id: str, call: Call) -> bool:
        """The app's CorePlus calls this month reached its quota: "all further CorePlus API
        calls will be blocked until the following month" (Core calls go on)."""
        quota = self.quotas.get(client_id)
        if quota is None or not call.metered:
            return False
        return self.coreplus_used(client_id, month_of(self.clock.now())) >= quota

    def record(self, client_id: str, realm_id: str, call: Call) -> None:
        month = month_of(self.clock.now())
        self.tiers[call.kind] = call.tier
        self.counts[(month, client_id, realm_id, call.kind)] += 1
        if call.metered:
            self.coreplus[(month, client_id)] += 1

    def report(
        self, month: str | None = None, realm_id: str | None = None, client_id: str | None = None
    ) -> dict[str, Any]:
        """One month's usage: per app, its totals and quota, and per realm by kind."""
        month = month or month_of(self.clock.now())
        apps: dict[str, dict[str, Any]] = {}
        for (m, app, realm, kind), n in sorted(self.counts.items()):
            if m != month or (realm_id and realm != realm_id) or (client_id and app != client_id):
                continue
            tier = self.tiers[kind]
            entry = apps.setdefault(app, _app_entry(app, self.quotas.get(app)))
            realms = entry["realms"]
            row = realms.setdefault(realm, {"realm_id": realm, CORE: 0, COREPLUS: 0, "kinds": {}})
            row[tier] += n
            row["kinds"][kind] = {"tier": tier, "calls": n}
            entry[tier] += n
        for app, quota in self.quotas.items():
            if not client_id or app == client_id:
                apps.setdefault(app, _app_entry(app, quota))
        for entry in apps.values():
            quota = entry["coreplus_quota"]
            used = self.coreplus_used(entry["client_id"], month)
            entry["coreplus_remaining"] = None if quota is None else max(0, quota - used)
            entry["realms"] = list(entry["realms"].values())
        return {"month": month, "apps": list(apps.values())}


def _app_entry(client_id: str, quota: int | None) -> dict[str, Any]:
    return {"client_id": client_id, "coreplus_quota": quota, CORE: 0, COREPLUS: 0, "realms": {}}
