"""Installing and uninstalling the Pipedrive marketplace app for a company.

Install stores the Pipedrive connection and queues the webhook subscription as a durable job
(a brief Pipedrive outage never fails an install). Uninstall revokes the tokens (best effort),
then forgets everything stored for the company; Pipedrive removes the app's webhooks itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog

from application.errors import ApplicationError
from application.ports.accounting import AccountingAuthorizer
from application.ports.clock import Clock
from application.ports.connections import OAuthState, OAuthStateStore, TokenStore
from application.ports.crm import CrmAuthorizer, CrmUser
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from application.reasons import Reason
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


SIGN_IN_TTL: Final = timedelta(minutes=10)


class SignInStateError(ApplicationError):
    """The sign-in's ``state`` is unknown, used already, expired, or not this browser's."""

    reason = Reason.OAUTH_STATE_INVALID


@dataclass(frozen=True, slots=True)
class SignInStartView:
    authorization_url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedInView:
    user: CrmUser
    return_to: str


@dataclass(frozen=True, slots=True)
class StartPipedriveSignIn:
    """Sign a person in through Pipedrive's OAuth (the app's own consent page): for the pages
    QuickBooks links to (launch, reconnect), which open outside Pipedrive. The state is single
    use, expires, and remembers where to go once signed in."""

    state_store: OAuthStateStore
    authorizer: CrmAuthorizer
    clock: Clock
    _: KW_ONLY
    nonce: Callable[[], str] = lambda: secrets.token_urlsafe(32)

    async def execute(self, return_to: str) -> SignInStartView:
        expires_at = self.clock.now() + SIGN_IN_TTL
        nonce = self.nonce()
        # Nobody is known yet: company and user come back with the code.
        await self.state_store.put(
            OAuthState(
                nonce=nonce,
                company_id="",
                user_id="",
                vendor=Vendor.PIPEDRIVE,
                expires_at=expires_at,
                return_to=return_to,
            )
        )
        log.info("pipedrive.sign_in_started")
        return SignInStartView(self.authorizer.authorization_url(nonce), nonce, expires_at)


@dataclass(frozen=True, slots=True)
class CompletePipedriveSignIn:
    """Pipedrive answered the sign-in: the state is taken (single use), the code exchanged as
    an install's is (the tokens are the company's Pipedrive connection, stored encrypted)."""

    state_store: OAuthStateStore
    install: CompletePipedriveInstall
    clock: Clock

    async def execute(self, *, state: str, code: str) -> SignedInView:
        taken = await self.state_store.take(state, self.clock.now()) if state else None
        if taken is None or taken.vendor is not Vendor.PIPEDRIVE:
            raise SignInStateError("This sign-in link has expired or was already used.")
        user = await self.install.execute(CompletePipedriveInstallCommand(code=code))
        log.info("pipedrive.signed_in", company_id=user.company_id, user_id=user.id)
        return SignedInView(user, taken.return_to)
