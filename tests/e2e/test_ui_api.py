"""The JSON API behind the UI: the gRPC methods in proto3 JSON, authenticated by the Pipedrive
JWT, answering problem+json, described by an OpenAPI document that lists every method."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import jwt
import pytest

from application.reasons import MetadataKey, Reason
from dealbooks.v1 import (
    connection_service_pb2,
    customer_service_pb2,
    invoice_service_pb2,
    settings_service_pb2,
)
from domain.messages import MessageCode
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY
from tests.support.demo import ui_token

ADMIN = 21000001  # Alice Admin, en_US
SALES = 21000003  # Carol Sales, not an admin
FRENCH_ADMIN = 21000004  # Camille Laurent, fr_FR


def token(demo: DemoStack, user: int = ADMIN) -> str:
    return ui_token(demo, user)


async def call(
    demo: DemoStack,
    path: str,
    body: Any = None,
    *,
    bearer: str | None = "",
    raw: bytes | None = None,
) -> tuple[int, str, dict[str, Any]]:
    headers = {"content-type": "application/json"}
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer or token(demo)}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{demo.settings.public_url}{path}",
            json=body if raw is None else None,
            data=raw,
            headers=headers,
        ) as response,
    ):
        return response.status, response.content_type, await response.json(content_type=None)


async def test_every_grpc_method_is_in_the_openapi_document(demo: DemoStack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{demo.settings.public_url}/api/openapi.json") as response,
    ):
        document = await response.json()

    services = [
        invoice_service_pb2.DESCRIPTOR.services_by_name["InvoiceService"],
        customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"],
        settings_service_pb2.DESCRIPTOR.services_by_name["SettingsService"],
        connection_service_pb2.DESCRIPTOR.services_by_name["ConnectionService"],
    ]
    expected = {f"/api/v1/{s.name}/{m.name}" for s in services for m in s.methods}
    assert expected <= set(document["paths"])
    schema = document["components"]["schemas"]["CreateInvoiceRequest"]["properties"]
    assert "requestId" in schema  # proto3 JSON names
    assert "request_id" not in schema
    assert schema["requestId"]["description"].startswith("Idempotency key")  # proto comments


async def test_a_method_answers_proto3_json(demo: DemoStack) -> None:
    status, kind, body = await call(
        demo,
        "/api/v1/InvoiceService/PrepareInvoice",
        {"parent": f"companies/{DEMO_COMPANY}/deals/3"},
    )

    assert (status, kind) == (200, "application/json")
    draft = body["draft"]
    assert draft["invoice"]["currencyCode"] == "USD"
    assert draft["customerLink"].startswith(f"companies/{DEMO_COMPANY}/organizations/")
    assert draft["customerLinked"] is False


@pytest.mark.parametrize(
    ("bearer", "why"),
    [
        (None, "no token"),
        ("not-a-jwt", "malformed"),
        (jwt.encode({"userId": ADMIN, "companyId": 13000001, "exp": 9e9}, "x" * 32), "forged"),
        (
            jwt.encode(
                {"userId": ADMIN, "companyId": 13000001, "exp": int(time.time()) - 3600},
                "dealbooks-demo-jwt-secret-32-bytes",
            ),
            "expired",
        ),
    ],
)
async def test_a_call_without_a_valid_pipedrive_token_is_401(
    demo: DemoStack, bearer: str | None, why: str
) -> None:
    status, kind, body = await call(
        demo,
        "/api/v1/InvoiceService/ListInvoices",
        {"parent": f"companies/{DEMO_COMPANY}/deals/3"},
        bearer=bearer,
    )

    assert (status, kind) == (401, "application/problem+json"), why
    assert body["reason"] == Reason.INVALID_PIPEDRIVE_TOKEN, body


async def test_another_companys_data_is_403(demo: DemoStack) -> None:
    status, kind, body = await call(
        demo,
        "/api/v1/InvoiceService/ListInvoices",
        {"parent": "companies/99999/deals/3"},
    )

    assert (status, kind) == (403, "application/problem+json")
    assert "99999" in body["detail"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Reason.INVALID_JSON),
        (b'{"parent": 12, "unknown": true}', Reason.INVALID_JSON),
        (b'{"parent": "companies/13000001/deals/3/x"}', None),
        (b'{"parent": "companies/13000001/deals/3", "pageSize": -1}', None),
    ],
)
async def test_bad_requests_are_400_problems_never_500(
    demo: DemoStack, raw: bytes, reason: str | None
) -> None:
    status, kind, body = await call(demo, "/api/v1/InvoiceService/ListInvoices", raw=raw)

    assert (status, kind) == (400, "application/problem+json"), body
    if reason:
        assert body["reason"] == reason, body


async def test_field_errors_name_the_field(demo: DemoStack) -> None:
    status, _, body = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": f"companies/{DEMO_COMPANY}/deals/3",
            "requestId": "ui-api-bad-line",
            "invoice": {
                "customer": {"displayName": "Initech Inc."},
                "currencyCode": "USD",
                "lines": [{"name": "Consulting", "quantity": "-3", "unitPrice": "150"}],
            },
        },
    )

    assert status == 400
    assert {
        "field": "invoice.lines[0].quantity",
        "detail": "Must be more than 0.",
        "code": MessageCode.MUST_BE_POSITIVE,
        "params": {},
    } in body["errors"]


async def test_field_errors_carry_their_code_and_parameters(demo: DemoStack) -> None:
    status, _, body = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": f"companies/{DEMO_COMPANY}/deals/3",
            "requestId": "ui-api-bad-fields",
            "invoice": {
                "customer": {"displayName": "Initech Inc.", "email": "not-an-email"},
                "currencyCode": "USD",
                "issueDate": "13/03/2026",
                "memo": "m" * 1001,
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
    )

    assert status == 400
    errors = {e["field"]: e for e in body["errors"]}
    assert errors["invoice.customer.email"]["code"] == MessageCode.NOT_AN_EMAIL
    assert errors["invoice.customer.email"]["params"] == {"value": "not-an-email"}
    assert errors["invoice.issue_date"]["code"] == MessageCode.NOT_A_DATE
    assert errors["invoice.issue_date"]["params"] == {"value": "13/03/2026"}
    assert errors["invoice.issue_date"]["detail"] == "'13/03/2026' is not a date (use YYYY-MM-DD)."


async def test_a_quickbooks_refusal_is_kept_on_the_invoice_as_a_code(demo: DemoStack) -> None:
    # QuickBooks (the emulator) knows no customer 99999: it answers Fault 2500.
    status, _, body = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": f"companies/{DEMO_COMPANY}/deals/3",
            "requestId": "ui-api-unknown-customer",
            "invoice": {
                "customer": {"displayName": "Nobody Inc.", "quickbooksCustomerId": "99999"},
                "currencyCode": "USD",
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
    )

    assert status == 200, body
    invoice = body["invoice"]
    assert invoice["state"] == "INVOICE_STATE_CREATE_FAILED"
    assert invoice["failureCode"] == Reason.QUICKBOOKS_REJECTED
    assert invoice["failureParams"][MetadataKey.VENDOR_CODE] == "2500"
    assert invoice["failureParams"][MetadataKey.INTUIT_TID]
    assert all("_" not in key for key in invoice["failureParams"])  # lowerCamelCase
    assert invoice["failureReason"]  # the English, for callers who do not translate


async def test_settings_are_for_admins_as_pipedrive_says(demo: DemoStack) -> None:
    change = {
        "settings": {
            "name": f"companies/{DEMO_COMPANY}/settings",
            "copyCustomerDetails": True,
        },
        "updateMask": "copyCustomerDetails",
    }

    denied = await call(
        demo, "/api/v1/SettingsService/UpdateSettings", change, bearer=token(demo, SALES)
    )
    allowed = await call(demo, "/api/v1/SettingsService/UpdateSettings", change)

    assert denied[0] == 403
    assert denied[2]["reason"] == Reason.ADMIN_REQUIRED
    assert allowed[0] == 200
    assert allowed[2]["settings"]["copyCustomerDetails"] is True


async def test_the_session_carries_the_users_language(demo: DemoStack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{demo.settings.public_url}/api/v1/me",
            headers={"authorization": f"Bearer {token(demo, FRENCH_ADMIN)}"},
        ) as response,
    ):
        me = await response.json()

    assert me["locale"] == "fr-FR"
    assert me["isAdmin"] is True
    assert me["companyId"] == DEMO_COMPANY
    assert me["settingsUrl"].endswith(
        "/settings/marketplace/app/dealbooks-demo-client/app-settings"
    )


async def me_of(demo: DemoStack, user: int) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{demo.settings.public_url}/api/v1/me",
            headers={"authorization": f"Bearer {token(demo, user)}"},
        ) as response,
    ):
        me: dict[str, Any] = await response.json()
        return me


async def test_actions_kept_for_admins_are_refused_to_other_users_with_a_403(
    demo: DemoStack,
) -> None:
    deal = f"companies/{DEMO_COMPANY}/deals/3"
    status, _, created = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": deal,
            "requestId": "permissions-1",
            "invoice": {
                "customer": {"displayName": "Permissions Inc."},
                "currencyCode": "USD",
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
        bearer=token(demo, SALES),  # everyone may, until the settings say otherwise
    )
    assert status == 200, created
    assert (await me_of(demo, SALES))["may"] == dict.fromkeys(
        ("create", "send", "void", "delete"), True
    )
    status, _, _ = await call(
        demo,
        "/api/v1/SettingsService/UpdateSettings",
        {
            "settings": {
                "name": f"companies/{DEMO_COMPANY}/settings",
                "invoicePermissions": {"adminsOnly": ["INVOICE_ACTION_VOID"]},
            },
            "updateMask": "invoicePermissions",
        },
    )
    assert status == 200

    name = created["invoice"]["name"]
    status, kind, refused = await call(
        demo, "/api/v1/InvoiceService/VoidInvoice", {"name": name}, bearer=token(demo, SALES)
    )

    assert (status, kind) == (403, "application/problem+json")
    assert refused["reason"] == Reason.ADMINS_ONLY
    assert refused["metadata"]["action"] == "void"
    assert (await me_of(demo, SALES))["may"] == {
        "create": True,
        "send": True,
        "void": False,
        "delete": True,
    }
    assert (await me_of(demo, ADMIN))["may"]["void"] is True
    status, _, voided = await call(demo, "/api/v1/InvoiceService/VoidInvoice", {"name": name})
    assert status == 200, voided
    assert voided["invoice"]["state"] == "INVOICE_STATE_VOIDED"


async def test_the_pdf_download_needs_the_token_and_the_right_company(demo: DemoStack) -> None:
    name = f"companies/{DEMO_COMPANY}/deals/3/invoices/nope"
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{demo.settings.public_url}/api/v1/invoice-pdf", params={"name": name}
        ) as anonymous:
            assert anonymous.status == 401
        async with session.get(
            f"{demo.settings.public_url}/api/v1/invoice-pdf",
            params={"name": name},
            headers={"authorization": f"Bearer {token(demo)}"},
        ) as missing:
            assert missing.status == 404
            assert missing.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/demo/token", b"not json"),
        ("/demo/token", b'["a list"]'),
        ("/demo/token", b'{"userId": "abc"}'),
        ("/demo/token", b'{"userId": 99}'),
        ("/demo/quickbooks/payments", b'{"invoiceId": "1", "amount": "lots"}'),
        ("/demo/quickbooks/payments", b'{"invoiceId": "1", "amount": "-5"}'),
        ("/demo/quickbooks/payments", b'{"invoiceId": "no-such-invoice", "amount": "5"}'),
    ],
)
async def test_the_demo_host_answers_400_to_bad_forms_never_500(
    demo: DemoStack, path: str, raw: bytes
) -> None:
    status, kind, _ = await call(demo, path, raw=raw, bearer=None)

    assert (status, kind) == (400, "application/problem+json")


async def test_an_action_granted_to_a_pipedrive_permission_set_is_for_its_members(
    demo: DemoStack,
) -> None:
    billing = await demo.emulators.admin(
        "pipedrive", "POST", f"companies/{DEMO_COMPANY}/permission-sets", name="Billing"
    )
    await demo.emulators.admin(
        "pipedrive", "PATCH", f"users/{SALES}", permission_set_id=billing["id"]
    )
    status, _, listed = await call(
        demo, "/api/v1/SettingsService/ListPermissionSets", {"parent": f"companies/{DEMO_COMPANY}"}
    )
    assert status == 200, listed
    assert {"displayName": "Billing", "app": "sales", "type": "custom"}.items() <= next(
        s for s in listed["permissionSets"] if s["id"] == billing["id"]
    ).items()
    status, _, refused = await call(
        demo,
        "/api/v1/SettingsService/ListPermissionSets",
        {"parent": f"companies/{DEMO_COMPANY}"},
        bearer=token(demo, SALES),
    )
    assert (status, refused["reason"]) == (403, Reason.ADMIN_REQUIRED)
    status, _, saved = await call(
        demo,
        "/api/v1/SettingsService/UpdateSettings",
        {
            "settings": {
                "name": f"companies/{DEMO_COMPANY}/settings",
                "invoicePermissions": {
                    "adminsOnly": ["INVOICE_ACTION_VOID"],
                    "permissionSetGrants": [
                        {"action": "INVOICE_ACTION_VOID", "permissionSetIds": [billing["id"]]}
                    ],
                },
            },
            "updateMask": "invoicePermissions",
        },
    )
    assert status == 200, saved
    assert saved["settings"]["invoicePermissions"]["permissionSetGrants"] == [
        {"action": "INVOICE_ACTION_VOID", "permissionSetIds": [billing["id"]]}
    ]
    names = []
    for request_id in ("sets-1", "sets-2"):
        status, _, created = await call(
            demo,
            "/api/v1/InvoiceService/CreateInvoice",
            {
                "parent": f"companies/{DEMO_COMPANY}/deals/3",
                "requestId": request_id,
                "invoice": {
                    "customer": {"displayName": "Sets Inc."},
                    "currencyCode": "USD",
                    "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
                },
            },
        )
        assert status == 200, created
        names.append(created["invoice"]["name"])

    outsider = 21000002  # Bruno Martin: neither an admin nor in Billing
    status, _, refused = await call(
        demo,
        "/api/v1/InvoiceService/VoidInvoice",
        {"name": names[0]},
        bearer=token(demo, outsider),
    )
    assert (status, refused["reason"]) == (403, Reason.PERMISSION_SET_REQUIRED), refused
    assert refused["metadata"]["action"] == "void"
    assert (await me_of(demo, outsider))["may"]["void"] is False
    assert (await me_of(demo, SALES))["may"]["void"] is True
    status, _, voided = await call(
        demo, "/api/v1/InvoiceService/VoidInvoice", {"name": names[0]}, bearer=token(demo, SALES)
    )
    assert status == 200, voided
    status, _, voided = await call(demo, "/api/v1/InvoiceService/VoidInvoice", {"name": names[1]})
    assert status == 200, voided  # and the admins, always


async def test_any_user_reads_the_pipelines_and_stages_rules_are_chosen_from(
    demo: DemoStack,
) -> None:
    status, _, listed = await call(
        demo,
        "/api/v1/SettingsService/ListPipelines",
        {"parent": f"companies/{DEMO_COMPANY}"},
        bearer=token(demo, SALES),
    )

    assert status == 200, listed
    sales, partnerships = listed["pipelines"]
    assert (sales["id"], sales["displayName"]) == ("1", "Sales pipeline")
    assert [(s["id"], s["displayName"], s["order"]) for s in sales["stages"]] == [
        ("1", "Qualified", 1),
        ("2", "Contact made", 2),
        ("3", "Demo scheduled", 3),
        ("4", "Proposal made", 4),
        ("5", "Negotiations started", 5),
    ]
    assert partnerships["displayName"] == "Partnerships"
    assert [s["id"] for s in partnerships["stages"]] == ["6", "7", "8"]
