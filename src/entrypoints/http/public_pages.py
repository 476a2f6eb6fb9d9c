"""The public pages both vendors link to (landing, privacy policy, terms, support, install
guide) and the pages that say how an OAuth round trip ended, in English and French.

Small server-rendered HTML: one layout with a shared footer, the stylesheet served from here
(``/public/site.css``), nothing from another origin (the Content-Security-Policy says so). The
language is ``?lang=`` if it names one, else the best of ``Accept-Language``, else English.

OAuth outcome pages exist so that a URL carrying a code or token never answers with a page
(Intuit's security review): those routes redirect (303) here, to a URL that carries only the
outcome's name.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from application.connections import ConnectionStateView
from entrypoints.http.public_texts import BODIES, LANGUAGES, TEXTS

DEFAULT_LANGUAGE: Final = "en"
WELCOME: Final = "/welcome"
STYLESHEET: Final = "/public/site.css"
PAGES: Final = {
    WELCOME: "welcome",
    "/docs": "docs",
    "/privacy": "privacy",
    "/terms": "terms",
    "/support": "support",
}
_FOOTER: Final = (
    (WELCOME, "nav.welcome"),
    ("/docs", "nav.docs"),
    ("/support", "nav.support"),
    ("/privacy", "nav.privacy"),
    ("/terms", "nav.terms"),
)
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_CSS: Final = b"""body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.55;
color:#1f2933;background:#fff;margin:0}
main{max-width:44rem;margin:0 auto;padding:2.5rem 1.25rem}
h1{font-size:1.75rem;line-height:1.25}h2{font-size:1.2rem;margin-top:2rem}
a{color:#0b63ce}code{background:#f1f3f5;padding:0 .25rem;border-radius:3px}
.lead{font-size:1.15rem}.flow li,.steps li{margin-bottom:.75rem}
.button{display:inline-block;background:#0b63ce;color:#fff;padding:.55rem 1rem;border-radius:4px;
text-decoration:none}
.status{border-left:4px solid #8895a7;padding:.5rem 1rem;background:#f6f8fa}
.status[data-state=connected]{border-color:#1f883d}
.status[data-state=needs_reconnect]{border-color:#cf222e}
footer{border-top:1px solid #d8dee4;max-width:44rem;margin:2rem auto 0;padding:1rem 1.25rem 2rem;
font-size:.9rem}
footer a{margin-right:1rem}
@media (prefers-color-scheme:dark){body{background:#15191e;color:#e6edf3}a{color:#6cb6ff}
code,.status{background:#22272e}footer{border-color:#373e47}}
"""
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def pick_language(request: web.Request) -> str:
    """``?lang=`` when it is one we have, else Accept-Language by its q-values, else English."""
    asked = request.query.get("lang", "").strip().lower()[:2]
    if asked in LANGUAGES:
        return asked
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in request.headers.get("Accept-Language", "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        language = tag.strip().lower()[:2]
        if language in LANGUAGES and q > best_q:
            best, best_q = language, q
    return best


def text(language: str, key: str, **params: str) -> str:
    """The plain text ``key`` in ``language`` (escaped when rendered)."""
    template = TEXTS[language].get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**params) if params else template


def with_language(path: str, language: str) -> str:
    return path if language == DEFAULT_LANGUAGE else f"{path}?{urlencode({'lang': language})}"


def render(
    language: str,
    title: str,
    body_html: str,
    *,
    status: int = 200,
    path: str = WELCOME,
    no_store: bool = False,
) -> web.Response:
    """The layout around ``body_html`` (trusted HTML); ``title`` is plain text."""
    footer = "".join(
        f'<a href="{html.escape(with_language(href, language), quote=True)}">'
        f"{html.escape(text(language, key))}</a>"
        for href, key in _FOOTER
    )
    other = "fr" if language == "en" else "en"
    switch = f"{path}?{urlencode({'lang': other})}"
    page = f"""<!doctype html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · dealbooks</title>
<link rel="stylesheet" href="{STYLESHEET}"></head>
<body><main><h1>{html.escape(title)}</h1>
{body_html}
</main>
<footer><nav aria-label="dealbooks">{footer}<a href="{html.escape(switch, quote=True)}"
hreflang="{other}" lang="{other}">{html.escape(text(language, "nav.language"))}</a></nav></footer>
</body></html>"""
    headers = dict(HEADERS)
    # Pages that show a company's state are never kept by a cache (Intuit's security review).
    headers["Cache-Control"] = "no-cache, no-store" if no_store else "no-cache"
    return web.Response(
        text=page, status=status, content_type="text/html", charset="utf-8", headers=headers
    )


def paragraph(value: str) -> str:
    return f"<p>{html.escape(value)}</p>"


def connection_status(
    language: str,
    view: ConnectionStateView,
    *,
    show_name: bool,
    checked: bool = True,
    reconnect: str = "/oauth/quickbooks/reconnect",
) -> str:
    """The QuickBooks connection's state as a block of HTML (``data-state`` names it)."""
    state = view.state if view.state in ("connected", "needs_reconnect") else "not_connected"
    if state == "connected":
        message = (
            text(language, "status.connected", name=view.company_name or view.external_id)
            if show_name
            else text(language, "status.connected_plain")
        )
    else:
        message = text(language, f"status.{state}")
    parts = [f'<div class="status" data-state="{state}" role="status">', paragraph(message)]
    if not checked:
        parts.append(paragraph(text(language, "status.unchecked")))
    if state != "connected":
        parts.append(
            f'<p><a href="{html.escape(reconnect, quote=True)}">'
            f"{html.escape(text(language, 'status.reconnect'))}</a></p>"
        )
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------ OAuth outcomes

# outcome -> (HTTP status of the page, title key)
OUTCOMES: Final[dict[str, dict[str, tuple[int, str]]]] = {
    "quickbooks": {
        "state_invalid": (400, "outcome.title.error"),
        "denied": (400, "outcome.title.cancelled"),
        "refused": (400, "outcome.title.error"),
        "other_company": (400, "outcome.title.error"),
        "unavailable": (503, "outcome.title.error"),
        "failed": (502, "outcome.title.error"),
        "sign_in": (401, "outcome.title.error"),
        "admin_only": (403, "outcome.title.error"),
    },
    "pipedrive": {
        "install_cancelled": (200, "outcome.title.install_cancelled"),
        "declined": (400, "outcome.title.error"),
        "install_incomplete": (400, "outcome.title.error"),
        "install_expired": (400, "outcome.title.error"),
        "unavailable": (503, "outcome.title.error"),
        "failed": (502, "outcome.title.error"),
        "sign_in_cancelled": (400, "outcome.title.cancelled"),
        "sign_in_expired": (400, "outcome.title.error"),
    },
}


def outcome_path(vendor: str) -> str:
    return f"/oauth/{vendor}/result"


def outcome_redirect(vendor: str, outcome: str) -> web.Response:
    """303 to the page that explains ``outcome``: the browser leaves the URL with the code."""
    assert outcome in OUTCOMES[vendor], outcome
    return redirect(f"{outcome_path(vendor)}?{urlencode({'outcome': outcome})}")


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect that is a plain response (cookies can be set on it)."""
    return web.Response(
        status=status, headers={"Location": location, "Cache-Control": "no-store", **HEADERS}
    )


def add_outcome_page(app: web.Application, vendor: str, *, back: str) -> None:
    async def handle_oauth_outcome(request: web.Request) -> web.Response:
        language = pick_language(request)
        outcome = request.query.get("outcome", "")
        status, title = OUTCOMES[vendor].get(outcome, (400, "outcome.title.error"))
        key = f"outcome.{vendor}.{outcome}"
        message = text(language, key) if key in TEXTS[DEFAULT_LANGUAGE] else ""
        body = paragraph(message or text(language, f"outcome.{vendor}.failed"))
        body += (
            f'<p><a href="{html.escape(back, quote=True)}">'
            f"{html.escape(text(language, 'outcome.back'))}</a></p>"
        )
        return render(
            language, text(language, title), body, status=status, path=outcome_path(vendor)
        )

    app.router.add_get(outcome_path(vendor), handle_oauth_outcome)


# ------------------------------------------------------------------ the public pages

SupportStatus = Callable[[web.Request, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class PublicSite:
    """``support_status(request, language)``: the support page's connection section (HTML)."""

    support_status: SupportStatus
    support_email: str = ""
    demo_url: str | None = None  # the demo's page when this gateway serves it
    # Days a company's data is kept after its last user uninstalled (DEALBOOKS_PURGE_AFTER_DAYS).
    purge_days: int = 30

    def body(self, page: str, language: str) -> str:
        bodies: Mapping[str, str] = BODIES[language]
        content = bodies[page].replace("{purge_days}", str(self.purge_days))
        if page == "welcome":
            link = (
                bodies["demo_link"].replace("{url}", html.escape(self.demo_url, quote=True))
                if self.demo_url
                else bodies["demo_local"]
            )
            content = content.replace("{demo}", bodies["demo"] + link)
        if page == "support":
            email = html.escape(self.support_email)
            contact = (
                html.escape(text(language, "support.email", email="\0")).replace(
                    "\0", f'<a href="mailto:{email}">{email}</a>'
                )
                if self.support_email
                else html.escape(text(language, "support.no_email"))
            )
            content = content.replace("{contact}", contact)
        return content


def add_public_pages(app: web.Application, site: PublicSite) -> None:
    async def handle_public_page(request: web.Request) -> web.Response:
        path = request.match_info.route.resource.canonical  # type: ignore[union-attr]
        page, language = PAGES[path], pick_language(request)
        body = site.body(page, language)
        if page == "support":
            body = body.replace("{status}", await site.support_status(request, language))
        return render(
            language,
            text(language, f"title.{page}"),
            body,
            path=path,
            no_store=page == "support",
        )

    async def handle_stylesheet(request: web.Request) -> web.Response:
        return web.Response(
            body=_CSS,
            headers={
                "Content-Type": "text/css; charset=utf-8",
                "Cache-Control": "public, max-age=3600",
                **HEADERS,
            },
        )

    for path in PAGES:
        app.router.add_get(path, handle_public_page)
    app.router.add_get(STYLESHEET, handle_stylesheet)
