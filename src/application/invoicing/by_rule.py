"""Invoices made by the company's rules (issue 17): "when a deal is won" or "when it enters
stage X" creates the invoice from a template, for the deal's products, exactly once per deal and
rule.

- :class:`StartInvoiceRules` (a Pipedrive deal change or creation): each matching rule gets
  its run on the deal (one per deal and rule: a redelivered webhook or a deal won again finds it
  there) and a durable job.
- :class:`RunInvoiceRule` (the job): prepares the draft as the invoice form does and creates
  it through :class:`CreateInvoice` under the run's deterministic request id, so a job retried
  after a crash replays the same invoice rather than making a second. A failure is recorded on
  the run (the panel shows it with Retry) and noted once on the deal.
- :class:`RetryRuleRun` (the panel's Retry), :class:`ListRuleRuns` (the panel) and
  :class:`QueuePendingRuleRuns` (the sweep: a queueing lost to a crash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

import structlog

from application.auth import Principal
from application.commands import (
    AddressInput,
    CreateInvoiceCommand,
    CustomerInput,
    DealRef,
    InvoiceInput,
    LineInput,
    RetryRuleRunCommand,
)
from application.errors import (
    ApplicationError,
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.invoicing.create import CreateInvoice
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.stored import settings_of
from application.ports.clock import Clock
from application.ports.crm import CrmGateway
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from application.reasons import ResourceType
from application.timeline import language_of_locale
from application.views import DraftWarning, InvoiceDraft
from application.visibility import DealVisibility
from domain.errors import DomainError, InvalidValueError
from domain.invoice import InvoiceState
from domain.invoice_rule import DealMove, InvoiceRule, RuleRun, RuleRunState
from domain.messages import MessageCode, english
from domain.permissions import Action

log = structlog.get_logger("dealbooks.rules")

# Draft warnings that QuickBooks would refuse the invoice for, the most basic first: the rule
# fails with the first one rather than sending what a person would have fixed in the form.
_BLOCKING: Final = (
    MessageCode.NO_LINES,
    MessageCode.LINKED_CUSTOMER_GONE,
    MessageCode.CURRENCY_NOT_ENABLED,
    MessageCode.CURRENCY_NOT_ADDED,
    MessageCode.CUSTOMER_CURRENCY_DIFFERS,
)
PENDING_GRACE: Final = timedelta(minutes=2)  # a run PENDING longer lost its job: queue again

_NOTE: Final = {
    "en": (
        "dealbooks could not create this deal's invoice automatically (rule: {rule}). "
        "Reason: {reason} Retry it from the dealbooks panel once fixed."
    ),
    "fr": (
        "dealbooks n'a pas pu créer automatiquement la facture de cette affaire (règle : "
        "{rule}). Motif : {reason} Relancez-la depuis le panneau dealbooks une fois corrigé."
    ),
}
_RULE_NAMES: Final = {
    "en": {"won": "deal won", "stage": "deal enters stage {stage}"},
    "fr": {"won": "affaire gagnée", "stage": "l'affaire entre dans l'étape {stage}"},
}


def rule_principal(rule: InvoiceRule) -> Principal:
    """Who creates a rule's invoices: the rule itself, set up by one of the company's admins
    (so an action the company keeps for admins stays allowed)."""
    return Principal(
        subject=f"rule:{rule.id}",
        companies=frozenset({rule.company_id}),
        is_admin=True,
        name="dealbooks rule",
    )


def blocking_warning(draft: InvoiceDraft) -> DraftWarning | None:
    """The draft's most basic warning that QuickBooks would refuse the invoice for, if any."""
    blocking = [w for w in draft.warnings if w.code in _BLOCKING]
    return min(blocking, key=lambda w: _BLOCKING.index(w.code)) if blocking else None


def invoice_input(draft: InvoiceDraft, template_id: str | None) -> InvoiceInput:
    """What the invoice form sends when its user clicks Create without editing the draft; the
    customer is the linked one, else a QuickBooks customer of exactly the draft's name, else a
    new one."""
    customer = draft.customer
    shipping = customer.shipping_address
    quickbooks_id = draft.linked_customer.id if draft.linked_customer else ""
    if not quickbooks_id:
        wanted = customer.display_name.strip().casefold()
        same = [
            s for s in draft.suggestions if s.customer.display_name.strip().casefold() == wanted
        ]
        if len(same) == 1 and same[0].currency in (None, draft.currency):
            quickbooks_id = same[0].id
            shipping = shipping or same[0].customer.shipping_address  # as the form picks it
    return InvoiceInput(
        customer=CustomerInput(
            display_name=customer.display_name,
            email=customer.email or "",
            address=AddressInput.of(customer.billing_address),
            tax_id=customer.tax_id or "",
            quickbooks_customer_id=quickbooks_id,
            shipping_address=AddressInput.of(shipping),
        ),
        lines=tuple(
            LineInput(
                name=line.name,
                description=line.description,
                quantity=str(line.quantity),
                unit_price=str(line.unit_price),
                discount=str(line.discount),
                discount_kind=line.discount_kind.value,
                tax_rate=str(line.tax_rate),
                tax_method=line.tax_method.value,
                item_id=line.item_ref or "",
                tax_code_id=line.tax_code_ref or "",
                kind=line.kind.value,
            )
            for line in draft.lines
        ),
        currency=draft.currency,
        issue_date=draft.issue_date.isoformat(),
        due_date=draft.due_date.isoformat() if draft.due_date else "",
        terms_id=draft.terms_id or "",
        sales_tax_code_id=draft.sales_tax_code_id or "",
        template_id=template_id or draft.template_id or "",
    )


@dataclass(frozen=True, slots=True)
class StartInvoiceRules:
    """A deal changed in Pipedrive, or was created there: start each enabled rule it fires,
    once per deal (a deal created won and later won again is invoiced once)."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock

    async def execute(self, company_id: str, deal_id: str, move: DealMove) -> int:
        """How many rules the change fired (started now or still pending from before)."""
        async with self.uow_factory() as uow:
            rules = [r for r in await uow.invoice_rules.list(company_id) if r.fires_on(move)]
            if not rules:
                return 0
            now = self.clock.now()
            to_queue: list[InvoiceRule] = []
            for rule in rules:
                run = RuleRun(company_id, rule.id, deal_id, RuleRunState.PENDING, now, now)
                if await uow.rule_runs.add(run):
                    to_queue.append(rule)
                    continue
                existing = await uow.rule_runs.get(company_id, rule.id, deal_id)
                if existing is not None and existing.state is RuleRunState.PENDING:
                    # Redelivered before its job was queued (or while it waits): queue again;
                    # the queue keeps one job per run.
                    to_queue.append(rule)
            await uow.commit()
        # After the commit: the job finds its run. Queueing failing raises, so the webhook is
        # answered with an error and Pipedrive delivers it again (the run then is PENDING).
        for rule in to_queue:
            await self.jobs.run_invoice_rule(company_id, rule.id, deal_id)
        log.info(
            "rules.fired",
            company_id=company_id,
            deal_id=deal_id,
            rules=len(rules),
            queued=len(to_queue),
        )
        return len(rules)


@dataclass(frozen=True, slots=True)
class RunInvoiceRule:
    """The job: create the run's invoice, or record why it could not be."""

    uow_factory: UnitOfWorkFactory
    prepare: PrepareInvoice
    create: CreateInvoice
    crm: CrmGateway
    clock: Clock

    async def execute(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        async with self.uow_factory() as uow:
            run = await uow.rule_runs.get(company_id, rule_id, deal_id)
            rule = await uow.invoice_rules.get(company_id, rule_id)
        if run is None:
            return None
        if run.state is RuleRunState.FAILED and not run.noted:
            await self._note(run, rule)  # the last run failed before its note was posted
            return run
        if run.state is not RuleRunState.PENDING:
            return run  # done already (this job is a duplicate of one that finished)
        if rule is None:
            # Deleted since the deal changed: nothing to create, nothing to show.
            gone = run.failed(
                MessageCode.RULE_RUN_REFUSED, {"reason": "the rule was deleted."}, self._now()
            )
            await self._finish(replace(gone, noted=True))
            log.info("rules.rule_gone", company_id=company_id, rule_id=rule_id, deal_id=deal_id)
            return None
        principal = rule_principal(rule)
        ref = DealRef(principal, company_id, deal_id)
        try:
            finished = await self._create(run, rule, ref)
        except UpstreamUnavailableError:
            raise  # the job retries with backoff
        except InvalidValueError as exc:  # what the invoice form would have asked to fix
            first = exc.violations[0]
            finished = run.failed(
                first.code, dict(first.params), self._now(), field_path=first.field
            )
        except (ApplicationError, DomainError) as exc:
            # The deal gone, Pipedrive or QuickBooks disconnected or refusing: a person acts.
            refused = {"reason": exc.message}
            finished = run.failed(MessageCode.RULE_RUN_REFUSED, refused, self._now())
        stored = await self._finish(finished)
        if stored.state is RuleRunState.FAILED:
            log.warning(
                "rules.run_failed",
                company_id=company_id,
                rule_id=rule_id,
                deal_id=deal_id,
                code=stored.failure_code,
            )
            await self._note(stored, rule)
        else:
            log.info(
                "rules.invoice_created",
                company_id=company_id,
                rule_id=rule_id,
                deal_id=deal_id,
                invoice_id=stored.invoice_id,
            )
        return stored

    def _now(self) -> datetime:
        return self.clock.now()

    async def _create(self, run: RuleRun, rule: InvoiceRule, ref: DealRef) -> RuleRun:
        async with self.uow_factory() as uow:
            replay = await uow.idempotency.get(run.company_id, run.request_id)
            stored = await uow.invoices.get(run.company_id, replay.resource_id) if replay else None
        if stored is not None:
            # An earlier try of this job (killed, or cut short) stored the invoice: it is the
            # run's (a draft prepared again could differ, by a day or an edited product, and
            # would be refused as another request under the same id). One still CREATING is
            # the finishing job's and the sweep's, as any other.
            state, invoice_id = stored.state, str(stored.id)
            failure = (stored.failure_code, dict(stored.failure_params), stored.failure_reason)
        else:
            draft = await self.prepare.execute(ref, template_id=rule.template_id)
            first = blocking_warning(draft)
            if first is not None:
                return run.failed(
                    first.code, dict(first.params), self._now(), field_path=first.field
                )
            command = CreateInvoiceCommand(
                deal=ref, invoice=invoice_input(draft, rule.template_id), request_id=run.request_id
            )
            view = await self.create.execute(command)
            state, invoice_id = view.state, view.id
            failure = (view.failure_code, dict(view.failure_params), view.failure_reason)
        if state is InvoiceState.CREATE_FAILED:
            code, params, reason = failure
            if not code:
                code, params = MessageCode.RULE_RUN_REFUSED, {"reason": reason or ""}
            return run.failed(code, params, self._now(), invoice_id=invoice_id)
        return run.succeeded(invoice_id, self._now())

    async def _finish(self, run: RuleRun) -> RuleRun:
        async with self.uow_factory() as uow:
            current = await uow.rule_runs.get_for_update(run.company_id, run.rule_id, run.deal_id)
            if (
                current is None
                or current.state is not RuleRunState.PENDING
                or (current.attempt != run.attempt)
            ):
                return current or run  # finished by another job meanwhile
            await uow.rule_runs.save(run)
            await uow.commit()
        return run

    async def _note(self, run: RuleRun, rule: InvoiceRule | None) -> None:
        """The failure, once, as a note on the deal (its timeline): a run that finds the note
        there already (posted just before a crash) only marks it."""
        try:
            async with self.uow_factory() as uow:
                policy = (await settings_of(uow, run.company_id)).timeline
            language = policy.language.value or language_of_locale(
                await self.crm.acting_locale(run.company_id)
            )
            content = failure_note(run, rule, language)
            if content not in await self.crm.deal_notes(run.company_id, run.deal_id):
                await self.crm.add_deal_note(run.company_id, run.deal_id, content)
        except (NotFoundError, UpstreamRejectedError, IntegrationNotConnectedError) as exc:
            log.warning("rules.note_skipped", deal_id=run.deal_id, reason=exc.reason)
        async with self.uow_factory() as uow:
            current = await uow.rule_runs.get_for_update(run.company_id, run.rule_id, run.deal_id)
            if current is not None and current.attempt == run.attempt:
                await uow.rule_runs.save(replace(current, noted=True))
                await uow.commit()


def failure_note(run: RuleRun, rule: InvoiceRule | None, language: str) -> str:
    """The deal's note about a failed run, in ``language`` (the reason in English: the server
    speaks only English for codes; the panel shows it translated)."""
    texts = _NOTE.get(language, _NOTE["en"])
    names = _RULE_NAMES.get(language, _RULE_NAMES["en"])
    name = names["won"]
    if rule is not None and rule.stage_id:
        name = names["stage"].format(stage=rule.stage_id)
    code = next((c for c in MessageCode if c.value == run.failure_code), None)
    reason = english(code, run.failure_params) if code else run.failure_code or ""
    return texts.format(rule=name, reason=reason)


@dataclass(frozen=True, slots=True)
class ListRuleRuns:
    """The deal's rule runs, for its panel (the failed ones with Retry), to those who may see
    the deal in Pipedrive."""

    uow_factory: UnitOfWorkFactory
    visibility: DealVisibility

    async def execute(self, ref: DealRef) -> Sequence[RuleRun]:
        ref.principal.ensure_can_access(ref.company_id)
        async with self.uow_factory() as uow:
            runs = await uow.rule_runs.list_for_deal(ref.company_id, ref.deal_id)
        # Most deals have no run: an empty list tells nothing about the deal, and costs no
        # Pipedrive read (a panel load stays at its budget of visibility reads).
        if runs:
            await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        return runs


@dataclass(frozen=True, slots=True)
class RetryRuleRun:
    """Run a failed rule on a deal again, as a new attempt (the caller may create invoices and
    see the deal)."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock
    visibility: DealVisibility

    async def execute(self, cmd: RetryRuleRunCommand) -> RuleRun:
        ref = cmd.deal
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            settings = await settings_of(uow, ref.company_id)
            ref.principal.ensure_may(settings.permissions, Action.CREATE, ref.company_id)
            run = await uow.rule_runs.get_for_update(ref.company_id, cmd.rule_id, ref.deal_id)
            if run is None:
                raise NotFoundError(
                    ResourceType.INVOICE_RULE_RUN,
                    f"companies/{ref.company_id}/deals/{ref.deal_id}/ruleRuns/{cmd.rule_id}",
                )
            retried = run.retried(self.clock.now())
            await uow.rule_runs.save(retried)
            await uow.commit()
        await self.jobs.run_invoice_rule(ref.company_id, cmd.rule_id, ref.deal_id)
        log.info(
            "rules.run_retried",
            company_id=ref.company_id,
            rule_id=cmd.rule_id,
            deal_id=ref.deal_id,
            attempt=retried.attempt,
        )
        return retried


@dataclass(frozen=True, slots=True)
class QueuePendingRuleRuns:
    """The sweep: a run still PENDING after a while lost its job (a crash between the commit
    and the queueing); queue it again (the queue keeps one job per run)."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock

    async def execute(self, limit: int = 200) -> int:
        async with self.uow_factory() as uow:
            runs = await uow.rule_runs.list_pending(
                older_than=self.clock.now() - PENDING_GRACE, limit=limit
            )
        for run in runs:
            await self.jobs.run_invoice_rule(run.company_id, run.rule_id, run.deal_id)
        return len(runs)
