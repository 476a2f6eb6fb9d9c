"""Each page of the extension (deal panel, invoice form, settings) in each of its explicit states
- QuickBooks not connected, QuickBooks to reconnect, an error with "Try again" and a support
link, access denied - and Intuit's Connect to QuickBooks / Disconnect from QuickBooks controls on
the settings page, in a real browser, in English and in French.

The states come from the real stack: QuickBooks disconnected through the API, a grant revoked in
the QuickBooks emulator, Pipedrive answering 503 (an emulator fault), and a request for another
company's deal, which the service itself refuses.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from playwright.async_api import FrameLocator, Locator, Page, Route, expect

from domain.connection import ConnectionStatus, Vendor
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from tests.browser.conftest import shoot, user_id
from tests.support.demo import disconnect_quickbooks, ui_token

SLOW = 20_000  # ms: a Pipedrive outage is retried about 4 s before the page is told

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "admin": "Alice Admin",
        "member": "Carol Sales",
        "connected": "Connected to",
        "not_connected_short": "Not connected",
        "connect": "Connect to QuickBooks",
        "disconnect": "Disconnect from QuickBooks",
        "disconnected": "QuickBooks disconnected",
        "not_connected": "QuickBooks is not connected",
        "admin_text": "Connect QuickBooks in the dealbooks settings to create invoices",
        "member_text": "An admin of your Pipedrive company can connect it",
        "settings_text": "Use the Connect to QuickBooks button below",
        "needs_reconnect": "QuickBooks needs to be reconnected",
        "open_settings": "Open dealbooks settings",
        "retry": "Try again",
        "support": "Contact support",
        "close": "Close",
        "denied": "You do not have access",
        "not_allowed": "You are not allowed to do this for this company.",
        "admins_only": "Only admins of this Pipedrive company can change these settings.",
        "pipedrive_down": "Pipedrive is not answering at the moment; try again shortly.",
        "request_id": "Request id for support:",
        "error_panel": "The invoices could not be loaded",
        "error_modal": "The invoice form could not be opened",
        "error_settings": "The settings could not be loaded",
        "new": "+ Invoice",
    },
    "fr": {
        "admin": "Camille Laurent",
        "member": "Bruno Martin",
        "connected": "Connecté à",
        "not_connected_short": "Non connecté",
        "connect": "Connect to QuickBooks (connecter QuickBooks)",
        "disconnect": "Déconnecter dealbooks de QuickBooks",
        "disconnected": "QuickBooks déconnecté",
        "not_connected": "QuickBooks n\u2019est pas connecté",
        "admin_text": "Connectez QuickBooks dans les paramètres de dealbooks",
        "member_text": "Un administrateur de votre société Pipedrive peut le connecter",
        "settings_text": "Utilisez le bouton Connect to QuickBooks ci-dessous",
        "needs_reconnect": "QuickBooks doit être reconnecté",
        "open_settings": "Ouvrir les paramètres de dealbooks",
        "retry": "Réessayer",
        "support": "Contacter le support",
        "close": "Fermer",
        "denied": "Vous n\u2019avez pas accès",
        "not_allowed": "",
        "admins_only": "Seuls les administrateurs de cette société Pipedrive peuvent modifier "
        "ces paramètres.",
        "pipedrive_down": "",
        "request_id": "Identifiant de requête pour le support :",
        "error_panel": "Les factures n\u2019ont pas pu être chargées",
        "error_modal": "Le formulaire de facture n\u2019a pas pu s\u2019ouvrir",
        "error_settings": "Les paramètres n\u2019ont pas pu être chargés",
        "new": "+ Facture",
    },
}


def settings_url(demo: DemoStack, user: int) -> str:
    client_id = demo.settings.pipedrive.client_id
    base = demo.settings.public_url
    return f"{base}/settings/marketplace/app/{client_id}/app-settings?user={user}"


def deal_url(demo: DemoStack, user: int, deal: int = 3) -> str:
    return f"{demo.settings.public_url}/?deal={deal}&user={user}"


def form_url(demo: DemoStack, user: int, deal: int = 3) -> str:
    """The invoice form opened in a tab of its own (no Pipedrive host): the same page."""
    token = ui_token(demo, user)
    data = json.dumps({"dealId": str(deal)})
    query = f"companyId={DEMO_COMPANY}&selectedIds={deal}&token={token}&data={data}"
    return f"{demo.settings.public_url}/ui/invoice?{query}"


async def revoke_inside_quickbooks(demo: DemoStack) -> None:
    """A QuickBooks admin disconnects dealbooks in QuickBooks (Intuit revokes the grant), and
    Intuit sends the browser to our Disconnect URL, which asks QuickBooks and finds it refused."""
    assert demo.service.container is not None
    store = demo.service.container.gateways.token_store()
    stored = await store.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    settings = demo.settings.quickbooks
    client = base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode()).decode()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{demo.emulators.quickbooks_url}/v2/oauth2/tokens/revoke",
            json={"token": stored.tokens.refresh_token},
            headers={"Authorization": f"Basic {client}"},
        ) as revoked:
            assert revoked.status == 200
        async with http.get(
            f"{demo.settings.public_url}/oauth/quickbooks/disconnected?realmId={US_REALM}"
        ) as page:
            assert page.status == 200
    after = await store.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert after is not None
    assert after.status is ConnectionStatus.NEEDS_RECONNECT


async def pipedrive_fails(demo: DemoStack, path: str) -> None:
    """Pipedrive answers 503 on ``path`` (a regular expression) until the faults are cleared."""
    await demo.emulators.admin("pipedrive", "POST", "faults", {"path": path, "status": 503})


async def pipedrive_recovers(demo: DemoStack) -> None:
    await demo.emulators.admin("pipedrive", "DELETE", "faults")


async def for_another_company(page: Page, method: str, field: str) -> None:
    """The page's ``method`` calls ask for another company's deal (a tampered request): the
    service itself answers 403."""

    async def tamper(route: Route) -> None:
        body: dict[str, Any] = json.loads(route.request.post_data or "{}")
        body[field] = re.sub(r"^companies/\d+", "companies/99999999", body[field])
        await route.continue_(post_data=json.dumps(body))

    await page.context.route(f"**/api/v1/InvoiceService/{method}", tamper)


def state_of(frame: Page | FrameLocator) -> Locator:
    return frame.locator("#state")


async def expect_state(
    frame: Page | FrameLocator, kind: str, title: str, text: str = ""
) -> Locator:
    state = state_of(frame)
    await expect(state).to_be_visible()
    await expect(state).not_to_contain_text("null")  # nothing but what the state says
    await expect(state).to_have_attribute("data-state", kind)
    await expect(frame.locator("body")).to_have_attribute("data-state", kind)
    await expect(state.locator("h2")).to_have_text(title)
    if text:
        await expect(state.locator("#state-text")).to_contain_text(text)
    return state


async def expect_support_link(state: Locator, text: dict[str, str], lang: str) -> None:
    support = state.get_by_role("link", name=text["support"])
    await expect(support).to_have_attribute("href", f"/support?lang={lang}")
    await expect(support).to_have_attribute("target", "_blank")


# ------------------------------------------------------------------ Intuit's buttons


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_settings_show_intuits_connect_button_only_while_quickbooks_is_not_connected(
    demo: DemoStack, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    await page.goto(settings_url(demo, await user_id(demo, text["admin"])))
    settings = page.frame_locator("#settings-frame")
    connection = settings.locator("#connection-state")
    connect = settings.get_by_role("button", name=text["connect"], exact=True)
    disconnect = settings.get_by_role("button", name=text["disconnect"], exact=True)

    # Connected: no Connect button, and a Disconnect that says what it disconnects from.
    await expect(connection).to_contain_text(text["connected"])
    await expect(disconnect).to_be_visible()
    await expect(connect).to_be_hidden()
    await expect(state_of(settings)).to_be_hidden()
    await expect(settings.locator("body")).to_have_attribute("data-state", "ready")

    await disconnect.click()
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["disconnected"])
    await expect(connection).to_have_text(text["not_connected_short"])
    await expect_state(settings, "not-connected", text["not_connected"], text["settings_text"])
    await expect(disconnect).to_be_hidden()
    await expect(connect).to_be_visible()

    # Intuit's image is the button, at the size it is supplied in; its hover state on hover.
    base = settings.locator("#connect img.c2qb-default")
    hover = settings.locator("#connect img.c2qb-hover")
    await expect(base).to_be_visible()
    await expect(hover).to_be_hidden()
    sizes = "img => [img.naturalWidth, img.naturalHeight, img.width, img.height, img.complete]"
    assert await base.evaluate(sizes) == [220, 36, 220, 36, True]
    await shoot(page, f"{lang}-settings-connect-button")
    await connect.hover()
    await expect(hover).to_be_visible()
    await expect(base).to_be_hidden()
    assert await hover.evaluate(sizes) == [220, 36, 220, 36, True]
    await shoot(page, f"{lang}-settings-connect-button-hover")
    for state in ("default", "hover"):
        served = await page.request.get(
            f"{demo.settings.public_url}/ui/static/C2QB_green_btn_med_{state}.svg"
        )
        assert served.headers["content-type"].startswith("image/svg+xml")

    # Intuit's consent opens in a window of its own (never inside Pipedrive's iframe) and
    # closes when done; the button gives way to Disconnect again.
    async with page.context.expect_page() as popup_info:
        await connect.click()
    popup = await popup_info.value
    if not popup.is_closed():
        await popup.wait_for_event("close")
    await expect(connection).to_contain_text(text["connected"])
    await expect(connect).to_be_hidden()
    await expect(disconnect).to_be_visible()
    await expect(state_of(settings)).to_be_hidden()


RECONNECT_SOON = {
    "en": ("QuickBooks will stop accepting dealbooks' connection on", "Reconnect now"),
    "fr": (
        "QuickBooks cessera d\u2019accepter la connexion de dealbooks le",
        "Reconnecter maintenant",
    ),
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_settings_warn_a_month_before_intuits_limit_ends_the_connection(
    demo: DemoStack, page: Page, lang: str
) -> None:
    """QUICKBOOKS_RECONNECT_SOON, in the user's language with the date in their format, and a
    Reconnect now that runs Intuit's consent in its own window (the same company)."""
    assert demo.service.container is not None
    store = demo.service.container.gateways.token_store()
    stored = await store.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    ends = datetime.now(UTC) + timedelta(days=20)
    await store.save(replace(stored, tokens=replace(stored.tokens, refresh_expires_at=ends)))
    sentence, button = RECONNECT_SOON[lang]

    await page.goto(settings_url(demo, await user_id(demo, TEXT[lang]["admin"])))
    settings = page.frame_locator("#settings-frame")
    warning = settings.locator("#reconnect-soon")

    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text(sentence)
    await expect(warning).to_contain_text(str(ends.year))
    await expect(warning).not_to_contain_text(ends.date().isoformat())  # the user's format
    await expect(settings.locator("#connection-state")).to_contain_text(TEXT[lang]["connected"])
    await shoot(page, f"{lang}-settings-reconnect-soon")
    async with page.context.expect_page() as popup_info:
        await warning.get_by_role("button", name=button, exact=True).click()
    popup = await popup_info.value
    if not popup.is_closed():
        await popup.wait_for_event("close")

    # Reconnected to the same company: a new grant, its limit years away, no warning.
    await expect(warning).to_be_hidden()
    after = await store.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
    assert after is not None
    assert after.external_id == stored.external_id
    assert after.tokens.refresh_expires_at is not None
    assert after.tokens.refresh_expires_at > datetime.now(UTC) + timedelta(days=30)


async def test_the_settings_say_nothing_of_the_limit_while_it_is_far(
    demo: DemoStack, page: Page
) -> None:
    await page.goto(settings_url(demo, await user_id(demo, TEXT["en"]["admin"])))
    settings = page.frame_locator("#settings-frame")

    await expect(settings.locator("#connection-state")).to_contain_text(TEXT["en"]["connected"])
    await expect(settings.locator("#reconnect-soon")).to_be_hidden()


# ------------------------------------------------------------------ not connected


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_every_page_says_when_quickbooks_is_not_connected(
    demo: DemoStack, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    admin = await user_id(demo, text["admin"])
    await disconnect_quickbooks(demo)

    # The panel: the deal's invoices stay listed, "+ Invoice" waits, an admin is sent to settings.
    await page.goto(deal_url(demo, admin))
    panel = page.frame_locator("#panel-frame")
    state = await expect_state(panel, "not-connected", text["not_connected"], text["admin_text"])
    await expect(panel.get_by_role("button", name=text["new"])).to_be_disabled()
    await expect(panel.locator("#invoices")).to_be_visible()
    settings_link = state.get_by_role("link", name=text["open_settings"])
    await expect(settings_link).to_have_attribute("href", re.compile(r"/app-settings$"))
    await expect(settings_link).to_have_attribute("target", "_top")
    await shoot(page, f"{lang}-panel-not-connected")

    # The same panel for someone who is not an admin: who can fix it, and no settings link.
    await page.goto(deal_url(demo, await user_id(demo, text["member"])))
    state = await expect_state(panel, "not-connected", text["not_connected"], text["member_text"])
    await expect(state.get_by_role("link")).to_have_count(0)

    # The settings: the state, and Intuit's button right below it.
    await page.goto(settings_url(demo, admin))
    settings = page.frame_locator("#settings-frame")
    await expect_state(settings, "not-connected", text["not_connected"], text["settings_text"])
    await expect(settings.get_by_role("button", name=text["connect"], exact=True)).to_be_visible()

    # The invoice form: the state instead of a form QuickBooks could not take.
    await page.goto(form_url(demo, admin))
    state = await expect_state(page, "not-connected", text["not_connected"])
    await expect(page.locator("#invoice-form")).to_be_hidden()
    await expect(state.get_by_role("button", name=text["close"])).to_be_visible()


# ------------------------------------------------------------------ needs reconnect


async def test_every_page_says_when_quickbooks_must_be_reconnected(
    demo: DemoStack, page: Page
) -> None:
    text = TEXT["en"]
    admin = await user_id(demo, text["admin"])
    await revoke_inside_quickbooks(demo)

    await page.goto(deal_url(demo, admin))
    panel = page.frame_locator("#panel-frame")
    state = await expect_state(panel, "needs-reconnect", text["needs_reconnect"])
    await expect(state.get_by_role("link", name=text["open_settings"])).to_be_visible()
    await expect(panel.get_by_role("button", name=text["new"])).to_be_disabled()
    await expect(panel.get_by_role("button", name="Refresh")).to_be_disabled()
    await shoot(page, "en-panel-needs-reconnect")

    await page.goto(settings_url(demo, admin))
    settings = page.frame_locator("#settings-frame")
    await expect_state(settings, "needs-reconnect", text["needs_reconnect"], "same QuickBooks")
    # Connected again with Intuit's button; "Disconnect from QuickBooks" stays offered.
    await expect(settings.get_by_role("button", name=text["connect"], exact=True)).to_be_visible()
    await expect(
        settings.get_by_role("button", name=text["disconnect"], exact=True)
    ).to_be_visible()

    # The form learns it from QuickBooks' refusal itself.
    await page.goto(form_url(demo, admin))
    await expect_state(page, "needs-reconnect", text["needs_reconnect"])
    await expect(page.locator("#invoice-form")).to_be_hidden()


# ------------------------------------------------------------------ error, retry, support


@pytest.mark.parametrize(
    ("where", "lang", "browser_locale"),
    [("panel", "en", "en-US"), ("settings", "fr", "fr-FR"), ("modal", "en", "en-US")],
)
async def test_a_page_that_cannot_load_says_why_offers_support_and_tries_again(
    demo: DemoStack, page: Page, where: str, lang: str, browser_locale: str
) -> None:
    # Who the user is (their language) is what could not be loaded: the browser's language.
    text = TEXT[lang]
    user = await user_id(demo, text["admin"])
    if where == "modal":
        await page.goto(deal_url(demo, user))
        panel = page.frame_locator("#panel-frame")
        await pipedrive_fails(demo, r"^/api/v2/deals/3$")  # the form reads the deal
        await panel.get_by_role("button", name=text["new"]).click()
        frame = page.frame_locator("#modal-frame")
    else:
        await pipedrive_fails(demo, r"^/api/v1/users/\d+$")  # who the user is
        await page.goto(settings_url(demo, user) if where == "settings" else deal_url(demo, user))
        frame = page.frame_locator(f"#{where}-frame")

    state = state_of(frame)
    await expect(state).to_have_attribute("data-state", "error", timeout=SLOW)
    await expect(state.locator("h2")).to_have_text(text[f"error_{where}"])
    if text["pipedrive_down"]:
        await expect(state.locator("#state-text")).to_have_text(text["pipedrive_down"])
    await expect(state.locator("[data-field=request-id]")).to_contain_text(text["request_id"])
    await expect_support_link(state, text, lang)
    await shoot(page, f"{lang}-{where}-error")

    await pipedrive_recovers(demo)
    await state.get_by_role("button", name=text["retry"]).click()

    await expect(frame.locator("body")).to_have_attribute("data-state", "ready", timeout=SLOW)
    await expect(state).to_be_hidden()
    content = {
        "panel": "#invoices",
        "settings": "#settings-form",
        "modal": "#invoice-form",
    }[where]
    await expect(frame.locator(content)).to_be_visible()


# ------------------------------------------------------------------ permission denied


async def test_the_panel_and_the_form_say_when_access_is_denied(
    demo: DemoStack, page: Page
) -> None:
    text = TEXT["en"]
    await for_another_company(page, "ListInvoices", "parent")
    await page.goto(deal_url(demo, await user_id(demo, text["admin"])))
    panel = page.frame_locator("#panel-frame")

    state = await expect_state(panel, "permission-denied", text["denied"], text["not_allowed"])
    await expect_support_link(state, text, "en")
    await expect(panel.locator("#invoices")).to_be_hidden()
    await shoot(page, "en-panel-denied")

    await page.context.unroute("**/api/v1/InvoiceService/ListInvoices")
    await for_another_company(page, "PrepareInvoice", "parent")
    await page.reload()
    await expect(panel.locator("body")).to_have_attribute("data-state", "ready")
    await panel.get_by_role("button", name=text["new"]).click()
    form = page.frame_locator("#modal-frame")
    state = await expect_state(form, "permission-denied", text["denied"], text["not_allowed"])
    await expect_support_link(state, text, "en")
    await state.get_by_role("button", name=text["close"]).click()
    await expect(page.locator("#modal")).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_settings_say_only_admins_may_change_them(
    demo: DemoStack, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    member = "Carol Sales" if lang == "en" else "Bruno Martin"
    await page.goto(settings_url(demo, await user_id(demo, member)))

    settings = page.frame_locator("#settings-frame")
    state = await expect_state(settings, "permission-denied", text["denied"], text["admins_only"])
    await expect_support_link(state, text, lang)
    await expect(settings.locator("#settings-form")).to_be_hidden()
    await expect(settings.locator("#connection")).to_be_hidden()


# ------------------------------------------------------------------ support, always


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_support_is_one_click_away_on_every_page(
    demo: DemoStack, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    name = {"en": "Help and support", "fr": "Aide et support"}[lang]
    admin = await user_id(demo, text["admin"])

    await page.goto(deal_url(demo, admin))
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("body")).to_have_attribute("data-state", "ready")
    await panel.locator("#app-menu-button").click()
    item = panel.get_by_role("menuitem", name=name)
    await expect(item).to_have_attribute("href", f"/support?lang={lang}")
    await expect(item).to_have_attribute("target", "_blank")
    await panel.locator("#app-menu-button").click()
    await panel.get_by_role("button", name=text["new"]).click()
    form = page.frame_locator("#modal-frame")
    await expect(form.locator("#invoice-form")).to_be_visible()
    link = form.get_by_role("link", name=name)
    await expect(link).to_have_attribute("href", f"/support?lang={lang}")
    await expect(link).to_have_attribute("target", "_blank")

    await page.goto(settings_url(demo, admin))
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("body")).to_have_attribute("data-state", "ready")
    link = settings.get_by_role("link", name=name)
    await expect(link).to_have_attribute("href", f"/support?lang={lang}")
    async with page.context.expect_page() as opened:
        await link.click()
    support = await opened.value
    await support.wait_for_load_state()
    assert support.url.endswith(f"/support?lang={lang}")
    await expect(support.locator("main")).to_be_visible()
