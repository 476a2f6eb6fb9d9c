"""Install -> uninstall through the gateway's callback, with the real authorizer against the
Pipedrive emulator and the Postgres token store; and the UI's Pipedrive JWT."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.accounting_auth import InMemoryAccountingAuthorizer
from adapters.jobs.queue import ProcrastinateJobQueue, apply_schema, build_app
from adapters.pipedrive.oauth import PipedriveAuthorizer
from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from adapters.postgres.notices import PostgresNoticeStore
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.system_clock import SystemClock
from application.errors import UnauthenticatedError
from application.installation import CompletePipedriveInstall, UninstallPipedrive
from application.reasons import Reason
from domain.connection import Connection, Vendor
from domain.due_date_policy import DueDatePolicy
from domain.field_mapping import FieldMapping
from domain.settings import CompanySettings
from emulators.pipedrive.config import EmulatorConfig
from emulators.pipedrive.jwt import sign_extension_token
from entrypoints.http.pipedrive_app import add_pipedrive_routes
from entrypoints.http.ui_auth import authenticate_pipedrive_request
from tests.integration.pipedrive.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    EmulatorHandle,
    running_emulator,
)

pytestmark = pytest.mark.e2e
JWT_SECRET = "dealbooks-test-jwt-secret-of-32-bytes!"
SETTINGS_URL = (
    "https://{company_domain}.pipedrive.com/settings/marketplace/app/{client_id}/app-settings"
)
COMPANY = "13000001"  # the emulator's demo company


async def handle_whoami(request: web.Request) -> web.Response:
    """A UI route as the real UI will have: the company in the path must match the token's."""
    try:
        claims = authenticate_pipedrive_request(
            request,
            JWT_SECRET,
            now=datetime.now(UTC),
            company_id=request.match_info.get("company"),
        )
    except UnauthenticatedError as exc:
        return web.json_response({"reason": exc.reason}, status=401)
    return web.json_response({"company_id": claims.company_id, "user_id": claims.user_id})


@dataclass
class Stack:
    base_url: str
    callback_url: str
    emulator: EmulatorHandle
    store: PostgresTokenStore
    uow_factory: SqlAlchemyUnitOfWorkFactory
    engine: AsyncEngine
    http: aiohttp.ClientSession
    quickbooks: InMemoryAccountingAuthorizer

    async def install(self) -> aiohttp.ClientResponse:
        consent = await self.http.get(
            f"{self.emulator.base_url}/oauth/authorize",
            params={"client_id": CLIENT_ID, "redirect_uri": self.callback_url, "state": "s1"},
            allow_redirects=False,
        )
        assert consent.status == 302
        assert consent.headers["Location"].startswith(self.callback_url + "?code=")
        return await self.http.get(consent.headers["Location"], allow_redirects=False)

    async def connection(self, vendor: Vendor = Vendor.PIPEDRIVE) -> Connection | None:
        return await self.store.load(COMPANY, vendor)

    async def save_settings(self) -> None:
        async with self.uow_factory() as uow:
            await uow.settings.save(
                CompanySettings(
                    COMPANY,
                    FieldMapping.default(),
                    DueDatePolicy.default(),
                    updated_at=datetime.now(UTC),
                )
            )
            await uow.commit()

    async def settings(self) -> CompanySettings | None:
        async with self.uow_factory() as uow:
            return await uow.settings.get(COMPANY)


@pytest.fixture
async def stack(pg_engine: AsyncEngine) -> AsyncIterator[Stack]:
    port = unused_port()
    callback_url = f"http://127.0.0.1:{port}/oauth/pipedrive/callback"
    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        callback_url=callback_url,
        jwt_secret=JWT_SECRET,
        auto_approve=True,
    )
    box = SecretBox("k" * 40)
    store = PostgresTokenStore(build_session_factory(pg_engine), box)
    quickbooks = InMemoryAccountingAuthorizer()
    uow_factory = SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine))
    clock = SystemClock()
    jobs_app = build_app(pg_engine.url.render_as_string(hide_password=False))
    await apply_schema(jobs_app, pg_engine)
    async with (
        jobs_app.open_async(),
        running_emulator(config) as emulator,
        aiohttp.ClientSession() as session,
    ):
        authorizer = PipedriveAuthorizer(
            session,
            clock,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=callback_url,
            oauth_url=emulator.base_url,
        )
        app = web.Application()
        jobs = ProcrastinateJobQueue(jobs_app)
        add_pipedrive_routes(
            app,
            complete_install=CompletePipedriveInstall(authorizer, store, jobs, clock, uow_factory),
            uninstall=UninstallPipedrive(
                store,
                authorizer,
                uow_factory,
                jobs,
                clock,
                quickbooks,
                PostgresNoticeStore(pg_engine, box),
            ),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            settings_url=SETTINGS_URL,
        )
        app.router.add_get("/ui/whoami", handle_whoami)
        app.router.add_get("/ui/companies/{company}/whoami", handle_whoami)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        try:
            yield Stack(
                str(server.make_url("")).rstrip("/"),
                callback_url,
                emulator,
                store,
                uow_factory,
                pg_engine,
                emulator.http,
                quickbooks,
            )
        finally:
            await server.close()


async def test_install_then_the_last_uninstall_forgets_the_tokens_and_schedules_the_purge(
    stack: Stack,
) -> None:
    landing = await stack.install()

    assert landing.status == 302
    assert landing.headers["Location"] == (
        f"https://acme-demo.pipedrive.com/settings/marketplace/app/{CLIENT_ID}/app-settings"
    )
    connection = await stack.connection()
    assert connection is not None
    assert connection.api_domain == stack.emulator.base_url
    assert connection.display_name == "Acme Demo GmbH"
    assert (connection.connected_by, connection.user_id) == ("21000001", "21000001")
    async with stack.engine.connect() as conn:
        sealed = (await conn.execute(text("SELECT sealed_tokens FROM connections"))).scalar_one()
    assert connection.tokens.access_token not in str(sealed)  # encrypted at rest
    assert connection.tokens.refresh_token not in str(sealed)
    async with stack.engine.connect() as conn:  # the webhooks are subscribed by a durable job
        queued = (
            (
                await conn.execute(
                    text(
                        "SELECT args->>'company_id' FROM procrastinate_jobs "
                        "WHERE task_name = 'subscribe_crm_webhooks' AND status = 'todo'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert queued == [COMPANY]
    await stack.save_settings()
    await stack.store.save(
        Connection(COMPANY, Vendor.QUICKBOOKS, "9341453", connection.tokens, display_name="QB")
    )

    async with stack.engine.begin() as conn:  # the company's invoicing data, and another's
        for company in (COMPANY, "other-company"):
            await conn.execute(
                text(
                    "INSERT INTO customer_links VALUES "
                    "(:c, 'organization', '1', '58', 'Acme', now(), 'u')"
                ).bindparams(c=company)
            )
            await conn.execute(
                text("INSERT INTO idempotency_keys VALUES (:c, 'k', 'h', 'r', now())").bindparams(
                    c=company
                )
            )

    uninstall = await stack.emulator.admin("POST", f"/companies/{COMPANY}/uninstall", {})

    assert uninstall["status"] == 200
    assert uninstall["body"]["user_id"] == 21000001
    assert await stack.connection() is None
    assert await stack.connection(Vendor.QUICKBOOKS) is None
    assert stack.quickbooks.revoked == [connection.tokens.refresh_token]
    # The company's data stays until its purge is due, 30 days on (tests/e2e/test_uninstall.py).
    assert await stack.settings() is not None
    async with stack.engine.connect() as conn:
        for table in ("customer_links", "idempotency_keys"):
            owners = (await conn.execute(text(f"SELECT company_id FROM {table}"))).scalars().all()
            assert sorted(owners) == [COMPANY, "other-company"], table
        waiting = (
            await conn.execute(text("SELECT due_at - uninstalled_at FROM company_purges"))
        ).scalar_one()
    assert waiting == timedelta(days=30)


async def test_an_uninstall_with_wrong_credentials_is_refused_and_deletes_nothing(
    stack: Stack,
) -> None:
    await stack.install()
    await stack.save_settings()
    body = {"client_id": CLIENT_ID, "company_id": int(COMPANY), "user_id": 21000001}
    forged = base64.b64encode(f"{CLIENT_ID}:not-the-secret".encode()).decode()

    for headers in ({"Authorization": f"Basic {forged}"}, {}, {"Authorization": "Bearer x"}):
        response = await stack.http.delete(stack.callback_url, json=body, headers=headers)
        assert response.status == 401
        assert "Basic" in response.headers["WWW-Authenticate"]

    assert await stack.connection() is not None
    assert await stack.settings() is not None


BASIC = {"Authorization": aiohttp.encode_basic_auth(CLIENT_ID, CLIENT_SECRET)}


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": CLIENT_ID, "company_id": int(COMPANY)},  # whose uninstall?
        {"client_id": CLIENT_ID, "company_id": int(COMPANY), "user_id": True},
        {"client_id": CLIENT_ID, "company_id": int(COMPANY), "user_id": "21000001; DROP"},
        {"client_id": CLIENT_ID, "user_id": 21000001},
        {"client_id": "another-app", "company_id": int(COMPANY), "user_id": 21000001},
        ["not", "an", "object"],
    ],
)
async def test_an_uninstall_that_does_not_say_whose_it_is_gets_400_and_deletes_nothing(
    stack: Stack, body: object
) -> None:
    await stack.install()

    response = await stack.http.delete(stack.callback_url, json=body, headers=BASIC)

    assert response.status == 400
    assert await stack.connection() is not None


async def test_the_same_uninstall_sent_twice_is_answered_alike(stack: Stack) -> None:
    await stack.install()
    await stack.save_settings()
    body = {
        "client_id": CLIENT_ID,
        "company_id": int(COMPANY),
        "user_id": 21000001,
        "timestamp": "2026-12-08T10:00:00.000Z",
    }

    first = await stack.http.delete(stack.callback_url, json=body, headers=BASIC)
    second = await stack.http.delete(stack.callback_url, json=body, headers=BASIC)

    assert (first.status, second.status) == (200, 200)
    assert await stack.connection() is None
    assert await stack.settings() is not None
    async with stack.engine.connect() as conn:
        purges = (await conn.execute(text("SELECT count(*) FROM company_purges"))).scalar_one()
    assert purges == 1


async def test_a_declined_install_shows_a_friendly_page(stack: Stack) -> None:
    response = await stack.http.get(
        stack.callback_url, params={"error": "user_denied", "state": "s1"}
    )

    assert response.status == 200
    page = await response.text()
    assert "Installation cancelled" in page
    assert response.content_type == "text/html"
    assert await stack.connection() is None


async def test_a_failed_code_exchange_shows_a_friendly_page_not_a_500(stack: Stack) -> None:
    response = await stack.http.get(stack.callback_url, params={"code": "123.456.forged"})

    assert response.status == 400
    assert "install dealbooks again" in await response.text()
    assert await stack.connection() is None


async def test_the_ui_accepts_pipedrives_signed_token_from_header_or_query(stack: Stack) -> None:
    token = sign_extension_token(JWT_SECRET, int(COMPANY), 21000001)

    by_header = await stack.http.get(
        f"{stack.base_url}/ui/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    by_query = await stack.http.get(
        f"{stack.base_url}/ui/companies/{COMPANY}/whoami", params={"token": token}
    )

    assert by_header.status == 200
    assert await by_header.json() == {"company_id": COMPANY, "user_id": "21000001"}
    assert by_query.status == 200


def _unsigned(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "case",
    ["forged", "expired", "alg_none", "hs512", "no_company", "other_company", "garbage", "none"],
)
async def test_the_ui_refuses_a_bad_token_with_401(stack: Stack, case: str) -> None:
    now = int(time.time())
    claims: dict[str, object] = {
        "userId": 21000001,
        "companyId": int(COMPANY),
        "iat": now,
        "exp": now + 300,
    }
    path = f"/ui/companies/{COMPANY}/whoami"
    token: str | None = {
        "forged": lambda: jwt.encode(claims, "another-secret-of-at-least-32-bytes", "HS256"),
        "expired": lambda: jwt.encode(
            {**claims, "iat": now - 900, "exp": now - 600}, JWT_SECRET, "HS256"
        ),
        "alg_none": lambda: _unsigned(claims),
        "hs512": lambda: jwt.encode(claims, JWT_SECRET * 2, "HS512"),
        "no_company": lambda: jwt.encode(
            {k: v for k, v in claims.items() if k != "companyId"}, JWT_SECRET, "HS256"
        ),
        "other_company": lambda: jwt.encode({**claims, "companyId": 99}, JWT_SECRET, "HS256"),
        "garbage": lambda: "not.a.jwt",
        "none": lambda: None,
    }[case]()
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = await stack.http.get(f"{stack.base_url}{path}", headers=headers)

    assert response.status == 401
    assert (await response.json())["reason"] == Reason.INVALID_PIPEDRIVE_TOKEN
