"""The invoice form's live totals round each currency to the decimals the server rounds it to
(``minor_units``: ISO 4217's, at most the 2 QuickBooks keeps), so the form shows what the
preview computes and QuickBooks records: 2 for KWD (not Intl's 3), 2 for HUF (not Intl's 0).

``decimal.js`` is loaded by Node (the UI's own module, not a copy of its table)."""

from __future__ import annotations

import json
from typing import Any

from domain.money import known_currencies, minor_units
from tests.support.ui_module import run_ui_module


def node(script: str) -> Any:
    """What ``script`` (decimal.js imported as ``D``) prints, as JSON."""
    return run_ui_module("decimal.js", "D", script)


def test_the_form_rounds_every_currency_to_the_servers_decimals() -> None:
    codes = sorted(known_currencies())
    places: dict[str, int] = node(
        f"console.log(JSON.stringify(Object.fromEntries({json.dumps(codes)}"
        ".map((c) => [c, D.currencyPlaces(c)]))));"
    )
    assert places == {code: minor_units(code) for code in codes}


def test_a_kwd_line_of_3_x_1_0005_is_3_00_in_the_form_as_on_the_server() -> None:
    shown = node(
        'const p = D.currencyPlaces("KWD");'
        'const net = D.round(D.mul(D.parse("3"), D.parse("1.0005")), p);'
        'console.log(JSON.stringify([D.text(net, p), D.text(D.parse("1.2345"), p)]));'
    )
    assert shown == ["3.00", "1.23"]
