"""Every string of a request is checked for the NUL character, at any depth, by its path."""

from __future__ import annotations

import pytest

from dealbooks.v1 import batch_pb2, customer_pb2, invoice_pb2, invoice_service_pb2
from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from entrypoints.request_text import ensure_no_nul, nul_violations


def a_request(**invoice: object) -> invoice_service_pb2.CreateInvoiceRequest:
    return invoice_service_pb2.CreateInvoiceRequest(
        parent="companies/1001/deals/42",
        request_id="r-1",
        invoice=invoice_pb2.Invoice(
            customer=customer_pb2.Customer(display_name="Acme"),
            lines=[invoice_pb2.LineItem(name="Services"), invoice_pb2.LineItem(name="Design")],
            **invoice,  # type: ignore[arg-type]
        ),
    )


def fields(violations: list[FieldViolation]) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in violations]


def test_a_request_without_a_nul_passes() -> None:
    ensure_no_nul(a_request(memo="Thanks — ünïcode is text"))


def test_each_string_with_a_nul_is_named_by_its_path() -> None:
    request = a_request(memo="a\x00b")
    request.parent = "companies/1001\x00"
    request.invoice.lines[1].description = "\x00"
    request.invoice.customer.billing_address.line1 = "x\x00y"

    with pytest.raises(InvalidValueError) as err:
        ensure_no_nul(request)

    assert fields(list(err.value.violations)) == [
        ("parent", MessageCode.NOT_TEXT),
        ("invoice.customer.billing_address.line1", MessageCode.NOT_TEXT),
        ("invoice.lines[1].description", MessageCode.NOT_TEXT),
        ("invoice.memo", MessageCode.NOT_TEXT),
    ]


def test_repeated_strings_and_map_keys_and_values_are_checked() -> None:
    request = a_request()
    request.invoice.failure_params["ok"] = "a\x00"
    request.invoice.failure_params["k\x00"] = "fine"
    request.invoice.custom_fields.add(definition_id="1", value="\x00")

    assert sorted(fields(nul_violations(request))) == [
        ("invoice.custom_fields[0].value", MessageCode.NOT_TEXT),
        ('invoice.failure_params["k\\u0000"]', MessageCode.NOT_TEXT),
        ('invoice.failure_params["ok"]', MessageCode.NOT_TEXT),
    ]


def test_a_batch_leaves_its_items_to_be_judged_one_by_one() -> None:
    batch = batch_pb2.BatchCreateInvoicesRequest(
        parent="companies/1001", requests=[a_request(), a_request(memo="\x00")]
    )
    ensure_no_nul(batch)  # the bulk servicer answers requests[1] alone

    batch.parent = "\x00"
    with pytest.raises(InvalidValueError) as err:
        ensure_no_nul(batch)
    assert fields(list(err.value.violations)) == [("parent", MessageCode.NOT_TEXT)]
