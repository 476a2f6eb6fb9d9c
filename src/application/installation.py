"""Installing and uninstalling the Pipedrive marketplace app, per user and per company.

Pipedrive installs are per user: each user who authorizes the app has tokens of their own, and
the company's Pipedrive calls use one of them (``TokenStore.load``). Install stores the user's
connection and queues the webhook subscription as a durable job (a brief Pipedrive outage never
fails an install). Uninstall (Pipedrive's DELETE on the callback, per user) forgets that user's
tokens at once. When the company's last user goes, QuickBooks is revoked and its tokens and
change notices deleted at once, and the company's other data is forgotten ``purge_after`` later
(30 days unless configured) by a durable purge: the waiting purge is a row committed in the
same transaction as the last user's deletion, and a periodic job queues a purge job for each
one due. Installing again before that cancels it.

A process may die at any point of an uninstall. Before the deletion commits: nothing happened,
and Pipedrive's DELETE can be told again. After it: the purge is recorded, so the data goes in
time; a QuickBooks connection the uninstall had no time to revoke is revoked by the next hourly
pass (``QueueDuePurges``), which finishes the teardown of every company waiting for its purge.
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
from application.ports.connections import (
    OAuthState,
    OAuthStateStore,
    TokenStore,
    could_be_nonce,
)
from application.ports.crm import CrmAuthorizer, CrmUser
from application.ports.jobs import JobQueue
from application.ports.persistence import CompanyPurge, UnitOfWorkFactory
from application.ports.sync import NoticeStore
from application.reasons import Reason
from domain.connection import Connection, Vendor

log = structlog.get_logger("dealbooks.installation")

#: How long a company's data is kept after its last user uninstalled (our policy: 30 days).
PURGE_AFTER: Final = timedelta(days=30)
#: Purges queued per run of the periodic job; the next run queues the rest.
PURGES_PER_RUN: Final = 500


@dataclass(frozen=True, slots=True)
class CompletePipedriveInstallCommand:
    code: str


@dataclass(frozen=True, slots=True)
class UninstallPipedriveCommand:
    company_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class UninstallReport:
    """``user_removed``: the user had tokens stored; ``purge_due_at``: set when this was the
    company's last user (when its data will be forgotten)."""

    user_removed: bool
    purge_due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CompletePipedriveInstall:
    authorizer: CrmAuthorizer
    token_store: TokenStore
    jobs: JobQueue
    clock: Clock
    uow_factory: UnitOfWorkFactory

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
                user_id=user.id,
                locale=user.locale,
            )
        )
        # Installed again before its data was forgotten: the data stays.
        async with self.uow_factory() as uow:
            cancelled = await uow.purges.cancel(user.company_id)
            await uow.commit()
        if cancelled:
            log.info("company.purge_cancelled", company_id=user.company_id)
        # After the tokens are stored: the job subscribes with them. A reinstall queues it again
        # and it changes nothing that is already right.
        await self.jobs.subscribe_crm_webhooks(user.company_id)
        await self.jobs.create_deal_fields(user.company_id)
        log.info("pipedrive.installed", company_id=user.company_id, user_id=user.id)
        return user


@dataclass(frozen=True, slots=True)
class UninstallPipedrive:
    """One user uninstalled the app (Pipedrive says so for each user). Idempotent: the same
    uninstall told twice changes nothing more, and a company without users left is taken
    through the last user's steps again (each is idempotent), so a repeat finishes a teardown
    an outage interrupted."""

    token_store: TokenStore
    authorizer: CrmAuthorizer
    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock
    accounting_authorizer: AccountingAuthorizer
    notices: NoticeStore
    _: KW_ONLY
    purge_after: timedelta = PURGE_AFTER

    async def execute(self, cmd: UninstallPipedriveCommand) -> UninstallReport:
        company_id = cmd.company_id
        now = self.clock.now()
        # The purge is recorded with the deletion of the last user, in one transaction: there
        # is no moment when the company has no user left and no purge waiting.
        removal = await self.token_store.delete_user(
            company_id,
            Vendor.PIPEDRIVE,
            cmd.user_id,
            purge_if_last=CompanyPurge(
                company_id, uninstalled_at=now, due_at=now + self.purge_after
            ),
        )
        if removal.removed is not None:
            log.info(
                "pipedrive.user_uninstalled",
                company_id=company_id,
                user_id=cmd.user_id,
                users_left=removal.remaining,
            )
            try:  # Pipedrive already dropped them; revoking makes sure (best effort)
                await self.authorizer.revoke(removal.removed.tokens.refresh_token)
            except ApplicationError as exc:
                log.warning("pipedrive.revoke_failed", company_id=company_id, reason=exc.reason)
        if removal.remaining:
            if removal.removed is not None:
                # Pipedrive removes the app webhooks a user's token made when that user
                # uninstalls: a remaining user's token makes them again (no duplicates).
                await self.jobs.subscribe_crm_webhooks(company_id)
            return UninstallReport(user_removed=removal.removed is not None)
        # A store that could not record it (a fake not sharing the database) gets it now.
        purge = removal.purge or await self._schedule_purge(company_id)
        await disconnect_quickbooks(
            company_id, self.token_store, self.accounting_authorizer, self.notices
        )
        log.info(
            "pipedrive.uninstalled",
            company_id=company_id,
            user_id=cmd.user_id,
            purge_due_at=purge.due_at.isoformat(),
        )
        return UninstallReport(removal.removed is not None, purge_due_at=purge.due_at)

    async def _schedule_purge(self, company_id: str) -> CompanyPurge:
        """Committed before any vendor call (kept when one is waiting already)."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            purge = await uow.purges.schedule(
                CompanyPurge(company_id, uninstalled_at=now, due_at=now + self.purge_after)
            )
            await uow.commit()
        return purge


async def disconnect_quickbooks(
    company_id: str,
    token_store: TokenStore,
    authorizer: AccountingAuthorizer,
    notices: NoticeStore,
) -> bool:
    """Revoke and forget the QuickBooks connection of a company whose last user uninstalled;
    False when there was none (each step is idempotent: it may run again after a crash)."""
    quickbooks = await token_store.load(company_id, Vendor.QUICKBOOKS)
    if quickbooks is None:
        return False
    try:
        await authorizer.revoke(quickbooks.tokens.refresh_token)
    except ApplicationError as exc:
        # The tokens are forgotten anyway; Intuit drops unused grants after ~100 days.
        log.warning("quickbooks.revoke_failed", company_id=company_id, reason=exc.reason)
    await token_store.delete(company_id, Vendor.QUICKBOOKS)
    # The realm's change notices can no longer be applied; another company connected to
    # the same QuickBooks company still needs them.
    if not await token_store.load_by_external_id(Vendor.QUICKBOOKS, quickbooks.external_id):
        await notices.forget_realm(quickbooks.external_id)
    log.info("quickbooks.revoked_at_uninstall", company_id=company_id)
    return True


@dataclass(frozen=True, slots=True)
class QueueDuePurges:
    """Periodic (hourly): queue a purge job for every company whose purge is due (by the
    injected clock, which tests move; the job queue's own scheduling follows the database's),
    and finish the teardown of companies waiting for theirs: an uninstall interrupted after
    its purge was recorded may have left QuickBooks connected, which is revoked now."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock
    token_store: TokenStore
    accounting_authorizer: AccountingAuthorizer
    notices: NoticeStore

    async def execute(self) -> int:
        async with self.uow_factory() as uow:
            due = await uow.purges.list_due(self.clock.now(), PURGES_PER_RUN)
            waiting = await uow.purges.list_waiting(PURGES_PER_RUN)
        for company_id in waiting:
            if await self.token_store.load(company_id, Vendor.PIPEDRIVE) is not None:
                continue  # installed again: its purge job cancels the purge
            if await disconnect_quickbooks(
                company_id, self.token_store, self.accounting_authorizer, self.notices
            ):
                log.info("company.uninstall_finished", company_id=company_id)
        for company_id in due:
            await self.jobs.purge_company(company_id)
        return len(due)


@dataclass(frozen=True, slots=True)
class PurgeCompany:
    """Forget everything stored for a company whose purge is due; nothing when it was
    installed again (its install cancels the purge: this covers an install racing the job)."""

    uow_factory: UnitOfWorkFactory
    token_store: TokenStore
    clock: Clock

    async def execute(self, company_id: str) -> bool:
        """True when the company's data was forgotten now."""
        if await self.token_store.load(company_id, Vendor.PIPEDRIVE) is not None:
            async with self.uow_factory() as uow:
                cancelled = await uow.purges.cancel(company_id)
                await uow.commit()
            if cancelled:
                log.info("company.purge_cancelled", company_id=company_id)
            return False
        async with self.uow_factory() as uow:
            purge = await uow.purges.get_for_update(company_id)
            if purge is None or purge.due_at > self.clock.now():
                return False
            await uow.forget_company(company_id)
            await uow.commit()
        # A QuickBooks connection left by an interrupted uninstall goes too.
        await self.token_store.delete(company_id, Vendor.QUICKBOOKS)
        log.info(
            "company.purged",
            company_id=company_id,
            uninstalled_at=purge.uninstalled_at.isoformat(),
        )
        return True


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
        ours = could_be_nonce(state)
        taken = await self.state_store.take(state, self.clock.now()) if ours else None
        if taken is None or taken.vendor is not Vendor.PIPEDRIVE:
            raise SignInStateError("This sign-in link has expired or was already used.")
        user = await self.install.execute(CompletePipedriveInstallCommand(code=code))
        log.info("pipedrive.signed_in", company_id=user.company_id, user_id=user.id)
        return SignedInView(user, taken.return_to)
