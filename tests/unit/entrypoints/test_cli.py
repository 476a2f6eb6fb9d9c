"""The ``dealbooks`` command line: each command's own help, the version, the demo's options and
the emulators' options passed through."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import emulators.quickbooks.cli as quickbooks_cli
import entrypoints.cli as cli
import entrypoints.demo as demo
import entrypoints.tracing as tracing

SRC = Path(__file__).resolve().parents[3] / "src"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)``'s exit code (argparse exits through SystemExit), stdout and stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "own_option"),
    [
        (["serve"], "DEALBOOKS_GRPC_PORT"),
        (["worker"], "DEALBOOKS_WORKER_CONCURRENCY"),
        (["migrate"], "DEALBOOKS_DATABASE_URL"),
        (["demo"], "--quickbooks-port"),
        (["emulator"], "{quickbooks,pipedrive}"),
        (["emulator", "quickbooks"], "--coreplus-quota"),
        (["emulator", "pipedrive"], "--jwt-secret"),
    ],
)
def test_each_command_answers_help_with_its_own_usage_and_options(
    argv: list[str], own_option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([*argv, "--help"], capsys)
    assert code == 0
    assert out.startswith(f"usage: dealbooks {' '.join(argv)} ")
    assert own_option in out
    assert "COMMAND" not in out  # not the top-level help


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for command in ("serve", "worker", "migrate", "demo", "emulator"):
        assert f"    {command} " in out


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"dealbooks {metadata.version('dealbooks')}"


def test_version_falls_back_to_pyproject_when_the_package_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = metadata.version("dealbooks")  # made from the same pyproject.toml

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli.metadata, "version", not_installed)
    assert cli.package_version() == installed


@pytest.mark.parametrize(
    "argv", [[], ["serve", "--port", "1"], ["migrate", "now"], ["emulator", "stripe"], ["deploy"]]
)
def test_unknown_commands_and_arguments_are_refused_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("usage: dealbooks")


@pytest.fixture
def demo_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``dealbooks demo`` with the demo itself replaced by a recorder of its arguments."""
    calls: list[dict[str, Any]] = []

    async def fake_run_demo(settings: object, **options: Any) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.setattr(cli, "configure_logging", lambda *_args, **_kwargs: None)
    for name in (
        "DEALBOOKS_DEMO_QUICKBOOKS",
        "DEALBOOKS_DEMO_QUICKBOOKS_PORT",
        "DEALBOOKS_DEMO_PIPEDRIVE_PORT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_demo_options_default_to_the_environment_then_to_the_fixed_ports(
    demo_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["demo"]) == 0
    monkeypatch.setenv("DEALBOOKS_DEMO_QUICKBOOKS", "UK")
    monkeypatch.setenv("DEALBOOKS_DEMO_PIPEDRIVE_PORT", "9091")
    assert cli.main(["demo"]) == 0
    assert cli.main(["demo", "--quickbooks", "us", "--quickbooks-port", "0"]) == 0
    assert demo_calls == [
        {"quickbooks": "us", "quickbooks_port": 8089, "pipedrive_port": 8091},
        {"quickbooks": "uk", "quickbooks_port": 8089, "pipedrive_port": 9091},
        {"quickbooks": "us", "quickbooks_port": 0, "pipedrive_port": 9091},
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DEALBOOKS_DEMO_QUICKBOOKS", "fr"), ("DEALBOOKS_DEMO_QUICKBOOKS_PORT", "eighty")],
)
def test_demo_refuses_a_wrong_environment_value_naming_the_variable(
    variable: str,
    value: str,
    demo_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = run(["demo"], capsys)
    assert code == 2
    assert variable in err
    assert demo_calls == []


def test_tracing_runs_around_the_command_only_when_an_otlp_endpoint_is_set(
    demo_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    class Started:
        def stop(self) -> None:
            seen.append(f"stopped after {len(demo_calls)} demo(s)")

    def start_tracing(endpoint: str) -> Started:
        seen.append(f"started for {endpoint}")
        return Started()

    monkeypatch.setattr(tracing, "start_tracing", start_tracing)
    assert cli.main(["demo"]) == 0
    assert seen == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert cli.main(["demo"]) == 0
    assert seen == ["started for http://collector:4318/v1/traces", "stopped after 2 demo(s)"]


def test_emulator_options_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[Any, str, int]] = []

    async def fake_serve(config: Any, host: str, port: int) -> None:
        served.append((config, host, port))

    monkeypatch.setattr(quickbooks_cli, "serve", fake_serve)
    argv = ["emulator", "quickbooks", "--port", "0", "--no-seed", "--coreplus-quota", "7"]
    assert cli.main(argv) == 0
    [(config, host, port)] = served
    assert (host, port) == ("127.0.0.1", 0)
    assert config.seed_demo is False
    assert config.coreplus_monthly_quota == 7


def test_python_dash_m_entrypoints_answers_version() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dealbooks {metadata.version('dealbooks')}"
