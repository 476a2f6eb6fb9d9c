"""The whole invoicing use-case suite again, on the Postgres unit of work instead of the fake.

If the fake and Postgres ever disagree (transactions, ordering, event storage, request ids,
optimistic locking), a test here fails while its in-memory twin passes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.postgres.views import PostgresInvoiceViews
from tests.contract.test_connections import connected_to_quickbooks
from tests.unit.application import test_customer_tax_id, test_invoice_terms, test_invoicing
from tests.unit.application.invoicing_world import COMPANY, World

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(pg_engine: AsyncEngine, database_url: str) -> AsyncIterator[World]:
    await connected_to_quickbooks(pg_engine, COMPANY)
    views = PostgresInvoiceViews(database_url)
    yield World(uow=SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine)), views=views)
    await views.close()


# The suites whose tests take a plain world (this one's, on Postgres).
for _suite in (test_invoicing, test_invoice_terms, test_customer_tax_id):
    for _name in dir(_suite):
        if _name.startswith("test_"):
            globals()[_name] = getattr(_suite, _name)
