"""The UI says in English and in French everything the server can say: a code the catalog adds
without its templates in ``codes.js`` fails here, before a user meets it untranslated.

``codes.js`` is loaded by Node (the UI's own module, not a copy of its table)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from adapters.quickbooks.faults import (
    EXPLAINED_CODES,
    QuickBooksFault,
    QuickBooksRejectedError,
    plain_message,
)
from application.reasons import MetadataKey, Reason, every_reason
from domain.errors import DomainReason
from domain.installment_schedule import InstallmentState
from domain.invoice import InvoiceState
from domain.messages import ENGLISH, ENGLISH_VALUES, MessageCode
from tests.support.ui_module import run_ui_module

LANGUAGES = ("en", "fr")
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_|]+)\}")
# Parameters the UI shows through its own table of values (``value.<name>.<token>``).
TOKENS: dict[str, set[str]] = {
    **{name: set(values) for name, values in ENGLISH_VALUES.items()},
    # An invoice's state by its name; an installment's by its value (InstallmentStateError).
    MetadataKey.STATE.value: {s.name for s in InvoiceState} | {s.value for s in InstallmentState},
}


def node(script: str) -> Any:
    """What ``script`` (codes.js imported as ``codes``) prints, as JSON."""
    return run_ui_module("codes.js", "codes", script)


@cache
def templates() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = node("console.log(JSON.stringify(codes.CODES));")
    return table


def names(template: str) -> set[str]:
    return {name for group in PLACEHOLDER.findall(template) for name in group.split("|")}


def test_every_message_code_has_an_english_and_a_french_template() -> None:
    missing = [
        f"{language}: code.{code}"
        for code in MessageCode
        for language in LANGUAGES
        if f"code.{code}" not in templates()[language]
    ]
    assert missing == []


def test_every_reason_the_service_emits_has_an_english_and_a_french_template() -> None:
    missing = [
        f"{language}: reason.{reason}"
        for reason in sorted(every_reason())
        for language in LANGUAGES
        if f"reason.{reason}" not in templates()[language]
    ]
    assert missing == []


def test_both_languages_have_the_same_templates() -> None:
    assert set(templates()["en"]) == set(templates()["fr"])


def test_the_ui_has_no_template_for_something_the_server_cannot_say() -> None:
    reasons = every_reason()
    stale = []
    for key in templates()["en"]:
        kind, _, rest = key.partition(".")
        if kind == "code":
            known = rest in MessageCode.__members__
        elif kind == "reason":
            known = rest.split(".")[0] in reasons  # reason.<REASON>[.<vendorCode>]
        elif kind == "value":
            name, _, token = rest.partition(".")
            known = token in TOKENS.get(name, set())
        else:
            known = False
        if not known:
            stale.append(key)
    assert stale == []


def test_a_code_template_uses_the_parameters_its_english_names() -> None:
    wrong = []
    for code in MessageCode:
        sent = names(ENGLISH[code])
        english, french = (templates()[language].get(f"code.{code}", "") for language in LANGUAGES)
        if names(english) != sent or not names(french) <= sent:
            wrong.append(f"{code}: sends {sorted(sent)}; en {english!r}; fr {french!r}")
    assert wrong == []


def test_a_reason_template_uses_metadata_keys_only() -> None:
    keys = {k.value for k in MetadataKey}
    wrong = [
        f"{language}: {key} uses {sorted(names(template) - keys)}"
        for language in LANGUAGES
        for key, template in templates()[language].items()
        if key.startswith("reason.") and not names(template) <= keys
    ]
    assert wrong == []


def test_every_token_a_message_shows_has_its_words_in_both_languages() -> None:
    missing = [
        f"{language}: value.{name}.{token}"
        for name, tokens in TOKENS.items()
        for token in sorted(tokens)
        for language in LANGUAGES
        if f"value.{name}.{token}" not in templates()[language]
    ]
    assert missing == []


def say(*calls: tuple[str, str, dict[str, Any]]) -> list[str]:
    """What ``codes.<function>(language, item)`` answers for each call."""
    answers: list[str] = node(
        f"const calls = {json.dumps(calls)};\n"
        "console.log(JSON.stringify(calls.map(([f, lang, item]) => codes[f](lang, item))));"
    )
    return answers


def test_the_ui_says_a_violation_or_a_warning_from_its_code_and_parameters() -> None:
    def violation(code: str, detail: str, **params: str) -> dict[str, Any]:
        return {"field": "memo", "code": code, "params": params, "detail": detail}

    assert say(
        ("codeText", "fr", violation(MessageCode.TOO_LONG, "Must be at most 100 ...", max="100")),
        (
            "codeText",
            "fr",
            violation(MessageCode.MAPPING_FIELD_EMPTY, "", field="tax_id", source="d.vat"),
        ),
        (
            "codeText",
            "en",
            {"code": MessageCode.NO_MATCHING_ITEM, "params": {"name": "X"}, "message": "."},
        ),
        ("codeText", "fr", violation("SOMETHING_NEW", "Said in English.")),
        ("codeText", "fr", violation(MessageCode.TOO_LONG, "Said in English.")),  # {max} missing
    ) == [
        "Doit faire au plus 100 caractères.",
        "N° de TVA : d.vat est vide sur cette affaire.",
        "No QuickBooks item is named 'X' and no default item is set; choose an item for this line.",
        "Said in English.",
        "Said in English.",
    ]


def test_the_ui_says_an_error_from_its_reason_and_the_vendors_code() -> None:
    def problem(reason: str, detail: str = "Said in English.", **metadata: str) -> dict[str, Any]:
        return {"reason": reason, "metadata": metadata, "detail": detail}

    quickbooks = Reason.QUICKBOOKS_REJECTED
    with_violation = {
        "reason": DomainReason.INVALID_VALUE,
        "errors": [
            {"field": "q", "code": MessageCode.MUST_BE_POSITIVE, "params": {}, "detail": "."}
        ],
    }
    assert say(
        ("problemText", "fr", problem(quickbooks, vendorCode="6240")),
        ("problemText", "fr", problem(quickbooks, vendorCode="1", vendorMessage="Oops")),
        ("problemText", "fr", problem(quickbooks)),
        ("problemText", "fr", problem("SOMETHING_NEW")),
        ("problemText", "fr", with_violation),
        ("problemText", "en", problem(DomainReason.INVALID_STATE_TRANSITION, state="VOIDED")),
    ) == [
        "QuickBooks a déjà un client, un fournisseur ou un employé portant ce nom.",
        "QuickBooks a refusé la demande : Oops",
        "Said in English.",  # nothing to fill the template with: the server's English
        "Said in English.",  # a reason the UI does not know yet
        "Doit être supérieur à 0.",
        "This cannot be done now: the invoice is voided.",
    ]


def test_the_ui_says_why_an_invoice_was_not_created() -> None:
    refused = {
        "failureCode": Reason.QUICKBOOKS_REJECTED,
        "failureParams": {MetadataKey.VENDOR_CODE: "6140"},
    }
    before_codes = {"failureCode": "", "failureParams": {}, "failureReason": "Refused, once."}

    assert say(("failureText", "fr", refused), ("failureText", "fr", before_codes)) == [
        "QuickBooks a déjà une facture portant ce numéro ; choisissez un autre numéro.",
        "Refused, once.",
    ]


def test_every_quickbooks_code_the_adapter_explains_has_an_english_and_a_french_template() -> None:
    missing = [
        f"{language}: reason.{Reason.QUICKBOOKS_REJECTED}.{code}"
        for code in sorted(EXPLAINED_CODES)
        for language in LANGUAGES
        if f"reason.{Reason.QUICKBOOKS_REJECTED}.{code}" not in templates()[language]
    ]
    assert missing == []


def test_the_ui_says_in_english_what_the_quickbooks_adapter_says_for_each_code() -> None:
    # QuickBooks' own text only where the sentence is made of it (6000, a business rule): the
    # adapter adds it after the others too, and the UI leaves it out there.
    faults = [
        QuickBooksFault(
            code, "", "Email is invalid" if code == "6000" else "", element="Line.Amount"
        )
        for code in EXPLAINED_CODES
    ]
    rejections = [QuickBooksRejectedError(plain_message(f), f, "1-tid") for f in faults]

    said = say(
        *(
            (
                "problemText",
                "en",
                {
                    "reason": rejection.reason,
                    "metadata": {str(k): v for k, v in rejection.metadata.items()},
                    "detail": "(the server's English)",
                },
            )
            for rejection in rejections
        )
    )

    assert {r.code: text for r, text in zip(rejections, said, strict=True)} == {
        r.code: r.message for r in rejections
    }


def test_the_catalogs_reasons_are_those_the_ui_is_checked_against() -> None:
    # every_reason() is what the tests above walk: both enums, nothing else.
    assert every_reason() == {*Reason, *DomainReason}
