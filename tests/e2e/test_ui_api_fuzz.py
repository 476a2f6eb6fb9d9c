"""Schemathesis against the UI API's own OpenAPI document, on the real stack: whatever it
generates, valid or not, gets a documented status and a body matching the schema, never a 5xx."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from entrypoints.demo import DemoStack
from tests.support.demo import ui_token

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def test_generated_requests_never_get_a_server_error_or_an_undocumented_answer(
    demo: DemoStack,
) -> None:
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{demo.settings.public_url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {ui_token(demo)}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--workers",
        "2",
        "--seed",
        "20261127",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")

    tested = re.search(r"(\d+) generated", report)
    assert tested is not None, report[-3000:]
    assert int(tested.group(1)) > 200, report[-3000:]
    assert process.returncode == 0, report[-6000:]
