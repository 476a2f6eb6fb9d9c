"""Invoicing rules end to end (issue 17): a deal won in the Pipedrive emulator gets exactly one
invoice within seconds, through the real webhook, job queue, adapters and Postgres; a
redelivered webhook and a deal won again add nothing; a worker killed mid-job still ends with
exactly one; a deal created won (``create.deal``) gets its one invoice too."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from sqlalchemy import text

from application.reasons import Reason
from dealbooks.v1 import (
    invoice_pb2,
    invoice_rule_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from domain.messages import MessageCode
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from entrypoints.worker import retry_stalled_jobs
from tests.e2e.conftest import TOKEN_B, bearer
from tests.e2e.polling import eventually
from tests.e2e.test_journey import DEAL, MD, free_port, world  # noqa: F401 - the fixture
from tests.e2e.test_settings_api import error_of, violations
from tests.e2e.test_workers import start_worker
from tests.support.demo import process_env, started_emulators

pytestmark = pytest.mark.e2e
WON_WITHIN_SECONDS = 15.0


async def add_won_rule(service: Service) -> str:
    """Subscribe the webhooks as the install does, and add a "deal won" rule through the API."""
    assert service.container is not None
    assert service.grpc is not None
    report = await service.container.services.subscribe_webhooks().execute(DEMO_COMPANY)
    assert report.problem == ""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
        reply = await stub.CreateInvoiceRule(
            settings_service_pb2.CreateInvoiceRuleRequest(
                parent=f"companies/{DEMO_COMPANY}",
                rule=invoice_rule_pb2.InvoiceRule(
                    trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_WON, enabled=True
                ),
            ),
            metadata=MD,
        )
    assert reply.rule.name.startswith(f"companies/{DEMO_COMPANY}/invoiceRules/")
    return reply.rule.name


async def listed(channel: grpc.aio.Channel, deal: str = DEAL) -> list[invoice_pb2.Invoice]:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
    reply = await stub.ListInvoices(
        invoice_service_pb2.ListInvoicesRequest(parent=deal, page_size=100), metadata=MD
    )
    return list(reply.invoices)


async def wait_for_open(
    channel: grpc.aio.Channel, seconds: float, deal: str = DEAL
) -> list[invoice_pb2.Invoice]:
    deadline = time.monotonic() + seconds
    while True:
        invoices = await listed(channel, deal)
        if any(i.state == invoice_pb2.INVOICE_STATE_OPEN for i in invoices):
            return invoices
        if time.monotonic() > deadline:
            return invoices
        await asyncio.sleep(0.1)


async def in_quickbooks(emulators: Emulators) -> list[dict[str, Any]]:
    state = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    return list(state["invoices"])


async def won_event(emulators: Emulators) -> dict[str, Any]:
    log = await emulators.admin("pipedrive", "GET", "webhook-deliveries?wait=true")
    for delivery in log["deliveries"]:
        payload = delivery["payload"]
        if (
            payload["meta"]["action"] == "change"
            and payload["meta"]["entity_id"] == "3"
            and (payload["previous"] or {}).get("status") == "open"
        ):
            return dict(delivery)
    raise AssertionError(f"no won event delivered: {log}")


async def test_a_won_deal_gets_one_invoice_and_redelivery_or_winning_again_adds_none(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    await add_won_rule(service)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        assert await listed(channel) == []

        started = time.monotonic()
        await emulators.admin("pipedrive", "PATCH", "deals/3", status="won")
        invoices = await wait_for_open(channel, WON_WITHIN_SECONDS)
        elapsed = time.monotonic() - started
        print(f"won -> invoice OPEN in {elapsed:.2f} s")
        assert [i.state for i in invoices] == [invoice_pb2.INVOICE_STATE_OPEN]
        assert elapsed < WON_WITHIN_SECONDS
        [invoice] = invoices
        names = {line.name for line in invoice.lines}
        assert {"Automation consulting", "License"} <= names

        # The run is recorded done just after the invoice opens: from then on nothing queues
        # a job for it (a delivery in between queues one more, which finds it done).
        invoices_stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)

        async def runs() -> list[invoice_rule_pb2.InvoiceRuleRun]:
            reply = await invoices_stub.ListInvoiceRuleRuns(
                invoice_service_pb2.ListInvoiceRuleRunsRequest(parent=DEAL), metadata=MD
            )
            return list(reply.runs)

        done = await eventually(
            runs,
            lambda r: [x.state for x in r] == [invoice_rule_pb2.INVOICE_RULE_RUN_STATE_SUCCEEDED],
        )
        assert done[0].invoice == invoice.name

        # Pipedrive delivers the same event again (its first delivery "timed out"), then the
        # deal is reopened and won again: each is delivered and handled, nothing is created.
        event = await won_event(emulators)
        assert event["status"] == 200
        await emulators.admin(
            "pipedrive", "POST", "webhook-deliveries/redeliver", event_id=event["event_id"]
        )
        await emulators.admin("pipedrive", "PATCH", "deals/3", status="open")
        await emulators.admin("pipedrive", "PATCH", "deals/3", status="won")
        log = await emulators.admin("pipedrive", "GET", "webhook-deliveries?wait=true")
        again = [d for d in log["deliveries"] if d["event_id"] == event["event_id"]]
        assert [d["payload"]["meta"]["attempt"] for d in again] == [1, 2]
        assert all(d["status"] == 200 for d in log["deliveries"])
        await asyncio.sleep(3)  # time for any job these could have queued to run

        invoices = await listed(channel)
    assert [i.name for i in invoices] == [invoice.name]
    ours = [q for q in await in_quickbooks(emulators) if q["Id"] == invoice.quickbooks_invoice_id]
    assert len(ours) == 1
    assert len(await in_quickbooks(emulators)) == 1
    assert service.container is not None
    async with service.container.gateways.engine().connect() as conn:
        jobs = (
            await conn.execute(
                text(
                    "SELECT status, count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'run_invoice_rule' GROUP BY status"
                )
            )
        ).all()
    assert dict(jobs) == {"succeeded": 1}  # one job, for the one run


async def test_a_worker_killed_mid_job_still_ends_with_exactly_one_invoice(
    app_settings: AppSettings, pg_engine: object, database_url: str, tmp_path: Path
) -> None:
    emulators, settings, http_port = await started_emulators(app_settings)
    # The server runs no jobs: the rule's job can only run in the worker killed below.
    service = Service(settings, grpc_port=0, http_port=http_port, run_worker=False)
    await service.start()
    env = process_env(database_url, emulators, DEALBOOKS_PUBLIC_URL=f"http://127.0.0.1:{http_port}")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        assert service.container is not None
        assert service.grpc is not None
        await emulators.connect(service.container.gateways.token_store())
        await add_won_rule(service)
        # QuickBooks takes its time with the invoice: the job is mid-flight when it is killed.
        await emulators.admin(
            "quickbooks",
            "POST",
            "faults",
            body={"method": "POST", "path": "/invoice$", "latency_ms": 4000, "count": 1},
        )
        workers.append(start_worker(env, tmp_path / "worker0.log"))
        await emulators.admin("pipedrive", "PATCH", "deals/3", status="won")
        engine = service.container.gateways.engine()
        deadline = time.monotonic() + 30
        creating = 0
        while time.monotonic() < deadline and not creating:
            async with engine.connect() as conn:
                creating = (
                    await conn.execute(
                        text("SELECT count(*) FROM invoices WHERE state = 'creating'")
                    )
                ).scalar_one()
            await asyncio.sleep(0.1)
        assert creating == 1  # stored, QuickBooks still answering: now the worker dies
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        workers.append(start_worker(env, tmp_path / "worker1.log"))

        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
            deadline = time.monotonic() + 90
            invoices: list[invoice_pb2.Invoice] = []
            run_state = ""
            while time.monotonic() < deadline:
                # What the minute sweep does, without waiting for the minute.
                await retry_stalled_jobs(
                    service.container.gateways.jobs_app(), seconds_since_heartbeat=12
                )
                await service.container.services.sweep().execute()
                invoices = await listed(channel)
                async with engine.connect() as conn:
                    run_state = (
                        await conn.execute(text("SELECT state FROM invoice_rule_runs"))
                    ).scalar_one()
                opened = [i for i in invoices if i.state == invoice_pb2.INVOICE_STATE_OPEN]
                if opened and run_state == "DONE":
                    break
                await asyncio.sleep(1)
        assert [i.state for i in invoices] == [invoice_pb2.INVOICE_STATE_OPEN]
        assert run_state == "DONE"
        assert len(await in_quickbooks(emulators)) == 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        await service.stop()
        await emulators.stop()


async def test_a_failed_rule_shows_on_the_deal_with_a_note_and_a_retry_creates_the_invoice(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    assert service.container is not None
    rule = await add_won_rule(service)
    empty = f"companies/{DEMO_COMPANY}/deals/6"  # "Empty opportunity": no products
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)

        async def runs() -> list[invoice_rule_pb2.InvoiceRuleRun]:
            reply = await stub.ListInvoiceRuleRuns(
                invoice_service_pb2.ListInvoiceRuleRunsRequest(parent=empty), metadata=MD
            )
            return list(reply.runs)

        await emulators.admin("pipedrive", "PATCH", "deals/6", status="won")
        failed = await eventually(
            runs,
            lambda r: bool(r) and r[0].state == invoice_rule_pb2.INVOICE_RULE_RUN_STATE_FAILED,
        )
        [run] = failed
        assert run.state == invoice_rule_pb2.INVOICE_RULE_RUN_STATE_FAILED
        assert (run.rule, run.failure_code, run.attempt) == (rule, MessageCode.NO_LINES, 1)
        assert run.failure_message == MessageCode.NO_LINES.english
        crm = service.container.gateways.crm()

        async def failure_notes() -> list[str]:
            notes = await crm.deal_notes(DEMO_COMPANY, "6")
            return [n for n in notes if MessageCode.NO_LINES.english in n]

        # The note follows the recorded failure (written after it, not in its transaction).
        assert len(await eventually(failure_notes, bool)) == 1

        # The user fixes the deal in Pipedrive, then clicks Retry on the panel.
        await emulators.admin(
            "pipedrive", "POST", "deals/6/products", name="Setup", item_price=500, quantity=1
        )
        await emulators.admin("pipedrive", "PATCH", "deals/6", currency="USD")
        retried = await stub.RetryInvoiceRuleRun(
            invoice_service_pb2.RetryInvoiceRuleRunRequest(name=run.name), metadata=MD
        )
        assert (retried.run.state, retried.run.attempt) == (
            invoice_rule_pb2.INVOICE_RULE_RUN_STATE_PENDING,
            2,
        )
        done = await eventually(
            runs, lambda r: r[0].state != invoice_rule_pb2.INVOICE_RULE_RUN_STATE_PENDING
        )
        assert done[0].state == invoice_rule_pb2.INVOICE_RULE_RUN_STATE_SUCCEEDED, done
        assert done[0].invoice.startswith(f"{empty}/invoices/")
        with pytest.raises(grpc.aio.AioRpcError) as again:
            await stub.RetryInvoiceRuleRun(
                invoice_service_pb2.RetryInvoiceRuleRunRequest(name=run.name), metadata=MD
            )
        assert again.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_rule_api_refuses_bad_rules_with_codes_and_other_companies(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, _ = world
    assert service.grpc is not None
    parent = f"companies/{DEMO_COMPANY}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        stub = settings_service_pb2_grpc.SettingsServiceStub(channel)

        def create(**rule: Any) -> Any:
            return stub.CreateInvoiceRule(
                settings_service_pb2.CreateInvoiceRuleRequest(
                    parent=parent, rule=invoice_rule_pb2.InvoiceRule(**rule)
                ),
                metadata=MD,
            )

        code, info, details = await error_of(
            create(trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_STAGE, pipeline_id="x")
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(details)) == {"rule.stage_id", "rule.pipeline_id"}
        code, _, details = await error_of(create())
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(details)) == {"rule.trigger"}
        code, _, details = await error_of(
            create(
                trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_WON,
                template=f"{parent}/invoiceTemplates/missing",
            )
        )
        assert (code, set(violations(details))) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            {"rule.template"},
        )

        made = await create(trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_WON, enabled=True)
        code, _, details = await error_of(
            create(trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_WON, enabled=True)
        )
        assert (code, set(violations(details))) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            {"rule.trigger"},
        )  # RULE_DUPLICATE: a second invoice per won deal is refused
        rule = invoice_rule_pb2.InvoiceRule()
        rule.CopyFrom(made.rule)
        rule.enabled = False
        updated = await stub.UpdateInvoiceRule(
            settings_service_pb2.UpdateInvoiceRuleRequest(rule=rule), metadata=MD
        )
        assert updated.rule.enabled is False
        listed = await stub.ListInvoiceRules(
            settings_service_pb2.ListInvoiceRulesRequest(parent=parent), metadata=MD
        )
        assert [r.name for r in listed.rules] == [made.rule.name]

        other = bearer(TOKEN_B)  # a token for another company
        code, info, _ = await error_of(
            stub.ListInvoiceRules(
                settings_service_pb2.ListInvoiceRulesRequest(parent=parent), metadata=other
            )
        )
        assert code is grpc.StatusCode.PERMISSION_DENIED
        await stub.DeleteInvoiceRule(
            settings_service_pb2.DeleteInvoiceRuleRequest(name=made.rule.name), metadata=MD
        )
        code, info, _ = await error_of(
            stub.DeleteInvoiceRule(
                settings_service_pb2.DeleteInvoiceRuleRequest(name=made.rule.name), metadata=MD
            )
        )
        assert (code, info.reason) == (grpc.StatusCode.NOT_FOUND, Reason.INVOICE_RULE_NOT_FOUND)


async def test_the_pipelines_a_rule_is_chosen_from_are_read_from_pipedrive(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, _ = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        reply = await settings.ListPipelines(
            settings_service_pb2.ListPipelinesRequest(parent=f"companies/{DEMO_COMPANY}"),
            metadata=MD,
        )
        assert [p.display_name for p in reply.pipelines] == ["Sales pipeline", "Partnerships"]
        proposal = reply.pipelines[0].stages[3]
        assert (proposal.id, proposal.display_name, proposal.order) == ("4", "Proposal made", 4)
        code, info, _ = await error_of(
            settings.ListPipelines(
                settings_service_pb2.ListPipelinesRequest(parent="companies/13000999"),
                metadata=MD,
            )
        )
        # A company never connected: said so, not an empty list the UI would take for none.
        assert (code, info.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            Reason.PIPEDRIVE_NOT_CONNECTED,
        )


async def test_a_deal_moved_into_the_rules_stage_gets_one_invoice_and_other_pipelines_none(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    assert service.container is not None
    await service.container.services.subscribe_webhooks().execute(DEMO_COMPANY)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        for pipeline in ("1", "2"):
            await settings.CreateInvoiceRule(
                settings_service_pb2.CreateInvoiceRuleRequest(
                    parent=f"companies/{DEMO_COMPANY}",
                    rule=invoice_rule_pb2.InvoiceRule(
                        trigger=invoice_rule_pb2.INVOICE_RULE_TRIGGER_STAGE,
                        stage_id="4" if pipeline == "1" else "6",  # 6: of pipeline 2
                        pipeline_id=pipeline,
                        enabled=True,
                    ),
                ),
                metadata=MD,
            )
        await emulators.admin("pipedrive", "PATCH", "deals/3", stage_id=5)  # no rule's stage
        await emulators.admin("pipedrive", "PATCH", "deals/3", stage_id=4)
        invoices = await wait_for_open(channel, WON_WITHIN_SECONDS)
        assert [i.state for i in invoices] == [invoice_pb2.INVOICE_STATE_OPEN]
        await emulators.admin("pipedrive", "PATCH", "deals/3", title="Renamed")  # still in 4
        await emulators.admin("pipedrive", "PATCH", "deals/3", stage_id=1)
        await emulators.admin("pipedrive", "PATCH", "deals/3", stage_id=4)  # back in: once only
        await emulators.admin("pipedrive", "GET", "webhook-deliveries?wait=true")
        await asyncio.sleep(2)
        assert len(await listed(channel)) == 1
    assert len(await in_quickbooks(emulators)) == 1


# Deal 3's customer (Initech, USD): what QuickBooks' US company invoices without a question.
NEW_DEAL = {"currency": "USD", "org_id": 3, "person_id": 3}
SETUP = {"name": "Setup", "item_price": 500, "quantity": 2}


async def last_attempts(emulators: Emulators) -> list[dict[str, Any]]:
    """The last attempt of each webhook event. An attempt Pipedrive makes again (after a slow
    answer on a loaded machine) is the same event, not another one."""
    log = await emulators.admin("pipedrive", "GET", "webhook-deliveries?wait=true")
    last: dict[str, dict[str, Any]] = {}
    for d in log["deliveries"]:
        last[d["event_id"]] = d
    attempts = [(d["event_id"], d["attempt"], d["status"], d["error"]) for d in log["deliveries"]]
    print("webhook deliveries:", attempts)  # shown when the test fails
    return list(last.values())


async def created_deliveries(emulators: Emulators, deal_id: int) -> list[dict[str, Any]]:
    """The events that told of the deal's creation (their last attempts)."""
    return [
        d
        for d in await last_attempts(emulators)
        if d["action"] == "create" and d["entity_id"] == str(deal_id)
    ]


async def test_a_deal_created_won_gets_one_invoice_and_winning_it_again_adds_none(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    await add_won_rule(service)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        started = time.monotonic()
        # An import or a web form: the deal is won, with its products, from the start.
        created = await emulators.admin(
            "pipedrive",
            "POST",
            "deals",
            title="Imported won deal",
            status="won",
            products=[SETUP],
            **NEW_DEAL,
        )
        deal_id = created["data"]["id"]
        deal = f"companies/{DEMO_COMPANY}/deals/{deal_id}"
        invoices = await wait_for_open(channel, WON_WITHIN_SECONDS, deal)
        elapsed = time.monotonic() - started
        print(f"created won -> invoice OPEN in {elapsed:.2f} s")
        assert [i.state for i in invoices] == [invoice_pb2.INVOICE_STATE_OPEN]
        assert elapsed < WON_WITHIN_SECONDS
        [invoice] = invoices
        assert [line.name for line in invoice.lines] == ["Setup"]
        [delivery] = await created_deliveries(emulators, deal_id)
        assert (delivery["status"], delivery["payload"]["previous"]) == (200, None)

        # Reopened and won again (a change.deal that wins it): the run is there, done.
        await emulators.admin("pipedrive", "PATCH", f"deals/{deal_id}", status="open")
        await emulators.admin("pipedrive", "PATCH", f"deals/{deal_id}", status="won")
        assert all(d["status"] == 200 for d in await last_attempts(emulators))
        await asyncio.sleep(2)  # time for any job these could have queued to run
        assert [i.name for i in await listed(channel, deal)] == [invoice.name]
    assert len(await in_quickbooks(emulators)) == 1


async def test_a_deal_created_open_through_the_api_then_won_gets_one_invoice(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    await add_won_rule(service)
    minted = await emulators.admin("pipedrive", "POST", "tokens")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulators.pipedrive_url}/api/v2/deals",
            headers={"Authorization": f"Bearer {minted['access_token']}"},
            json={"title": "API deal", **NEW_DEAL},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        deal_id = (await resp.json())["data"]["id"]
    deal = f"companies/{DEMO_COMPANY}/deals/{deal_id}"
    await emulators.admin("pipedrive", "POST", f"deals/{deal_id}/products", **SETUP)
    [delivery] = await created_deliveries(emulators, deal_id)  # handled: no rule fired
    assert (delivery["status"], delivery["payload"]["data"]["status"]) == (200, "open")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        assert await listed(channel, deal) == []

        await emulators.admin("pipedrive", "PATCH", f"deals/{deal_id}", status="won")
        invoices = await wait_for_open(channel, WON_WITHIN_SECONDS, deal)
        assert [i.state for i in invoices] == [invoice_pb2.INVOICE_STATE_OPEN]
        await emulators.admin("pipedrive", "GET", "webhook-deliveries?wait=true")
        await asyncio.sleep(2)
        assert len(await listed(channel, deal)) == 1
    assert len(await in_quickbooks(emulators)) == 1
