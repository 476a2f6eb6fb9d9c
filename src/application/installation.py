"""Installing and uninstalling the Pipedrive marketplace app for a company.

Install stores the Pipedrive connection and queues the webhook subscription as a durable job
(a brief Pipedrive outage never fails an install). Uninstall revokes the tokens (best effort),
then forgets everything stored for the company; Pipedrive removes the app's webhooks itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from application.errors import ApplicationError
from application.ports.accounting import AccountingAuthorizer
from application.ports.clock import Clock
from application.ports.connections import TokenStore
from application.ports.crm import CrmAuthorizer, CrmUser
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from domain.connection import Connection, Vendor

log = structlog.get_logger("dealbooks.installation")


@dataclass(frozen=True, slots=True)
class CompletePipedriveInstallCommand:
    code: str


@dataclass(frozen=True, slots=True)
class UninstallPipedriveCommand:
    company_id: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class CompletePipedriveInstall:
    authorizer: CrmAuthorizer
    token_store: TokenStore
    jobs: JobQueue
    clock: Clock

    async def execute(self, cmd: CompletePipedriveInstallCommand) -> CrmUser:
        install = await self.authorizer.exchange_code(cmd.code)
        user = install.user
        now = self.clock.now()
        await self.token_store.save(
            Connection(
                company_id=user.company_id,
                vendor=Vendor.PIPEDRIVE,
                external_id=user.company_id,
                tokens=install.tokens,
                display_name=user.company_name,
                api_domain=install.api_domain,
                connected_by=user.id,
                connected_at=now,
                updated_at=now,
            )
        )
        # After the tokens are stored: the job subscribes with them. A reinstall queues it again
        # and it changes nothing that is already right.
        await self.jobs.subscribe_crm_webhooks(user.company_id)
        log.info("pipedrive.installed", company_id=user.company_id, user_id=user.id)
        return user


@dataclass(frozen=True, slots=True)
class UninstallPipedrive:
    token_store: TokenStore
    authorizer: CrmAuthorizer
    uow_factory: UnitOfWorkFactory
    clock: Clock
    accounting_authorizer: AccountingAuthorizer | None = None

    async def execute(self, cmd: UninstallPipedriveCommand) -> None:
        connection = await self.token_store.load(cmd.company_id, Vendor.PIPEDRIVE)
        if connection is not None:
            try:
                await self.authorizer.revoke(connection.tokens.refresh_token)
            except ApplicationError as exc:
                log.warning("pipedrive.revoke_failed", company_id=cmd.company_id, reason=exc.reason)
        quickbooks = await self.token_store.load(cmd.company_id, Vendor.QUICKBOOKS)
        if quickbooks is not None and self.accounting_authorizer is not None:
            try:
                await self.accounting_authorizer.revoke(quickbooks.tokens.refresh_token)
            except ApplicationError as exc:
                log.warning(
                    "quickbooks.revoke_failed", company_id=cmd.company_id, reason=exc.reason
                )
        async with self.uow_factory() as uow:
            await uow.forget_company(cmd.company_id)
            await uow.commit()
        await self.token_store.delete(cmd.company_id, Vendor.QUICKBOOKS)
        await self.token_store.delete(cmd.company_id, Vendor.PIPEDRIVE)
        log.info(
            "pipedrive.uninstalled",
            company_id=cmd.company_id,
            user_id=cmd.user_id,
            at=self.clock.now().isoformat(),
        )
