"""Pipedrive's own example payloads (reference Appendix A) read into the expected domain values."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.mappers import (
    PayloadError,
    address_from_payload,
    crm_fields_from_payloads,
    deal_from_payloads,
    discount_from_payload,
    pipelines_from_payloads,
    product_from_payload,
)
from adapters.pipedrive.webhook_payloads import parse_change
from application.errors import UpstreamUnavailableError
from application.ports.crm import (
    CrmField,
    CrmPipeline,
    CrmStage,
    DealDiscount,
    DealProduct,
)
from application.reasons import MetadataKey, Reason
from domain.connection import Vendor
from domain.customer import Address
from domain.field_mapping import FieldMapping, SourceEntity
from domain.invoice_line import DiscountKind, TaxMethod
from tests.integration.pipedrive import fixtures
from tests.integration.pipedrive.support import connection_from_token, make_gateway

A4_ADDRESS = Address(
    line1="123 Main St",
    line2="123A",
    city="Sunnyvale",
    region="CA",
    postal_code="94085",
    country="USA",
    formatted="123 Main St",
)
ENUM_KEY = "40characterhashforcustomfieldidentifier"  # A9's "Priority"
ADDRESS_KEY = "3d0fa3429dfa2d3dec265b4fc5dc8258ab66cdf3"  # A6's custom address field
MONEY_KEY = "9dc80c50d78a15643bfc4ca79d76156a73a1ca0e"  # the key used in reference §7
TALLINN = Address(
    city="Tallinn", region="Harju County", country="Estonia", formatted="Tallinn, Estonia"
)


def data(text: str) -> Any:
    return fixtures.load(text)["data"]


def field_definitions() -> dict[SourceEntity, list[Any]]:
    """A9 verbatim, plus definitions for the custom address and monetary keys used below."""
    deal_fields = [
        *data(fixtures.DEAL_FIELDS_V2),
        {
            "field_name": "Site address",
            "field_code": ADDRESS_KEY,
            "field_type": "address",
            "options": None,
            "subfields": None,
            "is_custom_field": True,
        },
        {
            "field_name": "Contract value",
            "field_code": MONEY_KEY,
            "field_type": "monetary",
            "options": None,
            "subfields": None,
            "is_custom_field": True,
        },
    ]
    return {SourceEntity.DEAL: deal_fields, SourceEntity.ORGANIZATION: [], SourceEntity.PERSON: []}


def deal_with_custom_fields() -> dict[str, Any]:
    """A1 with custom values: A9's enum option 2, A6's address value, §7's monetary value."""
    deal = data(fixtures.DEAL_V2)
    webhook_address = fixtures.load(fixtures.WEBHOOK_DEAL_CHANGE_V2)["data"]["custom_fields"][
        ADDRESS_KEY
    ]
    deal["custom_fields"] = {
        ENUM_KEY: 2,
        ADDRESS_KEY: webhook_address,
        MONEY_KEY: {"value": 500, "currency": "USD"},
    }
    return deal


def test_the_organization_address_object_becomes_a_structured_address() -> None:
    organization = data(fixtures.ORGANIZATION_V2)

    assert address_from_payload(organization["address"]) == A4_ADDRESS


def test_a_bare_address_string_and_an_empty_address_are_read() -> None:
    assert address_from_payload("Mustamäe tee 3a, 10615 Tallinn") == Address(
        formatted="Mustamäe tee 3a, 10615 Tallinn"
    )
    assert address_from_payload({"value": None, "country": None}) is None
    assert address_from_payload(None) is None


def test_the_example_deal_reads_into_a_deal_with_its_contacts_products_and_discounts() -> None:
    deal = deal_from_payloads(
        data(fixtures.DEAL_V2),
        data(fixtures.ORGANIZATION_V2),
        data(fixtures.PERSON_V2),
        data(fixtures.DEAL_PRODUCTS_V2),
        data(fixtures.DEAL_DISCOUNTS_V2),
        field_definitions(),
    )

    assert (deal.id, deal.title, deal.currency, deal.value) == (
        "1",
        "Deal Title",
        "USD",
        Decimal(200),
    )
    assert (deal.organization_id, deal.person_id, deal.deleted) == ("1", "1", False)
    assert deal.products == (
        DealProduct(
            product_id="1",
            name="Mechanical Pencil",
            quantity=Decimal(1),
            unit_price=Decimal(90),
            discount=Decimal(0),
            discount_kind=DiscountKind.PERCENTAGE,
            tax_rate=Decimal(0),
            tax_method=TaxMethod.INCLUSIVE,
            comments="",
            sum=Decimal(90),
        ),
    )
    assert deal.discounts == (DealDiscount("10%", Decimal(10), DiscountKind.PERCENTAGE),)
    snapshot = deal.snapshot
    assert snapshot.deal["expected_close_date"] == date(2021, 1, 1)
    assert snapshot.deal["status"] == "open"
    assert snapshot.organization is not None
    assert snapshot.organization["name"] == "Organization Name"
    assert snapshot.organization["address"] == A4_ADDRESS
    assert snapshot.person is not None
    assert snapshot.person["email"] == "email1@email.com"
    assert snapshot.person["phone"] == "12345"
    assert snapshot.person["name"] == "Person Name"


def test_the_default_mapping_fills_the_customer_from_the_example_payloads() -> None:
    deal = deal_from_payloads(
        data(fixtures.DEAL_V2),
        data(fixtures.ORGANIZATION_V2),
        data(fixtures.PERSON_V2),
        [],
        [],
        field_definitions(),
    )

    customer = FieldMapping.default().apply(deal.snapshot)

    assert (customer.name, customer.address, customer.email) == (
        "Organization Name",
        A4_ADDRESS,
        "email1@email.com",
    )


def test_custom_monetary_address_and_enum_values_are_read_by_their_type() -> None:
    deal = deal_from_payloads(deal_with_custom_fields(), None, None, [], [], field_definitions())

    values = deal.snapshot.deal
    assert values[MONEY_KEY] == Decimal(500)
    assert values[f"{MONEY_KEY}_currency"] == "USD"
    assert values[ADDRESS_KEY] == TALLINN
    assert values[ENUM_KEY] == "Medium"
    assert deal.snapshot.organization is None
    assert deal.snapshot.person is None


def test_custom_values_are_read_by_shape_when_their_definition_is_unknown() -> None:
    deal = deal_from_payloads(
        deal_with_custom_fields(), None, None, [], [], {SourceEntity.DEAL: []}
    )

    assert deal.snapshot.deal[MONEY_KEY] == Decimal(500)
    assert deal.snapshot.deal[ADDRESS_KEY] == TALLINN


def test_a_custom_value_of_the_wrong_type_is_left_out_not_coerced() -> None:
    deal = deal_with_custom_fields()
    deal["custom_fields"][MONEY_KEY] = {"value": "500", "currency": "USD"}
    deal["custom_fields"][ENUM_KEY] = 99  # not an option of the field

    values = deal_from_payloads(deal, None, None, [], [], field_definitions()).snapshot.deal

    assert values[MONEY_KEY] is None
    assert values[ENUM_KEY] is None
    assert values[ADDRESS_KEY] == TALLINN


def test_a_core_value_of_the_wrong_type_is_refused() -> None:
    deal = data(fixtures.DEAL_V2)
    deal["value"] = "200"

    with pytest.raises(PayloadError):
        deal_from_payloads(deal, None, None, [], [], field_definitions())


def test_missing_keys_and_nulls_are_tolerated() -> None:
    organization = {"id": 1, "name": "Org", "address": None}
    person = {"id": 2, "emails": None}
    deal = {"id": 3, "title": None, "value": None, "org_id": 1, "person_id": 2}

    result = deal_from_payloads(deal, organization, person, [{"id": 1}], [{}], {})

    assert (result.title, result.currency, result.value) == ("", "", Decimal(0))
    assert result.snapshot.organization == {"name": "Org", "address": None, "website": None}
    assert result.snapshot.person is not None
    assert result.snapshot.person["email"] is None
    assert result.products[0].quantity == Decimal(1)
    assert result.discounts[0].kind is DiscountKind.AMOUNT


def test_a_deleted_deal_is_marked_deleted() -> None:
    deal = data(fixtures.DEAL_V2)
    deal["is_deleted"] = True

    assert deal_from_payloads(deal, None, None, [], [], {}).deleted


def test_products_and_discounts_read_exact_decimals() -> None:
    product = product_from_payload(
        fixtures.load(
            '{"name": "Pencil", "item_price": 22, "quantity": 5, "discount": 0.2,'
            ' "discount_type": "percentage", "tax": 11, "tax_method": "inclusive", "sum": 109.78}'
        )
    )
    assert (product.discount, product.sum) == (Decimal("0.2"), Decimal("109.78"))
    assert product.billing_frequency == "one-time"  # none said: a one-time product
    monthly = product_from_payload(
        fixtures.load('{"name": "Support", "item_price": 1500, "billing_frequency": "monthly"}')
    )
    assert monthly.billing_frequency == "monthly"
    odd = product_from_payload(fixtures.load('{"name": "Support", "billing_frequency": {"id": 1}}'))
    assert odd.billing_frequency == "one-time"  # another shape: read as once, not refused
    assert discount_from_payload({"description": "x", "amount": 100, "type": "amount"}) == (
        DealDiscount("x", Decimal(100), DiscountKind.AMOUNT)
    )


def test_the_example_field_definitions_become_mappable_fields() -> None:
    fields = crm_fields_from_payloads(SourceEntity.DEAL, data(fixtures.DEAL_FIELDS_V2))

    assert fields == [
        CrmField(SourceEntity.DEAL, "title", "Deal Title", "varchar", False),
        CrmField(SourceEntity.DEAL, "value", "Value", "monetary", False, ("value", "currency")),
        CrmField(SourceEntity.DEAL, ENUM_KEY, "Priority", "enum", True),
    ]


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def verbatim_bodies() -> dict[str, str]:
    return {
        "/api/v2/deals/1": fixtures.DEAL_V2,
        "/api/v2/deals/1/products": fixtures.DEAL_PRODUCTS_V2,
        "/api/v2/deals/1/discounts": fixtures.DEAL_DISCOUNTS_V2,
        "/api/v2/organizations/1": fixtures.ORGANIZATION_V2,
        "/api/v2/persons/1": fixtures.PERSON_V2,
        "/api/v2/dealFields": fixtures.DEAL_FIELDS_V2,
    }


@pytest.fixture
async def verbatim_pipedrive(verbatim_bodies: dict[str, str]) -> AsyncIterator[str]:
    """A stub Pipedrive answering with the verbatim payloads (cursors end after one page)."""

    async def answer(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer verbatim-token":
            return web.json_response({"success": False, "error": "unauthorized"}, status=401)
        if request.query.get("cursor"):
            return web.json_response(
                {"success": True, "data": [], "additional_data": {"next_cursor": None}}
            )
        if request.path in ("/api/v2/organizationFields", "/api/v2/personFields"):
            return web.json_response({"success": True, "data": []})
        body = verbatim_bodies.get(request.path)
        if body is None:
            return web.json_response({"success": False, "error": "not found"}, status=404)
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


_SESSIONS: list[aiohttp.ClientSession] = []


def verbatim_gateway(base_url: str) -> PipedriveCrmGateway:
    store = InMemoryTokenStore()
    token = {
        "access_token": "verbatim-token",
        "refresh_token": "r",
        "expires_in": 3599,
        "company_id": 77,
        "user_id": 1,
        "api_domain": base_url,
    }
    store.connections[("77", Vendor.PIPEDRIVE, "1")] = connection_from_token(token)
    session = aiohttp.ClientSession()
    _SESSIONS.append(session)
    return make_gateway(session, store, base_url)


@pytest.fixture(autouse=True)
async def _close_sessions() -> AsyncIterator[None]:
    yield
    while _SESSIONS:
        await _SESSIONS.pop().close()


async def test_the_gateway_reads_the_verbatim_payloads_over_http(verbatim_pipedrive: str) -> None:
    gateway = verbatim_gateway(verbatim_pipedrive)

    deal = await gateway.get_deal("77", "1")
    fields = await gateway.list_fields("77")

    assert deal.title == "Deal Title"
    assert deal.snapshot.organization is not None
    assert deal.snapshot.organization["address"] == A4_ADDRESS
    assert deal.snapshot.person is not None
    assert deal.snapshot.person["email"] == "email1@email.com"
    assert len(deal.products) == 1
    assert deal.products[0].unit_price == Decimal(90)
    assert [f.key for f in fields] == ["title", "value", ENUM_KEY]


async def test_a_payload_of_the_wrong_type_is_an_unexpected_answer(
    verbatim_pipedrive: str, verbatim_bodies: dict[str, str]
) -> None:
    bad = fixtures.load(fixtures.DEAL_V2)
    bad["data"]["org_id"] = "1"
    verbatim_bodies["/api/v2/deals/1"] = json.dumps(bad, default=str)

    with pytest.raises(UpstreamUnavailableError) as caught:
        await verbatim_gateway(verbatim_pipedrive).get_deal("77", "1")

    assert caught.value.reason == Reason.PIPEDRIVE_BAD_RESPONSE
    assert caught.value.metadata[MetadataKey.DETAIL] == "org_id must be an integer id"


def test_the_verbatim_deal_change_webhook_reads_as_a_move_that_wins_nothing() -> None:
    raw = fixtures.WEBHOOK_DEAL_CHANGE_V2.encode()
    change = parse_change(raw)
    assert (change.entity, change.action, change.entity_id) == ("deal", "change", "8")
    move = change.deal_move
    assert move is not None
    # Only a custom field changed (A6): neither the status nor the stage is in `previous`.
    assert (move.status, move.stage_id, move.pipeline_id) == ("open", "2", "1")
    assert (move.previous_status, move.previous_stage_id) == (None, None)
    assert not move.was_won
    assert move.entered_stage is None
    won = json.loads(raw)
    won["data"]["status"] = "won"
    won["previous"] = {"status": "open", "won_time": None}
    assert parse_change(json.dumps(won).encode()).deal_move.was_won  # type: ignore[union-attr]


def test_pipelines_and_stages_of_the_published_examples_are_read_in_board_order() -> None:
    # getPipelines' and getStages' examples (v2 spec), with a deleted stage and a second board.
    pipelines: list[Any] = [
        {"id": 2, "name": "Renewals", "order_nr": 2, "is_deleted": False},
        {"id": 1, "name": "Pipeline Name", "order_nr": 1, "is_deleted": False},
        {"id": 3, "name": "Old", "order_nr": 0, "is_deleted": True},
    ]
    stages: list[Any] = [
        {"id": 7, "order_nr": 2, "name": "Won back", "pipeline_id": 2, "is_deleted": False},
        {"id": 1, "order_nr": 1, "name": "Stage Name", "pipeline_id": 1, "is_deleted": False},
        {"id": 6, "order_nr": 1, "name": "Renewal due", "pipeline_id": 2, "is_deleted": False},
        {"id": 8, "order_nr": 3, "name": "Gone", "pipeline_id": 2, "is_deleted": True},
        {"id": 9, "order_nr": 1, "name": "Orphan", "pipeline_id": 3, "is_deleted": False},
    ]

    assert pipelines_from_payloads(pipelines, stages) == [
        CrmPipeline("1", "Pipeline Name", 1, (CrmStage("1", "Stage Name", 1),)),
        CrmPipeline(
            "2", "Renewals", 2, (CrmStage("6", "Renewal due", 1), CrmStage("7", "Won back", 2))
        ),
    ]


def test_a_stage_without_an_id_is_a_bad_answer() -> None:
    with pytest.raises(PayloadError):
        pipelines_from_payloads([], [{"name": "x", "pipeline_id": 1}])
