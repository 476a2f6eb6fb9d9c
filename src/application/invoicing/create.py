"""CreateInvoice: exactly once per request id (AIP-155). The invoice is stored as CREATING under
its request id first, then ``FinishInvoiceCreation`` has QuickBooks create it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import structlog

from application.commands import CreateInvoiceCommand, DealRef, InvoiceInput, LineInput
from application.errors import (
    ApplicationError,
    ConcurrencyConflictError,
    RequestIdReusedError,
    UpstreamUnavailableError,
)
from application.invoicing.calendar import company_today
from application.invoicing.checks import (
    active_term,
    currency_warnings,
    dropped_by_quickbooks,
    due_date_for,
    inactive_tax_codes,
    sales_tax_code,
    sales_tax_problems,
    tax_id_warning,
    taxed_by_code,
)
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.stored import InvoiceAnswers, settings_of, validate_request_id
from application.ports.accounting import AccountingGateway, InvoiceOptions
from application.ports.clock import Clock
from application.ports.crm import CrmGateway
from application.ports.jobs import JobQueue
from application.ports.persistence import CreationOptions, IdempotencyRecord, UnitOfWorkFactory
from application.reasons import MetadataKey
from application.views import InvoiceView
from application.visibility import DealVisibility
from domain.customer import Address, Customer, email_recipients
from domain.errors import DomainError, FieldViolation, InvalidValueError
from domain.field_mapping import DealSnapshot
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceState
from domain.invoice_line import InvoiceLine, build_lines
from domain.invoice_template import (
    EMAIL_LIST_MAX,
    REFERENCE_MAX,
    CustomFieldValue,
    InvoiceExtras,
    InvoiceTemplate,
)
from domain.messages import MessageCode
from domain.money import Money, is_known_currency, minor_units, to_decimal
from domain.payment_term import PaymentTerm
from domain.permissions import Action
from domain.settings import CompanySettings
from domain.validation import checked_date

log = structlog.get_logger("dealbooks.invoices")


def _parse_date(value: str, field: str, violations: list[FieldViolation]) -> date | None:
    return checked_date(value, field, violations) if value else None


def _parse_rate(value: str, violations: list[FieldViolation]) -> Decimal | None:
    """The user's own exchange rate, when given: a positive decimal."""
    if not value.strip():
        return None
    try:
        rate = to_decimal(value, "exchange_rate")
    except InvalidValueError as exc:
        violations.extend(exc.violations)
        return None
    if rate <= 0:
        violations.append(FieldViolation("exchange_rate", MessageCode.MUST_BE_POSITIVE))
        return None
    return rate


def _parse_deposit(value: str, violations: list[FieldViolation]) -> Decimal | None:
    """A deposit received, when given: 0 or more (its precision and ceiling are checked
    against the invoice by :func:`_check_deposit`)."""
    if not value.strip():
        return None
    try:
        deposit = to_decimal(value, "invoice.deposit")
    except InvalidValueError as exc:
        violations.extend(exc.violations)
        return None
    if deposit < 0:
        violations.append(FieldViolation("invoice.deposit", MessageCode.MUST_NOT_BE_NEGATIVE))
        return None
    return deposit if deposit else None


def _tracking(
    data: InvoiceInput,
    template: InvoiceTemplate | None,
    options: InvoiceOptions | None,
    violations: list[FieldViolation],
) -> dict[str, str | None]:
    """The class and location: the request's (an error when QuickBooks does not have it
    active; unknown options: not checked), else the template's while still active."""
    chosen: dict[str, str | None] = {}
    classes = options.class_choices if options else None
    locations = options.location_choices if options else None
    tracked = (
        ("class_id", classes, MessageCode.UNKNOWN_CLASS),
        ("location_id", locations, MessageCode.UNKNOWN_LOCATION),
    )
    for attr, refs, code in tracked:
        # Not tracked: nothing is active (unknown options: nothing is checked).
        active = {ref.id for ref in refs or () if ref.active} if options else None
        given: str | None = getattr(data, attr)
        preset: str | None = getattr(template, attr) if template else None
        if given is not None:
            value = given.strip()
            malformed = len(value) > REFERENCE_MAX or "\x00" in value  # InvoiceExtras says so
            if value and not malformed and active is not None and value not in active:
                violations.append(FieldViolation.of(f"invoice.{attr}", code, value=value[:80]))
            chosen[attr] = value or None
        else:
            chosen[attr] = preset if preset and (active is None or preset in active) else None
    return chosen


def _check_deposit(invoice: Invoice, extras: InvoiceExtras | None) -> None:
    """The deposit is an amount of the invoice's currency, at most its total: QuickBooks'
    balance (TotalAmt - Deposit) is then what the preview shows."""
    if extras is None or extras.deposit is None:
        return
    total = invoice.totals().total
    deposit = Money(extras.deposit, invoice.currency)
    if deposit != deposit.rounded():
        raise InvalidValueError.of(
            "invoice.deposit",
            MessageCode.TOO_PRECISE_FOR_CURRENCY,
            value=format(extras.deposit, "f"),
            currency=invoice.currency,
            places=minor_units(invoice.currency),
        )
    if deposit > total:
        # With automated sales tax the total has no tax until QuickBooks answers: the ceiling
        # is the one known before, said as such [U: what QuickBooks does with a Deposit over
        # TotalAmt is not documented, so none is sent].
        code = MessageCode.DEPOSIT_OVER_TOTAL
        if invoice.tax_by_quickbooks:
            code = MessageCode.DEPOSIT_OVER_TOTAL_BEFORE_TAX
        raise InvalidValueError.of("invoice.deposit", code, total=str(total))


def _line_row(line: LineInput) -> dict[str, Any]:
    return {
        "name": line.name,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount": line.discount or "0",
        "discount_kind": line.discount_kind or "percentage",
        "tax_rate": line.tax_rate or "0",
        "tax_method": line.tax_method or "none",
        "item_ref": line.item_id,
        "tax_code_ref": line.tax_code_id,
        "kind": line.kind or "item",
    }


# Fields added with templates: left out of the hash while unset, so that a request id used
# before them still replays as the same request.
_LATER_FIELDS: dict[str, object] = {
    "template_id": "",
    "private_note": None,
    "custom_fields": (),
    "bill_email_cc": None,
    "bill_email_bcc": None,
    "allow_online_card": None,
    "allow_online_ach": None,
    "deposit": "",
    "class_id": None,
    "location_id": None,
}


def request_hash(deal: DealRef, data: InvoiceInput) -> str:
    invoice = {
        key: value
        for key, value in asdict(data).items()
        if key not in _LATER_FIELDS or value != _LATER_FIELDS[key]
    }
    if invoice["customer"]["shipping_address"] is None:  # added later too
        del invoice["customer"]["shipping_address"]
    payload = json.dumps(
        {"company": deal.company_id, "deal": deal.deal_id, "invoice": invoice},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CreateInvoice:
    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    clock: Clock
    finish: FinishInvoiceCreation
    answers: InvoiceAnswers
    visibility: DealVisibility
    jobs: JobQueue | None = None
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    crm: CrmGateway | None = None  # reads the deal for a template's custom fields from it

    async def execute(self, cmd: CreateInvoiceCommand) -> InvoiceView:
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        request_id = validate_request_id(cmd.request_id)
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        fingerprint = request_hash(ref, cmd.invoice)
        # Checks that fail may be a replay's, which answers whatever it answered first.
        try:
            options = await self._preflight(ref.company_id)
            template, snapshot = await self._template(ref, cmd.invoice)
            stored = await self._store(
                ref, cmd.invoice, options, request_id, fingerprint, template, snapshot
            )
        except (ApplicationError, DomainError):
            replayed = await self._replay(ref, request_id, fingerprint) if request_id else None
            if replayed is None:
                raise
            return replayed
        if stored is None:
            # A call with the same request id (a double click, a client retrying before the
            # first answer) stored its invoice first; Postgres made our claim wait for it.
            replayed = await self._replay(ref, request_id, fingerprint)
            if replayed is None:
                raise ConcurrencyConflictError("request id claimed concurrently")
            return replayed
        invoice, creation, settings = stored
        log.info(
            "invoice.creation_requested",
            invoice_id=invoice.id,
            deal_id=ref.deal_id,
            company_id=ref.company_id,
        )
        # Finished from what was just stored, with the options and settings it was built
        # with: reading any of them again would only cost round trips.
        invoice = await self._unless_cut_short(
            ref.company_id,
            invoice.id,
            self.finish.finish(invoice, creation, options, timeline=settings.timeline),
        )
        return await self._answer(invoice)

    async def _preflight(self, company_id: str) -> InvoiceOptions | None:
        """What QuickBooks accepts, best effort (and cached): during an outage the invoice is
        still accepted (as CREATING) and QuickBooks itself judges it when it is back. Read
        before the transaction: no vendor call inside one."""
        try:
            return await self.accounting.invoice_options(company_id)
        except UpstreamUnavailableError:
            return None

    async def _template(
        self, ref: DealRef, data: InvoiceInput
    ) -> tuple[InvoiceTemplate | None, DealSnapshot | None]:
        """The template the request applies, and the deal when one of the template's custom
        fields the request leaves unset is read from it (outside any transaction)."""
        template_id = data.template_id.strip()
        if not template_id:
            return None, None
        async with self.uow_factory() as uow:
            template = await uow.templates.get(ref.company_id, template_id)
        if template is None:
            raise InvalidValueError.of(
                "invoice.template", MessageCode.UNKNOWN_TEMPLATE, value=template_id[:80]
            )
        given = {field.definition_id for field in data.custom_fields}
        from_deal = [f for f in template.custom_fields if f.source and f.definition_id not in given]
        if not from_deal or self.crm is None:
            return template, None
        deal = await self.crm.get_deal(ref.company_id, ref.deal_id)
        return template, deal.snapshot

    async def _store(
        self,
        ref: DealRef,
        data: InvoiceInput,
        options: InvoiceOptions | None,
        request_id: str,
        fingerprint: str,
        template: InvoiceTemplate | None = None,
        snapshot: DealSnapshot | None = None,
    ) -> tuple[Invoice, CreationOptions, CompanySettings] | None:
        """Build the invoice from the company's settings, claim the request id and store the
        invoice with its events, in one transaction (the settings are returned with it); None,
        storing nothing, when the request id was claimed first."""
        async with self.uow_factory() as uow:
            settings = await settings_of(uow, ref.company_id)
            ref.principal.ensure_may(settings.permissions, Action.CREATE, ref.company_id)
            invoice, creation = self._build(ref, data, settings, options, template, snapshot)
            record = IdempotencyRecord(fingerprint, invoice.id)
            if request_id and not await uow.idempotency.put(ref.company_id, request_id, record):
                return None
            await uow.invoices.add(
                invoice,
                actor=ref.principal.subject,
                actor_name=ref.principal.name,
                creation=creation,
            )
            try:
                await uow.commit()
            except ConcurrencyConflictError:
                if not request_id:
                    raise
                return None  # the request id's claim lost to a concurrent one at commit
        return invoice, creation, settings

    async def _unless_cut_short(
        self, company_id: str, invoice_id: str, finishing: Awaitable[Invoice]
    ) -> Invoice:
        """``finishing``, unless the caller gives up meanwhile (its deadline passed, the server
        is shutting down): then the invoice, stored as CREATING, is left to a job now rather
        than to the sweep a minute or more later."""
        try:
            return await finishing
        except asyncio.CancelledError:
            if self.jobs is not None:
                try:
                    await asyncio.shield(self.jobs.finish_creation(company_id, invoice_id))
                except Exception as exc:  # the queue is closing too: the sweep will find it
                    log.warning(
                        "invoice.finish_not_queued", invoice_id=invoice_id, error=type(exc).__name__
                    )
            raise

    async def _answer(self, invoice: Invoice) -> InvoiceView:
        if invoice.state is InvoiceState.CREATING and self.jobs is not None:
            # QuickBooks could not be reached: a durable job retries with backoff.
            await self.jobs.finish_creation(invoice.company_id, invoice.id)
        return await self.answers.written(invoice)

    async def _replay(self, ref: DealRef, request_id: str, fingerprint: str) -> InvoiceView | None:
        async with self.uow_factory() as uow:
            record = await uow.idempotency.get(ref.company_id, request_id)
        if record is None:
            return None
        if record.request_hash != fingerprint:
            raise RequestIdReusedError(
                "This request_id was already used for a different invoice; use a new one.",
                metadata={MetadataKey.REQUEST_ID: request_id},
            )
        # The first call's invoice; finish it if it is still being created (a retry after a
        # crash or an outage must not wait for the background sweep).
        invoice = await self._unless_cut_short(
            ref.company_id,
            record.resource_id,
            self.finish.execute(ref.company_id, record.resource_id),
        )
        return await self._answer(invoice)

    def _build(
        self,
        ref: DealRef,
        data: InvoiceInput,
        settings: CompanySettings,
        options: InvoiceOptions | None,
        template: InvoiceTemplate | None = None,
        snapshot: DealSnapshot | None = None,
    ) -> tuple[Invoice, CreationOptions]:
        violations: list[FieldViolation] = []
        # The template first, the request's own values over it.
        sales_tax = data.sales_tax_code_id.strip() or None
        line_tax_code: str | None = None
        if template is not None:
            if sales_tax_code(options, template.tax_code_id):
                sales_tax = sales_tax or template.tax_code_id
            else:
                line_tax_code = template.tax_code_id
        extras = self._extras(data, template, snapshot, options, violations)
        if extras and extras.deposit and options and not options.preferences.deposits_allowed:
            violations.append(
                FieldViolation("invoice.deposit", MessageCode.DEPOSITS_OFF_IN_QUICKBOOKS)
            )
        currency = data.currency.strip().upper()
        if options and currency and is_known_currency(currency):
            for warning in currency_warnings(currency, options):
                violations.append(FieldViolation("invoice.currency", warning.code, warning.params))
        customer: Customer | None = None
        addresses: dict[str, Address | None] = {}
        for kind, given in (
            ("billing_address", data.customer.address),
            ("shipping_address", data.customer.shipping_address),
        ):
            try:
                addresses[kind] = Address(**asdict(given)) if given else None
            except InvalidValueError as exc:  # named where the form shows it
                violations.extend(exc.prefixed(f"invoice.customer.{kind}").violations)
        try:
            customer = Customer(
                display_name=data.customer.display_name,
                email=data.customer.email or None,
                tax_id=data.customer.tax_id or None,
                quickbooks_id=data.customer.quickbooks_customer_id or None,
                **addresses,
            )
        except InvalidValueError as exc:
            violations.extend(exc.prefixed("invoice.customer").violations)
        too_long = tax_id_warning(customer.tax_id if customer else None, options)
        if too_long is not None:
            violations.append(
                FieldViolation("invoice.customer.tax_id", too_long.code, too_long.params)
            )
        _, cc = email_recipients(
            customer.email if customer else None, extras.bill_email_cc if extras else ""
        )
        if len(cc) > EMAIL_LIST_MAX:  # the customer's other addresses go in CC too
            violations.append(
                FieldViolation.of("invoice.bill_email_cc", MessageCode.TOO_LONG, max=EMAIL_LIST_MAX)
            )
        lines: tuple[InvoiceLine, ...] = ()
        try:
            rows = [_line_row(line) for line in data.lines]
            for row in rows:
                if template is not None and row["kind"] != "discount":
                    row["item_ref"] = row["item_ref"] or template.item_id or ""
                    row["tax_code_ref"] = row["tax_code_ref"] or line_tax_code or ""
            lines = build_lines(rows)
        except InvalidValueError as exc:
            violations.extend(exc.prefixed("invoice").violations)
        issue_date = _parse_date(data.issue_date, "invoice.issue_date", violations)
        now = self.clock.now()
        zone = options.preferences.time_zone if options else None
        issue_date = issue_date or company_today(now, zone)
        # QuickBooks taxes a coded line at its code's rate on the invoice date: a different
        # rate asked for is refused here rather than charged otherwise than previewed.
        lines, replaced = taxed_by_code(lines, options, sales_tax, issue_date)
        replaced += sales_tax_problems(lines, options, sales_tax)
        replaced += dropped_by_quickbooks(lines, options)
        replaced += inactive_tax_codes(lines, options)
        violations.extend(FieldViolation(f"invoice.{w.field}", w.code, w.params) for w in replaced)
        if options and not options.preferences.is_us_company:
            for index, line in enumerate(lines):
                if not line.is_discount and not line.tax_code_ref:
                    violations.append(
                        FieldViolation(
                            f"invoice.lines[{index}].tax_code_id", MessageCode.TAX_CODE_REQUIRED
                        )
                    )
        exchange_rate = _parse_rate(data.exchange_rate, violations)
        due_date = _parse_date(data.due_date, "invoice.due_date", violations)
        terms_id = data.terms_id.strip() or (template.terms_id or "" if template else "")
        terms = active_term(options, terms_id or settings.default_terms)
        if terms_id and terms is None:
            if options is not None:
                violations.append(
                    FieldViolation.of("invoice.terms_id", MessageCode.UNKNOWN_TERM, value=terms_id)
                )
            else:  # QuickBooks unreachable: it judges the term (and dates by it) when back
                terms = PaymentTerm(terms_id, "")
        if violations or customer is None:
            raise InvalidValueError.many(violations)
        if due_date is None and not (terms_id and options is None):
            try:
                due_date = due_date_for(issue_date, settings, terms)
            except InvalidValueError as exc:  # a term of QuickBooks' too long to date
                raise exc.prefixed("invoice") from None
        try:
            invoice = Invoice.request(
                id=InvoiceId(self.new_id()),
                company_id=CompanyId(ref.company_id),
                deal_id=DealId(ref.deal_id),
                customer=customer,
                lines=lines,
                currency=currency,
                issue_date=issue_date,
                due_date=due_date,
                memo=data.memo or (template.customer_memo if template else ""),
                created_by=ref.principal.subject,
                now=now,
                terms=terms,
                # QuickBooks unreachable: the lines' own tax is sent, and AST honors an explicit
                # amount (reference §3.3), so QuickBooks records what the preview showed.
                tax_by_quickbooks=bool(options and options.preferences.automated_sales_tax),
                sales_tax_code_id=sales_tax,
            )
        except InvalidValueError as exc:
            raise exc.prefixed("invoice") from None
        _check_deposit(invoice, extras)
        # Which organization or person to remember the customer for is the deal follow-up's
        # business (after QuickBooks created the invoice): no Pipedrive call on this path.
        copy = data.update_customer_details
        creation = CreationOptions(
            update_customer_details=settings.copy_customer_details if copy is None else copy,
            exchange_rate=str(exchange_rate) if exchange_rate is not None else None,
            requested_by=ref.principal.subject,
            extras=extras,
        )
        return invoice, creation

    @staticmethod
    def _extras(
        data: InvoiceInput,
        template: InvoiceTemplate | None,
        snapshot: DealSnapshot | None,
        options: InvoiceOptions | None,
        violations: list[FieldViolation],
    ) -> InvoiceExtras | None:
        """The private note, custom fields, CC/BCC, payment options, class and location: the
        request's, else the template's. A custom field the company has not turned on in
        QuickBooks, or a class or location it does not have active, is an error when the
        request sets it, and left out when only the template does (the draft says so)."""
        defined = {f.id for f in options.custom_fields if f.active} if options else None
        values: dict[str, str] = {}
        if template is not None:
            for value in template.custom_values(snapshot):
                if defined is None or value.definition_id in defined:
                    values[value.definition_id] = value.value
        for index, given in enumerate(data.custom_fields):
            definition = given.definition_id.strip()
            if defined is not None and definition not in defined:
                violations.append(
                    FieldViolation.of(
                        f"invoice.custom_fields[{index}].definition_id",
                        MessageCode.UNKNOWN_CUSTOM_FIELD,
                        value=definition[:8],
                    )
                )
                continue
            values[definition] = given.value.strip()

        def pick(given: Any, preset: Any) -> Any:
            return given if given is not None else preset

        t = template
        try:
            extras = InvoiceExtras(
                private_note=pick(data.private_note, t.private_note if t else ""),
                custom_fields=tuple(CustomFieldValue(d, v) for d, v in sorted(values.items()) if v),
                bill_email_cc=pick(data.bill_email_cc, t.bill_email_cc if t else ""),
                bill_email_bcc=pick(data.bill_email_bcc, t.bill_email_bcc if t else ""),
                allow_online_card=pick(data.allow_online_card, t.allow_online_card if t else None),
                allow_online_ach=pick(data.allow_online_ach, t.allow_online_ach if t else None),
                template_id=t.id if t else None,
                template_name=t.name if t else None,
                deposit=_parse_deposit(data.deposit, violations),
                **_tracking(data, t, options, violations),
            )
        except InvalidValueError as exc:
            violations.extend(exc.prefixed("invoice").violations)
            return None
        return None if extras == InvoiceExtras() else extras
