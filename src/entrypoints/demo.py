"""``dealbooks demo`` (what ``make run`` starts): the embedded Postgres, both vendor emulators
seeded with a demo company, the service connected to them, and a printed tour."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass, replace
from functools import partial

import structlog

from entrypoints.demo_host import add_demo_host_routes
from entrypoints.emulated import DEMO_COMPANY, INTL_REALM, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import DEV_API_TOKEN, AppSettings

log = structlog.get_logger("dealbooks.demo")
DEMO_REALMS = {"us": US_REALM, "uk": INTL_REALM}

BANNER = """
dealbooks demo is running (Ctrl+C stops it).

  Open the demo         {http}/   (a Pipedrive deal page with the dealbooks panel)
  App settings          {http}/settings/marketplace/app/{client_id}/app-settings
  Deals list            {http}/deals/list   (select deals, invoice the won ones at once)
  UI API (OpenAPI)      {http}/api/openapi.json
  HTTP gateway          {http}   (/healthz, /readyz, /metrics, OAuth, webhooks)
  gRPC API              {grpc}   (health and reflection open; other calls need the token)
  API token             {token}
  QuickBooks emulator   {qbo}   (realm {realm}; webhooks go to the gateway)
  Pipedrive emulator    {pd}   (company {company}, deals 1-6)

Try it with grpcurl (https://github.com/fullstorydev/grpcurl):

  T='authorization: Bearer {token}'
  grpcurl -plaintext {grpc} list
  grpcurl -plaintext -H "$T" -d '{{"parent": "companies/{company}/deals/3"}}' \\
      {grpc} dealbooks.v1.InvoiceService/PrepareInvoice
  # create an invoice from deal 3 (the draft's lines, a new QuickBooks customer):
  grpcurl -plaintext -H "$T" -d '{{"parent": "companies/{company}/deals/3", "request_id": "demo-1",
      "invoice": {{"customer": {{"display_name": "Initech Inc.", "email": "peter@initech.test"}},
      "currency_code": "USD", "lines": [{{"name": "TPS reports", "quantity": "3",
      "unit_price": "250", "item_id": "1"}}]}}}}' {grpc} dealbooks.v1.InvoiceService/CreateInvoice
  grpcurl -plaintext -H "$T" -d '{{"parent": "companies/{company}/deals/3"}}' \\
      {grpc} dealbooks.v1.InvoiceService/ListInvoices
  # record a payment in QuickBooks (as a person would there); the webhook updates the invoice:
  curl -s -XPOST {qbo}/_emulator/companies/{realm}/payments -H 'content-type: application/json' \\
      -d '{{"invoice_id": "<quickbooks_invoice_id>", "amount": "100"}}'
  grpcurl -plaintext -H "$T" -d '{{"parent": "companies/{company}/deals/3"}}' \\
      {grpc} dealbooks.v1.InvoiceService/ListInvoiceEvents
"""


@dataclass
class DemoStack:
    """Both emulators, the service connected to them, and the Pipedrive-like host page (the
    demo's fixed ports for ``dealbooks demo``, free ones for the browser tests)."""

    service: Service
    emulators: Emulators
    settings: AppSettings

    @classmethod
    async def start(
        cls,
        settings: AppSettings,
        *,
        quickbooks_port: int = 0,
        pipedrive_port: int = 0,
        grpc_port: int | None = None,
        http_port: int | None = None,
        quickbooks_realm: str = US_REALM,
    ) -> DemoStack:
        emulators = Emulators(
            host=settings.bind_host,
            quickbooks_port=quickbooks_port,
            pipedrive_port=pipedrive_port,
            public_url=settings.public_url,
        )
        await emulators.start()
        settings = replace(
            settings,
            quickbooks=replace(settings.quickbooks, base_url=emulators.quickbooks_url),
            pipedrive=replace(
                settings.pipedrive,
                oauth_url=emulators.pipedrive_url,
                # The demo host page plays Pipedrive's settings page too.
                settings_link="{public_url}/settings/marketplace/app/{client_id}/app-settings",
            ),
        )
        service = Service(
            settings,
            grpc_port=grpc_port,
            http_port=http_port,
            demo_url="/",
            extra_routes=partial(
                add_demo_host_routes,
                emulators=emulators,
                jwt_secret=settings.pipedrive.jwt_secret,
                client_id=settings.pipedrive.client_id,
            ),
        )
        try:
            await service.start()
            assert service.container is not None
            await emulators.connect(service.container.gateways.token_store(), quickbooks_realm)
            # Connected without the install flow: queue what an install queues, so that
            # deleting a deal or contact in the Pipedrive emulator reaches the gateway. The deal
            # fields an install also creates are left to the settings' "Create deal fields", so
            # that the demo shows it (and the browser tests press it).
            await service.container.gateways.jobs().subscribe_crm_webhooks(DEMO_COMPANY)
        except BaseException:
            await service.stop()
            await emulators.stop()
            raise
        return cls(service, emulators, settings)

    async def stop(self) -> None:
        await self.service.stop()
        await self.emulators.stop()


async def run_demo(
    settings: AppSettings, *, quickbooks: str = "us", quickbooks_port: int, pipedrive_port: int
) -> int:
    """``quickbooks``: "us" or "uk" (VAT codes, GBP home currency, EUR added)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    realm = DEMO_REALMS[quickbooks]
    stack = await DemoStack.start(
        settings,
        quickbooks_port=quickbooks_port,
        pipedrive_port=pipedrive_port,
        quickbooks_realm=realm,
    )
    try:
        service, emulators = stack.service, stack.emulators
        assert service.grpc is not None
        host = settings.bind_host
        token = next(
            (t for t, p in settings.api_tokens.items() if p.companies is None), DEV_API_TOKEN
        )
        print(
            BANNER.format(
                http=f"http://{host}:{service.http_port_bound}",
                grpc=f"{host}:{service.grpc.port}",
                token=token,
                qbo=emulators.quickbooks_url,
                pd=emulators.pipedrive_url,
                realm=realm,
                company=DEMO_COMPANY,
                client_id=settings.pipedrive.client_id,
            ),
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await stack.stop()
    return 0
