"""Property-based fuzzing: generated, mostly malformed requests for every RPC, through a real
server. Whatever a caller sends, the answer is never UNKNOWN or INTERNAL, and every error
carries a google.rpc.Status with ErrorInfo."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor as pd
from google.protobuf import message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.in_memory.crm import InMemoryCrmGateway
from dealbooks.v1 import (
    connection_service_pb2,
    customer_service_pb2,
    invoice_service_pb2,
    settings_service_pb2,
)
from entrypoints.service import Service
from entrypoints.settings import AppSettings, parse_api_tokens
from tests.e2e.conftest import OPERATOR, TOKEN_A
from tests.unit.application.invoicing_world import a_deal

pytestmark = pytest.mark.e2e

SERVICES = [
    invoice_service_pb2.DESCRIPTOR.services_by_name["InvoiceService"],
    customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"],
    settings_service_pb2.DESCRIPTOR.services_by_name["SettingsService"],
    connection_service_pb2.DESCRIPTOR.services_by_name["ConnectionService"],
]
METHODS = [(s, m) for s in SERVICES for m in s.methods]
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}

NAMES = st.sampled_from(
    [
        "companies/1001",
        "companies/1001/deals/42",
        "companies/1001/deals/42/invoices/x",
        "companies/1001/settings",
        "companies/1001/connection",
        "companies/1001/persons/5/customerLink",
        "companies/2002/deals/42",
        "",
        "companies/../deals/1",
    ]
)
NUMBERS = st.sampled_from(["1", "0", "-1", "1e400", "NaN", "Infinity", "0.0000001", "abc", ""])
TEXT = st.one_of(st.text(max_size=30), st.text(min_size=3000, max_size=5000), NAMES, NUMBERS)


def message_strategy(
    descriptor: pd.Descriptor, depth: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for f in descriptor.fields:
        if f.type == f.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            fields[f.name] = st.dictionaries(st.text(max_size=30), TEXT, max_size=3)
            continue
        if f.type == f.TYPE_MESSAGE:
            if depth >= 3 or f.message_type.full_name.startswith("google.protobuf"):
                continue
            single = message_strategy(f.message_type, depth + 1)
        elif f.type == f.TYPE_STRING:
            single = TEXT
        elif f.type == f.TYPE_BYTES:
            single = st.binary(max_size=50)
        elif f.type == f.TYPE_BOOL:
            single = st.booleans()
        elif f.type == f.TYPE_ENUM:
            single = st.integers(min_value=-3, max_value=12)
        else:
            single = st.integers(min_value=-(2**31), max_value=2**31 - 1)
        if f.is_repeated:
            fields[f.name] = st.lists(single, max_size=3)
        else:
            fields[f.name] = single
    return st.fixed_dictionaries({}, optional=fields)


def build(cls: type[Message], data: dict[str, Any]) -> Message:
    message = cls()
    for name, value in data.items():
        f = cls.DESCRIPTOR.fields_by_name[name]
        if f.type == f.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            getattr(message, name).update(value)
        elif f.type == f.TYPE_MESSAGE:
            sub_cls = message_factory.GetMessageClass(f.message_type)
            if f.is_repeated:
                for item in value:
                    getattr(message, name).add().CopyFrom(build(sub_cls, item))
            else:
                getattr(message, name).CopyFrom(build(sub_cls, value))
        elif f.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


class _Thread:
    """The service on its own event loop in a thread, so sync hypothesis tests can call it."""

    def __init__(self, settings: AppSettings) -> None:
        self.loop = asyncio.new_event_loop()
        accounting = InMemoryAccountingGateway()
        accounting.connect("1001")
        crm = InMemoryCrmGateway()
        crm.add_deal("1001", a_deal())
        self.service = Service(
            settings, grpc_port=0, http_port=0, overrides={"accounting": accounting, "crm": crm}
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(60)
        return self.service

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def channel(database_url: str) -> Iterator[grpc.Channel]:
    settings = replace(
        AppSettings(),
        database_url=database_url,
        api_tokens=parse_api_tokens(f"{TOKEN_A}=1001;{OPERATOR}=*"),
        shutdown_grace_seconds=1.0,
    )
    with (
        _Thread(settings) as service,
        grpc.insecure_channel(
            f"127.0.0.1:{service.grpc.port}"  # type: ignore[union-attr]
        ) as ch,
    ):
        yield ch


# The server thread's jitter uses `random` while hypothesis draws; hypothesis sees it and warns.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize(("service", "method"), METHODS, ids=lambda v: getattr(v, "name", v))
def test_no_request_gets_unknown_or_internal(
    channel: grpc.Channel, service: pd.ServiceDescriptor, method: pd.MethodDescriptor
) -> None:
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=message_strategy(method.input_type), token=st.sampled_from([TOKEN_A, OPERATOR]))
    def check(data: dict[str, Any], token: str) -> None:
        request = build(request_cls, data)
        failure: grpc.RpcError | None = None
        try:
            call(request, metadata=(("authorization", f"Bearer {token}"),), timeout=20)
        except grpc.RpcError as exc:
            failure = exc
        if failure is None:
            return
        code = failure.code()  # type: ignore[attr-defined]
        assert code not in FORBIDDEN, (method.name, request, failure.details())  # type: ignore[attr-defined]
        status = rpc_status.from_call(failure)  # type: ignore[arg-type]
        assert status is not None
        assert any(d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) for d in status.details)

    check()
