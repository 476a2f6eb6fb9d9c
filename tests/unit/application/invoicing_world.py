"""A small world for invoicing use-case tests: in-memory fakes wired like the real thing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmGateway
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.in_memory.views import InMemoryInvoiceViews
from adapters.system_clock import FrozenClock
from application.auth import Principal
from application.commands import (
    AddressInput,
    CreateInvoiceCommand,
    CustomerInput,
    DealRef,
    InvoiceInput,
    InvoiceRef,
    LineInput,
)
from application.invoicing.create import CreateInvoice
from application.invoicing.delete import DeleteInvoice
from application.invoicing.events import ListInvoiceEvents
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.follow_up import FollowUpOnDeal
from application.invoicing.get import GetInvoice
from application.invoicing.listing import ListInvoices
from application.invoicing.pdf import GetInvoicePdf
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.refresh import RefreshInvoices
from application.invoicing.send import SendInvoice
from application.invoicing.stored import InvoiceAnswers
from application.invoicing.void import VoidInvoice
from application.ports.crm import CrmUser, Deal, DealDiscount, DealProduct
from application.ports.persistence import InvoiceViews, UnitOfWorkFactory
from application.sync import ApplyAccountingChanges
from application.timeline import UpdateDealTimeline
from application.visibility import DealVisibility
from domain.customer import Address
from domain.field_mapping import DealSnapshot
from domain.invoice_line import DiscountKind, TaxMethod
from domain.settings import CompanySettings

COMPANY = "1001"
USER = Principal(subject="user-7", companies=frozenset({COMPANY}), is_admin=False)
OTHER = Principal(subject="user-9", companies=frozenset({"2002"}), is_admin=False)
MARCH_13 = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)


def a_deal(deal_id: str = "42", *, email: str | None = "ana@acme.test") -> Deal:
    return Deal(
        id=deal_id,
        title="Website redesign",
        currency="USD",
        value=Decimal("2109.78"),
        organization_id="5",
        person_id="9",
        snapshot=DealSnapshot(
            deal={"title": "Website redesign"},
            organization={
                "name": "Acme Corp",
                "address": Address(line1="1 Main St", city="Springfield", country="US"),
            },
            person={"name": "Ana", "email": email},
        ),
        products=(
            DealProduct("p1", "Services", Decimal(5), Decimal(22), discount=Decimal("0.2")),
            DealProduct(
                "p2",
                "Design",
                Decimal(2),
                Decimal(1000),
                tax_rate=Decimal(10),
                tax_method=TaxMethod.EXCLUSIVE,
            ),
        ),
        discounts=(DealDiscount("Loyalty", Decimal(50), DiscountKind.AMOUNT),),
    )


@dataclass
class World:
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(MARCH_13))
    uow: UnitOfWorkFactory = field(default_factory=InMemoryUnitOfWorkFactory)
    qbo: InMemoryAccountingGateway = field(default_factory=InMemoryAccountingGateway)
    crm: InMemoryCrmGateway = field(default_factory=InMemoryCrmGateway)
    views: InvoiceViews | None = None  # None: the read side over ``uow``'s fake store
    jobs: InMemoryJobQueue = field(default_factory=InMemoryJobQueue)

    def __post_init__(self) -> None:
        if self.views is None:
            assert isinstance(self.uow, InMemoryUnitOfWorkFactory)
            self.views = InMemoryInvoiceViews(self.uow.store)
        self.qbo.connect(COMPANY)
        self.crm.add_deal(COMPANY, a_deal())
        # The user the app acts as: the deal timeline speaks their language.
        self.crm.users[COMPANY] = CrmUser(
            id="1",
            name="Alice Admin",
            email="alice@acme.test",
            company_id=COMPANY,
            company_name="Acme",
            company_domain="acme",
            is_admin=True,
        )
        answers = InvoiceAnswers(self.views, self.qbo, self.clock)
        visibility = DealVisibility(self.crm)
        # As deployed the deal follow-up (customer link, note) is a job; ``finish`` and
        # ``create`` run it at once, ``queued_*`` queue it and the test runs it.
        self.timeline = UpdateDealTimeline(self.uow, self.crm, self.clock)
        self.follow_up = FollowUpOnDeal(self.uow, self.crm, self.clock, timeline=self.timeline)
        self.finish = FinishInvoiceCreation(
            self.uow, self.qbo, self.clock, follow_up=self.follow_up
        )
        self.prepare = PrepareInvoice(self.uow, self.qbo, self.crm, self.clock, visibility)
        self.create = CreateInvoice(
            self.uow, self.qbo, self.clock, self.finish, answers, visibility, crm=self.crm
        )
        self.get = GetInvoice(answers, visibility)
        self.list = ListInvoices(self.views, self.qbo, self.clock, visibility)
        self.events = ListInvoiceEvents(self.uow, visibility)
        self.void = VoidInvoice(self.uow, self.qbo, self.clock, answers, visibility, jobs=self.jobs)
        self.delete = DeleteInvoice(
            self.uow, self.qbo, self.clock, answers, visibility, jobs=self.jobs
        )
        self.send = SendInvoice(self.uow, self.qbo, self.clock, answers, visibility, jobs=self.jobs)
        self.pdf = GetInvoicePdf(self.uow, self.qbo, visibility)
        applied = ApplyAccountingChanges(self.uow, self.qbo, InMemoryTokenStore(), self.clock)
        self.refresh = RefreshInvoices(self.uow, self.clock, self.finish, self.list, applied)
        self.queued_finish = FinishInvoiceCreation(self.uow, self.qbo, self.clock, jobs=self.jobs)
        self.queued_create = CreateInvoice(
            self.uow, self.qbo, self.clock, self.queued_finish, answers, visibility, self.jobs
        )


def deal_ref(principal: Principal = USER, deal_id: str = "42") -> DealRef:
    return DealRef(principal, COMPANY, deal_id)


def invoice_ref(invoice_id: str, principal: Principal = USER) -> InvoiceRef:
    return InvoiceRef(principal, COMPANY, "42", invoice_id)


def an_invoice_input(**changes: object) -> InvoiceInput:
    values: dict[str, object] = {
        "customer": CustomerInput(
            display_name="Acme Corp",
            email="ana@acme.test",
            address=AddressInput(line1="1 Main St", city="Springfield", country="US"),
        ),
        "lines": (
            LineInput(name="Services", quantity="5", unit_price="22", discount="0.2", item_id="1"),
            LineInput(name="Design", quantity="2", unit_price="1000", item_id="1"),
        ),
        "currency": "USD",
    }
    values.update(changes)
    return InvoiceInput(**values)  # type: ignore[arg-type]


def create_command(request_id: str = "req-1", **changes: object) -> CreateInvoiceCommand:
    return CreateInvoiceCommand(deal_ref(), an_invoice_input(**changes), request_id)


async def change_settings(world: World, **changes: object) -> None:
    """The company's settings with ``changes`` (e.g. ``default_tax_code="2"``)."""
    async with world.uow() as uow:
        current = await uow.settings.get(COMPANY) or CompanySettings.default(COMPANY)
        changed = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
        await uow.settings.save(dataclasses.replace(changed, updated_at=world.clock.now()))
        await uow.commit()
