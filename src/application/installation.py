"""Installing and uninstalling the Pipedrive marketplace app for a company.

Install: the OAuth callback's code is exchanged for tokens; the company's Pipedrive connection
(its tenant id is the Pipedrive company id) is stored with them, and a job is queued to
subscribe the webhooks dealbooks handles (a durable job with retries: Pipedrive being briefly
unavailable never fails the install, and the subscriptions are not forgotten).

Uninstall (Pipedrive's DELETE to the callback, or an admin's request): the refresh token is
revoked (best effort: after a user-initiated uninstall Pipedrive has already dropped it) and the
company's Pipedrive and QuickBooks connections and its settings are deleted. Pipedrive removes
an app's webhooks itself when the app is uninstalled (reference §9).
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


class CompletePipedriveInstall:
    def __init__(
        self, authorizer: CrmAuthorizer, token_store: TokenStore, jobs: JobQueue, clock: Clock
    ) -> None:
        self._authorizer = authorizer
        self._token_store = token_store
        self._jobs = jobs
        self._clock = clock

    async def execute(self, cmd: CompletePipedriveInstallCommand) -> CrmUser:
        install = await self._authorizer.exchange_code(cmd.code)
        user = install.user
        now = self._clock.now()
        await self._token_store.save(
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
        await self._jobs.subscribe_crm_webhooks(user.company_id)
        log.info("pipedrive.installed", company_id=user.company_id, user_id=user.id)
        return user


class UninstallPipedrive:
    def __init__(
        self,
        token_store: TokenStore,
        authorizer: CrmAuthorizer,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        accounting_authorizer: AccountingAuthorizer | None = None,
    ) -> None:
        self._token_store = token_store
        self._authorizer = authorizer
        self._uow_factory = uow_factory
        self._clock = clock
        self._accounting_authorizer = accounting_authorizer

    async def execute(self, cmd: UninstallPipedriveCommand) -> None:
        connection = await self._token_store.load(cmd.company_id, Vendor.PIPEDRIVE)
        if connection is not None:
            try:
                await self._authorizer.revoke(connection.tokens.refresh_token)
            except ApplicationError as exc:
                log.warning("pipedrive.revoke_failed", company_id=cmd.company_id, reason=exc.reason)
        quickbooks = await self._token_store.load(cmd.company_id, Vendor.QUICKBOOKS)
        if quickbooks is not None and self._accounting_authorizer is not None:
            try:
                await self._accounting_authorizer.revoke(quickbooks.tokens.refresh_token)
            except ApplicationError as exc:
                log.warning(
                    "quickbooks.revoke_failed", company_id=cmd.company_id, reason=exc.reason
                )
        async with self._uow_factory() as uow:
            await uow.forget_company(cmd.company_id)
            await uow.commit()
        await self._token_store.delete(cmd.company_id, Vendor.QUICKBOOKS)
        await self._token_store.delete(cmd.company_id, Vendor.PIPEDRIVE)
        log.info(
            "pipedrive.uninstalled",
            company_id=cmd.company_id,
            user_id=cmd.user_id,
            at=self._clock.now().isoformat(),
        )
