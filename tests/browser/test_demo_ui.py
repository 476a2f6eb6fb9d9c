"""A user walks the demo in a real browser, in English and in French: settings, an invoice from a
deal, a partial payment recorded in QuickBooks showing without a refresh, the PDF, void.

Everything is real: the Pipedrive-like host page speaking the SDK protocol to the official
`@pipedrive/app-extensions-sdk`, the JSON API, the service, Postgres and both emulators.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, FrameLocator, Page, expect

from entrypoints.demo import DemoStack
from entrypoints.emulated import INTL_REALM, US_REALM
from tests.browser.conftest import measure_sdk_init, shoot, user_id
from tests.support.demo import disconnect_quickbooks

SLOW = 20_000  # ms: webhook + poll; generous on a loaded 2-core machine

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "user": "Alice Admin",
        "connected": "Connected to",
        "rule": "Days after the invoice date",
        "example": re.compile(r"issued March 13 → due March 27"),
        "save": "Save",
        "saved": "Settings saved",
        "new": "+ Invoice",
        "create": "Create invoice",
        "quantity": "Quantity",
        "total": "$9,670.00",
        "open": "Open",
        "partial": "Partially paid",
        "balance": "$8,670.00",
        "payment": "Payment received · $1,000.00",
        "actions": "Actions for invoice",
        "pdf": "Download PDF",
        "void": "Void",
        "voided": "Voided",
        "item": "Default item",
        "positive": "Must be more than 0.",
        "by_rule": re.compile(r"^the company's rule: "),
        "zero": "$0.00",
        "tax_id_where": "QuickBooks keeps it as the customer's resale number: 16 characters "
        "at most.",
        "before_tax": "$9,670.00 + sales tax",
        "tax_by_quickbooks": "Calculated by QuickBooks from the billing address",
        "paid_note": "Paid",
        "sent_note": "Invoice sent",
    },
    "fr": {
        "user": "Camille Laurent",
        "connected": "Connecté à",
        "rule": "Jours après la date de facture",
        "example": re.compile(r"émise le 13 mars → échéance le 27 mars"),
        "save": "Enregistrer",
        "saved": "Paramètres enregistrés",
        "new": "+ Facture",
        "create": "Créer la facture",
        "quantity": "Quantité",
        "total": "9\u202f670,00\u00a0$US",
        "open": "Ouverte",
        "partial": "Partiellement payée",
        "balance": "8\u202f670,00\u00a0$US",
        "payment": "Paiement reçu · 1\u202f000,00\u00a0$US",
        "actions": "Actions pour la facture",
        "pdf": "Télécharger le PDF",
        "void": "Annuler la facture",
        "voided": "Annulée",
        "item": "Article par défaut",
        "positive": "Doit être supérieur à 0.",
        "by_rule": re.compile(r"^la règle de la société : "),
        "zero": "0,00\u00a0$US",
        "tax_id_where": "QuickBooks le garde comme numéro de revente du client : 16 caractères "
        "au plus.",
        "before_tax": "9\u202f670,00\u00a0$US + taxe de vente",
        "tax_by_quickbooks": "Calculée par QuickBooks d\u2019après l\u2019adresse de facturation",
        "paid_note": "Payée",
        "sent_note": "Facture envoyée",
    },
}


async def quickbooks_invoices(demo: DemoStack) -> list[dict[str, Any]]:
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    return list(found["invoices"])


async def configure_settings(page: Page, base_url: str, text: dict[str, Any], user: int) -> None:
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={user}"
    )
    settings = page.frame_locator("#settings-frame")
    await expect(settings.locator("#connection-state")).to_contain_text(text["connected"])
    await settings.locator("select[name=rule]").select_option(label=text["rule"])
    await settings.locator("input[name=days]").fill("14")
    await expect(settings.locator("#due-example")).to_have_text(text["example"])
    # Lines without a matching QuickBooks item use this one.
    item = settings.locator("select[name=defaultItem]")
    await item.select_option(index=1)
    # The deal's Pipedrive timeline: paid notes by default; sent ones chosen here.
    await expect(settings.get_by_label(text["paid_note"], exact=True)).to_be_checked()
    await settings.get_by_label(text["sent_note"], exact=True).check()
    await shoot(page, f"{text['lang']}-1-settings")
    await settings.get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])


async def open_form(page: Page, text: dict[str, Any]) -> FrameLocator:
    panel = page.frame_locator("#panel-frame")
    await panel.get_by_role("button", name=text["new"]).click()
    form = page.frame_locator("#modal-frame")
    await expect(form.locator("#invoice-form")).to_be_visible()
    return form


async def pick_items(form: FrameLocator) -> None:
    """The deal's two products, which match no QuickBooks item, get the first item."""
    for line in (0, 1):
        await form.locator(f"[data-field='lines[{line}].item_id']").select_option(index=1)


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_user_invoices_a_deal_and_follows_it_to_voided(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = {**TEXT[lang], "lang": lang}
    user = await user_id(demo, text["user"])
    await configure_settings(page, base_url, text, user)

    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, text)
    # Automated sales tax: QuickBooks computes the tax, the preview says so, no made-up figure.
    await expect(form.locator("#total")).to_have_text(text["before_tax"])
    await expect(form.locator("#tax")).to_have_text(text["tax_by_quickbooks"])
    await expect(form.locator("[data-field='lines[0].tax_rate']")).to_be_hidden()
    await shoot(page, f"{lang}-2-invoice-form")
    # A US company: where the tax ID goes in QuickBooks, and its limit, beside the field.
    await expect(form.locator("#tax-id-where")).to_have_text(text["tax_id_where"])

    # The company's rule (14 days) and a QuickBooks term disagree: both dates are offered, and
    # a due date that follows the term follows the next term chosen.
    terms = form.locator("select[name=terms]")
    due = form.locator("input[name=dueDate]")
    due_dates = form.locator("#due-dates")
    net = {
        days: due_dates.get_by_role("button", name=re.compile(rf"^Net {days}\b"))
        for days in (15, 30)
    }
    await terms.select_option(label="Net 30")
    by_rule = await due.input_value()
    await expect(due_dates.get_by_role("button", name=text["by_rule"])).to_have_attribute(
        "aria-pressed", "true"
    )
    await net[30].click()
    await expect(net[30]).to_have_attribute("aria-pressed", "true")
    await shoot(page, f"{lang}-2-due-dates")
    net_30 = await due.input_value()
    assert net_30 > by_rule
    await terms.select_option(label="Net 15")
    await expect(net[15]).to_have_attribute("aria-pressed", "true")
    assert by_rule < await due.input_value() < net_30
    await terms.select_option(label="Net 30")
    await expect(due).to_have_value(net_30)

    # An invalid line: the server's field error shows beside the quantity.
    quantity = form.locator("[data-field='lines[0].quantity']")
    await quantity.fill("-3")
    await form.get_by_role("button", name=text["create"]).click()
    await expect(quantity).to_have_attribute("aria-invalid", "true")
    error = form.locator(".line").first.locator(".field-error")
    await expect(error).to_have_text(text["positive"])
    await shoot(page, f"{lang}-3-field-error")
    assert await quickbooks_invoices(demo) == []

    # Fixed, then "Create invoice" clicked twice: one invoice.
    await quantity.fill("40")
    await expect(form.locator("#total")).to_have_text(text["before_tax"])
    create = form.get_by_role("button", name=text["create"])
    await create.dblclick()
    panel = page.frame_locator("#panel-frame")
    invoice = panel.locator("li.invoice").first
    await expect(invoice.locator(".status")).to_have_text(text["open"], timeout=SLOW)
    await expect(invoice.locator("[data-field=total]")).to_have_text(text["total"])
    created = await quickbooks_invoices(demo)
    assert len(created) == 1
    assert Decimal(str(created[0]["TotalAmt"])) == Decimal("9670.00")
    assert (created[0]["SalesTermRef"]["name"], created[0]["DueDate"]) == ("Net 30", net_30)
    assert "TxnTaxDetail" in created[0]  # QuickBooks' own figure, shown as such on the panel
    await expect(invoice.locator("[data-field=tax]")).to_have_text(text["zero"])
    await expect(invoice.locator("[data-field=terms]")).to_have_text("Net 30")
    await shoot(page, f"{lang}-4-open")

    # A partial payment recorded in QuickBooks shows without pressing Refresh.
    await page.locator("#payment-invoice").select_option(created[0]["Id"])
    await page.locator("#payment-amount").fill("1000")
    await page.locator("#record-payment").click()
    await expect(invoice.locator(".status")).to_have_text(text["partial"], timeout=SLOW)
    await expect(invoice.locator("[data-field=balance]")).to_have_text(text["balance"])
    history = panel.locator("#history li[data-type=payment_received]")
    await expect(history).to_contain_text(text["payment"])
    requested = panel.locator("#history li[data-type=creation_requested]")
    await expect(requested).to_contain_text(text["user"])  # people by name, not by id
    await shoot(page, f"{lang}-5-partially-paid")

    # The PDF downloads.
    await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
    async with page.expect_download() as download_info:
        await invoice.get_by_role("menuitem", name=text["pdf"]).click()
    download = await download_info.value
    path = await download.path()
    assert path is not None
    assert (await asyncio.to_thread(path.read_bytes))[:5] == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")

    # Void, confirmed in Pipedrive's dialog.
    await invoice.get_by_role("button", name=re.compile(text["actions"])).click()
    await invoice.get_by_role("menuitem", name=text["void"]).click()
    await expect(page.locator("#confirm")).to_be_visible()
    await shoot(page, f"{lang}-6-void-confirmation")
    await page.locator("#confirm-ok").click()
    await expect(invoice.locator(".status")).to_have_text(text["voided"], timeout=SLOW)
    await expect(invoice.locator("[data-field=balance]")).to_have_text(text["zero"])
    await shoot(page, f"{lang}-7-voided")
    assert (await quickbooks_invoices(demo))[0]["voided"] is True


async def test_the_panel_initializes_and_resizes_through_the_real_sdk(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    sdk = await page.request.get(f"{base_url}/ui/vendor/app-extensions-sdk.js")
    assert sdk.ok
    assert "AppExtensionsSDK" in await sdk.text()  # the npm package's UMD build

    await page.goto(f"{base_url}/?deal=3")

    frame = page.locator("#panel-frame")
    await expect(frame).to_have_attribute("data-initialized", "true", timeout=10_000)
    await expect(frame).to_have_attribute("data-height", re.compile(r"^\d+$"))
    height = int(await frame.get_attribute("data-height") or 0)
    assert 100 <= height <= 750
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("body")).to_have_attribute("data-sdk", "pipedrive")
    await shoot(page, "sdk-panel")


async def test_the_pages_follow_pipedrives_theme_dark_or_light(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    await page.goto(f"{base_url}/?deal=3&theme=dark")
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("html")).to_have_attribute("data-theme", "dark")
    background = "() => getComputedStyle(document.body).backgroundColor"
    dark = await panel.locator("body").evaluate(background.replace("()", "_"))
    await shoot(page, "dark-panel")

    await page.goto(f"{base_url}/?deal=3&theme=light")
    await expect(panel.locator("html")).to_have_attribute("data-theme", "light")
    light = await panel.locator("body").evaluate(background.replace("()", "_"))
    assert (dark, light) == ("rgb(27, 31, 38)", "rgb(255, 255, 255)")


async def test_the_panel_works_opened_directly_in_a_tab(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    token = (
        await (await page.request.post(f"{base_url}/demo/token", data={"userId": 21000001})).json()
    )["token"]

    await page.goto(f"{base_url}/ui/panel?companyId=13000001&selectedIds=3&token={token}")

    await expect(page.locator("body")).to_have_attribute("data-sdk", "standalone")
    await expect(page.locator("#invoices")).to_contain_text("No invoices for this deal yet.")
    await shoot(page, "standalone-panel")


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(frame: Frame) -> list[str]:
    """WCAG 2 A/AA violations axe-core finds in the frame, as readable lines."""
    await frame.add_script_tag(path=str(AXE))
    result = await frame.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


async def content_frame(page: Page, selector: str) -> Frame:
    handle = await page.wait_for_selector(f"{selector}[data-initialized=true]")
    assert handle is not None
    frame = await handle.content_frame()
    assert frame is not None
    return frame


async def test_every_page_passes_an_automated_accessibility_check(
    demo: DemoStack, base_url: str, browser: Browser
) -> None:
    # axe-core is injected as an inline script, which the pages' CSP rightly forbids.
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    await measure_sdk_init(context)
    page = await context.new_page()
    try:
        found: dict[str, list[str]] = {}
        await page.goto(f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings")
        settings = await content_frame(page, "#settings-frame")
        await settings.wait_for_selector("#settings-form:not([hidden])")
        found["settings"] = await axe_violations(settings)

        await page.goto(f"{base_url}/?deal=3")
        panel = await content_frame(page, "#panel-frame")
        await panel.wait_for_selector("main[aria-busy=false]")
        await panel.click("#new-invoice")
        form = await content_frame(page, "#modal-frame")
        await form.wait_for_selector("#invoice-form:not([hidden])")
        found["invoice form"] = await axe_violations(form)
        await form.click("#create")
        await panel.wait_for_selector("li.invoice .status[data-state=OPEN]")
        await panel.click("li.invoice [aria-haspopup=menu]")
        found["panel"] = await axe_violations(panel)

        # Not connected: the pages' state, and Intuit's Connect to QuickBooks button.
        await disconnect_quickbooks(demo)
        await page.goto(f"{base_url}/?deal=3")
        panel = await content_frame(page, "#panel-frame")
        await panel.wait_for_selector("#state[data-state=not-connected]")
        found["panel, not connected"] = await axe_violations(panel)
        await page.goto(f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings")
        settings = await content_frame(page, "#settings-frame")
        await settings.wait_for_selector("#connect:not([hidden])")
        found["settings, not connected"] = await axe_violations(settings)
    finally:
        await context.close()

    assert found == {
        "settings": [],
        "invoice form": [],
        "panel": [],
        "panel, not connected": [],
        "settings, not connected": [],
    }


async def test_an_existing_quickbooks_customer_is_found_as_you_type_and_invoiced(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    await page.goto(f"{base_url}/?deal=3")
    form = await open_form(page, TEXT["en"])

    await form.get_by_label("Existing QuickBooks customer").check()
    search = form.get_by_role("combobox", name="Search QuickBooks customers")
    await pick_items(form)

    # "Existing customer" with none picked is a field error, never a new customer.
    await form.get_by_role("button", name="Create invoice").click()
    await expect(search).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".field-error")).to_have_text(
        "Choose the QuickBooks customer to link."
    )
    assert await quickbooks_invoices(demo) == []

    await search.press_sequentially("Cool", delay=50)
    option = form.get_by_role("option", name=re.compile("Cool Cars"))
    await expect(option).to_be_visible()
    await search.press("ArrowDown")
    await search.press("Enter")
    await expect(form.locator("#chosen-customer")).to_have_text("Selected: Cool Cars")
    await form.get_by_role("button", name="Create invoice").click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text("Open", timeout=SLOW)
    (created,) = await quickbooks_invoices(demo)
    assert created["CustomerRef"]["value"] == "3"  # Cool Cars, not a new customer

    # A line is added in QuickBooks: the panel shows QuickBooks' total, marked and explained,
    # and the balance from the same source.
    added = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 25,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 25},
    }
    items = [line for line in created["Line"] if line["DetailType"] != "SubTotalLineDetail"]
    await demo.emulators.admin(
        "quickbooks",
        "POST",
        f"companies/{US_REALM}/invoices/{created['Id']}/update",
        Line=[*items, added],
    )
    (changed,) = await quickbooks_invoices(demo)
    assert changed["TotalAmt"] != created["TotalAmt"]
    invoice = panel.locator("li.invoice").first
    await expect(invoice.locator("[data-field=mismatch]")).to_contain_text(
        "QuickBooks' total is", timeout=SLOW
    )
    figure = f"${Decimal(str(changed['TotalAmt'])):,.2f}"
    await expect(invoice.locator("[data-field=total]")).to_have_text(f"{figure} ≠")
    await expect(invoice.locator("[data-field=balance]")).to_have_text(figure)
    await shoot(page, "en-totals-mismatch")


REFUSAL: dict[str, dict[str, str]] = {
    "en": {
        "user": "Alice Admin",
        "create": "Create invoice",
        "warning": "No QuickBooks item is named '",
        "failed": "Not created: QuickBooks already has an invoice with this number; "
        "choose another number.",
        "dismiss": "Dismiss",
        "empty": "No invoices",
        "cancel": "Cancel",
    },
    "fr": {
        "user": "Camille Laurent",
        "create": "Créer la facture",
        "warning": "Aucun article QuickBooks ne s\u2019appelle « ",
        "failed": "Non créée : QuickBooks a déjà une facture portant ce numéro ; "
        "choisissez un autre numéro.",
        "dismiss": "Écarter",
        "empty": "Aucune facture",
        "cancel": "Annuler",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_warning_and_a_quickbooks_refusal_read_in_the_users_language(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = REFUSAL[lang]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, {"new": TEXT[lang]["new"]})

    # No default item is set and the deal's products match no QuickBooks item: said before Create.
    warning = form.locator("#warning-list li[data-code=NO_MATCHING_ITEM]").first
    await expect(warning).to_contain_text(text["warning"])

    # QuickBooks refuses the invoice (Fault 6140); the panel says why, from the fault's code.
    refusal = {
        "method": "POST",
        "path": r"/invoice$",
        "status": 400,
        "fault": {
            "code": "6140",
            "message": "Duplicate Document Number Error",
            "detail": "Duplicate Document Number Error : You must specify a different number.",
        },
        "count": 1,
    }
    await demo.emulators.admin("quickbooks", "POST", "faults", refusal)
    await pick_items(form)
    await form.get_by_role("button", name=text["create"]).click()

    # The form says why and stays open for a fix; closed, the panel says it too.
    await expect(form.locator("#error")).to_contain_text(text["failed"].split(": ", 1)[1])
    await form.get_by_role("button", name=text["cancel"]).click()
    panel = page.frame_locator("#panel-frame")
    failed = panel.locator("li.invoice p.error").first
    await expect(failed).to_contain_text(text["failed"], timeout=SLOW)
    await shoot(page, f"{lang}-refused")

    # The refusal is dismissed: it leaves the list (nothing exists in QuickBooks to delete).
    refused = panel.locator("li.invoice").first
    await refused.get_by_role("button", name=re.compile(TEXT[lang]["actions"])).click()
    await refused.get_by_role("menuitem", name=text["dismiss"]).click()
    await page.locator("#confirm-ok").click()
    await expect(panel.locator("li.invoice")).to_have_count(0, timeout=SLOW)
    await expect(panel.locator("#invoices")).to_contain_text(text["empty"])
    assert await quickbooks_invoices(demo) == []


@pytest.mark.parametrize(("lang", "fix"), [("en", "Invoice in USD"), ("fr", "Facturer en USD")])
async def test_a_deal_in_a_currency_quickbooks_refuses_offers_the_home_currency(
    demo: DemoStack, base_url: str, page: Page, lang: str, fix: str
) -> None:
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{base_url}/?deal=1&user={user}")  # Globex website relaunch, in EUR
    form = await open_form(page, TEXT[lang])
    currency = form.locator("select[name=currency]")
    await expect(currency).to_have_value("EUR")
    warning = form.locator("#warning-list li[data-code=CURRENCY_NOT_ENABLED]")

    await warning.get_by_role("button", name=fix).click()

    await expect(currency).to_have_value("USD")


async def test_a_linked_customer_renamed_to_a_taken_name_is_a_field_error(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    await page.goto(f"{base_url}/?deal=3")
    form = await open_form(page, TEXT["en"])
    await form.get_by_label("Existing QuickBooks customer").check()
    search = form.get_by_role("combobox", name="Search QuickBooks customers")
    await search.press_sequentially("Cool", delay=50)
    await form.get_by_role("option", name=re.compile("Cool Cars")).click()
    await pick_items(form)

    # The name edited to one QuickBooks has for another customer, and copied to QuickBooks.
    name = form.locator("input[name=displayName]")
    await name.fill("Amy's Bird Sanctuary")
    await form.get_by_label(re.compile("Also update the customer's name")).check()
    await form.get_by_role("button", name="Create invoice").click()

    await expect(name).to_have_attribute("aria-invalid", "true", timeout=SLOW)
    await expect(form.locator(".field-error")).to_have_text(
        "QuickBooks already has a customer, vendor or employee with this name."
    )
    assert await quickbooks_invoices(demo) == []


@pytest.mark.parametrize(
    ("lang", "theirs", "ours", "code_label"),
    [
        (
            "en",
            "QuickBooks' rate for the invoice date: 1 EUR = 0.85 GBP.",
            "Your rate is sent",
            "Tax code",
        ),
        (
            "fr",
            "Taux QuickBooks à la date de facture : 1 EUR = 0.85 GBP.",
            "Votre taux est envoyé",
            "Code de taxe",
        ),
    ],
)
async def test_a_foreign_currency_invoice_shows_quickbooks_rate_and_sends_the_users_own(
    demo_uk: DemoStack, page: Page, lang: str, theirs: str, ours: str, code_label: str
) -> None:
    """The UK company (GBP, EUR added): a EUR invoice shows QuickBooks' rate (read when the form
    opens) and the total in pounds; a rate typed in is what QuickBooks records."""
    demo = demo_uk
    await demo.emulators.admin(
        "quickbooks", "POST", f"companies/{INTL_REALM}/preferences", exchange_rates={"EUR": "0.85"}
    )
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{demo.settings.public_url}/?deal=1&user={user}")  # Globex, in EUR
    form = await open_form(page, TEXT[lang])
    await expect(form.locator("select[name=currency]")).to_have_value("EUR")
    home_total = form.locator("#home-total")
    await expect(home_total).to_contain_text(theirs)

    await form.locator("input[name=exchangeRate]").fill("0.9")
    await expect(home_total).to_contain_text(ours)
    lines = form.locator(".line[data-kind=item]")
    for index in range(await lines.count()):
        await lines.nth(index).locator("select[name=itemId]").select_option(index=1)
        await lines.nth(index).get_by_label(code_label).select_option(label="20.0% S")
    shown = await home_total.text_content()
    form_total = await form.locator("#total").text_content()
    await form.get_by_role("button", name=TEXT[lang]["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT[lang]["open"], timeout=SLOW)
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{INTL_REALM}/invoices")
    (created,) = found["invoices"]
    assert created["CurrencyRef"]["value"] == "EUR"
    assert Decimal(str(created["ExchangeRate"])) == Decimal("0.9")
    home = Decimal(str(created["HomeTotalAmt"]))
    assert home == (Decimal(str(created["TotalAmt"])) * Decimal("0.9")).quantize(Decimal("0.01"))
    if lang == "en":  # the form said what QuickBooks recorded, to the penny
        assert Decimal(re.sub(r"[^\d.]", "", form_total or "")) == Decimal(str(created["TotalAmt"]))
        assert f"£{home:,.2f}" in (shown or "")


@pytest.mark.parametrize(("lang", "code_label"), [("en", "Tax code"), ("fr", "Code de taxe")])
async def test_in_a_vat_company_the_tax_code_sets_the_rate_and_quickbooks_charges_the_preview(
    demo_uk: DemoStack, page: Page, lang: str, code_label: str
) -> None:
    """The UK company: a line's VAT code, not a rate typed in, decides its tax, in the preview
    as in QuickBooks, to the cent."""
    demo, base_url = demo_uk, demo_uk.settings.public_url
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{base_url}/?deal=1&user={user}")  # Globex website relaunch, in EUR
    form = await open_form(page, TEXT[lang])
    lines = form.locator(".line[data-kind=item]")
    for index in range(await lines.count()):
        line = lines.nth(index)
        await line.locator("select[name=itemId]").select_option(index=1)
        await line.get_by_label(code_label).select_option(label="20.0% S")
        rate = line.locator("input[name=taxRate]")
        await expect(rate).to_have_value("20")
        await expect(rate).to_have_attribute("readonly", "")
    form_total = await form.locator("#total").text_content()
    await form.get_by_role("button", name=TEXT[lang]["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT[lang]["open"], timeout=SLOW)
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{INTL_REALM}/invoices")
    (created,) = found["invoices"]
    assert created["GlobalTaxCalculation"] == "TaxExcluded"
    if lang == "fr":  # "9 288,19 €": the grouping space is gone, the comma is the decimal mark
        figure = Decimal(re.sub(r"[^\d,]", "", form_total or "").replace(",", "."))
    else:
        figure = Decimal(re.sub(r"[^\d.]", "", form_total or ""))
    assert Decimal(str(created["TotalAmt"])) == figure  # the preview, to the cent
    await expect(panel.locator("li.invoice [data-field=mismatch]")).to_have_count(0)


TAX_OF_10_25 = {"en": "$0.84", "fr": "0,84\u00a0$US"}


@pytest.mark.parametrize(
    ("lang", "sales_tax", "code_label"),
    [("en", "Sales tax rate", "Tax code"), ("fr", "Taux de taxe de vente", "Code de taxe")],
)
async def test_a_us_company_without_automated_sales_tax_charges_the_chosen_rate(
    demo: DemoStack, base_url: str, page: Page, lang: str, sales_tax: str, code_label: str
) -> None:
    """The older US sales tax: the form offers the company's sales tax rates; the taxable
    lines pay the one chosen, in the preview as in QuickBooks, to the cent."""
    await demo.emulators.admin(
        "quickbooks", "POST", f"companies/{US_REALM}/preferences", automated_sales_tax=False
    )
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, TEXT[lang])
    await pick_items(form)
    lines = form.locator(".line[data-kind=item]")
    await lines.nth(0).get_by_label(code_label).select_option("TAX")
    await lines.nth(1).get_by_label(code_label).select_option("NON")
    await form.get_by_label(sales_tax).select_option("2")  # California (8.25 %)
    rate = lines.nth(0).locator("input[name=taxRate]")
    await expect(rate).to_have_value("8.25")
    await expect(rate).to_have_attribute("readonly", "")
    await expect(lines.nth(1).locator("input[name=taxRate]")).to_have_value("0")
    for name, value in (("quantity", "1"), ("unitPrice", "10.25"), ("discount", "0")):
        await lines.nth(0).locator(f"input[name={name}]").fill(value)
    discounts = form.locator(".line[data-kind=discount] .remove")
    while await discounts.count():  # the deal's discount: none, for round figures
        await discounts.first.click()
    # California's 7.25 % and San Mateo County's 1 %, each rounded on its own as QuickBooks
    # rounds them: 0.74 + 0.10 (8.25 % of 10.25 in one would be 0.85).
    await expect(form.locator("#tax")).to_have_text(TAX_OF_10_25[lang])
    form_total = await form.locator("#total").text_content()
    await form.get_by_role("button", name=TEXT[lang]["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT[lang]["open"], timeout=SLOW)
    (created,) = await quickbooks_invoices(demo)
    assert created["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "2"
    assert Decimal(str(created["TxnTaxDetail"]["TotalTax"])) == Decimal("0.84")
    if lang == "fr":  # "10 467,78 $US": the comma is the decimal mark
        figure = Decimal(re.sub(r"[^\d,]", "", form_total or "").replace(",", "."))
    else:
        figure = Decimal(re.sub(r"[^\d.]", "", form_total or ""))
    assert Decimal(str(created["TotalAmt"])) == figure  # the preview, to the cent
    await expect(panel.locator("li.invoice [data-field=mismatch]")).to_have_count(0)


async def test_an_invoice_is_sent_to_each_address_typed_in_the_email(
    demo: DemoStack, base_url: str, page: Page
) -> None:
    """Several addresses separated by commas, as QuickBooks' own form takes them."""
    await page.goto(f"{base_url}/?deal=3")
    form = await open_form(page, TEXT["en"])
    await pick_items(form)
    await form.get_by_label("Email", exact=True).fill("ap@initech.example, peter@initech.example")
    await form.get_by_role("button", name="Create invoice").click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text("Open", timeout=SLOW)
    (created,) = await quickbooks_invoices(demo)
    # BillEmail takes one address (reference §3.2): the others go in CC.
    assert created["BillEmail"]["Address"] == "ap@initech.example"
    assert created["BillEmailCc"]["Address"] == "peter@initech.example"

    # Sent from the panel as it offers it: to the invoice's own recipients, each.
    invoice = panel.locator("li.invoice").first
    await invoice.get_by_role("button", name=re.compile("Actions for invoice")).click()
    await invoice.get_by_role("menuitem", name="Send by email").click()
    recipient = panel.get_by_label("Recipient email")
    await expect(recipient).to_have_value("ap@initech.example,peter@initech.example")
    await panel.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#host-snackbar")).to_contain_text("sent to", timeout=SLOW)
    outbox = await demo.emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/emails")
    assert [(e["to"], e["cc"]) for e in outbox["emails"]] == [
        ("ap@initech.example", "peter@initech.example")
    ]


SHIP_TO: dict[str, dict[str, str]] = {
    "en": {
        "ship": "Ship to another address",
        "by_ship_to": "Calculated by QuickBooks from the ship-to address",
        "city": "City",
        "region": "State / region",
    },
    "fr": {
        "ship": "Livrer à une autre adresse",
        "by_ship_to": "Calculée par QuickBooks d\u2019après l\u2019adresse de livraison",
        "city": "Ville",
        "region": "État / région",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_with_automated_sales_tax_the_invoice_is_taxed_where_the_customer_ships(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    """Billed in California, shipped to Texas: the form says QuickBooks taxes for the ship-to
    address, and QuickBooks taxes for Texas. The new customer keeps that ship-to, so the next
    invoice for the deal opens with it."""
    text, ship = TEXT[lang], SHIP_TO[lang]
    user = await user_id(demo, text["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, text)
    await pick_items(form)
    await form.locator("[data-field='lines[0].tax_code_id']").select_option("TAX")
    shipping = form.get_by_label(ship["ship"])
    await expect(shipping).not_to_be_checked()  # a new customer: ships to its billing address
    await expect(form.locator("#ship-to")).to_be_hidden()
    await expect(form.locator("#tax")).to_have_text(text["tax_by_quickbooks"])
    for name, value in (("line1", "1 Market St"), ("city", "San Francisco"), ("region", "CA")):
        await form.locator(f"input[name={name}]").fill(value)

    await shipping.check()
    ship_to = form.locator("#ship-to")
    await ship_to.locator("input[name=shipLine1]").fill("500 Congress Ave")
    await ship_to.get_by_label(ship["city"]).fill("Austin")
    await ship_to.get_by_label(ship["region"]).fill("TX")
    await expect(form.locator("#tax")).to_have_text(ship["by_ship_to"])
    await shoot(page, f"{lang}-ship-to")
    await form.get_by_role("button", name=text["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(text["open"], timeout=SLOW)
    (created,) = await quickbooks_invoices(demo)
    assert created["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "4"  # Texas's, not California's
    assert (created["BillAddr"]["City"], created["ShipAddr"]["City"]) == ("San Francisco", "Austin")

    again = await open_form(page, text)
    await expect(again.get_by_label(ship["ship"])).to_be_checked()
    await expect(again.locator("#ship-to").get_by_label(ship["city"])).to_have_value("Austin")
    await expect(again.locator("#tax")).to_have_text(ship["by_ship_to"])
    # Another customer, who ships to its billing address: the ship-to goes with the first one.
    search = again.locator("#customer-search")
    await search.fill("")
    await search.press_sequentially("Cool", delay=50)
    await again.get_by_role("option", name=re.compile("Cool Cars")).click()
    await expect(again.get_by_label(ship["ship"])).not_to_be_checked()
    await expect(again.locator("#ship-to")).to_be_hidden()
    await expect(again.locator("#tax")).to_have_text(text["tax_by_quickbooks"])


# The panel's summary of Initech's deal once one invoice asks for $9,670.00 of its $9,770.00.
SUMMARY = {
    "en": {
        "dealValue": "$9,770.00",
        "invoiced": "$9,670.00",
        "paid": "$0.00",
        "remaining": "$100.00",
    },
    "fr": {
        "dealValue": "9\u202f770,00\u00a0$US",
        "invoiced": "9\u202f670,00\u00a0$US",
        "paid": "0,00\u00a0$US",
        "remaining": "100,00\u00a0$US",
    },
}


@pytest.mark.parametrize(
    ("lang", "left", "over"),
    [
        (
            "en",
            "Deal value $9,770.00, $0.00 invoiced already (before tax): $100.00 left to invoice "
            "after this one.",
            "Deal value $9,770.00, $9,670.00 invoiced already (before tax): this invoice goes "
            "$9,570.00 over it.",
        ),
        (
            "fr",
            "Valeur de l\u2019affaire 9\u202f770,00\u00a0$US, 0,00\u00a0$US déjà facturés (hors "
            "taxes) : 100,00\u00a0$US restent à facturer après celle-ci.",
            "Valeur de l\u2019affaire 9\u202f770,00\u00a0$US, 9\u202f670,00\u00a0$US déjà "
            "facturés (hors taxes) : cette facture la dépasse de 9\u202f570,00\u00a0$US.",
        ),
    ],
)
async def test_the_form_says_what_remains_to_invoice_and_warns_before_going_over(
    demo: DemoStack, base_url: str, page: Page, lang: str, left: str, over: str
) -> None:
    """Initech's deal is worth $9,770.00 (its products); invoiced with its $100 rebate, $100
    remains. A second invoice for the same products goes over, said before Create."""
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{base_url}/?deal=3&user={user}")
    form = await open_form(page, TEXT[lang])
    await expect(form.locator("#deal-remaining")).to_have_text(left)
    await pick_items(form)
    await form.get_by_role("button", name=TEXT[lang]["create"]).click()
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT[lang]["open"], timeout=SLOW)
    # The panel's summary agrees with the form: the deal's value, invoiced, what is left.
    summary = panel.locator("#deal-summary")
    for figure, amount in SUMMARY[lang].items():
        await expect(summary.locator(f"dd[data-figure={figure}]")).to_have_text(amount)

    form = await open_form(page, TEXT[lang])
    await expect(form.locator("#deal-remaining")).to_have_text(over)
    await expect(form.locator("#deal-remaining")).to_have_class("notice")
    await expect(form.locator("#warning-list li[data-code=OVER_DEAL_VALUE]")).to_have_count(1)


@pytest.mark.parametrize(("lang", "code_label"), [("en", "Tax code"), ("fr", "Code de taxe")])
async def test_a_backdated_invoice_takes_the_vat_rate_of_its_date(
    demo_uk: DemoStack, page: Page, lang: str, code_label: str
) -> None:
    """The UK standard rate was 15 % in 2009: moving the invoice date there moves the rate."""
    demo = demo_uk
    user = await user_id(demo, TEXT[lang]["user"])
    await page.goto(f"{demo.settings.public_url}/?deal=1&user={user}")
    form = await open_form(page, TEXT[lang])
    line = form.locator(".line[data-kind=item]").first
    await line.get_by_label(code_label).select_option(label="20.0% S")
    rate = line.locator("input[name=taxRate]")
    await expect(rate).to_have_value("20")
    await form.locator("input[name=issueDate]").fill("2009-06-01")
    await expect(rate).to_have_value("15")
    await form.locator("input[name=issueDate]").fill("2012-06-01")
    await expect(rate).to_have_value("20")


async def test_a_price_including_vat_is_taxed_as_quickbooks_taxes_it_before_tax(
    demo_uk: DemoStack, page: Page
) -> None:
    """The Lumière deal's products are priced including VAT in Pipedrive. QuickBooks is sent
    their amounts before tax and charges each rate once on their sum: two lines of 12.04
    including 20 % (10.03 before tax each) pay 20 % of 20.06, 4.01 (the prices contain 2.01
    each), 24.07 in all. The form shows QuickBooks' figures."""
    demo, base_url = demo_uk, demo_uk.settings.public_url
    user = await user_id(demo, TEXT["en"]["user"])
    await page.goto(f"{base_url}/?deal=2&user={user}")  # Lumière support contract, in EUR
    form = await open_form(page, TEXT["en"])
    # Its support retainer recurs every month in Pipedrive: one period is billed, as said.
    await expect(form.locator("#warning-list li[data-code=RECURRING_PRODUCT]")).to_have_text(
        "This product is billed every month in Pipedrive: this invoice bills one period of it."
    )
    lines = form.locator(".line[data-kind=item]")
    for index in (0, 1):
        line = lines.nth(index)
        await line.locator("select[name=itemId]").select_option(index=1)
        await line.get_by_label("Tax code").select_option(label="20.0% S")
        for name, value in (("quantity", "1"), ("unitPrice", "12.04"), ("discount", "0")):
            await line.locator(f"input[name={name}]").fill(value)
        await expect(line).to_have_attribute("data-tax-method", "TAX_METHOD_INCLUSIVE")
    await expect(form.locator("#tax")).to_have_text("€4.01")
    await expect(form.locator("#total")).to_have_text("€24.07")
    await form.get_by_role("button", name=TEXT["en"]["create"]).click()

    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("li.invoice .status")).to_have_text(TEXT["en"]["open"], timeout=SLOW)
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{INTL_REALM}/invoices")
    (created,) = found["invoices"]
    assert Decimal(str(created["TxnTaxDetail"]["TotalTax"])) == Decimal("4.01")
    assert Decimal(str(created["TotalAmt"])) == Decimal("24.07")
    await expect(panel.locator("li.invoice [data-field=mismatch]")).to_have_count(0)
