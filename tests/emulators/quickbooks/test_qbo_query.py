"""The query language: parser, operators, paging, COUNT, faults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import Api
from emulators.quickbooks import query as q
from emulators.quickbooks.faults import QBOError


def test_parser_reads_every_clause_case_insensitively():
    parsed = q.parse(
        "select * FROM invoice where CustomerRef = '1' and TotalAmt >= '10.5' AND "
        "Id IN ('1', '2') and DocNumber like '%10%' orderby MetaData.LastUpdatedTime desc "
        "startposition 11 maxresults 10"
    )
    assert parsed.entity == "invoice"
    assert [(c.field, c.op) for c in parsed.where] == [
        ("CustomerRef", "="),
        ("TotalAmt", ">="),
        ("Id", "IN"),
        ("DocNumber", "LIKE"),
    ]
    assert parsed.where[2].values == ["1", "2"]
    assert parsed.order == [("MetaData.LastUpdatedTime", True)]
    assert (parsed.start, parsed.max_results) == (11, 10)


def test_backslash_escapes_a_quote():
    parsed = q.parse(r"SELECT * FROM Customer WHERE DisplayName = 'Adam\'s Candy Shop'")
    assert parsed.where[0].values == ["Adam's Candy Shop"]


def test_count_and_projection():
    assert q.parse("SELECT COUNT(*) FROM Invoice").count
    assert q.parse("select Id, DisplayName from Customer").fields == ["Id", "DisplayName"]
    assert q.parse("select *, Sku from Item").fields is None


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM",
        "SELECT * Invoice",
        "SELECT * FROM Invoice WHERE",
        "SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'",
        "SELECT * FROM Invoice ORDER BY Id",
        "SELECT * FROM Invoice WHERE DocNumber != '1'",
        "SELECT * FROM Invoice WHERE DocNumber = 'unterminated",
        "SELECT * FROM Invoice MAXRESULTS ten",
    ],
)
def test_malformed_queries_raise_parser_fault(text):
    with pytest.raises(QBOError) as caught:
        q.parse(text)
    assert caught.value.code == "4000"
    assert caught.value.message == "Error parsing query"
    assert caught.value.detail.startswith("QueryParserError: ")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_quoted_value_round_trips_through_escaping(value):
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    parsed = q.parse(f"SELECT * FROM Customer WHERE DisplayName = '{escaped}'")
    assert parsed.where[0].values == [value]


async def test_get_and_post_application_text_give_the_same_answer(us: Api):
    text = "SELECT * FROM Customer WHERE DisplayName = 'Jeff\\'s Jalopies'"
    status, by_get = await us.query(text)
    assert status == 200
    async with us.client.post(
        us.url("query"),
        params={"minorversion": "75"},
        data=text.encode(),
        headers={**us.headers, "Content-Type": "application/text"},
    ) as resp:
        by_post = await resp.json()
    assert by_get["QueryResponse"] == by_post["QueryResponse"]
    rows = by_get["QueryResponse"]["Customer"]
    assert [r["DisplayName"] for r in rows] == ["Jeff's Jalopies"]
    assert by_get["QueryResponse"]["startPosition"] == 1
    assert by_get["QueryResponse"]["maxResults"] == 1


async def test_operators_paging_and_ordering(us: Api):
    for amount in (10, 20, 30, 40):
        await us.create_invoice(
            Line=[
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
            CustomerRef={"value": "2"},
        )
    status, body = await us.query("select count(*) from Invoice where CustomerRef = '2'")
    assert body["QueryResponse"] == {"totalCount": 4}
    status, body = await us.query(
        "select * from Invoice where CustomerRef = '2' and TotalAmt > '15' "
        "orderby TotalAmt desc startposition 1 maxresults 2"
    )
    page = body["QueryResponse"]
    assert [i["TotalAmt"] for i in page["Invoice"]] == [40.0, 30.0]
    assert page["maxResults"] == 2
    status, body = await us.query(
        "select * from Invoice where CustomerRef = '2' and TotalAmt > '15' "
        "orderby TotalAmt desc startposition 3 maxresults 2"
    )
    assert [i["TotalAmt"] for i in body["QueryResponse"]["Invoice"]] == [20.0]
    status, body = await us.query(
        "select * from Invoice where CustomerRef = '2' startposition 5 maxresults 2"
    )
    assert body["QueryResponse"] == {}
    ids = [i["Id"] for i in page["Invoice"]]
    status, body = await us.query(f"select * from Invoice where Id in ('{ids[0]}', '{ids[1]}')")
    assert {i["Id"] for i in body["QueryResponse"]["Invoice"]} == set(ids)
    status, body = await us.query("select * from Customer where DisplayName like '%jalop%'")
    assert status == 200
    assert len(body["QueryResponse"]["Customer"]) == 1
    _status, body = await us.query("select * from customer where displayname = 'COOL CARS'")
    assert body["QueryResponse"]["Customer"][0]["DisplayName"] == "Cool Cars"


async def test_metadata_and_date_comparisons(us: Api):
    await us.client.post("/_emulator/clock", json={"now": "2026-03-02T18:00:00Z", "freeze": True})
    invoice = await us.create_invoice()
    status, body = await us.query(
        "select * from Invoice where MetaData.LastUpdatedTime >= '2026-03-02T09:00:00'"
    )
    assert [i["Id"] for i in body["QueryResponse"]["Invoice"]] == [invoice["Id"]]
    status, body = await us.query(
        "select * from Invoice where MetaData.LastUpdatedTime > '2026-03-02T18:00:01Z'"
    )
    assert status == 200
    assert body["QueryResponse"] == {}
    _status, body = await us.query(
        "select * from Invoice where TxnDate > '2026-01-01' and TxnDate <= CURRENT_DATE"
    )
    assert len(body["QueryResponse"]["Invoice"]) == 1


async def test_projection_returns_only_chosen_fields(us: Api):
    _status, body = await us.query("select Id, DisplayName from Customer where Id = '1'")
    row = body["QueryResponse"]["Customer"][0]
    assert row["DisplayName"] == "Amy's Bird Sanctuary"
    assert "BillAddr" not in row


async def test_query_faults(us: Api):
    status, body = await us.query("select * from Invoice maxresults 1500")
    assert status == 400
    assert body["Fault"]["Error"][0]["Detail"] == (
        "QueryValidationError: value 1500 is too large. Max allowed value is 1000"
    )
    status, body = await us.query("select * from Invoice where Id > '5'")
    assert status == 400
    status, body = await us.query("select * form Invoice")
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "4000"
    assert body["Fault"]["type"] == "ValidationFault"
    status, body = await us.query("select * from Bogus")
    assert status == 400


async def test_preferences_and_companyinfo_are_queryable(us: Api):
    status, body = await us.query("select * from Preferences")
    assert status == 200
    assert body["QueryResponse"]["Preferences"][0]["CurrencyPrefs"]["HomeCurrency"] == {
        "value": "USD"
    }
    _status, body = await us.query("select * from CompanyInfo")
    assert body["QueryResponse"]["CompanyInfo"][0]["Country"] == "US"
