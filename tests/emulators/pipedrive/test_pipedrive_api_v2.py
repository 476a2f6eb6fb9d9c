"""API v2 reads and writes: shapes, pagination, parameters, validation."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from emulators.pipedrive.model import line_sum
from emulators.pipedrive.state import Emulator

HEX40 = re.compile(r"^[0-9a-f]{40}$")


async def get_json(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_deal_is_served_in_the_v2_shape_with_custom_fields_keyed_by_hash(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    body = await get_json(client, "/api/v2/deals/1", auth)
    assert body["success"] is True
    deal = body["data"]
    assert deal["id"] == 1
    assert deal["currency"] == "EUR"
    assert isinstance(deal["org_id"], int)
    assert isinstance(deal["person_id"], int)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", deal["add_time"])
    assert all(HEX40.match(key) for key in deal["custom_fields"])
    contract = emulator.store.find_field(emulator.demo["company_id"], "deal", "Contract value")
    assert contract is not None
    assert deal["custom_fields"][contract.key] == {"value": 12000, "currency": "EUR"}


async def test_deal_values_currencies_and_products_are_consistent_in_the_demo(
    client: TestClient, auth: dict[str, str]
) -> None:
    deals = (await get_json(client, "/api/v2/deals?status=open", auth))["data"]
    currencies = {d["currency"] for d in (await get_json(client, "/api/v2/deals", auth))["data"]}
    assert {"EUR", "USD", "GBP"} <= currencies
    assert all(d["status"] == "open" for d in deals)
    products = (await get_json(client, "/api/v2/deals/2/products", auth))["data"]
    pencil = next(p for p in products if p["name"] == "Pencil")
    # The official example's arithmetic: 22 x 5 with a 0.2 % discount is 109.78.
    assert pencil["sum"] == 109.78
    assert {p["tax_method"] for p in products} == {"inclusive"}
    assert all(p["currency"] == "EUR" for p in products)


async def test_amount_discounts_subtract_and_percentage_discounts_are_percent_units() -> None:
    assert line_sum(5, 22, 0.2, "percentage") == 109.78
    assert line_sum(2, 2000, 250, "amount") == 3750
    assert isinstance(line_sum(1, 90, 0, "percentage"), int)


async def test_deal_list_pages_with_an_opaque_cursor_until_it_is_null(
    client: TestClient, auth: dict[str, str]
) -> None:
    seen: list[int] = []
    url = "/api/v2/deals?limit=2"
    while True:
        body = await get_json(client, url, auth)
        seen += [d["id"] for d in body["data"]]
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            break
        url = f"/api/v2/deals?limit=2&cursor={cursor}"
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 6


async def test_descending_sort_and_filters_apply(client: TestClient, auth: dict[str, str]) -> None:
    body = await get_json(client, "/api/v2/deals?sort_direction=desc&org_id=1", auth)
    ids = [d["id"] for d in body["data"]]
    assert ids == sorted(ids, reverse=True)
    assert all(d["org_id"] == 1 for d in body["data"])
    body = await get_json(client, "/api/v2/deals?ids=2,3", auth)
    assert [d["id"] for d in body["data"]] == [2, 3]


async def test_batch_deal_products_returns_lines_of_all_requested_deals(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = await get_json(client, "/api/v2/deals/products?deal_ids=1,3", auth)
    assert {p["deal_id"] for p in body["data"]} == {1, 3}
    page = await get_json(client, "/api/v2/deals/products?deal_ids=1,3&limit=1", auth)
    assert len(page["data"]) == 1
    assert page["additional_data"]["next_cursor"]


async def test_deal_discounts_are_listed(client: TestClient, auth: dict[str, str]) -> None:
    body = await get_json(client, "/api/v2/deals/3/discounts", auth)
    assert body["data"][0]["type"] == "amount"
    assert body["data"][0]["amount"] == 100
    assert re.match(r"^[0-9a-f-]{36}$", body["data"][0]["id"])


async def test_organization_address_has_all_eleven_keys_and_vat_number_is_a_custom_field(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    org = (await get_json(client, "/api/v2/organizations/1", auth))["data"]
    assert set(org["address"]) == {
        "value",
        "street_number",
        "route",
        "subpremise",
        "sublocality",
        "locality",
        "admin_area_level_1",
        "admin_area_level_2",
        "country",
        "postal_code",
        "formatted_address",
    }
    assert org["address"]["locality"] == "Berlin"
    vat = emulator.store.find_field(emulator.demo["company_id"], "organization", "VAT number")
    assert vat is not None
    assert org["custom_fields"][vat.key] == "DE123456789"
    plain = (await get_json(client, "/api/v2/organizations/4", auth))["data"]
    assert plain["address"]["value"] == "Mustamäe tee 3a, 10615 Tallinn"
    assert plain["address"]["route"] is None


async def test_person_emails_have_one_primary(client: TestClient, auth: dict[str, str]) -> None:
    person = (await get_json(client, "/api/v2/persons/3", auth))["data"]
    primaries = [e for e in person["emails"] if e["primary"]]
    assert [e["value"] for e in primaries] == ["peter.gibbons@initech.example"]
    assert person["org_id"] == 3
    defaulted = (await get_json(client, "/api/v2/persons/2", auth))["data"]
    assert defaulted["emails"] == [
        {"value": "e.dubois@lumiere.example", "primary": True, "label": "work"}
    ]


async def test_custom_fields_parameter_limits_and_option_labels_expand(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    company_id = emulator.demo["company_id"]
    terms = emulator.store.find_field(company_id, "deal", "Payment terms")
    services = emulator.store.find_field(company_id, "deal", "Services")
    assert terms is not None
    assert services is not None
    url = f"/api/v2/deals/1?custom_fields={terms.key},{services.key}&include_option_labels=true"
    deal = (await get_json(client, url, auth))["data"]
    assert set(deal["custom_fields"]) == {terms.key, services.key}
    assert deal["custom_fields"][terms.key] == {
        "id": terms.data["options"][1]["id"],
        "label": "Net 30",
    }
    assert [o["label"] for o in deal["custom_fields"][services.key]] == ["Consulting", "Support"]
    raw = (await get_json(client, "/api/v2/deals/1", auth))["data"]
    assert raw["custom_fields"][terms.key] == terms.data["options"][1]["id"]


async def test_include_fields_adds_optional_fields(
    client: TestClient, auth: dict[str, str]
) -> None:
    deal = (
        await get_json(
            client, "/api/v2/deals/1?include_fields=products_count,smart_bcc_email", auth
        )
    )["data"]
    assert deal["products_count"] == 2
    assert deal["smart_bcc_email"].endswith("@pipedrivemail.com")
    bad = await client.get("/api/v2/deals/1?include_fields=nope", headers=auth)
    assert bad.status == 400


async def test_patch_changes_fields_and_custom_fields_strictly(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    invoice = emulator.store.find_field(emulator.demo["company_id"], "deal", "Invoice number")
    assert invoice is not None
    response = await client.patch(
        "/api/v2/deals/2",
        json={"custom_fields": {invoice.key: "INV-1001"}, "expected_close_date": "2026-12-01"},
        headers=auth,
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["data"]["custom_fields"][invoice.key] == "INV-1001"
    again = (await get_json(client, "/api/v2/deals/2", auth))["data"]
    assert again["expected_close_date"] == "2026-12-01"
    for bad in (
        {"value": "100"},  # v2 does not coerce strings to numbers
        {"status": "archived"},
        {"unknown_key": 1},
        {"custom_fields": {"0" * 40: "x"}},
        {"custom_fields": {invoice.key: 5}},
        {"person_id": 999999},
    ):
        refused = await client.patch("/api/v2/deals/2", json=bad, headers=auth)
        error = await refused.json()
        assert refused.status == 400, bad
        assert error["success"] is False
        assert error["error"].startswith("Validation failed")
        assert set(error) == {"success", "error", "error_info", "data", "additional_data"}


async def test_winning_a_deal_sets_its_won_and_close_times(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = await client.patch("/api/v2/deals/3", json={"status": "won"}, headers=auth)
    deal = (await response.json())["data"]
    assert deal["status"] == "won"
    assert deal["won_time"] == deal["close_time"] == deal["update_time"]


async def test_adding_a_deal_fills_in_its_defaults_and_serves_it(
    client: TestClient, auth: dict[str, str], token: dict[str, Any], emulator: Emulator
) -> None:
    response = await client.post("/api/v2/deals", json={"title": "Imported deal"}, headers=auth)
    body = await response.json()
    assert response.status == 200, body
    deal = body["data"]
    assert body["success"] is True
    user = emulator.store.users[token["user_id"]]
    assert (deal["title"], deal["status"], deal["value"]) == ("Imported deal", "open", 0)
    assert (deal["owner_id"], deal["creator_user_id"]) == (user.id, user.id)
    assert (deal["currency"], deal["stage_id"], deal["pipeline_id"]) == (
        user.default_currency,
        1,
        1,
    )
    assert deal["won_time"] is deal["close_time"] is None
    assert deal["add_time"] == deal["update_time"]
    assert deal["origin"] == "API"
    assert (await get_json(client, f"/api/v2/deals/{deal['id']}", auth))["data"] == deal
    listed = await get_json(client, "/api/v2/deals?limit=500", auth)
    assert deal["id"] in [d["id"] for d in listed["data"]]


async def test_a_deal_added_won_has_its_won_and_close_times(
    client: TestClient, auth: dict[str, str], emulator: Emulator
) -> None:
    contract = emulator.store.find_field(emulator.demo["company_id"], "deal", "Invoice number")
    assert contract is not None
    response = await client.post(
        "/api/v2/deals",
        json={
            "title": "Won at once",
            "value": 1200.5,
            "currency": "USD",
            "status": "won",
            "stage_id": 4,
            "pipeline_id": 1,
            "org_id": 1,
            "person_id": 1,
            "custom_fields": {contract.key: "INV-9"},
        },
        headers=auth,
    )
    deal = (await response.json())["data"]
    assert response.status == 200, deal
    assert (deal["status"], deal["stage_id"], deal["value"]) == ("won", 4, 1200.5)
    assert deal["won_time"] == deal["close_time"] == deal["add_time"]
    assert deal["lost_time"] is None
    assert deal["custom_fields"][contract.key] == "INV-9"
    shown = await get_json(
        client, f"/api/v2/deals/{deal['id']}?include_fields=first_won_time", auth
    )
    assert shown["data"]["first_won_time"] == deal["won_time"]


async def test_adding_a_deal_validates_as_strictly_as_a_patch(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = len((await get_json(client, "/api/v2/deals?limit=500", auth))["data"])
    for bad in (
        {},  # the title is required
        {"value": 10},
        {"title": ""},
        {"title": "x", "value": "100"},
        {"title": "x", "status": "archived"},
        {"title": "x", "unknown_key": 1},
        {"title": "x", "org_id": 999999},
        {"title": "x", "won_time": "2026-01-01T00:00:00Z"},  # only for a won deal
        {"title": "x", "status": "won", "lost_reason": "price"},  # only for a lost one
    ):
        refused = await client.post("/api/v2/deals", json=bad, headers=auth)
        error = await refused.json()
        assert refused.status == 400, bad
        assert error["error"].startswith("Validation failed")
        assert set(error) == {"success", "error", "error_info", "data", "additional_data"}
    assert len((await get_json(client, "/api/v2/deals?limit=500", auth))["data"]) == before


async def test_missing_records_answer_the_five_key_404(
    client: TestClient, auth: dict[str, str]
) -> None:
    for url in (
        "/api/v2/deals/999",
        "/api/v2/deals/999/products",
        "/api/v2/organizations/999",
        "/api/v2/persons/999",
    ):
        response = await client.get(url, headers=auth)
        assert response.status == 404
        assert await response.json() == {
            "success": False,
            "error": "Entity was not found",
            "error_info": "Object was not found.",
            "data": None,
            "additional_data": None,
        }


async def test_records_of_another_company_are_invisible(
    client: TestClient, emulator: Emulator
) -> None:
    seeded = await (
        await client.post(
            "/_emulator/seed",
            json={"company": {"name": "Other Co"}, "users": [{"name": "O", "email": "o@x.test"}]},
        )
    ).json()
    other = {"x-api-token": seeded["users"][0]["api_token"]}
    response = await client.get("/api/v2/deals/1", headers=other)
    assert response.status == 404


async def test_field_definitions_page_and_describe_custom_fields(
    client: TestClient, auth: dict[str, str]
) -> None:
    everything: list[dict[str, Any]] = []
    url = "/api/v2/dealFields?limit=5"
    while url:
        body = await get_json(client, url, auth)
        everything += body["data"]
        cursor = body["additional_data"]["next_cursor"]
        url = f"/api/v2/dealFields?limit=5&cursor={cursor}" if cursor else ""
    custom = {f["field_name"]: f for f in everything if f["is_custom_field"]}
    assert custom["Contract value"]["field_type"] == "monetary"
    assert HEX40.match(custom["Contract value"]["field_code"])
    assert custom["Delivery address"]["field_type"] == "address"
    assert "formatted_address" in {s["field_code"] for s in custom["Delivery address"]["subfields"]}
    assert [o["label"] for o in custom["Payment terms"]["options"]] == ["Net 15", "Net 30"]
    assert "ui_visibility" not in everything[0]
    with_ui = await get_json(client, "/api/v2/dealFields?include_fields=ui_visibility", auth)
    assert "ui_visibility" in with_ui["data"][0]
    assert "required_fields" not in with_ui["data"][0]
    orgs = (await get_json(client, "/api/v2/organizationFields", auth))["data"]
    vat = next(f for f in orgs if f["field_name"] == "VAT number")
    assert vat["field_type"] == "varchar"


async def test_delete_soft_deletes_and_hides_the_deal_from_lists(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = await client.delete("/api/v2/deals/5", headers=auth)
    assert (await response.json()) == {"success": True, "data": {"id": 5}}
    deal = (await get_json(client, "/api/v2/deals/5", auth))["data"]
    assert deal["is_deleted"] is True
    listed = [d["id"] for d in (await get_json(client, "/api/v2/deals", auth))["data"]]
    assert 5 not in listed
    deleted = [
        d["id"] for d in (await get_json(client, "/api/v2/deals?status=deleted", auth))["data"]
    ]
    assert deleted == [5]


async def test_bad_parameters_are_rejected(client: TestClient, auth: dict[str, str]) -> None:
    for url in (
        "/api/v2/deals?limit=501",
        "/api/v2/deals?cursor=%%%",
        "/api/v2/deals?sort_by=title",
        "/api/v2/deals/products",
        "/api/v2/deals/1?include_option_labels=1",
    ):
        response = await client.get(url, headers=auth)
        assert response.status == 400, url


async def test_v2_has_no_v1_prefix_and_unknown_paths_answer_json(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = await client.get("/v1/deals/1", headers=auth)
    assert response.status == 404
    assert (await response.json())["success"] is False


async def test_pipelines_and_their_stages_are_listed_in_board_order(
    client: TestClient, auth: dict[str, str]
) -> None:
    pipelines = (await get_json(client, "/api/v2/pipelines", auth))["data"]
    assert [(p["id"], p["name"], p["order_nr"]) for p in pipelines] == [
        (1, "Sales pipeline", 0),
        (2, "Partnerships", 1),
    ]
    sales = await get_json(client, "/api/v2/stages?pipeline_id=1&sort_by=order_nr", auth)
    assert [(s["id"], s["name"], s["order_nr"]) for s in sales["data"]] == [
        (1, "Qualified", 1),
        (2, "Contact made", 2),
        (3, "Demo scheduled", 3),
        (4, "Proposal made", 4),
        (5, "Negotiations started", 5),
    ]
    assert {s["pipeline_id"] for s in sales["data"]} == {1}
    every = (await get_json(client, "/api/v2/stages", auth))["data"]
    assert [s["id"] for s in every] == list(range(1, 9))


async def test_stages_page_with_a_cursor_until_it_is_null(
    client: TestClient, auth: dict[str, str]
) -> None:
    seen: list[int] = []
    url = "/api/v2/stages?limit=3"
    while True:
        body = await get_json(client, url, auth)
        seen += [s["id"] for s in body["data"]]
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            break
        url = f"/api/v2/stages?limit=3&cursor={cursor}"
    assert seen == list(range(1, 9))


async def test_seeded_deals_sit_in_real_stages_of_their_pipeline(
    client: TestClient, auth: dict[str, str]
) -> None:
    stages = {s["id"]: s for s in (await get_json(client, "/api/v2/stages", auth))["data"]}
    deals = (await get_json(client, "/api/v2/deals?limit=500", auth))["data"]
    assert deals
    for deal in deals:
        assert stages[deal["stage_id"]]["pipeline_id"] == deal["pipeline_id"]


async def test_moving_a_deal_to_a_stage_moves_it_to_that_stages_pipeline(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = await client.patch("/api/v2/deals/2", json={"stage_id": 7}, headers=auth)
    deal = (await response.json())["data"]
    assert (deal["stage_id"], deal["pipeline_id"]) == (7, 2)
    response = await client.patch("/api/v2/deals/2", json={"pipeline_id": 1}, headers=auth)
    deal = (await response.json())["data"]
    assert (deal["stage_id"], deal["pipeline_id"]) == (1, 1)  # the pipeline's first stage
    unknown = await client.patch("/api/v2/deals/2", json={"stage_id": 999}, headers=auth)
    assert unknown.status == 400
    assert "stage_id" in (await unknown.json())["error"]


async def test_another_companys_pipelines_are_invisible_and_it_has_the_default_one(
    client: TestClient, emulator: Emulator
) -> None:
    seeded = await client.post(
        "/_emulator/seed",
        json={"company": {"name": "Other Co"}, "deals": [{"title": "Theirs"}]},
    )
    other = await seeded.json()
    token = await client.post("/_emulator/tokens", json={"company_id": other["company_id"]})
    headers = {"Authorization": f"Bearer {(await token.json())['access_token']}"}
    pipelines = (await get_json(client, "/api/v2/pipelines", headers))["data"]
    assert [p["name"] for p in pipelines] == ["Sales pipeline"]
    stages = (await get_json(client, "/api/v2/stages", headers))["data"]
    assert len(stages) == 5
    assert all(s["id"] > 8 for s in stages)
    deal = emulator.store.deals[other["deals"][0]].data
    assert (deal["stage_id"], deal["pipeline_id"]) == (stages[0]["id"], pipelines[0]["id"])
