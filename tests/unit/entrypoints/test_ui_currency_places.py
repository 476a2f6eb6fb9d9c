"""The invoice form's live totals round each currency to the decimals the server rounds it to
(``minor_units``: ISO 4217's, at most the 2 QuickBooks keeps), so the form shows what the
preview computes and QuickBooks records: 2 for KWD (not Intl's 3), 2 for HUF (not Intl's 0).

``decimal.js`` is loaded by Node (the UI's own module, not a copy of its table)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from domain.money import known_currencies, minor_units

STATIC = Path(__file__).resolve().parents[3] / "src/entrypoints/http/ui/static"


def node(script: str) -> Any:
    """What ``script`` (an ES module with decimal.js imported as ``D``) prints, as JSON."""
    executable = shutil.which("node")
    if executable is None:
        pytest.fail("node is missing: the UI's rounding cannot be checked (npm needs it too)")
    module = f"import * as D from {json.dumps((STATIC / 'decimal.js').as_uri())};\n{script}"
    done = subprocess.run(
        [executable, "--input-type=module", "-e", module],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
