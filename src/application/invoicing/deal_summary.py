"""GetDealInvoicing: what the deal is worth, what its invoices ask for and have been paid, and
what remains to invoice; the panel's summary above the deal's invoices."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import DealRef
from application.deal_fields import MAX_INVOICES_PER_DEAL
from application.invoicing.checks import invoiced_on_deal, is_invoiced
from application.ports.crm import CrmGateway
from application.ports.persistence import UnitOfWorkFactory
from application.visibility import DealVisibility
from domain.money import Money, currency_violation


@dataclass(frozen=True, slots=True)
class DealInvoicing:
    """The deal's figures in its own currency. ``invoiced`` and ``remaining`` are before tax,
    as the invoice form counts them (whether Pipedrive's deal value includes tax is not
    documented); ``paid`` and ``balance_due`` are what the customer pays, tax included.
    Invoices in other currencies are not converted: their currencies are listed instead.

    A deal in a currency dealbooks cannot invoice in (a Pipedrive custom currency) has no
    ``deal_value`` nor ``remaining``; its invoices' figures are in their most recent invoice's
    currency, and without invoices there are no figures at all."""

    company_id: str
    deal_id: str
    currency: str
    deal_value: Money | None
    invoiced: Money | None
    paid: Money | None
    balance_due: Money | None
    remaining: Money | None  # negative when the invoices ask for more than the deal's value
    invoice_count: int  # the invoices counted (voided, deleted and refused ones aside)
    other_currencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetDealInvoicing:
    uow_factory: UnitOfWorkFactory
    crm: CrmGateway
    visibility: DealVisibility

    async def execute(self, ref: DealRef) -> DealInvoicing:
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        value, deal_currency = await self.crm.deal_value(ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            invoices = await uow.invoices.list_for_deal(
                ref.company_id, ref.deal_id, limit=MAX_INVOICES_PER_DEAL
            )
        counted = [i for i in invoices if is_invoiced(i)]  # newest first
        deal_currency = deal_currency.upper()
        known = currency_violation(deal_currency) is None
        currency = deal_currency if known else (counted[0].currency if counted else "")
        figures: dict[str, Money | None] = dict.fromkeys(
            ("deal_value", "invoiced", "paid", "balance_due", "remaining")
        )
        if currency:
            same = [i for i in counted if i.currency == currency]
            invoiced = invoiced_on_deal(counted, currency)
            figures["invoiced"] = invoiced
            figures["paid"] = Money.sum_of((i.amount_paid for i in same), currency)
            figures["balance_due"] = Money.sum_of((i.balance() for i in same), currency)
            if known:
                figures["deal_value"] = deal_value = Money(value, currency)
                figures["remaining"] = deal_value - invoiced
        return DealInvoicing(
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            currency=currency,
            invoice_count=len(counted),
            other_currencies=tuple(sorted({i.currency for i in counted} - {currency})),
            **figures,
        )
