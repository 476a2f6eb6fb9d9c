"""The pages of the Pipedrive UI extension: deal panel, invoice form (modal), bulk invoicing
(modal) and settings.

Static files (HTML, CSS, ES modules) from ``entrypoints/http/ui``; no build step. The official
``@pipedrive/app-extensions-sdk`` is served from where ``make setup`` installed it with npm. The
pages request nothing from other origins (the Content-Security-Policy says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import structlog
from aiohttp import web

log = structlog.get_logger("dealbooks.http.ui")

UI_DIR: Final = Path(__file__).with_name("ui")
SETTINGS_PAGE: Final = "/ui/settings"
SDK_PATH: Final = "/ui/vendor/app-extensions-sdk.js"
_PAGES: Final = {
    "/ui/panel": "panel.html",
    "/ui/invoice": "invoice.html",
    "/ui/bulk": "bulk.html",
    SETTINGS_PAGE: "settings.html",
}
# Pipedrive frames the pages from its own origin; the demo host frames them from ours.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self' https://*.pipedrive.com"
)


_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_KINDS: Final = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",  # Intuit's Connect to QuickBooks button
}
StoredFile = tuple[bytes, Mapping[str, str]]


def stored_file(path: Path, headers: Mapping[str, str] = _HEADERS) -> StoredFile:
    """The file's bytes, read once (a request never touches the disk), and its headers."""
    return path.read_bytes(), {"Content-Type": f"{_KINDS[path.suffix]}; charset=utf-8", **headers}


def add_stored_files(app: web.Application, files: Mapping[str, StoredFile]) -> None:
    """A GET route for each path, answered from memory with the file's bytes and headers."""

    async def handle_file(request: web.Request) -> web.Response:
        body, headers = files[request.match_info.route.resource.canonical]  # type: ignore[union-attr]
        return web.Response(body=body, headers=headers)

    for route in files:
        app.router.add_get(route, handle_file)


def add_ui_pages(app: web.Application, *, sdk_path: Path) -> None:
    """Register the pages, their assets and the SDK, read once (they never change)."""
    files: dict[str, StoredFile] = {
        route: stored_file(UI_DIR / name) for route, name in _PAGES.items()
    }
    for asset in sorted((UI_DIR / "static").iterdir()):
        if asset.suffix in _KINDS:
            files[f"/ui/static/{asset.name}"] = stored_file(asset)
    if sdk_path.is_file():
        files[SDK_PATH] = stored_file(sdk_path)
    else:
        log.warning("ui.sdk_missing", path=str(sdk_path), hint="run `make setup`")

        async def handle_missing_sdk(request: web.Request) -> web.Response:
            raise web.HTTPNotFound(text="The Pipedrive SDK is not installed; run `make setup`.")

        app.router.add_get(SDK_PATH, handle_missing_sdk)
    add_stored_files(app, files)
