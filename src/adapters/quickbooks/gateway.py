"""QuickBooksAccountingGateway: the accounting port over QuickBooks Online (vendor JSON <-> domain
in ``mappers``; requests through the injected ``QuickBooksClient``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import structlog

from adapters.quickbooks import reference_data
from adapters.quickbooks.cdc import cdc_cuts, changes_from_cdc, needs_home_currency
from adapters.quickbooks.client import QuickBooksClient
from adapters.quickbooks.faults import (
    QuickBooksFault,
    QuickBooksRejectedError,
    fault_error,
    fault_from_json,
)
from adapters.quickbooks.mappers import (
    customer_fields_to_qbo,
    customer_from_qbo,
    escape_query,
    invoice_from_qbo,
    invoice_to_qbo,
    parse_qbo_time,
    ref,
)
from adapters.vendor_http.cache import CompanyCache
from application.errors import NotFoundError, UpstreamRejectedError, UpstreamUnavailableError
from application.ports.accounting import (
    AccountingChanges,
    AccountingCustomer,
    AccountingInvoice,
    BatchCreated,
    InvoiceOptions,
    InvoiceToCreate,
)
from application.ports.clock import Clock
from application.ports.sync import NoticeStore
from application.reasons import MetadataKey, Reason, ResourceType
from domain.customer import Customer
from domain.invoice import Invoice
from domain.invoice_template import InvoiceExtras

log = structlog.get_logger("dealbooks.quickbooks")

# What the form's options are read from. They are kept until a webhook says one of these changed
# (every process asks the notice store when it uses them: one indexed database query, no
# QuickBooks read), and at most a day: TaxCode and TaxRate have neither webhooks nor CDC
# (reference §4.9), and a lost webhook is repaired as the catch-up repairs invoices. "Currency"
# is [U]: Intuit's webhook list names Currency, the API's entity is CompanyCurrency; both count.
REFERENCE_ENTITIES: Final = frozenset(
    {"Preferences", "CompanyInfo", "Item", "Term", "TaxAgency", "Currency", "CompanyCurrency"}
    | {"Class", "Department"}  # read only for a company that tracks classes or locations
)
OPTIONS_TTL: Final = timedelta(days=1)
QUERY_CHUNK: Final = 1000  # MAXRESULTS may not exceed 1000 (reference §4.7)
#: The most rows of one kind the form's options hold (20 reads of items at most): a catalog
#: larger than that is cut, and its rest is not offered.
OPTIONS_ROWS_MAX: Final = 20_000
#: CDC looks back at most 30 days (reference §4.9); stay a day inside it, as Nango does.
CDC_MAX_LOOKBACK: Final = timedelta(days=29)
#: What the catch-up asks CDC for (the Invoice group first: its deletions matter).
CDC_ENTITIES: Final = ("Invoice", "Payment")
#: One CDC response holds at most 1,000 objects, and CDC has no paging (reference §4.9).
CDC_MAX_OBJECTS: Final = 1000
#: CDC calls one ``changes_since`` makes at most: 10,000 objects or so. A busier window's rest
#: is read by the next catch-up, from where this one stopped.
CDC_MAX_CALLS: Final = 10
NAME_SUFFIX_TRIES: Final = 20
STALE_OBJECT: Final = "5010"
DUPLICATE_NAME: Final = "6240"


def _derived(request_id: str, suffix: str) -> str:
    """A distinct, deterministic request id for a follow-up write of the same operation (QBO
    replays the first answer, failures included, for a repeated requestid)."""
    return f"{request_id}~{suffix}"


class QuickBooksAccountingGateway:
    def __init__(
        self,
        client: QuickBooksClient,
        clock: Clock,
        notices: NoticeStore,
        *,
        app_base: str,  # the accountant UI, for "Open in QuickBooks"
        cdc_max_objects: int = CDC_MAX_OBJECTS,  # QuickBooks' cap (lower in tests)
    ) -> None:
        self.client = client
        self._cdc_max_objects = cdc_max_objects
        self._clock = clock
        self._notices = notices
        self._app_base = app_base
        self._options: CompanyCache[InvoiceOptions] = CompanyCache(clock, OPTIONS_TTL)

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
            f"SELECT * FROM Customer WHERE DisplayName LIKE '%{escape_query(needle)}%' "  # noqa: S608
            f"MAXRESULTS {limit}"
        ]
        if "@" in needle:
            queries.append(
                f"SELECT * FROM Customer WHERE PrimaryEmailAddr = '{escape_query(needle)}' "  # noqa: S608
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
            raise NotFoundError(ResourceType.QUICKBOOKS_CUSTOMER, customer_id) from None
        return customer_from_qbo(body["Customer"])

    async def create_customer(
        self, company_id: str, customer: Customer, *, request_id: str, currency: str | None = None
    ) -> AccountingCustomer:
        preferences = (await self.invoice_options(company_id)).preferences
        for attempt in range(1, NAME_SUFFIX_TRIES + 1):
            name = customer.display_name if attempt == 1 else f"{customer.display_name} ({attempt})"
            body: dict[str, Any] = {"DisplayName": name}
            body.update(customer_fields_to_qbo(customer, is_us=preferences.is_us_company))
            if currency and preferences.multicurrency_enabled:
                # Without it QuickBooks makes the customer a home-currency one, and an invoice
                # in another currency to it is refused (reference: CurrencyRef must match).
                body["CurrencyRef"] = {"value": currency}
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
            reason=Reason.QUICKBOOKS_REJECTED,
            metadata={MetadataKey.VENDOR_CODE: DUPLICATE_NAME},
        )

    async def update_customer_details(
        self, company_id: str, customer_id: str, details: Customer, fields: frozenset[str]
    ) -> AccountingCustomer:
        is_us = (await self.invoice_options(company_id)).preferences.is_us_company
        patch = customer_fields_to_qbo(details, is_us=is_us, fields=fields)
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
                raise NotFoundError(ResourceType.QUICKBOOKS_CUSTOMER, customer_id) from None
            return customer_from_qbo(updated["Customer"])
        raise AssertionError("unreachable")  # pragma: no cover

    # -- form data -----------------------------------------------------------------------------

    async def reads_rationed(self) -> bool:
        return await self.client.reads_rationed()

    async def time_zone(self, company_id: str) -> str:
        zone = (await self.client.connection(company_id)).time_zone
        return zone or (await self.invoice_options(company_id)).preferences.time_zone

    async def exchange_rate(self, company_id: str, currency: str, as_of: date) -> Decimal:
        # [U] the reference leaves the parameters' casing open; QBO's own samples use these.
        body = await self.client.get(
            company_id, "exchangerate", sourcecurrencycode=currency, asofdate=as_of.isoformat()
        )
        return Decimal(str((body.get("ExchangeRate") or {}).get("Rate") or 1))

    async def invoice_options(self, company_id: str) -> InvoiceOptions:
        # Kept per QuickBooks company (connected to another one, the company gets its options at
        # once) and per latest notice about them: read before loading, so that a change during
        # the load is a new key, read again on the next use.
        realm = await self.client.realm(company_id)
        changed = await self._notices.last_received(realm, REFERENCE_ENTITIES)
        key = f"{company_id}@{realm}@{changed.isoformat() if changed else ''}"
        return await self._options.get(key, lambda: self._read_options(company_id))

    async def _read_options(self, company_id: str) -> InvoiceOptions:
        prefs_body, info_body = await asyncio.gather(
            self.client.get(company_id, "preferences"),
            self._company_info(company_id),
        )
        prefs = prefs_body.get("Preferences") or {}
        multicurrency = bool((prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))
        entities = ["TaxCode", "TaxRate", "Term", "Item"]
        entities += ["CompanyCurrency"] if multicurrency else []
        entities += reference_data.tracked_entities(prefs)
        answers = await asyncio.gather(*(self._every_row(company_id, e) for e in entities))
        rows = dict(zip(entities, answers, strict=True))
        return reference_data.invoice_options_from_qbo(prefs, info_body, rows)

    async def _every_row(self, company_id: str, entity: str) -> list[Any]:
        """Every row of ``entity`` (inactive ones too where ``with_inactive``), 1,000 a query,
        the most one returns (reference §4.7): a company with more products gets the rest too,
        at one metered read more per 1,000; a page of fewer rows than asked for is the last."""
        rows: list[Any] = []
        every = " WHERE Active IN (true, false)" if reference_data.with_inactive(entity) else ""
        while len(rows) < OPTIONS_ROWS_MAX:
            query = (
                f"SELECT * FROM {entity}{every} STARTPOSITION {len(rows) + 1} "  # noqa: S608
                f"MAXRESULTS {QUERY_CHUNK}"
            )
            page = list((await self.client.query(company_id, query)).get(entity) or [])
            rows += page
            if len(page) < QUERY_CHUNK:
                return rows
        log.warning("quickbooks.options_cut", company_id=company_id, entity=entity, kept=len(rows))
        return rows

    async def _company_info(self, company_id: str) -> Mapping[str, Any]:
        body = await self.client.request(company_id, "GET", lambda realm: f"companyinfo/{realm}")
        info = body.get("CompanyInfo") if isinstance(body, Mapping) else None
        return info if isinstance(info, Mapping) else {}

    # -- invoices ------------------------------------------------------------------------------

    async def create_invoice(
        self,
        company_id: str,
        invoice: Invoice,
        *,
        request_id: str,
        exchange_rate: Decimal | None = None,
        extras: InvoiceExtras | None = None,
        options: InvoiceOptions | None = None,
    ) -> AccountingInvoice:
        if not invoice.customer.quickbooks_id:
            raise UpstreamRejectedError(
                "Link the invoice to a QuickBooks customer first.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "2020"},
            )
        if options is None:
            options = await self.invoice_options(company_id)
        body = self._invoice_body(invoice, options, exchange_rate, extras)
        # include=invoiceLink: the payment link comes with the answer, with no metered read.
        created = await self.client.post(
            company_id, "invoice", body, request_id=request_id, include="invoiceLink"
        )
        result = invoice_from_qbo(created["Invoice"], invoice.currency, options)
        log.info(
            "quickbooks.invoice_created",
            company_id=company_id,
            invoice_id=invoice.id,
            quickbooks_id=result.id,
        )
        return result

    @staticmethod
    def _invoice_body(
        invoice: Invoice,
        options: InvoiceOptions,
        exchange_rate: Decimal | None,
        extras: InvoiceExtras | None,
    ) -> dict[str, Any]:
        body = invoice_to_qbo(
            invoice,
            is_us=options.preferences.is_us_company,
            item_ids_by_name={item.name: item.id for item in options.items if item.active},
            extras=extras,
            custom_fields=options.custom_fields,
            class_tracking=options.preferences.class_tracking,
            location_tracking=options.preferences.location_tracking,
        )
        preferences = options.preferences
        if preferences.custom_transaction_numbers:
            # With custom transaction numbers on, QuickBooks numbers an invoice sent without a
            # DocNumber only when asked to (reference §3.2: else it may come back with none);
            # AutoDocNumber gives it the company's next number, as QuickBooks' own form does.
            body["AutoDocNumber"] = True
        if exchange_rate is not None and invoice.currency != preferences.home_currency:
            body["ExchangeRate"] = exchange_rate  # else QuickBooks' rate for TxnDate applies
        return body

    async def create_invoices(
        self, company_id: str, invoices: Sequence[InvoiceToCreate | None], *, request_id: str
    ) -> list[BatchCreated | None]:
        """One ``POST /batch`` of invoice creates (reference §4.8); each item's ``bId`` is its
        position, so the same invoices in the same order under the same requestid are the same
        request, which QuickBooks answers once (§1.5). An item's Fault (inside the 200) is that
        invoice's rejection. [U] a SystemFault inside one item (never seen documented) is read
        as a rejection too: retrying the batch would only replay it."""
        options = await self.invoice_options(company_id)
        items: list[dict[str, Any]] = []
        outcomes: list[BatchCreated | None] = []
        for position, wanted in enumerate(invoices):
            if wanted is None:
                outcomes.append(None)
                continue
            if not wanted.invoice.customer.quickbooks_id:
                outcomes.append(
                    UpstreamRejectedError(
                        "Link the invoice to a QuickBooks customer first.",
                        reason=Reason.QUICKBOOKS_REJECTED,
                        metadata={MetadataKey.VENDOR_CODE: "2020"},
                    )
                )
                continue
            outcomes.append(None)
            body = self._invoice_body(wanted.invoice, options, wanted.exchange_rate, wanted.extras)
            items.append({"bId": str(position), "operation": "create", "Invoice": body})
        if items:
            answers = await self.client.batch(company_id, items, request_id=request_id)
            by_bid = {str(answer.get("bId", "")): answer for answer in answers}
            for item in items:
                position = int(item["bId"])
                sent = invoices[position]
                assert sent is not None
                answer = by_bid.get(item["bId"])
                outcomes[position] = self._batch_outcome(answer, sent.invoice, company_id, options)
        log.info(
            "quickbooks.invoices_batch_created",
            company_id=company_id,
            sent=len(items),
            created=sum(isinstance(o, AccountingInvoice) for o in outcomes),
        )
        return outcomes

    @staticmethod
    def _batch_outcome(
        answer: Mapping[str, Any] | None, invoice: Invoice, company_id: str, options: InvoiceOptions
    ) -> BatchCreated:
        if answer is None:
            # [U] QuickBooks answers every item; a missing one is read as not created.
            raise UpstreamUnavailableError(
                "QuickBooks left an invoice out of its batch answer; it will be retried.",
                reason=Reason.QUICKBOOKS_UNAVAILABLE,
                metadata={MetadataKey.INVOICE: invoice.id},
            )
        created = answer.get("Invoice")
        if isinstance(created, Mapping):
            return invoice_from_qbo(created, invoice.currency, options)
        fault = fault_from_json(answer) or QuickBooksFault(
            code="", message="QuickBooks answered neither an invoice nor a fault.", detail=""
        )
        error = fault_error(fault, 400, "")
        log.info(
            "quickbooks.batch_item_rejected",
            company_id=company_id,
            invoice_id=invoice.id,
            vendor_code=fault.code,
        )
        if isinstance(error, UpstreamRejectedError):
            return error
        # A 610 keeps its reason (QUICKBOOKS_OBJECT_NOT_FOUND), as for a single create.
        reason = error.reason if isinstance(error, NotFoundError) else Reason.QUICKBOOKS_REJECTED
        return UpstreamRejectedError(error.message, reason=reason, metadata=dict(error.metadata))

    async def get_invoice(self, company_id: str, invoice_id: str) -> AccountingInvoice | None:
        try:
            body = await self.client.get(company_id, f"invoice/{invoice_id}")
        except NotFoundError:
            return None  # deleted (or never there): QBO answers 610 either way
        return await self._invoice(company_id, body["Invoice"])

    async def _invoice(self, company_id: str, obj: Mapping[str, Any]) -> AccountingInvoice:
        """The invoice's facts, in the company's home currency when QBO names none."""
        if ref(obj.get("CurrencyRef")):
            return invoice_from_qbo(obj)
        home = (await self.invoice_options(company_id)).preferences.home_currency
        return invoice_from_qbo(obj, home)

    async def get_invoices(
        self, company_id: str, invoice_ids: Sequence[str]
    ) -> dict[str, AccountingInvoice]:
        wanted = list(dict.fromkeys(str(i) for i in invoice_ids if str(i).strip()))
        chunks = [wanted[i : i + QUERY_CHUNK] for i in range(0, len(wanted), QUERY_CHUNK)]
        found: dict[str, AccountingInvoice] = {}
        for chunk in chunks:
            ids = ",".join(f"'{escape_query(i)}'" for i in chunk)
            response = await self.client.query(
                company_id,
                f"SELECT * FROM Invoice WHERE Id IN ({ids}) MAXRESULTS {QUERY_CHUNK}",  # noqa: S608
            )
            for obj in response.get("Invoice") or []:
                parsed = await self._invoice(company_id, obj)
                found[parsed.id] = parsed
        return found

    async def _read_for_write(self, company_id: str, invoice_id: str) -> Mapping[str, Any]:
        try:
            body = await self.client.get(company_id, f"invoice/{invoice_id}")
        except NotFoundError:
            raise NotFoundError(ResourceType.QUICKBOOKS_INVOICE, invoice_id) from None
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
            raise NotFoundError(ResourceType.QUICKBOOKS_INVOICE, invoice_id) from None
        return await self._invoice(company_id, body["Invoice"])

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
            raise NotFoundError(ResourceType.QUICKBOOKS_INVOICE, invoice_id) from None
        except QuickBooksRejectedError as exc:
            if exc.fault.element in ("BillEmail", "sendTo") or "BillEmail" in exc.fault.detail:
                raise UpstreamRejectedError(
                    "QuickBooks needs a valid email address to send the invoice to.",
                    reason=Reason.QUICKBOOKS_REJECTED,
                    metadata=exc.metadata,
                ) from exc
            raise
        return await self._invoice(company_id, body["Invoice"])

    async def invoice_pdf(self, company_id: str, invoice_id: str) -> bytes:
        try:
            return await self.client.pdf(company_id, f"invoice/{invoice_id}/pdf")
        except NotFoundError:
            raise NotFoundError(ResourceType.QUICKBOOKS_INVOICE, invoice_id) from None

    async def invoice_link(self, company_id: str, invoice_id: str) -> str:
        return f"{self._app_base}/app/invoice?txnId={invoice_id}"

    async def check_connection(self, company_id: str) -> None:
        # CompanyInfo: the smallest read there is (one metered call); its body is not kept.
        await self.client.request(company_id, "GET", lambda realm: f"companyinfo/{realm}")

    async def changes_since(self, company_id: str, since: datetime) -> AccountingChanges:
        now = self._clock.now()
        earliest = now - CDC_MAX_LOOKBACK
        clamped = since < earliest
        # Whole seconds: what changedSince says, and LastUpdatedTime's precision.
        start = max(since, earliest).astimezone(UTC).replace(microsecond=0)
        reads, as_of, all_deletions_listed = await self._cdc_reads(company_id, start)
        home = (
            (await self.invoice_options(company_id)).preferences.home_currency
            if any(needs_home_currency(body) for body, _ in reads)
            else "USD"
        )
        facts: dict[str, AccountingInvoice | None] = {}
        touched: set[str] = set()
        for body, read_at in reads:  # in the order read: a later read's facts are newer
            part = changes_from_cdc(body, read_at, home)
            facts |= {i.id: i for i in part.invoices} | dict.fromkeys(part.deleted_invoice_ids)
            touched.update(part.payment_invoice_ids)
        changes = AccountingChanges(
            invoices=tuple(i for i in facts.values() if i is not None),
            deleted_invoice_ids=tuple(i for i, fact in facts.items() if fact is None),
            payment_invoice_ids=tuple(sorted(touched)),
            as_of=as_of,
            all_deletions_listed=all_deletions_listed,
        )
        if clamped:
            changes.extra["window_clamped_to"] = start.isoformat()
        return changes

    async def _cdc_reads(
        self, company_id: str, start: datetime
    ) -> tuple[list[tuple[Any, datetime]], datetime, bool]:
        """CDC responses (each with when it was read) holding every change since ``start``, until
        when they are complete, and whether they list every invoice deleted since ``start``.

        One call when the answer is under CDC's cap, as almost every one is. At the cap the
        answer is cut, with no paging (reference §4.9, §13.20): each entity it did not finish is
        read again, on its own, from the time it was cut at, until each answer is under the cap.
        The objects of that second come again, harmlessly: facts already applied change nothing.
        The changes are complete until the earliest time an entity's were: the first call's time
        when it finished an entity, never a later one, so that what changed during the reads is
        read again by the next catch-up, not skipped. An entity that cannot get further (a cap's
        worth of objects in one second), or the bound of calls, leaves them complete only until
        where that entity stopped. [U] changedSince includes its own second: the emulator's
        reading, and the one a watermark at QuickBooks' time has always relied on.
        """
        pending = dict.fromkeys(CDC_ENTITIES, start)  # entity -> still to read from
        complete_until: dict[str, datetime] = {}
        reads: list[tuple[Any, datetime]] = []
        all_deletions_listed = True
        while pending and len(reads) < CDC_MAX_CALLS:
            since = min(pending.values())
            entities = [e for e in CDC_ENTITIES if pending.get(e) == since]
            asked_at = self._clock.now()
            body = await self.client.get(
                company_id,
                "cdc",
                entities=",".join(entities),
                changedSince=since.astimezone(UTC).isoformat(timespec="seconds"),
            )
            server_time = parse_qbo_time(body.get("time"))
            read_at = min(asked_at, server_time) if server_time else asked_at
            reads.append((body, read_at))
            cuts = cdc_cuts(body, entities, since, self._cdc_max_objects)
            for entity in entities:
                del pending[entity]
                cut = cuts.get(entity)
                if cut is None:
                    complete_until[entity] = read_at
                    continue
                # A deleted payment says nothing we use (the invoices it paid change instead,
                # reference §5): only deleted invoices must all be listed.
                if cut.deletions_skipped and entity == "Invoice":
                    all_deletions_listed = False
                if not cut.stalled:
                    pending[entity] = cut.resume_from
                else:
                    complete_until[entity] = since
                    log.warning(
                        "quickbooks.cdc_stalled",
                        company_id=company_id,
                        entity=entity,
                        since=since.isoformat(),
                    )
        if pending:
            log.warning(
                "quickbooks.cdc_calls_exhausted",
                company_id=company_id,
                calls=len(reads),
                entities=sorted(pending),
            )
            complete_until |= pending
        return reads, min(complete_until.values()), all_deletions_listed
