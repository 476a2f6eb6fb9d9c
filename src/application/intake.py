"""``InvoiceIntake`` over any unit of work: what each step means, one transaction each."""

from __future__ import annotations

from application.errors import ConcurrencyConflictError
from application.ports.persistence import (
    CreationOptions,
    DealFollowUp,
    IdempotencyRecord,
    UnitOfWorkFactory,
)
from domain.invoice import Invoice, InvoiceState
from domain.settings import CompanySettings


class UnitOfWorkIntake:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def settings(self, company_id: str) -> CompanySettings | None:
        async with self._uow_factory() as uow:
            return await uow.settings.get(company_id)

    async def store_requested(
        self,
        invoice: Invoice,
        *,
        actor: str | None,
        creation: CreationOptions,
        request: tuple[str, IdempotencyRecord] | None,
    ) -> bool:
        async with self._uow_factory() as uow:
            if request is not None:
                key, record = request
                if not await uow.idempotency.put(invoice.company_id, key, record):
                    return False
            await uow.invoices.add(invoice, actor=actor, creation=creation)
            try:
                await uow.commit()
            except ConcurrencyConflictError:
                if request is None:
                    raise
                return False  # the request id's claim lost to a concurrent one at commit
        return True

    async def record_created(
        self, invoice: Invoice, *, read_version: int, actor: str | None, follow_up: DealFollowUp
    ) -> bool:
        async with self._uow_factory() as uow:
            stored = await uow.invoices.get_for_update(invoice.company_id, invoice.id)
            if (
                stored is None
                or stored.state is not InvoiceState.CREATING
                or stored.version != read_version
            ):
                return False
            await uow.deal_follow_ups.add(follow_up)
            await uow.invoices.save(invoice, actor=actor)
            await uow.commit()
        return True
