"""Entity operations shared by the REST routes, batch and the admin API.

Every write records a change on the store, which feeds webhooks and CDC.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import faults, invoices, rules
from .clock import envelope_time, meta_time, parse_datetime
from .query import run_query
from .rules import Ctx
from .store import Company, Entity, Store

Builder = Callable[[Ctx, dict[str, Any], Entity | None, dict[str, Any]], Entity]


def _simple(fn: Callable[[Ctx, dict[str, Any], Entity | None], Entity]) -> Builder:
    return lambda ctx, data, existing, _request: fn(ctx, data, existing)


def _person(entity: str) -> Builder:
    return lambda ctx, data, existing, _request: rules.build_person(ctx, entity, data, existing)


@dataclass(frozen=True)
class Kind:
    name: str
    build: Builder | None  # None: read-only through this API
    name_list: bool = False  # hidden when inactive, cannot be deleted
    voidable: bool = False
    cdc: bool = True


KINDS: dict[str, Kind] = {
    k.name.lower(): k
    for k in (
        Kind("Invoice", invoices.build_invoice, voidable=True),
        Kind("Payment", invoices.build_payment, voidable=True),
        Kind("Customer", _person("Customer"), name_list=True),
        Kind("Vendor", _person("Vendor"), name_list=True),
        Kind("Employee", _person("Employee"), name_list=True),
        Kind("Item", _simple(rules.build_item), name_list=True),
        Kind("Term", _simple(rules.build_term), name_list=True),
        Kind("Account", _simple(rules.build_account), name_list=True),
        Kind("CompanyCurrency", _simple(rules.build_company_currency), name_list=True),
        Kind("Class", _simple(rules.build_tracking("Class")), name_list=True),
        Kind("Department", _simple(rules.build_tracking("Department")), name_list=True),
        Kind("TaxCode", None, name_list=True, cdc=False),
        Kind("TaxRate", None, name_list=True, cdc=False),
    )
}
SINGLETONS = {"preferences": "Preferences", "companyinfo": "CompanyInfo"}


def _clean_args(kind: Kind) -> tuple[set[str] | None, set[str] | None]:
    """(extra read-only, writable-after-all) members for ``rules.clean``."""
    if kind.name == "Invoice":
        return {"LinkedTxn"}, None
    if kind.name == "Payment":
        return None, {"TotalAmt"}
    return None, None


def kind_for(name: str) -> Kind | None:
    return KINDS.get(name.lower())


def present(company: Company, entity: str, obj: Entity) -> Entity:
    """The wire view of a stored entity: internal keys stripped, identifiers masked."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
    if entity == "Customer":
        for key in ("PrimaryTaxIdentifier", "SecondaryTaxIdentifier"):
            if key in out:
                out[key] = rules.mask_tax_identifier(out[key])
        balance = sum(
            (
                inv["Balance"]
                for inv in company.table("Invoice").values()
                if rules.ref_value(inv.get("CustomerRef")) == obj["Id"]
            ),
            invoices.ZERO,
        )
        out["Balance"] = balance
        out["BalanceWithJobs"] = balance
    return out


class Accounting:
    def __init__(self, store: Store) -> None:
        self.store = store

    def ctx(self, company: Company, include: set[str] | None = None) -> Ctx:
        return Ctx(company=company, now=self.store.clock.now(), include=include or set())

    def envelope(self, company: Company, key: str, body: Any) -> dict[str, Any]:
        return {key: body, "time": envelope_time(self.store.clock.now(), company.tz)}

    # ---------------------------------------------------------------- reads

    def read(self, company: Company, entity: str, entity_id: str) -> Entity:
        obj = company.get(entity, entity_id)
        if obj is None:
            raise faults.object_not_found()
        return present(company, entity, obj)

    # ---------------------------------------------------------------- writes

    def _kind(self, entity: str, operation: str) -> Kind:
        kind = kind_for(entity)
        if kind is None or kind.build is None:
            raise faults.unsupported(f"{operation} for {entity}")
        return kind

    def create(
        self, company: Company, entity: str, body: dict[str, Any], include: set[str] | None = None
    ) -> Entity:
        kind = self._kind(entity, "Create")
        assert kind.build is not None
        ctx = self.ctx(company, include)
        data = rules.clean(body, *_clean_args(kind))
        obj = kind.build(ctx, data, None, body)
        obj_id = company.next_id(kind.name)
        stored: Entity = {"domain": "QBO", "sparse": False, "Id": obj_id, "SyncToken": "0", **obj}
        company.stamp(stored, ctx.now, created=True)
        company.table(kind.name)[obj_id] = stored
        if kind.name == "Invoice":
            invoices.refresh_balance(company, stored)
        self.store.record(company, kind.name, obj_id, "Create")
        if kind.name == "Payment":
            self._sync_invoices(company, invoices.linked_invoice_ids(stored), ctx)
        return present(company, kind.name, stored)

    def _existing(self, company: Company, kind: Kind, body: dict[str, Any]) -> Entity:
        obj_id = body.get("Id")
        if obj_id in (None, ""):
            raise faults.required("Id")
        existing = company.get(kind.name, obj_id)
        if existing is None:
            raise faults.object_not_found()
        token = body.get("SyncToken")
        if token in (None, ""):
            raise faults.required("SyncToken")
        if str(token) != existing["SyncToken"]:
            raise faults.stale_object()
        return existing

    def update(
        self, company: Company, entity: str, body: dict[str, Any], include: set[str] | None = None
    ) -> Entity:
        kind = self._kind(entity, "Update")
        assert kind.build is not None
        include = include or set()
        existing = self._existing(company, kind, body)
        if kind.name == "Payment" and "void" in include:
            return self.void(company, entity, body)
        ctx = self.ctx(company, include)
        data = rules.clean(body, *_clean_args(kind))
        sparse = body.get("sparse") in (True, "true", "True")
        if sparse:
            current = {k: v for k, v in existing.items() if not k.startswith("_")}
            base = rules.clean(current, *_clean_args(kind))
            data = {**base, **data}
        if kind.name == "Customer" and "DisplayName" in body and body["DisplayName"] in ("", None):
            raise faults.required("DisplayName")
        before = linked = invoices.linked_invoice_ids(existing)
        obj = kind.build(ctx, data, existing, body)
        stored: Entity = {
            "domain": "QBO",
            "sparse": False,
            "Id": existing["Id"],
            "SyncToken": existing["SyncToken"],
            "MetaData": dict(existing["MetaData"]),
            **obj,
        }
        if existing.get("_voided"):
            stored["_voided"] = True
        company.bump(stored, ctx.now)
        company.table(kind.name)[existing["Id"]] = stored
        if kind.name == "Invoice":
            invoices.refresh_balance(company, stored)
        self.store.record(company, kind.name, existing["Id"], "Update")
        if kind.name == "Payment":
            linked = before | invoices.linked_invoice_ids(stored)
            self._sync_invoices(company, linked, ctx)
        return present(company, kind.name, stored)

    def delete(self, company: Company, entity: str, body: dict[str, Any]) -> Entity:
        kind = self._kind(entity, "Delete")
        if kind.name_list:
            # Name-list objects can't be hard-deleted; QBO wants Active=false instead.
            raise faults.unsupported(f"Delete for {kind.name}")
        if company.get(kind.name, body.get("Id")) is None:
            raise faults.object_not_found()
        existing = self._existing(company, kind, body)
        ctx = self.ctx(company)
        if kind.name == "Invoice" and invoices.applied_payments(company, existing["Id"]):
            # [U] text; Intuit: "unlink any linked transactions ... before deleting".
            raise faults.business(
                "You must unlink any linked transactions before deleting this transaction."
            )
        del company.table(kind.name)[existing["Id"]]
        company.tombstones.setdefault(kind.name, {})[existing["Id"]] = ctx.now
        self.store.record(company, kind.name, existing["Id"], "Delete")
        if kind.name == "Payment":
            self._sync_invoices(company, invoices.linked_invoice_ids(existing), ctx)
        return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}

    def void(self, company: Company, entity: str, body: dict[str, Any]) -> Entity:
        kind = self._kind(entity, "Void")
        if not kind.voidable:
            raise faults.unsupported(f"Void for {kind.name}")
        existing = self._existing(company, kind, body)
        ctx = self.ctx(company)
        obj = existing
        if kind.name == "Invoice":
            for payment in company.table("Payment").values():
                if invoices.unlink_invoice(payment, obj["Id"]):
                    company.bump(payment, ctx.now)
                    self.store.record(company, "Payment", payment["Id"], "Update")
            invoices.void_invoice(company, obj)
            company.bump(obj, ctx.now)
            self.store.record(company, kind.name, obj["Id"], "Void")
        else:
            linked = invoices.linked_invoice_ids(obj)
            invoices.void_payment(obj)
            company.bump(obj, ctx.now)
            self.store.record(company, kind.name, obj["Id"], "Void")
            self._sync_invoices(company, linked, ctx)
        return present(company, kind.name, obj)

    def send(
        self, company: Company, invoice_id: str, send_to: str | None, base_url: str = ""
    ) -> Entity:
        """Email the invoice. The email records what QuickBooks would have sent: its subject
        (the company's invoice message) and, where the customer can pay online, the invoice's
        payment link (reference §3.2 ``InvoiceLink``; [U] the email's exact wording)."""
        invoice = company.get("Invoice", invoice_id)
        if invoice is None:
            raise faults.object_not_found()
        if send_to:
            if not rules.EMAIL_OK.match(send_to):
                raise faults.invalid_value("sendTo", f"Invalid email address {send_to}")
            invoice["BillEmail"] = {"Address": send_to}
        address = (invoice.get("BillEmail") or {}).get("Address")
        if not address:
            raise faults.required("BillEmail")
        now = self.store.clock.now()
        invoice["EmailStatus"] = "EmailSent"
        invoice["DeliveryInfo"] = {
            "DeliveryType": "Email",
            "DeliveryTime": meta_time(now, company.tz),
        }
        company.bump(invoice, now)
        link = invoices.invoice_link(company, invoice, base_url) if base_url else None
        subject = (
            company.preferences.get("EmailMessagesPrefs", {})
            .get("InvoiceMessage", {})
            .get("Subject", "Invoice [Invoice No.] from [Company Name]")
            .replace("[Invoice No.]", str(invoice.get("DocNumber") or invoice_id))
            .replace("[Company Name]", company.name)
        )
        body = f"Invoice {invoice.get('DocNumber') or invoice_id} is attached."
        if link:
            body += f"\nReview and pay: {link}"
        company.emails.append(
            {
                "invoice_id": invoice_id,
                "to": address,
                "cc": (invoice.get("BillEmailCc") or {}).get("Address") or "",
                "time": meta_time(now, company.tz),
                "subject": subject,
                "body": body,
                "invoice_link": link,
            }
        )
        # [U] whether Invoice emits "Emailed" (vs "Update"); the operation exists in Intuit's table.
        self.store.record(company, "Invoice", invoice_id, "Emailed")
        return present(company, "Invoice", invoice)

    def _sync_invoices(self, company: Company, invoice_ids: set[str], ctx: Ctx) -> None:
        """Applying or removing a payment changes the invoice: Balance, LinkedTxn, SyncToken."""
        for invoice_id in sorted(invoice_ids):
            invoice = company.get("Invoice", invoice_id)
            if invoice is None or invoice.get("_voided"):
                continue
            invoices.refresh_balance(company, invoice)
            company.bump(invoice, ctx.now)
            # [U] whether QBO emits an Invoice Update for an applied payment; we do.
            self.store.record(company, "Invoice", invoice_id, "Update")

    # ---------------------------------------------------------------- query & cdc

    def query(self, company: Company, text: str, max_results: int = 1000) -> dict[str, Any]:
        def rows(entity: str) -> list[Entity] | None:
            if entity == "Preferences":
                return [company.preferences]
            if entity == "CompanyInfo":
                return [company.company_info]
            kind = kind_for(entity)
            if kind is None:
                return None
            return [present(company, kind.name, o) for o in company.table(kind.name).values()]

        def canonical(entity: str) -> tuple[str, bool] | None:
            for name in ("Preferences", "CompanyInfo"):
                if entity.lower() == name.lower():
                    return name, False
            kind = kind_for(entity)
            return (kind.name, kind.name_list) if kind else None

        return run_query(text, canonical, rows, company.tz, max_results, self.store.clock.now())

    def cdc(
        self, company: Company, entities: str, changed_since: str, max_days: int, cap: int
    ) -> list[dict[str, Any]]:
        tz = company.tz
        try:
            since = parse_datetime(changed_since, tz)
        except ValueError as exc:
            raise faults.invalid_value(
                "changedSince", f"Invalid changedSince {changed_since}"
            ) from exc
        now = self.store.clock.now()
        if since < now - timedelta(days=max_days):
            # [U] code; the text is from Wish-Org/QuickBooksSharp #19.
            raise faults.QBOError(
                "4000",
                "Invalid changedSince",
                f"Operation cdc with changedSince date {changed_since} which is older than "
                "fixed days is not supported.",
                element="changedSince",
            )
        names = [n.strip() for n in entities.split(",") if n.strip()]
        if not names:
            raise faults.required("entities")
        blocks: list[dict[str, Any]] = []
        remaining = cap
        for raw_name in names:
            kind = kind_for(raw_name)
            if kind is None or not kind.cdc:
                raise faults.unsupported(f"cdc for {raw_name}")
            active = [
                o
                for o in company.table(kind.name).values()
                if parse_datetime(o["MetaData"]["LastUpdatedTime"], tz) >= since
            ]
            active.sort(key=lambda o: parse_datetime(o["MetaData"]["LastUpdatedTime"], tz))
            rows = [present(company, kind.name, o) for o in active]
            for obj_id, deleted_at in sorted(
                company.tombstones.get(kind.name, {}).items(), key=lambda kv: kv[1]
            ):
                if deleted_at >= since:
                    rows.append(
                        {
                            "domain": "QBO",
                            "status": "Deleted",
                            "Id": obj_id,
                            "MetaData": {"LastUpdatedTime": meta_time(deleted_at, tz)},
                        }
                    )
            rows = rows[: max(remaining, 0)]
            remaining -= len(rows)
            if rows:
                blocks.append({kind.name: rows, "startPosition": 1, "maxResults": len(rows)})
        return blocks or [{}]
