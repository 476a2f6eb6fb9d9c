"""The vendor adapters as the composition root wires them, for the benches that drive one
gateway directly (an in-process lock and limiter: one bench process, no database)."""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from adapters.in_memory.connections import InMemoryDistributedLock, InMemoryRateLimiter
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.pipedrive.client import PIPEDRIVE, PipedriveClient
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.oauth import PipedriveOAuthEndpoint
from adapters.quickbooks.client import QUICKBOOKS, QuickBooksClient
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.quickbooks.metering import MeteredReadCounter
from adapters.quickbooks.oauth import QuickBooksEndpoints, QuickBooksOAuth
from adapters.system_clock import SystemClock
from adapters.vendor_http.client import VendorHttp
from adapters.vendor_http.tokens import TokenProvider
from application.ports.clock import Clock
from application.ports.connections import RateLimit, TokenStore
from application.ports.sync import NoticeStore

CLIENT_ID = "dealbooks-demo-client"
CLIENT_SECRET = "dealbooks-demo-secret"


def quickbooks_gateway(
    session: aiohttp.ClientSession,
    tokens: TokenStore,
    base_url: str,
    *,
    limit: RateLimit = QUICKBOOKS.limit,
    clock: Clock | None = None,
    count_metered_read: MeteredReadCounter | None = None,
    notices: NoticeStore | None = None,
) -> QuickBooksAccountingGateway:
    clock = clock or SystemClock()
    notices = notices or InMemoryNoticeStore()
    endpoints = QuickBooksEndpoints.for_environment("sandbox", base_url)
    oauth = QuickBooksOAuth(session, endpoints, CLIENT_ID, CLIENT_SECRET)
    provider = TokenProvider(oauth, tokens, InMemoryDistributedLock(), clock)
    rules = replace(QUICKBOOKS, limit=limit)
    http = VendorHttp(session, provider, InMemoryRateLimiter(), clock, rules)
    client = QuickBooksClient(http, endpoints.api_base, count_metered_read)
    return QuickBooksAccountingGateway(client, clock, notices, app_base=endpoints.app_base)


def pipedrive_gateway(
    session: aiohttp.ClientSession, tokens: TokenStore, oauth_url: str
) -> PipedriveCrmGateway:
    clock = SystemClock()
    oauth = PipedriveOAuthEndpoint(session, oauth_url, CLIENT_ID, CLIENT_SECRET)
    provider = TokenProvider(oauth, tokens, InMemoryDistributedLock(), clock)
    http = VendorHttp(session, provider, InMemoryRateLimiter(), clock, PIPEDRIVE)
    return PipedriveCrmGateway(PipedriveClient(http), clock)
