"""SettingsService through a real gRPC server, the composition root and Postgres."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from application.reasons import Reason
from dealbooks.v1 import (
    customer_pb2,
    field_mapping_pb2,
    settings_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from tests.e2e.conftest import OPERATOR, TOKEN_A, bearer

pytestmark = pytest.mark.e2e


def stub(channel: grpc.aio.Channel) -> settings_service_pb2_grpc.SettingsServiceStub:
    return settings_service_pb2_grpc.SettingsServiceStub(channel)


async def error_of(call_coro: object) -> tuple[grpc.StatusCode, error_details_pb2.ErrorInfo, list]:
    """Run a failing call; return its code, ErrorInfo and the other details."""
    try:
        await call_coro  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        status = rpc_status.from_call(exc)
        assert status is not None, "every error must carry a google.rpc.Status"
        info = error_details_pb2.ErrorInfo()
        others = []
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                detail.Unpack(info)
            else:
                others.append(detail)
        assert info.domain == "dealbooks"
        return exc.code(), info, others
    raise AssertionError("the call succeeded")


def violations(details: list) -> dict[str, str]:
    for detail in details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    return {}


async def test_health_answers_serving_without_a_token(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "dealbooks.v1.SettingsService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_settings_service(channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in reflection.ServerReflectionInfo(iter([request])):
        names = {s.name for s in reply.list_services_response.service}
        assert "dealbooks.v1.SettingsService" in names
        assert "grpc.health.v1.Health" in names


async def test_update_then_get_round_trips_through_postgres(channel: grpc.aio.Channel) -> None:
    settings = settings_pb2.Settings(
        name="companies/1001/settings",
        field_mapping=field_mapping_pb2.FieldMapping(
            tax_id=field_mapping_pb2.FieldSource(
                entity=field_mapping_pb2.SOURCE_ENTITY_ORGANIZATION, field_key="d" * 40
            )
        ),
        due_date_policy=customer_pb2.DueDatePolicy(
            rule=customer_pb2.DUE_DATE_RULE_DAYS_AFTER_ISSUE, days=14
        ),
        copy_customer_details=True,
        default_currency="EUR",
        invoice_permissions=settings_pb2.InvoicePermissions(
            admins_only=[settings_pb2.INVOICE_ACTION_VOID, settings_pb2.INVOICE_ACTION_DELETE]
        ),
    )
    mask = field_mask_pb2.FieldMask(
        paths=[
            "field_mapping.tax_id",
            "due_date_policy",
            "copy_customer_details",
            "default_currency",
            "invoice_permissions",
        ]
    )

    updated = await stub(channel).UpdateSettings(
        settings_service_pb2.UpdateSettingsRequest(settings=settings, update_mask=mask),
        metadata=bearer(TOKEN_A),
    )
    got = await stub(channel).GetSettings(
        settings_service_pb2.GetSettingsRequest(name="companies/1001/settings"),
        metadata=bearer(TOKEN_A),
    )

    assert got.settings == updated.settings
    s = got.settings
    assert s.field_mapping.tax_id.field_key == "d" * 40
    assert s.field_mapping.to.field_key == "name"  # untouched default
    assert s.due_date_policy.days == 14
    assert s.copy_customer_details
    assert s.default_currency == "EUR"
    assert list(s.invoice_permissions.admins_only) == [
        settings_pb2.INVOICE_ACTION_VOID,
        settings_pb2.INVOICE_ACTION_DELETE,
    ]
    assert s.etag == '"v1"'
    assert s.HasField("update_time")


async def test_defaults_are_returned_before_anything_is_saved(channel: grpc.aio.Channel) -> None:
    got = await stub(channel).GetSettings(
        settings_service_pb2.GetSettingsRequest(name="companies/1001/settings"),
        metadata=bearer(TOKEN_A),
    )
    assert got.settings.field_mapping.email.entity == field_mapping_pb2.SOURCE_ENTITY_PERSON
    assert got.settings.due_date_policy.days == 7
    assert not got.settings.HasField("update_time")


async def test_a_call_without_a_token_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    code, info, _ = await error_of(
        stub(channel).GetSettings(
            settings_service_pb2.GetSettingsRequest(name="companies/1001/settings")
        )
    )
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert info.reason == Reason.MISSING_CREDENTIALS


async def test_a_wrong_token_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    code, info, _ = await error_of(
        stub(channel).GetSettings(
            settings_service_pb2.GetSettingsRequest(name="companies/1001/settings"),
            metadata=bearer("not-a-real-token-at-all"),
        )
    )
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert info.reason == Reason.INVALID_TOKEN


@pytest.mark.parametrize("rpc", ["get", "update"])
async def test_a_token_for_company_a_cannot_reach_company_b(
    channel: grpc.aio.Channel, rpc: str
) -> None:
    if rpc == "get":
        call = stub(channel).GetSettings(
            settings_service_pb2.GetSettingsRequest(name="companies/2002/settings"),
            metadata=bearer(TOKEN_A),
        )
    else:
        call = stub(channel).UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(name="companies/2002/settings"),
                update_mask=field_mask_pb2.FieldMask(paths=["copy_customer_details"]),
            ),
            metadata=bearer(TOKEN_A),
        )
    code, info, _ = await error_of(call)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert info.reason == Reason.NOT_ALLOWED


async def test_bad_settings_get_one_field_violation_per_problem(channel: grpc.aio.Channel) -> None:
    settings = settings_pb2.Settings(
        name="companies/1001/settings",
        field_mapping=field_mapping_pb2.FieldMapping(
            to=field_mapping_pb2.FieldSource(entity=9, field_key="name")
        ),
        due_date_policy=customer_pb2.DueDatePolicy(
            rule=customer_pb2.DUE_DATE_RULE_DAY_OF_NEXT_MONTH, day_of_month=32
        ),
    )
    code, _info, details = await error_of(
        stub(channel).UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings,
                update_mask=field_mask_pb2.FieldMask(paths=["field_mapping.to", "due_date_policy"]),
            ),
            metadata=bearer(OPERATOR),
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(details)) == {
        "settings.field_mapping.to.entity",
        "settings.due_date_policy.day_of_month",
    }


@pytest.mark.parametrize(
    ("mask", "days", "field"),
    [
        (["nonsense"], 7, "update_mask"),
        (["due_date_policy"], -1, "settings.due_date_policy.days"),
    ],
)
async def test_unknown_mask_fields_and_negative_days_are_invalid_arguments(
    channel: grpc.aio.Channel, mask: list[str], days: int, field: str
) -> None:
    settings = settings_pb2.Settings(
        name="companies/1001/settings",
        due_date_policy=customer_pb2.DueDatePolicy(
            rule=customer_pb2.DUE_DATE_RULE_DAYS_AFTER_ISSUE, days=days
        ),
    )
    code, _, details = await error_of(
        stub(channel).UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings, update_mask=field_mask_pb2.FieldMask(paths=mask)
            ),
            metadata=bearer(TOKEN_A),
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(details)


@pytest.mark.parametrize("name", ["", "companies/1001", "companies//settings", "x" * 5000])
async def test_a_malformed_resource_name_is_an_invalid_argument(
    channel: grpc.aio.Channel, name: str
) -> None:
    code, _info, details = await error_of(
        stub(channel).GetSettings(
            settings_service_pb2.GetSettingsRequest(name=name), metadata=bearer(OPERATOR)
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "name" in violations(details)


async def test_a_stale_etag_is_aborted(channel: grpc.aio.Channel) -> None:
    def request(etag: str) -> settings_service_pb2.UpdateSettingsRequest:
        return settings_service_pb2.UpdateSettingsRequest(
            settings=settings_pb2.Settings(
                name="companies/1001/settings", copy_customer_details=True, etag=etag
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["copy_customer_details"]),
        )

    first = await stub(channel).UpdateSettings(request(""), metadata=bearer(TOKEN_A))
    await stub(channel).UpdateSettings(request(first.settings.etag), metadata=bearer(TOKEN_A))
    code, info, _ = await error_of(
        stub(channel).UpdateSettings(request(first.settings.etag), metadata=bearer(TOKEN_A))
    )
    assert code is grpc.StatusCode.ABORTED
    assert info.reason == Reason.ETAG_MISMATCH


async def test_the_request_id_is_echoed_in_initial_metadata(channel: grpc.aio.Channel) -> None:
    call = stub(channel).GetSettings(
        settings_service_pb2.GetSettingsRequest(name="companies/1001/settings"),
        metadata=(*bearer(TOKEN_A), ("x-request-id", "req-123")),
    )
    await call
    assert dict(await call.initial_metadata())["x-request-id"] == "req-123"
