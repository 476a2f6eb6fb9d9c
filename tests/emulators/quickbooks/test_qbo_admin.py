"""The /_emulator admin API: reset, seed, clock, preferences, raw state, CLI."""

from __future__ import annotations

import argparse

from conftest import UK, US, Api
from emulators.quickbooks.cli import build_parser, config_from_args


async def test_seed_a_new_company_and_use_its_ids(client, mint):
    async with client.post(
        "/_emulator/seed",
        json={
            "companies": [
                {
                    "realm_id": "4620816365000000001",
                    "name": "Acme FR",
                    "country": "FR",
                    "home_currency": "EUR",
                    "multicurrency": False,
                    "tax_codes": [{"name": "TVA 20%", "rate": 20}],
                    "terms": [{"Name": "Net 45", "DueDays": 45}],
                    "items": [{"Name": "Conseil", "UnitPrice": 900}],
                    "classes": [{"Name": "Audit"}],
                    "locations": [{"Name": "Paris"}],
                    "customers": [
                        {
                            "DisplayName": "Société Générale",
                            "PrimaryEmailAddr": {"Address": "ap@sg.example"},
                        }
                    ],
                }
            ]
        },
    ) as resp:
        assert resp.status == 200
        seeded = (await resp.json())["companies"][0]
    assert set(seeded) == {
        *("realm_id", "tax_codes", "terms", "items", "customers", "classes", "locations")
    }
    tokens = await mint("4620816365000000001")
    api = Api(client, "4620816365000000001", tokens["access_token"])
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 900,
        "SalesItemLineDetail": {
            "ItemRef": {"value": seeded["items"]["Conseil"]},
            "TaxCodeRef": {"value": seeded["tax_codes"]["TVA 20%"]},
            "ClassRef": {"value": seeded["classes"]["Audit"]},
        },
    }
    status, body = await api.post(
        "invoice",
        {
            "CustomerRef": {"value": seeded["customers"]["Société Générale"]},
            "SalesTermRef": {"value": seeded["terms"]["Net 45"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [line],
            "DepartmentRef": {"value": seeded["locations"]["Paris"]},
        },
    )
    assert status == 200, body
    assert body["Invoice"]["DepartmentRef"] == {
        "value": seeded["locations"]["Paris"],
        "name": "Paris",
    }
    [sold] = [x for x in body["Invoice"]["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert sold["SalesItemLineDetail"]["ClassRef"]["name"] == "Audit"
    assert body["Invoice"]["TotalAmt"] == 1080.0
    assert body["Invoice"]["CurrencyRef"]["value"] == "EUR"


async def test_reset_restores_the_demo_companies(client, us: Api):
    await us.create_invoice()
    async with client.post("/_emulator/reset", json={}) as resp:
        assert set((await resp.json())["realms"]) == {US, UK}
    async with client.get(f"/_emulator/companies/{US}/invoices") as resp:
        assert (await resp.json())["invoices"] == []
    status, _ = await us.get("term/1")
    assert status == 401  # tokens are gone too
    async with client.post("/_emulator/reset", json={"seed": False}) as resp:
        assert (await resp.json())["realms"] == []


async def test_raw_invoice_state_and_voided_flag(client, us: Api):
    invoice = await us.create_invoice()
    async with client.post(f"/_emulator/companies/{US}/invoices/{invoice['Id']}/void") as resp:
        assert resp.status == 200
    await us.post("invoice", {**invoice, "SyncToken": "1"}, operation="delete")
    async with client.get(f"/_emulator/companies/{US}/invoices") as resp:
        state = await resp.json()
    assert state["invoices"] == []
    assert state["deleted"][0]["Id"] == invoice["Id"]


async def test_clock_drives_dates_and_metadata(client, us: Api):
    async with client.post(
        "/_emulator/clock", json={"now": "2026-01-31T20:00:00Z", "freeze": True}
    ) as resp:
        assert (await resp.json())["frozen"] is True
    invoice = await us.create_invoice()
    assert invoice["TxnDate"] == "2026-01-31"
    assert invoice["MetaData"]["CreateTime"] == "2026-01-31T12:00:00-08:00"
    async with client.post("/_emulator/clock", json={"advance_days": 1}) as resp:
        assert (await resp.json())["now"].startswith("2026-02-01T20:00:00")
    assert (await us.create_invoice())["TxnDate"] == "2026-02-01"
    async with client.post("/_emulator/clock", json={"reset": True}) as resp:
        assert (await resp.json())["frozen"] is False


async def test_preferences_toggle_multicurrency(client, us: Api, mint):
    async with client.post(
        f"/_emulator/companies/{US}/preferences", json={"multicurrency": True}
    ) as resp:
        assert resp.status == 200
    status, body = await us.post("companycurrency", {"Code": "EUR"})
    assert status == 200
    status, body = await us.post(
        "customer", {"DisplayName": "Euro Buyer", "CurrencyRef": {"value": "EUR"}}
    )
    assert status == 200
    status, body = await us.post(
        "invoice",
        {
            "CustomerRef": {"value": body["Customer"]["Id"]},
            "CurrencyRef": {"value": "EUR"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 10,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    )
    assert status == 200
    assert body["Invoice"]["ExchangeRate"] == 1.08
    assert body["Invoice"]["HomeTotalAmt"] == 10.8
    status, body = await us.get("preferences")
    prefs = body["Preferences"]
    status, body = await us.post(
        "preferences",
        {
            "Id": "1",
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "CurrencyPrefs": {"MultiCurrencyEnabled": False},
        },
    )
    assert status == 400  # can't be turned off once enabled


async def test_admin_lists_companies_and_sent_emails(client, us: Api):
    async with client.get("/_emulator/companies") as resp:
        companies = {c["realm_id"]: c for c in (await resp.json())["companies"]}
    assert companies[US]["automated_sales_tax"] is True
    assert companies[UK]["multicurrency"] is True
    invoice = await us.create_invoice()
    async with client.post(
        f"/_emulator/companies/{US}/invoices/{invoice['Id']}/send", json={"to": "x@y.example"}
    ) as resp:
        assert (await resp.json())["Invoice"]["EmailStatus"] == "EmailSent"
    async with client.get(f"/_emulator/companies/{US}/emails") as resp:
        assert (await resp.json())["emails"][0]["to"] == "x@y.example"


def test_cli_flags_build_the_config():
    args = build_parser().parse_args(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--auto-approve",
            "--client-id",
            "cid",
            "--client-secret",
            "sec",
            "--redirect-uri",
            "http://a/cb",
            "--redirect-uri",
            "http://b/cb",
            "--webhook-url",
            "http://hook",
            "--webhook-verifier-token",
            "vt",
            "--webhook-format",
            "cloudevents",
            "--refresh-grace-seconds",
            "0",
            "--no-seed",
            "--coreplus-quota",
            "500000",
        ]
    )
    assert isinstance(args, argparse.Namespace)
    config = config_from_args(args)
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    assert config.auto_approve
    assert not config.seed_demo
    assert config.redirect_uris == ["http://a/cb", "http://b/cb"]
    assert (config.client_id, config.client_secret) == ("cid", "sec")
    assert (config.webhook_url, config.webhook_verifier_token, config.webhook_format) == (
        "http://hook",
        "vt",
        "cloudevents",
    )
    assert config.refresh_grace_seconds == 0
    assert config.coreplus_monthly_quota == 500000
