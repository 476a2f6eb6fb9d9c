"""The invoicing rules in a real browser, in English and in French: an admin picks a pipeline
and a stage by name for a stage rule (a stage rule without its stage is said beside the field)
and adds a "deal won" rule; a deal moved into that stage in Pipedrive (the emulator) gets its
invoice on the panel; a deal without products shows the
failure with Retry (live, on the open panel), which creates the invoice once the deal is
fixed. With Pipedrive's pipelines unreadable the form takes ids, and says the rule by name once
Pipedrive answers again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from entrypoints.demo import DemoStack
from tests.browser.conftest import shoot, user_id
from tests.browser.test_demo_ui import SLOW, axe_violations, content_frame, quickbooks_invoices
from tests.browser.test_extension_states import (
    pipedrive_fails,
    pipedrive_recovers,
    settings_url,
)
from tests.browser.test_invoice_templates import page  # noqa: F401 - the fixture (axe allowed)
from tests.e2e.polling import eventually

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "user": "Alice Admin",
        "heading": "Invoice automatically",
        "empty": "No rule yet: invoices are only created by hand.",
        "stage": "Stage",
        "pipeline": "Pipeline",
        "stage_listed": "When a deal enters “Proposal made”, in “Sales pipeline”, "
        "the default template",
        "add": "Add rule",
        "stage_required": "Choose the stage that makes the invoice.",
        "saved": "Rule saved",
        "listed": "When a deal is won, in any pipeline, the default template",
        "failed": "The automatic invoice could not be created: "
        "The deal has no products; add at least one line.",
        "retry": "Retry",
        "stage_id": "Stage id (Pipedrive)",
        "pipeline_id": "Pipeline id (empty: any pipeline)",
        "unreadable": "Pipedrive's pipelines could not be read just now: "
        "enter the pipeline and stage ids instead.",
        "by_id": "When a deal enters stage 4, in pipeline 1, the default template",
    },
    "fr": {
        "user": "Camille Laurent",
        "heading": "Facturer automatiquement",
        "empty": "Aucune règle : les factures ne sont créées qu\u2019à la main.",
        "stage": "Étape",
        "pipeline": "Pipeline",
        "stage_listed": "Quand une affaire entre dans « Proposal made », dans « Sales pipeline », "
        "le modèle par défaut",
        "add": "Ajouter la règle",
        "stage_required": "Choisissez l\u2019étape qui déclenche la facture.",
        "saved": "Règle enregistrée",
        "listed": "Quand une affaire est gagnée, dans tous les pipelines, le modèle par défaut",
        "failed": "La facture automatique n\u2019a pas pu être créée : "
        "L\u2019affaire n\u2019a pas de produits : ajoutez au moins une ligne.",
        "retry": "Relancer",
        "stage_id": "Identifiant de l\u2019étape (Pipedrive)",
        "pipeline_id": "Identifiant du pipeline (vide : tous les pipelines)",
        "unreadable": "Les pipelines de Pipedrive n\u2019ont pas pu être lus pour l\u2019instant : "
        "saisissez plutôt les identifiants du pipeline et de l\u2019étape.",
        "by_id": "Quand une affaire entre dans l\u2019étape 4, dans le pipeline 1, "
        "le modèle par défaut",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_admin_adds_a_won_rule_and_won_deals_get_their_invoice(
    demo: DemoStack,
    base_url: str,
    page: Page,  # noqa: F811
    lang: str,
) -> None:
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    await page.goto(settings_url(demo, user))
    settings = page.frame_locator("#settings-frame")
    section = settings.locator("#rules")
    await expect(section.get_by_role("heading")).to_have_text(text["heading"])
    await expect(section.locator("#rule-list")).to_have_text(text["empty"])

    # A stage rule without its stage: said beside the field, in the user's language.
    rules = settings.locator("#rule-form")
    await rules.locator("select[name=trigger]").select_option("INVOICE_RULE_TRIGGER_STAGE")
    await expect(rules.get_by_label(text["stage"], exact=True)).to_be_visible()
    await rules.get_by_role("button", name=text["add"]).click()
    await expect(rules.locator(".field-error")).to_have_text(text["stage_required"])

    # The stage by name: any pipeline offers every stage grouped by pipeline; a chosen
    # pipeline offers its own stages.
    stage = rules.get_by_label(text["stage"], exact=True)
    await expect(stage.locator("optgroup")).to_have_count(2)
    await rules.get_by_label(text["pipeline"], exact=True).select_option(label="Sales pipeline")
    await expect(stage.locator("optgroup")).to_have_count(0)
    await stage.select_option(label="Proposal made")
    await rules.get_by_role("button", name=text["add"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
    await expect(section.locator("li.rule .template-name")).to_have_text([text["stage_listed"]])

    await rules.locator("select[name=trigger]").select_option("INVOICE_RULE_TRIGGER_WON")
    await rules.get_by_role("button", name=text["add"]).click()
    await expect(section.locator("li.rule .template-name")).to_have_text(
        [text["stage_listed"], text["listed"]]
    )
    rule = section.locator("li.rule").last
    await expect(rule.get_by_role("checkbox")).to_be_checked()
    await shoot(page, f"{lang}-invoice-rules")
    assert await axe_violations(await content_frame(page, "#settings-frame")) == []

    # Moved into "Proposal made" in Pipedrive: the invoice is on the deal's panel, and in
    # QuickBooks, once.
    await demo.emulators.admin("pipedrive", "PATCH", "deals/3", stage_id=4)
    await page.goto(f"{base_url}/?deal=3&user={user}")
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("#invoices li.invoice")).to_have_count(1, timeout=SLOW)
    found = await eventually(lambda: quickbooks_invoices(demo), lambda found: len(found) == 1)
    assert len(found) == 1

    # A deal without products, its panel open: the failure and Retry show on it live.
    await page.goto(f"{base_url}/?deal=6&user={user}")
    panel = page.frame_locator("#panel-frame")
    await expect(panel.locator("#invoices li.empty")).to_be_visible()
    await demo.emulators.admin("pipedrive", "PATCH", "deals/6", status="won")
    failure = panel.locator("#rule-runs li.rule-run")
    await expect(failure).to_contain_text(text["failed"], timeout=SLOW)
    await shoot(page, f"{lang}-invoice-rule-failed")
    assert await axe_violations(await content_frame(page, "#panel-frame")) == []
    await demo.emulators.admin(
        "pipedrive", "POST", "deals/6/products", name="Setup", item_price=500, quantity=1
    )
    await demo.emulators.admin("pipedrive", "PATCH", "deals/6", currency="USD")
    await failure.get_by_role("button", name=text["retry"]).click()
    await expect(panel.locator("#invoices li.invoice")).to_have_count(1, timeout=SLOW)
    await expect(panel.locator("#rule-runs li.rule-run[data-state=failed]")).to_have_count(0)
    found = await eventually(lambda: quickbooks_invoices(demo), lambda found: len(found) == 2)
    assert len(found) == 2


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_with_pipedrive_unread_a_rule_takes_ids_and_is_named_once_it_answers(
    demo: DemoStack,
    base_url: str,
    page: Page,  # noqa: F811
    lang: str,
) -> None:
    text = TEXT[lang]
    user = await user_id(demo, text["user"])
    await pipedrive_fails(demo, r"/api/v2/(pipelines|stages)")
    await page.goto(settings_url(demo, user))
    settings = page.frame_locator("#settings-frame")
    rules = settings.locator("#rule-form")
    await expect(settings.locator("#rule-pipedrive-note")).to_have_text(
        text["unreadable"], timeout=SLOW
    )
    await rules.locator("select[name=trigger]").select_option("INVOICE_RULE_TRIGGER_STAGE")
    await rules.get_by_label(text["pipeline_id"], exact=True).fill("1")
    await rules.get_by_label(text["stage_id"], exact=True).fill("4")
    await rules.get_by_role("button", name=text["add"]).click()
    await expect(page.locator("#host-snackbar")).to_have_text(text["saved"])
    section = settings.locator("#rules")
    await expect(section.locator("li.rule .template-name")).to_have_text([text["by_id"]])
    assert await axe_violations(await content_frame(page, "#settings-frame")) == []

    # Pipedrive answers again: the same rule is said by name, and the form picks by name.
    await pipedrive_recovers(demo)
    await page.goto(settings_url(demo, user))
    await expect(section.locator("li.rule .template-name")).to_have_text(
        [text["stage_listed"]], timeout=SLOW
    )
    await expect(settings.locator("#rule-pipedrive-note")).to_be_hidden()
    await expect(rules.get_by_label(text["pipeline"], exact=True)).to_have_js_property(
        "tagName", "SELECT"
    )
