"""Invoice templates in a real browser, in English and in French: an admin adds one in the
settings (a fixed "PO Number", "Crew #" read from the deal, a CC, online card payment), a bad
CC is said beside its field, and the invoice form starts from the default template, lets the
user pick none and back, says the PDF keeps QuickBooks' own form style, and QuickBooks (the
emulator) records what the form showed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import measure_sdk_init, shoot, user_id
from tests.browser.test_demo_ui import (
    SLOW,
    axe_violations,
    content_frame,
    pick_items,
    quickbooks_invoices,
)
from tests.e2e.polling import eventually


@pytest.fixture
async def page(browser: Browser, browser_locale: str) -> AsyncIterator[Page]:
    """As conftest's, with the pages' CSP bypassed: axe-core is injected as an inline script."""
    context = await browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale=browser_locale, bypass_csp=True
    )
    await measure_sdk_init(context)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors: {errors}"


TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "user": "Alice Admin",
        "help": "The PDF uses the form style set in QuickBooks",
        "add": "+ Add template",
        "name": "Template name",
        "memo": "Message on invoice",
        "cc": "CC (email)",
        "card": "Customer can pay online by card",
        "fixed": "A fixed value",
        "po_value": "PO Number: value",
        "save": "Save template",
        "saved": "Template “Retainer” saved",
        "default": "Default",
        "edit": "Edit the template Retainer",
        "bad_cc": "'nope' does not look like an email address.",
        "cancel": "Cancel",
        "new": "+ Invoice",
        "template": "Template",
        "none": "No template",
        "note": "The PDF uses the form style set in QuickBooks",
        "create": "Create invoice",
        "class": "Class",
        "location": "Location",
        "class_gone": "Landscaping:Design (no longer offered by QuickBooks)",
    },
    "fr": {
        "user": "Camille Laurent",
        "help": "Le PDF utilise le style de formulaire défini dans QuickBooks",
        "add": "+ Ajouter un modèle",
        "name": "Nom du modèle",
        "memo": "Message sur la facture",
        "cc": "Cc (e-mail)",
        "card": "Le client peut payer en ligne par carte",
        "fixed": "Une valeur fixe",
        "po_value": "PO Number : valeur",
        "save": "Enregistrer le modèle",
        "saved": "Modèle « Retainer » enregistré",
        "default": "Par défaut",
        "edit": "Modifier le modèle Retainer",
        "bad_cc": "« nope » ne ressemble pas à une adresse e-mail.",
        "cancel": "Annuler",
        "new": "+ Facture",
        "template": "Modèle",
        "none": "Aucun modèle",
        "note": "Le PDF utilise le style de formulaire défini dans QuickBooks",
        "create": "Créer la facture",
        "class": "Classe",
        "location": "Emplacement",
        "class_gone": "Landscaping:Design (plus proposé par QuickBooks)",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_admin_keeps_a_template_and_the_form_starts_from_it(
    demo: DemoStack, base_url: str, page: Page, lang: str
) -> None:
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    await page.goto(
        f"{base_url}/settings/marketplace/app/dealbooks-demo-client/app-settings?user={user}"
    )
    settings = page.frame_locator("#settings-frame")
    section = settings.locator("#templates")
    await expect(section).to_contain_text(text["help"])

    await section.get_by_role("button", name=text["add"]).click()
    editor = settings.locator("#template-form")
    await editor.get_by_label(text["name"], exact=True).fill("Retainer")
    await editor.get_by_label(text["memo"], exact=True).fill("Thank you for your trust.")
    await editor.get_by_label(text["cc"], exact=True).fill("ops@initech.example")
    await editor.get_by_label(text["card"], exact=True).check()
    await editor.locator("select[data-definition='2']").select_option(label=text["fixed"])
    await editor.get_by_label(text["po_value"], exact=True).fill("PO-9981")
    await editor.locator("select[data-definition='1']").select_option("SOURCE_ENTITY_DEAL|title")
    # The demo company tracks classes and locations: the template sets both.
    await editor.get_by_label(re.compile(f"^{text['class']}")).select_option(
        label="Landscaping:Design"
    )
    await editor.get_by_label(re.compile(f"^{text['location']}")).select_option(label="Oakland")
    await shoot(page, f"{lang}-template-editor")
    assert await axe_violations(await content_frame(page, "#settings-frame")) == []
    await editor.get_by_role("button", name=text["save"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
    saved = section.locator("li.template[data-name=Retainer]")
    await expect(saved).to_contain_text(text["default"])

    # A bad CC is said beside its field, in the user's language; nothing changes.
    await saved.get_by_role("button", name=text["edit"]).click()
    await editor.get_by_label(text["cc"], exact=True).fill("nope")
    await editor.get_by_role("button", name=text["save"]).click()
    await expect(editor.locator(".field-error")).to_have_text(text["bad_cc"])
    await editor.get_by_role("button", name=text["cancel"]).click()

    # The template's class, made inactive in QuickBooks since (listed among the inactive
    # ones), stays the template's, and the editor says, by its name, it is no longer offered.
    async def without_class_2(route: Route) -> None:
        answer = await route.fetch()
        body = await answer.json()
        classes = body.get("classes", [])
        body["classes"] = [c for c in classes if c["id"] != "2"]
        body["inactiveClasses"] = [c for c in classes if c["id"] == "2"]
        await route.fulfill(response=answer, json=body)

    lists = "**/api/v1/SettingsService/ListInvoiceOptions"
    await page.route(lists, without_class_2)
    await page.reload()
    await saved.get_by_role("button", name=text["edit"]).click()
    class_field = editor.get_by_label(re.compile(f"^{text['class']}"))
    await expect(class_field.locator("option:checked")).to_have_text(text["class_gone"])
    await editor.get_by_role("button", name=text["cancel"]).click()
    await page.unroute(lists)

    # The form starts from the default template, its deal field read from the deal.
    await page.goto(f"{base_url}/?deal=3&user={user}")
    panel = page.frame_locator("#panel-frame")
    await panel.get_by_role("button", name=text["new"]).click()
    form = page.frame_locator("#modal-frame")
    await expect(form.locator("#invoice-form")).to_be_visible()
    await expect(form.locator("#template-note")).to_contain_text(text["note"])
    # (A select's accessible name includes its chosen option, so it is found by its label.)
    picker = form.get_by_label(re.compile(f"^{text['template']}"))
    await expect(picker).to_have_value(re.compile(r"^companies/\d+/invoiceTemplates/"))
    assert await picker.evaluate("(select) => select.selectedOptions[0].text") == "Retainer"
    memo = form.get_by_label(text["memo"], exact=True)
    await expect(memo).to_have_value("Thank you for your trust.")
    await expect(form.locator("input[data-definition='2']")).to_have_value("PO-9981")
    await expect(form.locator("input[data-definition='1']")).to_have_value("Initech TPS automation")
    await expect(form.get_by_label(re.compile(f"^{text['class']}"))).to_have_value("2")
    location = form.get_by_label(re.compile(f"^{text['location']}"))
    await expect(location).to_have_value("2")

    # No template empties its presets; picked again, they are back before the user's edits.
    await picker.select_option(label=text["none"])
    await expect(memo).to_have_value("")
    await expect(form.locator("input[data-definition='2']")).to_have_value("")
    await picker.select_option(label="Retainer")
    await expect(memo).to_have_value("Thank you for your trust.")
    await form.locator("input[data-definition='2']").fill("PO-1234")
    await location.select_option(label="San Pablo")  # the user's choice wins
    await shoot(page, f"{lang}-template-form")
    assert await axe_violations(await content_frame(page, "#modal-frame")) == []

    await pick_items(form)
    await form.get_by_role("button", name=text["create"]).click()

    async def recorded() -> list[dict[str, Any]]:
        return await quickbooks_invoices(demo)

    await expect(panel.locator("li.invoice")).to_have_count(1, timeout=SLOW)
    # The live panel shows the invoice as soon as it is stored (still being created): wait
    # until QuickBooks has it.
    [invoice] = await eventually(recorded, lambda found: len(found) == 1)
    fields = {cf["Name"]: cf.get("StringValue") for cf in invoice["CustomField"]}
    assert fields == {"Crew #": "Initech TPS automation", "PO Number": "PO-1234"}
    assert invoice["BillEmailCc"] == {"Address": "ops@initech.example"}
    assert invoice["CustomerMemo"] == {"value": "Thank you for your trust."}
    assert invoice["AllowOnlineCreditCardPayment"] is True
    assert invoice["AllowOnlineACHPayment"] is False
    assert invoice["ClassRef"] == {"value": "2", "name": "Landscaping:Design"}
    assert invoice["DepartmentRef"] == {"value": "1", "name": "San Pablo"}
    # The panel names both as QuickBooks recorded them.
    shown = panel.locator("li.invoice")
    await expect(shown.locator("dt", has_text=text["class"])).to_be_visible(timeout=SLOW)
    await expect(shown.locator("[data-field='class']")).to_have_text("Landscaping:Design")
    await expect(shown.locator("[data-field='location']")).to_have_text("San Pablo")
