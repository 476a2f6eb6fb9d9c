"""The live panel's stream (issue 16): ``GET /api/v1/deal-changes?parent=companies/{c}/deals/{d}``
answers server-sent events, ``ready`` once subscribed, then ``changed`` each time the deal's
invoices change (the panel then reads them as usual: the event carries no data), and a comment
every ``keepalive`` seconds so proxies keep the connection open.

The caller sends the Pipedrive JWT in ``Authorization``, as for every API call (the panel
reads the stream with ``fetch``, not ``EventSource``, which cannot send headers); the deal
must be of the token's company and one Pipedrive shows the user (``DealVisibility``). A
stream ends after ``lifetime`` seconds and the panel opens a new one with a fresh token, so
an expired or revoked session stops being told anything. While the feed is down the route
answers 503 and the panel polls."""

from __future__ import annotations

import asyncio
import re
from typing import Final

import structlog
from aiohttp import web

from application.errors import UpstreamUnavailableError
from application.ports.deal_changes import DealChanges, DealChangesLostError
from application.reasons import Reason
from application.visibility import DealVisibility
from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from entrypoints.http.ui_api import API_PREFIX, AuthenticateUi

log = structlog.get_logger("dealbooks.http.deal_stream")

_DEAL: Final = re.compile(
    r"^companies/(?P<company>[A-Za-z0-9][A-Za-z0-9_-]{0,62})"
    r"/deals/(?P<deal>[A-Za-z0-9][A-Za-z0-9_-]{0,62})$"
)


def add_deal_stream_route(
    app: web.Application,
    *,
    authenticate: AuthenticateUi,
    changes: DealChanges,
    visibility: DealVisibility,
    lifetime: float = 300.0,
    keepalive: float = 15.0,
) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        principal = await authenticate(request)
        parent = request.query.get("parent", "")
        found = _DEAL.match(parent)
        if found is None:
            raise InvalidValueError(
                FieldViolation.of(
                    "parent",
                    MessageCode.NOT_A_NAME,
                    value=parent[:80],
                    expected="companies/{company}/deals/{deal}",
                )
            )
        # Before subscribing: a user Pipedrive hides the deal from is not told it changes.
        await visibility.ensure_visible(principal, found["company"], found["deal"])
        try:
            subscription = changes.subscribe(found["company"], found["deal"])
        except DealChangesLostError:
            raise UpstreamUnavailableError(
                "Live updates are not available right now; the panel refreshes by itself.",
                reason=Reason.DATABASE_UNAVAILABLE,
                retry_after_seconds=5.0,
            ) from None
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass each event on at once
            }
        )
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        ends = loop.time() + lifetime
        try:
            await response.write(b"event: ready\ndata: {}\n\n")
            while (left := ends - loop.time()) > 0:
                if await subscription.changed(min(keepalive, left)):
                    await response.write(b"event: changed\ndata: {}\n\n")
                else:
                    await response.write(b": keep-alive\n\n")
        except DealChangesLostError:
            log.info("deal_stream.feed_lost", deal=parent)
        except ConnectionResetError:
            pass  # the panel went away
        finally:
            subscription.close()
        return response

    app.router.add_get(f"{API_PREFIX}/deal-changes", stream)
