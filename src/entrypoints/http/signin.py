"""Signing a browser in through Pipedrive's OAuth, for the pages opened outside Pipedrive
(QuickBooks' launch and reconnect URLs, the support page).

``begin`` stores a single-use state, binds it to this browser (a cookie) and sends the browser
to Pipedrive's consent page; Pipedrive answers on the app's one callback URL, whose handler
calls ``finish`` when the state is the one this browser started (otherwise it is a marketplace
install). ``finish`` exchanges the code as an install does, sets the session cookie and sends
the browser on, always with a redirect: that URL carries a code.

[U] Pipedrive's documentation describes its authorize URL for installs; that an already
installed app's user passing through it again is simply signed in (consent shown again or not)
is assumed, not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import structlog
from aiohttp import web

from application.errors import ApplicationError, UpstreamUnavailableError
from application.installation import (
    CompletePipedriveSignIn,
    SignInStateError,
    StartPipedriveSignIn,
)
from application.ports.clock import Clock
from entrypoints.http.browser_session import BrowserSessions, SessionUser
from entrypoints.http.public_pages import outcome_redirect, redirect

log = structlog.get_logger("dealbooks.http.signin")

LAUNCH: Final = "/oauth/quickbooks/launch"
RECONNECT: Final = "/oauth/quickbooks/reconnect"
SUPPORT: Final = "/support"
#: Where a finished sign-in may go: our own pages only (no open redirect).
RETURN_PATHS: Final = frozenset({LAUNCH, RECONNECT, SUPPORT})
MAX_CODE: Final = 512


@dataclass(frozen=True, slots=True)
class PipedriveSignIn:
    start: StartPipedriveSignIn
    complete: CompletePipedriveSignIn
    sessions: BrowserSessions
    clock: Clock

    def user(self, request: web.Request) -> SessionUser | None:
        return self.sessions.user(request, self.clock.now())

    def started_here(self, request: web.Request) -> bool:
        """The callback answers a sign-in this browser started (not a marketplace install)."""
        return self.sessions.started_sign_in(request, request.query.get("state", ""))

    async def begin(self, return_to: str) -> web.Response:
        started = await self.start.execute(return_to if return_to in RETURN_PATHS else LAUNCH)
        response = redirect(started.authorization_url, status=302)
        self.sessions.bind_sign_in(response, started.state)
        return response

    async def finish(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("error"):
            log.info("pipedrive.sign_in_declined", error=query["error"][:50])
            return outcome_redirect("pipedrive", "sign_in_cancelled")
        code = query.get("code", "").strip()
        if not code or len(code) > MAX_CODE:
            return outcome_redirect("pipedrive", "install_incomplete")
        try:
            done = await self.complete.execute(state=query.get("state", ""), code=code)
        except SignInStateError:
            return outcome_redirect("pipedrive", "sign_in_expired")
        except UpstreamUnavailableError as exc:
            log.warning("pipedrive.sign_in_failed", reason=exc.reason)
            return outcome_redirect("pipedrive", "unavailable")
        except ApplicationError as exc:
            log.warning("pipedrive.sign_in_failed", reason=exc.reason)
            return outcome_redirect("pipedrive", "sign_in_expired")
        except Exception:  # a browser route: log it and explain, never a bare 500
            log.exception("pipedrive.sign_in_crashed")
            return outcome_redirect("pipedrive", "failed")
        target = done.return_to if done.return_to in RETURN_PATHS else LAUNCH
        response = redirect(target)
        self.sessions.sign_in(
            response, SessionUser(done.user.company_id, done.user.id), self.clock.now()
        )
        return response
