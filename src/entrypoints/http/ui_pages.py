"""The pages of the Pipedrive UI extension: deal panel, invoice form (modal) and settings.

Static files (HTML, CSS, ES modules) from ``entrypoints/http/ui``; no build step. The official
``@pipedrive/app-extensions-sdk`` is served from where ``make setup`` installed it with npm. The
pages request nothing from other origins (the Content-Security-Policy says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import structlog
from aiohttp import web

log = structlog.get_logger("dealbooks.http.ui")

UI_DIR: Final = Path(__file__).with_name("ui")
PANEL_PAGE: Final = "/ui/panel"
INVOICE_PAGE: Final = "/ui/invoice"
SETTINGS_PAGE: Final = "/ui/settings"
SDK_PATH: Final = "/ui/vendor/app-extensions-sdk.js"
_PAGES: Final = {
    PANEL_PAGE: "panel.html",
    INVOICE_PAGE: "invoice.html",
    SETTINGS_PAGE: "settings.html",
}
# Pipedrive frames the pages from its own origin; the demo host frames them from ours.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self' https://*.pipedrive.com"
)


def _headers(content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def add_ui_pages(app: web.Application, *, sdk_path: Path) -> None:
    """Register the three pages, their assets and the SDK."""
    sdk = sdk_path.read_bytes() if sdk_path.is_file() else None
    if sdk is None:
        log.warning("ui.sdk_missing", path=str(sdk_path), hint="run `make setup`")

    def page(filename: str) -> web.Response:
        return web.Response(
            body=(UI_DIR / filename).read_bytes(),
            headers=_headers("text/html; charset=utf-8"),
        )

    async def handle_page(request: web.Request) -> web.Response:
        return page(_PAGES[request.match_info.route.resource.canonical])  # type: ignore[union-attr]

    async def handle_asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = (UI_DIR / "static" / name).resolve()
        if path.parent != (UI_DIR / "static").resolve() or not path.is_file():
            raise web.HTTPNotFound(text="No such file.")
        kind = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}.get(
            path.suffix, "application/octet-stream"
        )
        return web.Response(body=path.read_bytes(), headers=_headers(f"{kind}; charset=utf-8"))

    async def handle_sdk(request: web.Request) -> web.Response:
        if sdk is None:
            raise web.HTTPNotFound(text="The Pipedrive SDK is not installed; run `make setup`.")
        return web.Response(body=sdk, headers=_headers("text/javascript; charset=utf-8"))

    for path in _PAGES:
        app.router.add_get(path, handle_page)
    app.router.add_get("/ui/static/{name}", handle_asset)
    app.router.add_get(SDK_PATH, handle_sdk)
