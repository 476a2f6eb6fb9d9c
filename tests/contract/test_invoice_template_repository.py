"""The invoice template repository: one suite, run on the fake and on Postgres."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.errors import ConcurrencyConflictError
from application.ports.persistence import CreationOptions, UnitOfWorkFactory
from domain.field_mapping import FieldSource, SourceEntity
from domain.invoice_template import (
    CustomFieldValue,
    InvoiceExtras,
    InvoiceTemplate,
    TemplateCustomField,
)
from tests.unit.domain.domain_builders import a_requested_invoice

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def sample(template_id: str = "t1", name: str = "Retainer", **changes: object) -> InvoiceTemplate:
    template = InvoiceTemplate(
        company_id="1001",
        id=template_id,
        name=name,
        is_default=True,
        terms_id="3",
        customer_memo="Thank you.",
        private_note="Internal",
        tax_code_id="TAX",
        item_id="1",
        custom_fields=(
            TemplateCustomField("1", "PO-1"),
            TemplateCustomField("2", source=FieldSource(SourceEntity.DEAL, "f" * 40)),
        ),
        bill_email_cc="a@x.test, b@x.test",
        bill_email_bcc="c@x.test",
        allow_online_card=True,
        allow_online_ach=False,
        updated_at=NOW,
    )
    return dataclasses.replace(template, **changes)


async def test_a_saved_template_reads_back_equal_and_lists_by_name(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        saved = await uow.templates.save(sample())
        await uow.templates.save(sample("t2", "annual", is_default=False))
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.templates.get("1001", "t1")
        names = [t.name for t in await uow.templates.list("1001")]
        others = await uow.templates.list("2002")

    assert loaded == saved
    assert loaded is not None
    assert loaded.version == 1
    assert dataclasses.replace(loaded, version=0) == sample()
    assert (names, others) == (["annual", "Retainer"], [])


async def test_a_stale_version_or_a_name_taken_meanwhile_is_a_conflict(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.save(sample())
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(ConcurrencyConflictError):
            await uow.templates.save(sample(customer_memo="stale"))  # version 0 again
    async with uow_factory() as uow:
        with pytest.raises(ConcurrencyConflictError):
            await uow.templates.save(sample("t3", "RETAINER", is_default=False))
    async with uow_factory() as uow:
        other = await uow.templates.save(sample("t4", "Other", is_default=False))
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(ConcurrencyConflictError):
            await uow.templates.save(dataclasses.replace(other, name="retainer"))
        with pytest.raises(ConcurrencyConflictError):  # a second default
            await uow.templates.save(dataclasses.replace(other, is_default=True))
        # The transaction goes on after a refused write (and commits what it may).
        assert [t.name for t in await uow.templates.list("1001")] == ["Other", "Retainer"]


async def test_delete_says_whether_there_was_one_and_forget_company_removes_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.save(sample())
        await uow.templates.save(sample("t2", "Other", is_default=False))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.delete("1001", "t2") is True
        assert await uow.templates.delete("1001", "t2") is False
        await uow.commit()
    async with uow_factory() as uow:
        await uow.forget_company("1001")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.list("1001") == []


async def test_an_invoices_extras_are_kept_with_its_creation_options(
    uow_factory: UnitOfWorkFactory,
) -> None:
    invoice = a_requested_invoice()
    extras = InvoiceExtras(
        private_note="Internal",
        custom_fields=(CustomFieldValue("1", "PO-9981"),),
        bill_email_cc="a@x.test",
        allow_online_card=False,
        template_id="t1",
        template_name="Retainer",
    )
    async with uow_factory() as uow:
        await uow.invoices.add(invoice, creation=CreationOptions(extras=extras))
        await uow.commit()
    async with uow_factory() as uow:
        creation = await uow.invoices.creation_options(invoice.company_id, invoice.id)

    assert creation.extras == extras
