"""The pages' own texts (``i18n.js``) exist in English and in French, with the same placeholders,
and every key a page or ``core.js`` asks for by name is there: a French user never meets an
English sentence, nor a raw key such as ``state.notConnected.member``.

``i18n.js`` is loaded by Node (the UI's own module, not a copy of its table)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tests.support.ui_module import run_ui_module

UI = Path(__file__).resolve().parents[3] / "src/entrypoints/http/ui"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Keys written whole in the pages and scripts: t("…"), data-i18n="…", data-i18n-label="…" …
LITERAL_KEY = re.compile(r"""(?:\bt\(|data-i18n(?:-\w+)?=)\s*["'`]([a-zA-Z]+\.[\w.]+)["'`]""")
# Keys core.js builds from a page kind or a role: `state.error.${kind}` and the like.
BUILT_KEYS = {
    "state.error.{page}": ("panel", "modal", "settings"),
    "state.denied.{page}": ("settings",),
    "state.notConnected.{who}": ("admin", "member", "settings"),
    "state.needsReconnect.{who}": ("admin", "member", "settings"),
}


@cache
def messages() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = run_ui_module(
        "i18n.js", "i18n", "console.log(JSON.stringify(i18n.MESSAGES));"
    )
    return table


def test_english_and_french_have_the_same_keys() -> None:
    english, french = set(messages()["en"]), set(messages()["fr"])
    assert sorted(english - french) == []
    assert sorted(french - english) == []


def test_a_french_text_fills_the_same_placeholders_as_the_english() -> None:
    differ = [
        key
        for key, text in messages()["en"].items()
        if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(messages()["fr"].get(key, "")))
    ]
    assert differ == []


def test_every_key_the_pages_ask_for_has_a_text() -> None:
    wanted = {
        key
        for path in [*UI.glob("*.html"), *(UI / "static").glob("*.js")]
        for key in LITERAL_KEY.findall(path.read_text())
    }
    wanted |= {
        pattern.replace(pattern[pattern.index("{") : pattern.index("}") + 1], value)
        for pattern, values in BUILT_KEYS.items()
        for value in values
    }
    assert sorted(wanted - set(messages()["en"])) == []
