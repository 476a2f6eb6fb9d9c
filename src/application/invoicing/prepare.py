"""PrepareInvoice: the invoice form prefilled from the deal, its products, the mapping and the
due-date rule, with QuickBooks customer suggestions and what QuickBooks would object to."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from application.commands import DealRef
from application.errors import NotFoundError, UpstreamUnavailableError
from application.invoicing.calendar import company_today
from application.invoicing.checks import (
    DEAL_INVOICES_MAX,
    active_term,
    before_tax,
    currency_warnings,
    dropped_by_quickbooks,
    due_date_for,
    inactive_tax_codes,
    invoiced_on_deal,
    sales_tax_code,
    sales_tax_problems,
    tax_id_warning,
    taxed_by_code,
)
from application.invoicing.contacts import find_link, link_targets
from application.invoicing.share import lines_language, shared
from application.invoicing.stored import settings_of
from application.ports.accounting import (
    AccountingCustomer,
    AccountingGateway,
    InvoiceOptions,
    ItemOption,
    NamedRef,
)
from application.ports.clock import Clock
from application.ports.crm import ONE_TIME, CrmGateway, Deal
from application.ports.persistence import UnitOfWorkFactory
from application.views import DraftTemplate, DraftWarning, InvoiceDraft
from application.visibility import DealVisibility
from domain.customer import Customer, casefolded_emails
from domain.errors import InvalidValueError
from domain.field_mapping import MappingIssue, MappingIssueKind
from domain.installment import DealShare, percent_of
from domain.installment_schedule import Installment
from domain.invoice_line import DiscountKind, InvoiceLine, totals_of
from domain.invoice_template import (
    CUSTOM_FIELD_VALUE_MAX,
    CustomFieldValue,
    InvoiceTemplate,
)
from domain.messages import MessageCode
from domain.money import Money, is_known_currency
from domain.settings import CompanySettings


def match_item(name: str, items: Sequence[ItemOption]) -> ItemOption | None:
    wanted = name.strip().lower()
    for item in items:
        if item.active and item.name.strip().lower() == wanted:
            return item
    return None


def deal_lines(
    deal: Deal,
    options: InvoiceOptions,
    settings: CompanySettings,
    currency: str,
    sales_tax_code_id: str | None = None,
    issue_date: date | None = None,
) -> tuple[tuple[InvoiceLine, ...], list[DraftWarning]]:
    """Invoice lines from the deal's products and deal-level discounts."""
    warnings: list[DraftWarning] = []
    lines: list[InvoiceLine] = []
    usable = {item.id for item in options.items if item.active and item.sold}
    for index, product in enumerate(deal.products):
        item = match_item(product.name, options.items)
        item_ref = item.id if item and item.sold else settings.default_item
        if item_ref and item_ref not in usable:
            # The default (Settings, or the template's) was made inactive or deleted since: the
            # form cannot show it, and QuickBooks would refuse it or file the line elsewhere.
            warnings.append(
                DraftWarning.of(
                    MessageCode.DEFAULT_ITEM_UNAVAILABLE, f"lines[{index}].item_id", id=item_ref
                )
            )
        if item and not item.sold:
            # Named like a bundle or a category: said, and left to the default item or to the
            # user's choice rather than sent to QuickBooks as something it cannot sell.
            warnings.append(
                DraftWarning.of(
                    MessageCode.NOT_A_SALES_ITEM,
                    f"lines[{index}].item_id",
                    name=product.name,
                    itemType=item.type,
                )
            )
        elif item_ref is None:
            warnings.append(
                DraftWarning.of(
                    MessageCode.NO_MATCHING_ITEM, f"lines[{index}].item_id", name=product.name
                )
            )
        if product.billing_frequency != ONE_TIME:  # one period's price, one period's line
            warnings.append(
                DraftWarning.of(
                    MessageCode.RECURRING_PRODUCT,
                    f"lines[{index}].quantity",
                    frequency=product.billing_frequency,
                )
            )
        lines.append(
            InvoiceLine(
                name=product.name,
                description=product.comments,
                quantity=product.quantity,
                unit_price=product.unit_price,
                discount=product.discount,
                discount_kind=product.discount_kind,
                tax_rate=product.tax_rate,
                tax_method=product.tax_method,
                item_ref=item_ref,
                tax_code_ref=settings.default_tax_code,
            )
        )
    # The code's rate, as QuickBooks charges it.
    items, replaced = taxed_by_code(lines, options, sales_tax_code_id, issue_date)
    lines, warnings = list(items), warnings + replaced
    # A percentage comes off the subtotal before tax, as QuickBooks takes a percent discount
    # (the tax is charged after it: see totals_of).
    subtotal = Money.sum_of((line.net_excluding_tax(currency) for line in lines), currency)
    for discount in deal.discounts:
        amount = discount.amount
        if discount.kind is DiscountKind.PERCENTAGE:
            amount = percent_of(subtotal, discount.amount).amount
        if amount > 0:
            lines.append(InvoiceLine.discount_line(discount.description or "Discount", amount))
    return tuple(lines), warnings


def scheduled_on_deal(
    planned: Sequence[Installment], currency: str, being_made: Installment | None
) -> Money:
    """What the deal's installments still to come ask for (before tax), ``being_made`` aside:
    spoken for, so a share, a new schedule or the form's over-value check does not count it
    as left to invoice."""
    return Money.sum_of(
        (
            row.amount
            for row in planned
            if row.is_pending
            and row.amount.currency == currency
            and not (
                being_made is not None
                and (row.schedule_id, row.position) == (being_made.schedule_id, being_made.position)
            )
        ),
        currency,
    )


@dataclass(frozen=True, slots=True)
class PrepareInvoice:
    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    crm: CrmGateway
    clock: Clock
    visibility: DealVisibility

    async def execute(
        self,
        ref: DealRef,
        share: DealShare | None = None,
        installment: Installment | None = None,
        template_id: str | None = None,
    ) -> InvoiceDraft:
        """The draft for the whole deal, or for ``share`` of it (its lines scaled exactly, each
        saying which share it is; see domain/installment.py), or for an ``installment`` of its
        schedule (its amount); ``template_id``: the template to apply instead of the company's
        default one."""
        if installment is not None:
            share = DealShare.amount(installment.amount.amount)
        ref.principal.ensure_can_access(ref.company_id)
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            settings = await settings_of(uow, ref.company_id)
            deal = await self.crm.get_deal(ref.company_id, ref.deal_id)
            wanted = (settings.default_currency or deal.currency or "").upper() or None
            link = await find_link(uow, ref.company_id, deal, wanted)
            on_deal = await uow.invoices.list_for_deal(
                ref.company_id, ref.deal_id, limit=DEAL_INVOICES_MAX
            )
            templates = await uow.templates.list(ref.company_id)
            planned = await uow.installments.for_deal(ref.company_id, ref.deal_id)
        options = await self.accounting.invoice_options(ref.company_id)
        prefs = options.preferences
        # The default template is applied first: its terms, tax code and item stand in for the
        # company's defaults, its messages, custom fields, CC/BCC and payment options fill the
        # draft, and the form lets the user pick another one (or none) before editing.
        template = next((t for t in templates if t.is_default), None)
        if template_id:
            template = next((t for t in templates if t.id == template_id), None)
            if template is None:
                raise InvalidValueError.of(
                    "template_id", MessageCode.UNKNOWN_TEMPLATE, value=template_id[:80]
                )
        defined = {f.id for f in options.custom_fields if f.active}
        drafts = tuple(
            DraftTemplate(t, _defined(t.custom_values(deal.snapshot), defined)) for t in templates
        )
        settings = with_template(settings, template)
        mapped = settings.field_mapping.apply(deal.snapshot)
        warnings = [
            _mapping_warning(issue)
            for issue in mapped.issues
            if issue.kind is not MappingIssueKind.NOT_MAPPED
        ]

        linked: AccountingCustomer | None = None
        if link is not None:
            try:
                linked = await self.accounting.get_customer(
                    ref.company_id, link.quickbooks_customer_id
                )
            except NotFoundError:
                warnings.append(
                    DraftWarning.of(
                        MessageCode.LINKED_CUSTOMER_GONE,
                        "customer.quickbooks_customer_id",
                        name=link.display_name,
                    )
                )
        if linked is not None and not linked.active:
            # Made inactive in QuickBooks since it was linked: QuickBooks invoices no inactive
            # customer (610), so the invoice would be stored and then refused.
            warnings.append(
                DraftWarning.of(
                    MessageCode.LINKED_CUSTOMER_INACTIVE,
                    "customer.quickbooks_customer_id",
                    name=linked.customer.display_name,
                )
            )
        suggestions: dict[str, AccountingCustomer] = {}  # by id, first found first
        if linked is None:
            for text in filter(None, (mapped.name, mapped.email)):
                for found in await self.accounting.search_customers(ref.company_id, text, limit=5):
                    suggestions.setdefault(found.id, found)

        currency = (settings.default_currency or deal.currency or prefs.home_currency).upper()
        if not is_known_currency(currency):
            currency = prefs.home_currency
        warnings.extend(currency_warnings(currency, options))
        if prefs.multicurrency_enabled and linked and linked.currency not in (None, currency):
            # QuickBooks keeps one currency per customer: the fix its users use is a customer
            # of the same name for the other currency, found here if it exists already.
            other = f"{linked.customer.display_name} ({currency})"
            warnings.append(
                DraftWarning.of(
                    MessageCode.CUSTOMER_CURRENCY_DIFFERS,
                    "currency",
                    name=linked.customer.display_name,
                    customerCurrency=linked.currency,
                    currency=currency,
                    suggestedName=other,
                )
            )
            for match in await self.accounting.search_customers(ref.company_id, other, limit=5):
                if match.currency == currency:
                    suggestions.setdefault(match.id, match)
        customer = _draft_customer(mapped.name or deal.title, mapped, linked)
        if not customer.email:
            warnings.append(DraftWarning(MessageCode.NO_EMAIL, "customer.email"))
        too_long = tax_id_warning(customer.tax_id, options)
        if too_long is not None:
            warnings.append(too_long)
        # A US company without automated sales tax: the company's default code, if it is one.
        sales_tax = (
            settings.default_tax_code
            if sales_tax_code(options, settings.default_tax_code)
            else None
        )
        issue_date = company_today(self.clock.now(), prefs.time_zone)
        lines, line_warnings = deal_lines(deal, options, settings, currency, sales_tax, issue_date)
        warnings.extend(line_warnings)
        invoiced = invoiced_on_deal(on_deal, currency)
        # Spoken for: what the invoices ask for and the installments still to come will.
        committed = invoiced + scheduled_on_deal(planned, currency, installment)
        share_amount = deal_amount = None
        if share is not None:
            part = shared(
                lines,
                currency,
                share,
                committed,
                deal.title,
                lines_language(settings.timeline.language),
                installment,
            )
            lines, share_amount, deal_amount = part.lines, part.amount, part.whole
        warnings.extend(sales_tax_problems(lines, options, sales_tax))
        warnings.extend(dropped_by_quickbooks(lines, options))
        warnings.extend(inactive_tax_codes(lines, options))
        if not lines:
            warnings.append(DraftWarning(MessageCode.NO_LINES, "lines"))
        if not prefs.is_us_company and not settings.default_tax_code:
            warnings.append(DraftWarning(MessageCode.MISSING_TAX_CODE, "lines"))
        totals = totals_of(lines, currency)
        deal_value = Money(deal.value, currency) if deal.currency.upper() == currency else None
        if deal_value is not None and deal_value.is_positive():
            after = committed + before_tax(totals)
            if after > deal_value:
                warnings.append(
                    DraftWarning.of(
                        MessageCode.OVER_DEAL_VALUE,
                        "lines",
                        value=deal_value,
                        invoiced=committed,
                        over=after - deal_value,
                    )
                )
        rate = home_total = None
        foreign = currency != prefs.home_currency and currency in prefs.enabled_currencies
        if prefs.multicurrency_enabled and foreign:
            # [U] QuickBooks' HomeTotalAmt is TotalAmt x ExchangeRate to the cent, half up.
            with contextlib.suppress(UpstreamUnavailableError):  # the form works without it
                rate = await self.accounting.exchange_rate(ref.company_id, currency, issue_date)
                home_total = Money(totals.total.amount * rate, prefs.home_currency).rounded()
        # The company's choice, else the customer's own term, else QuickBooks' default term.
        term = active_term(
            options,
            settings.default_terms,
            linked.terms_id if linked else None,
            prefs.default_terms_id,
        )
        custom = next((d.custom_values for d in drafts if d.template is template), ())
        for index, value in enumerate(custom):
            if len(value.value) > CUSTOM_FIELD_VALUE_MAX:
                warnings.append(
                    DraftWarning.of(
                        MessageCode.TOO_LONG_FOR_QUICKBOOKS,
                        f"custom_fields[{index}].value",
                        max=CUSTOM_FIELD_VALUE_MAX,
                        length=len(value.value),
                    )
                )
        # The template's class and location, while QuickBooks still has them active.
        # (A company that stopped tracking them has nothing to choose: no warning.)
        class_id = _active_preset(
            template.class_id if template else None,
            options.class_choices,
            ("class_id", MessageCode.UNKNOWN_CLASS),
            warnings,
        )
        location_id = _active_preset(
            template.location_id if template else None,
            options.location_choices,
            ("location_id", MessageCode.UNKNOWN_LOCATION),
            warnings,
        )
        return InvoiceDraft(
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            customer=customer,
            linked_customer=linked,
            suggestions=tuple(suggestions.values()),
            currency=currency,
            issue_date=issue_date,
            due_date=due_date_for(issue_date, settings, term),
            terms_id=term.id if term else None,
            terms_due_dates={t.id: t.due_date(issue_date) for t in options.terms if t.active},
            rule_due_date=settings.due_date_policy.due_date(issue_date),
            copy_customer_details=settings.copy_customer_details,
            exchange_rate=rate,
            home_total=home_total,
            lines=lines,
            totals=totals,
            warnings=tuple(warnings),
            contact=(link.entity, link.entity_id) if link else next(iter(link_targets(deal)), None),
            contact_linked=link is not None,
            tax_by_quickbooks=prefs.automated_sales_tax,
            deal_value=deal_value,
            invoiced_on_deal=invoiced,
            share=share,
            share_amount=share_amount,
            deal_amount=deal_amount,
            sales_tax_code_id=sales_tax,
            templates=drafts,
            template_id=template.id if template else None,
            memo=template.customer_memo if template else "",
            private_note=template.private_note if template else "",
            custom_fields=custom,
            bill_email_cc=template.bill_email_cc if template else "",
            bill_email_bcc=template.bill_email_bcc if template else "",
            allow_online_card=template.allow_online_card if template else None,
            allow_online_ach=template.allow_online_ach if template else None,
            class_id=class_id,
            location_id=location_id,
        )


def _active_preset(
    preset: str | None,
    refs: Sequence[NamedRef] | None,
    unknown: tuple[str, MessageCode],
    warnings: list[DraftWarning],
) -> str | None:
    """The template's class or location while QuickBooks has it active (``refs``; None: the
    company does not track them), else a warning, naming it when QuickBooks still lists it
    inactive, and none."""
    if refs is None:
        return None
    kept = next((r for r in refs if r.id == preset), None) if preset else None
    if not preset or (kept is not None and kept.active):
        return preset or None
    field, code = unknown
    warnings.append(DraftWarning.of(code, field, value=kept.name if kept else preset))
    return None


def with_template(settings: CompanySettings, template: InvoiceTemplate | None) -> CompanySettings:
    """The company's settings with the template's terms, tax code and item as the defaults."""
    if template is None:
        return settings
    return dataclasses.replace(
        settings,
        default_terms=template.terms_id or settings.default_terms,
        default_tax_code=template.tax_code_id or settings.default_tax_code,
        default_item=template.item_id or settings.default_item,
    )


def _defined(values: Sequence[CustomFieldValue], defined: set[str]) -> tuple[CustomFieldValue, ...]:
    """The values of the custom fields QuickBooks has turned on (the others are not sent)."""
    return tuple(value for value in values if value.definition_id in defined)


_MAPPING_WARNINGS = {
    MappingIssueKind.ENTITY_MISSING: MessageCode.MAPPING_ENTITY_MISSING,
    MappingIssueKind.FIELD_EMPTY: MessageCode.MAPPING_FIELD_EMPTY,
    MappingIssueKind.WRONG_TYPE: MessageCode.MAPPING_WRONG_TYPE,
}


def _mapping_warning(issue: MappingIssue) -> DraftWarning:
    source = issue.source
    return DraftWarning.of(
        _MAPPING_WARNINGS[issue.kind],
        f"customer.{issue.field.value}",
        field=issue.field.value,
        entity=source.entity.value if source else "",
        source=str(source or ""),
    )


def _draft_customer(name: str, mapped: Any, linked: AccountingCustomer | None) -> Customer:
    if linked is not None:
        base = linked.customer
        return Customer(
            display_name=base.display_name,
            # The deal's address when it is not one of the customer's: theirs keep the others.
            email=base.email
            if casefolded_emails(mapped.email) <= casefolded_emails(base.email)
            else mapped.email,
            billing_address=mapped.address or base.billing_address,
            tax_id=mapped.tax_id or base.known_tax_id(),  # never QuickBooks' mask
            quickbooks_id=linked.id,
            # Its own ship-to in QuickBooks, where automated sales tax is for: the deal's
            # address, mapped as the billing address, does not move where the goods go.
            shipping_address=base.shipping_address,
        )
    return Customer(
        display_name=(name or "Customer")[:100],
        email=mapped.email,
        billing_address=mapped.address,
        tax_id=mapped.tax_id,
    )
