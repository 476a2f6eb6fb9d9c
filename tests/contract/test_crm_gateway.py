"""CrmGateway: one suite, run against the in-memory fake and the Pipedrive adapter + emulator."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import aiohttp
import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmGateway
from application.errors import NotFoundError, UpstreamRejectedError
from application.ports.crm import (
    CrmField,
    CrmGateway,
    CrmPermissionSet,
    CrmPipeline,
    CrmStage,
    CrmUser,
    CrmWebhook,
    Deal,
    DealDiscount,
    DealFieldKeys,
    DealInvoiceTotals,
    DealProduct,
)
from domain.customer import Address
from domain.field_mapping import DealSnapshot, SourceEntity
from domain.invoice_line import DiscountKind, TaxMethod
from tests.integration.pipedrive.support import (
    EmulatorHandle,
    connection_from_token,
    make_gateway,
    running_emulator,
)

ORG_ADDRESS = Address(
    line1="Friedrichstraße 68",
    city="Berlin",
    region="Berlin",
    postal_code="10117",
    country="Germany",
    formatted="Friedrichstraße 68, 10117 Berlin, Germany",
)
DELIVERY_ADDRESS = Address(
    line1="12 Rue de Rivoli",
    city="Paris",
    postal_code="75004",
    country="France",
    formatted="12 Rue de Rivoli, 75004 Paris, France",
)
PRODUCTS = (
    DealProduct(
        product_id="p1",
        name="Web design (days)",
        quantity=Decimal(10),
        unit_price=Decimal(800),
        tax_rate=Decimal(19),
        tax_method=TaxMethod.EXCLUSIVE,
        sum=Decimal(8000),
    ),
    DealProduct(
        product_id="p2",
        name="Hosting (year)",
        quantity=Decimal(1),
        unit_price=Decimal(240),
        discount=Decimal(10),
        discount_kind=DiscountKind.PERCENTAGE,
        tax_rate=Decimal(19),
        tax_method=TaxMethod.EXCLUSIVE,
        comments="First year",
        sum=Decimal(216),
    ),
)
DISCOUNT = DealDiscount("Loyalty 5%", Decimal(5), DiscountKind.PERCENTAGE)


@dataclass
class Seeded:
    company_id: str
    deal_id: str
    bare_deal_id: str
    user_id: str
    vat_key: str
    contract_value_key: str
    delivery_key: str


class Harness(Protocol):
    gateway: CrmGateway

    async def seed(self) -> Seeded: ...

    async def delete_deal(self, seeded: Seeded, deal_id: str) -> None: ...

    async def set_status(self, seeded: Seeded, deal_id: str, status: str) -> None:
        """Mark the deal won (now), lost or open, as a user does in Pipedrive."""
        ...

    async def add_member(self, seeded: Seeded, name: str) -> str:
        """A user of the company who is not an admin; their id."""
        ...

    async def hide_deal(self, seeded: Seeded, deal_id: str, followers: list[str]) -> None:
        """Show the deal to its owner (the seeded admin) and these followers only."""
        ...

    async def notes(self, seeded: Seeded, deal_id: str) -> list[str]:
        """The notes on the deal, as a person reads them (plain text)."""
        ...

    async def deal_field_names(self, seeded: Seeded) -> list[str]:
        """The names of the company's custom deal fields (one per field)."""
        ...

    async def deal_fields_shown(
        self, seeded: Seeded, deal_id: str, keys: DealFieldKeys
    ) -> dict[str, Any]:
        """What the deal shows in the four fields, by attribute of ``keys``."""
        ...


class FakeHarness:
    def __init__(self) -> None:
        self.fake = InMemoryCrmGateway()
        self.gateway: CrmGateway = self.fake

    async def seed(self) -> Seeded:
        seeded = Seeded("13000001", "1", "2", "21000001", "a" * 40, "b" * 40, "c" * 40)
        snapshot = DealSnapshot(
            deal={
                "title": "Website relaunch",
                "value": Decimal(8216),
                "currency": "EUR",
                seeded.contract_value_key: Decimal("12000.5"),
                f"{seeded.contract_value_key}_currency": "EUR",
                seeded.delivery_key: DELIVERY_ADDRESS,
            },
            organization={"name": "Globex GmbH", "address": ORG_ADDRESS, seeded.vat_key: "DE123"},
            person={"name": "Greta Weber", "email": "greta.weber@globex.example"},
        )
        self.fake.add_deal(
            seeded.company_id,
            Deal(
                "1",
                "Website relaunch",
                "EUR",
                Decimal(8216),
                "1",
                "1",
                snapshot,
                PRODUCTS,
                (DISCOUNT,),
            ),
        )
        self.fake.add_deal(
            seeded.company_id,
            Deal(
                "2",
                "Bare deal",
                "USD",
                Decimal(0),
                None,
                None,
                DealSnapshot(deal={"title": "Bare deal"}),
            ),
        )
        self.fake.fields += [
            CrmField(SourceEntity.ORGANIZATION, seeded.vat_key, "VAT number", "varchar", True),
            CrmField(
                SourceEntity.DEAL,
                seeded.contract_value_key,
                "Contract value",
                "monetary",
                True,
                ("value", "currency"),
            ),
            CrmField(
                SourceEntity.DEAL,
                seeded.delivery_key,
                "Delivery address",
                "address",
                True,
                ("street_number", "route", "locality", "postal_code", "country"),
            ),
        ]
        self.fake.users[seeded.company_id] = CrmUser(
            id=seeded.user_id,
            name="Ada Admin",
            email="ada@contract-test.test",
            company_id=seeded.company_id,
            company_name="Contract Test GmbH",
            company_domain="contract-test",
            is_admin=True,
            permission_set_ids=frozenset({"deals-admin", "global-admin"}),
        )
        self.fake.pipelines[seeded.company_id] = [
            CrmPipeline(
                "2",
                "Renewals",
                1,
                (CrmStage("5", "Renewed", 2), CrmStage("4", "Renewal due", 1)),
            ),
            CrmPipeline(
                "1",
                "Sales",
                0,
                (
                    CrmStage("1", "Qualified", 1),
                    CrmStage("2", "Proposal made", 2),
                    CrmStage("3", "Negotiations started", 3),
                ),
            ),
        ]
        self.fake.permission_sets[seeded.company_id] = [
            CrmPermissionSet("deals-admin", "Deals admin", "sales", "admin"),
            CrmPermissionSet("deals-regular", "Deals regular user", "sales", "regular"),
            CrmPermissionSet("global-admin", "Global admin", "global", "admin"),
        ]
        return seeded

    async def delete_deal(self, seeded: Seeded, deal_id: str) -> None:
        key = (seeded.company_id, deal_id)
        self.fake.deals[key] = replace(self.fake.deals[key], deleted=True)

    async def set_status(self, seeded: Seeded, deal_id: str, status: str) -> None:
        key = (seeded.company_id, deal_id)
        if status == "won":
            self.fake.win_deal(*key, datetime.now(UTC))
        else:
            self.fake.won.pop(key, None)

    async def add_member(self, seeded: Seeded, name: str) -> str:
        members = self.fake.members.setdefault(seeded.company_id, {seeded.user_id})
        user_id = str(21000001 + len(members))
        members.add(user_id)
        return user_id

    async def hide_deal(self, seeded: Seeded, deal_id: str, followers: list[str]) -> None:
        self.fake.restrict_deal(seeded.company_id, deal_id, {seeded.user_id, *followers})

    async def notes(self, seeded: Seeded, deal_id: str) -> list[str]:
        return [t for c, d, t in self.fake.notes if (c, d) == (seeded.company_id, deal_id)]

    async def deal_field_names(self, seeded: Seeded) -> list[str]:
        return ["Invoiced", "Paid", "Balance due", "Invoice status"][
            : 4 * (seeded.company_id in self.fake.deal_field_keys)
        ]

    async def deal_fields_shown(
        self, seeded: Seeded, deal_id: str, keys: DealFieldKeys
    ) -> dict[str, Any]:
        written = [
            t for c, d, t in self.fake.deal_field_writes if (c, d) == (seeded.company_id, deal_id)
        ]
        if not written:
            return {}
        last = written[-1]
        if last.currency is None:  # as the adapter writes it: every field emptied
            return dict.fromkeys(("invoiced", "paid", "balance_due", "invoice_status"))
        money = {"currency": last.currency}
        return {
            "invoiced": {"value": float(last.invoiced), **money},
            "paid": {"value": float(last.paid), **money},
            "balance_due": {"value": float(last.balance_due), **money},
            "invoice_status": last.status,
        }


class PipedriveHarness:
    def __init__(self, handle: EmulatorHandle, session: aiohttp.ClientSession) -> None:
        self.handle = handle
        self.store = InMemoryTokenStore()
        self.gateway: CrmGateway = make_gateway(session, self.store, handle.base_url)
        self.access_token = ""

    async def seed(self) -> Seeded:
        result = await self.handle.seed()
        token = await self.handle.mint(result["company_id"])
        self.access_token = token["access_token"]
        await self.store.save(connection_from_token(token, now=datetime.now(UTC)))
        return Seeded(
            company_id=str(result["company_id"]),
            deal_id=str(result["deals"][0]),
            bare_deal_id=str(result["deals"][1]),
            user_id=str(token["user_id"]),
            vat_key=result["fields"]["organization"]["VAT number"],
            contract_value_key=result["fields"]["deal"]["Contract value"],
            delivery_key=result["fields"]["deal"]["Delivery address"],
        )

    async def delete_deal(self, seeded: Seeded, deal_id: str) -> None:
        await self.handle.admin("DELETE", f"/deals/{deal_id}")

    async def set_status(self, seeded: Seeded, deal_id: str, status: str) -> None:
        await self.handle.admin("PATCH", f"/deals/{deal_id}", {"status": status})

    async def add_member(self, seeded: Seeded, name: str) -> str:
        user = {"name": name, "email": f"{name.lower()}@contract-test.test"}
        found = await self.handle.seed({"company_id": int(seeded.company_id), "users": [user]})
        return str(found["users"][0]["id"])

    async def hide_deal(self, seeded: Seeded, deal_id: str, followers: list[str]) -> None:
        await self.handle.admin("PATCH", f"/deals/{deal_id}", {"visible_to": 1})
        for user_id in followers:
            await self.handle.admin(
                "POST", f"/deals/{deal_id}/followers", {"user_id": int(user_id)}
            )

    async def deal_field_names(self, seeded: Seeded) -> list[str]:
        body = await self.handle.api_get(self.access_token, "/api/v2/dealFields?limit=500")
        return [f["field_name"] for f in body["data"] if f["is_custom_field"]]

    async def deal_fields_shown(
        self, seeded: Seeded, deal_id: str, keys: DealFieldKeys
    ) -> dict[str, Any]:
        body = await self.handle.api_get(self.access_token, f"/api/v2/deals/{deal_id}")
        custom = body["data"]["custom_fields"]
        return {
            attribute: custom.get(getattr(keys, attribute))
            for attribute in ("invoiced", "paid", "balance_due", "invoice_status")
        }

    async def notes(self, seeded: Seeded, deal_id: str) -> list[str]:
        body = await self.handle.api_get(self.access_token, f"/api/v1/notes?deal_id={deal_id}")
        return [
            html.unescape(note["content"].replace("<br>", "\n"))
            for note in sorted(body["data"] or [], key=lambda n: n["id"])
        ]


@pytest.fixture(params=["in_memory", pytest.param("pipedrive", marks=pytest.mark.integration)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "in_memory":
        yield FakeHarness()
        return
    async with running_emulator() as handle, aiohttp.ClientSession() as session:
        yield PipedriveHarness(handle, session)


async def test_a_deal_comes_with_its_products_discounts_organization_and_person(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    deal = await harness.gateway.get_deal(seeded.company_id, seeded.deal_id)

    assert (deal.id, deal.title, deal.currency, deal.value) == (
        seeded.deal_id,
        "Website relaunch",
        "EUR",
        Decimal(8216),
    )
    assert deal.organization_id is not None
    assert deal.person_id is not None
    assert [replace(p, product_id="") for p in deal.products] == [
        replace(p, product_id="") for p in PRODUCTS
    ]
    assert deal.discounts == (DISCOUNT,)
    assert not deal.deleted


async def test_the_snapshot_carries_address_primary_email_and_custom_values(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    snapshot = (await harness.gateway.get_deal(seeded.company_id, seeded.deal_id)).snapshot

    assert snapshot.organization is not None
    assert snapshot.person is not None
    assert snapshot.organization["name"] == "Globex GmbH"
    assert snapshot.organization["address"] == ORG_ADDRESS
    assert snapshot.organization[seeded.vat_key] == "DE123"
    assert snapshot.person["email"] == "greta.weber@globex.example"
    assert snapshot.deal["title"] == "Website relaunch"
    assert snapshot.deal[seeded.contract_value_key] == Decimal("12000.5")
    assert snapshot.deal[f"{seeded.contract_value_key}_currency"] == "EUR"
    assert snapshot.deal[seeded.delivery_key] == DELIVERY_ADDRESS


async def test_a_deal_without_contacts_or_products_has_none(harness: Harness) -> None:
    seeded = await harness.seed()

    deal = await harness.gateway.get_deal(seeded.company_id, seeded.bare_deal_id)

    assert deal.snapshot.organization is None
    assert deal.snapshot.person is None
    assert deal.organization_id is None
    assert deal.person_id is None
    assert deal.products == ()
    assert deal.discounts == ()
    assert deal.currency == "USD"


async def test_an_unknown_deal_is_not_found(harness: Harness) -> None:
    seeded = await harness.seed()

    with pytest.raises(NotFoundError) as caught:
        await harness.gateway.get_deal(seeded.company_id, "999999")

    assert caught.value.resource_type == "deal"


async def test_a_deleted_deal_is_not_found(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.delete_deal(seeded, seeded.deal_id)

    with pytest.raises(NotFoundError):
        await harness.gateway.get_deal(seeded.company_id, seeded.deal_id)
    with pytest.raises(NotFoundError):
        await harness.gateway.deal_parties(seeded.company_id, seeded.deal_id)


async def test_the_field_catalogue_offers_standard_and_custom_fields(harness: Harness) -> None:
    seeded = await harness.seed()

    fields = {(f.entity, f.key): f for f in await harness.gateway.list_fields(seeded.company_id)}

    for entity, key in [
        (SourceEntity.ORGANIZATION, "name"),
        (SourceEntity.PERSON, "email"),
        (SourceEntity.PERSON, "name"),
        (SourceEntity.DEAL, "title"),
    ]:
        assert (entity, key) in fields
        assert not fields[(entity, key)].is_custom
    address = fields[(SourceEntity.ORGANIZATION, "address")]
    assert address.field_type == "address"
    assert {"route", "locality", "postal_code", "country"} <= set(address.subfields)
    vat = fields[(SourceEntity.ORGANIZATION, seeded.vat_key)]
    assert (vat.name, vat.field_type, vat.is_custom) == ("VAT number", "varchar", True)
    money = fields[(SourceEntity.DEAL, seeded.contract_value_key)]
    assert (money.field_type, money.is_custom) == ("monetary", True)
    assert "currency" in money.subfields
    assert fields[(SourceEntity.DEAL, seeded.delivery_key)].field_type == "address"


async def test_notes_are_added_to_the_deal_as_written(harness: Harness) -> None:
    seeded = await harness.seed()
    text = 'Invoice 1042 created in QuickBooks\nTotal: <b>€ 9,776.04</b> & "paid" soon'

    first = await harness.gateway.add_deal_note(seeded.company_id, seeded.deal_id, text)
    second = await harness.gateway.add_deal_note(seeded.company_id, seeded.deal_id, "Voided")

    assert first
    assert second
    assert first != second
    assert await harness.notes(seeded, seeded.deal_id) == [text, "Voided"]


async def test_a_deals_parties_are_its_organization_and_person(harness: Harness) -> None:
    seeded = await harness.seed()

    deal = await harness.gateway.get_deal(seeded.company_id, seeded.deal_id)
    parties = await harness.gateway.deal_parties(seeded.company_id, seeded.deal_id)

    assert parties.organization_id is not None
    assert (parties.organization_id, parties.person_id) == (deal.organization_id, deal.person_id)


async def test_a_deals_notes_are_read_back_as_written_oldest_first(harness: Harness) -> None:
    seeded = await harness.seed()
    text = 'Invoice 1042: <b>9,776.04</b> & "due" 2026-03-20\nhttps://qbo.test/app/invoice?txnId=7'
    assert await harness.gateway.deal_notes(seeded.company_id, seeded.deal_id) == []

    await harness.gateway.add_deal_note(seeded.company_id, seeded.deal_id, text)
    await harness.gateway.add_deal_note(seeded.company_id, seeded.deal_id, "Voided")

    assert await harness.gateway.deal_notes(seeded.company_id, seeded.deal_id) == [text, "Voided"]


async def test_done_activities_are_added_to_the_deal_and_read_back_as_written(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    text = "Invoice 1001 paid in full (150.00 USD).\nOpen in QuickBooks: https://qbo.example/1?a=1&b=<2>"
    assert await harness.gateway.deal_activities(seeded.company_id, seeded.deal_id) == []

    await harness.gateway.add_deal_activity(seeded.company_id, seeded.deal_id, text)
    await harness.gateway.add_deal_activity(seeded.company_id, seeded.deal_id, "Voided")

    assert await harness.gateway.deal_activities(seeded.company_id, seeded.deal_id) == [
        text,
        "Voided",
    ]
    assert await harness.gateway.deal_activities(seeded.company_id, seeded.bare_deal_id) == []
    with pytest.raises(NotFoundError):
        await harness.gateway.add_deal_activity(seeded.company_id, "999999", "x")


async def test_the_current_user_is_the_installing_admin(harness: Harness) -> None:
    seeded = await harness.seed()

    user = await harness.gateway.current_user(seeded.company_id)

    assert (user.id, user.company_id, user.is_admin) == (seeded.user_id, seeded.company_id, True)
    assert user.company_name == "Contract Test GmbH"
    assert user.name == "Ada Admin"


async def test_the_acting_locale_is_the_installing_users(harness: Harness) -> None:
    seeded = await harness.seed()

    locale = await harness.gateway.acting_locale(seeded.company_id)

    assert locale == (await harness.gateway.current_user(seeded.company_id)).locale != ""


async def test_a_user_of_the_company_is_read_with_role_and_locale(harness: Harness) -> None:
    seeded = await harness.seed()

    user = await harness.gateway.get_user(seeded.company_id, seeded.user_id)

    assert (user.id, user.company_id, user.is_admin) == (seeded.user_id, seeded.company_id, True)
    assert user.name == "Ada Admin"
    assert user.locale


async def test_a_deal_visible_to_the_entire_company_is_permitted_to_every_user(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    member = await harness.add_member(seeded, "Mia")

    permitted = await harness.gateway.deal_permitted_users(seeded.company_id, seeded.deal_id)

    assert {seeded.user_id, member} <= permitted


async def test_a_deal_shown_to_owner_and_followers_is_permitted_to_them_only(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    follower = await harness.add_member(seeded, "Finn")
    outsider = await harness.add_member(seeded, "Olga")
    await harness.hide_deal(seeded, seeded.deal_id, [follower])

    permitted = await harness.gateway.deal_permitted_users(seeded.company_id, seeded.deal_id)

    assert {seeded.user_id, follower} <= permitted
    assert outsider not in permitted


async def test_won_deals_are_listed_by_when_they_were_won_and_only_while_won(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    company = seeded.company_id
    await harness.set_status(seeded, seeded.deal_id, "won")
    await harness.set_status(seeded, seeded.bare_deal_id, "won")
    now = datetime.now(UTC)
    today = (now - timedelta(hours=1), now + timedelta(hours=1))

    won = await harness.gateway.won_deals(company, *today)

    assert {d.id for d in won} == {seeded.deal_id, seeded.bare_deal_id}
    deal = next(d for d in won if d.id == seeded.deal_id)
    assert (deal.title, deal.value, deal.currency) == ("Website relaunch", Decimal(8216), "EUR")
    assert today[0] <= deal.won_time < today[1]
    assert await harness.gateway.won_deals(company, now - timedelta(days=9), today[0]) == []
    await harness.set_status(seeded, seeded.bare_deal_id, "lost")
    assert [d.id for d in await harness.gateway.won_deals(company, *today)] == [seeded.deal_id]


async def test_the_won_deals_among_some_are_the_won_ones_whenever_they_were_won(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    company = seeded.company_id
    await harness.set_status(seeded, seeded.deal_id, "won")

    among = [seeded.deal_id, seeded.bare_deal_id, "999999", "0"]  # won, open, unknown, no id
    won = await harness.gateway.won_deals_among(company, among)

    assert [(d.id, d.title, d.currency) for d in won] == [
        (seeded.deal_id, "Website relaunch", "EUR")
    ]
    await harness.set_status(seeded, seeded.bare_deal_id, "won")
    assert {d.id for d in await harness.gateway.won_deals_among(company, among)} == {
        seeded.deal_id,
        seeded.bare_deal_id,
    }
    await harness.set_status(seeded, seeded.bare_deal_id, "lost")
    assert await harness.gateway.won_deals_among(company, [seeded.bare_deal_id]) == []


async def test_who_may_see_an_unknown_or_deleted_deal_is_not_found(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.delete_deal(seeded, seeded.bare_deal_id)

    for deal_id in ("999999", seeded.bare_deal_id):
        with pytest.raises(NotFoundError):
            await harness.gateway.deal_permitted_users(seeded.company_id, deal_id)


async def test_permission_sets_are_listed_and_a_user_holds_some_of_them(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    sets = await harness.gateway.list_permission_sets(seeded.company_id)
    user = await harness.gateway.get_user(seeded.company_id, seeded.user_id)

    assert {"sales", "global"} <= {s.app for s in sets}
    assert "Deals regular user" in {s.name for s in sets}
    assert user.permission_set_ids
    assert user.permission_set_ids <= {s.id for s in sets}


async def test_pipelines_are_listed_default_first_with_their_stages_in_board_order(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    pipelines = await harness.gateway.list_pipelines(seeded.company_id)

    assert [(p.name, [s.name for s in p.stages]) for p in pipelines] == [
        ("Sales", ["Qualified", "Proposal made", "Negotiations started"]),
        ("Renewals", ["Renewal due", "Renewed"]),
    ]
    assert [s.order for s in pipelines[0].stages] == [1, 2, 3]
    stage_ids = [s.id for p in pipelines for s in p.stages]
    assert len(set(stage_ids)) == 5
    assert all(i.isdigit() for i in [*stage_ids, *(p.id for p in pipelines)])


async def test_an_unknown_user_is_not_found(harness: Harness) -> None:
    seeded = await harness.seed()

    with pytest.raises(NotFoundError):
        await harness.gateway.get_user(seeded.company_id, "99999999")


HOOK = CrmWebhook(
    event_action="delete",
    event_object="deal",
    url="https://dealbooks.example/webhooks/pipedrive",
    http_auth_user="dealbooks",
    http_auth_password="a-webhook-password",
    version="2.0",
    name="dealbooks: delete.deal",
)


async def test_a_webhook_subscription_is_listed_as_made_until_deleted(harness: Harness) -> None:
    seeded = await harness.seed()
    assert await harness.gateway.list_webhooks(seeded.company_id) == []

    added = await harness.gateway.add_webhook(seeded.company_id, HOOK)
    other = await harness.gateway.add_webhook(
        seeded.company_id, replace(HOOK, event_object="organization")
    )

    assert added.id
    assert replace(added, id="") == HOOK
    assert added.active
    listed = await harness.gateway.list_webhooks(seeded.company_id)
    assert sorted(listed, key=lambda w: w.event_object) == [added, other]

    await harness.gateway.delete_webhook(seeded.company_id, added.id)
    await harness.gateway.delete_webhook(seeded.company_id, added.id)  # already gone: no error

    assert await harness.gateway.list_webhooks(seeded.company_id) == [other]


async def test_a_subscription_pipedrive_refuses_is_rejected(harness: Harness) -> None:
    seeded = await harness.seed()

    with pytest.raises(UpstreamRejectedError):
        await harness.gateway.add_webhook(seeded.company_id, replace(HOOK, url="not a url"))

    assert await harness.gateway.list_webhooks(seeded.company_id) == []


DEAL_FIELD_NAMES = ["Invoiced", "Paid", "Balance due", "Invoice status"]


async def test_the_deal_fields_are_created_once_and_found_again(harness: Harness) -> None:
    seeded = await harness.seed()

    keys = await harness.gateway.ensure_deal_fields(seeded.company_id, None)
    again = await harness.gateway.ensure_deal_fields(seeded.company_id, keys)
    found = await harness.gateway.ensure_deal_fields(seeded.company_id, None)  # keys lost

    assert keys == again == found
    names = await harness.deal_field_names(seeded)
    assert sorted(n for n in names if n in DEAL_FIELD_NAMES) == sorted(DEAL_FIELD_NAMES)
    assert len(set(astuple(keys))) == 4


async def test_a_deals_fields_are_written_in_one_request(harness: Harness) -> None:
    seeded = await harness.seed()
    keys = await harness.gateway.ensure_deal_fields(seeded.company_id, None)
    totals = DealInvoiceTotals("EUR", Decimal("1200.5"), Decimal(200), Decimal("1000.5"), "Open")

    await harness.gateway.set_deal_fields(seeded.company_id, seeded.deal_id, keys, totals)

    assert await harness.deal_fields_shown(seeded, seeded.deal_id, keys) == {
        "invoiced": {"value": 1200.5, "currency": "EUR"},
        "paid": {"value": 200, "currency": "EUR"},
        "balance_due": {"value": 1000.5, "currency": "EUR"},
        "invoice_status": "Open",
    }


async def test_writing_the_fields_of_an_unknown_deal_is_not_found(harness: Harness) -> None:
    seeded = await harness.seed()
    keys = await harness.gateway.ensure_deal_fields(seeded.company_id, None)
    totals = DealInvoiceTotals("EUR", Decimal(1), Decimal(0), Decimal(1), "Open")

    with pytest.raises(NotFoundError):
        await harness.gateway.set_deal_fields(seeded.company_id, "999999", keys, totals)


async def test_a_deal_left_without_invoices_has_its_fields_emptied(harness: Harness) -> None:
    seeded = await harness.seed()
    keys = await harness.gateway.ensure_deal_fields(seeded.company_id, None)
    totals = DealInvoiceTotals("EUR", Decimal(5), Decimal(0), Decimal(5), "Open")
    await harness.gateway.set_deal_fields(seeded.company_id, seeded.deal_id, keys, totals)
    none = DealInvoiceTotals(None, Decimal(0), Decimal(0), Decimal(0), "")

    await harness.gateway.set_deal_fields(seeded.company_id, seeded.deal_id, keys, none)

    shown = await harness.deal_fields_shown(seeded, seeded.deal_id, keys)
    assert shown == dict.fromkeys(("invoiced", "paid", "balance_due", "invoice_status"))
