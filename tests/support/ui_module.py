"""The UI's own JavaScript modules run by Node, for tests that check them against the server
(their tables and arithmetic, not copies of them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src/entrypoints/http/ui/static"


def run_ui_module(module: str, alias: str, script: str) -> Any:
    """What ``script`` prints, as JSON, with ``static/<module>`` imported as ``alias``."""
    executable = shutil.which("node")
    if executable is None:
        pytest.fail("node is missing: the UI's modules cannot be checked (npm needs it too)")
    source = f"import * as {alias} from {json.dumps((STATIC / module).as_uri())};\n{script}"
    done = subprocess.run(
        [executable, "--input-type=module", "-e", source],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
