"""Every format the CLI offers has a formatter, and formatters are pure functions of the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.report.formats import FORMAT_NAMES, formatter, render
from preflight.report.report import Report


def test_cli_offers_exactly_the_formats_that_exist() -> None:
    import cli

    assert tuple(cli.FORMATS) == FORMAT_NAMES
    assert set(FORMAT_NAMES) == {"table", "json", "markdown", "sarif", "junit", "github"}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_format_has_a_formatter_returning_text(fmt: str, sample_report: Report) -> None:
    out = formatter(fmt)(sample_report)  # type: ignore[arg-type]
    assert isinstance(out, str) and out.strip()
    assert out.endswith("\n")
    assert "\r" not in out  # LF only, whatever the platform


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_formatters_are_pure(
    fmt: str, sample_report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    first = render(sample_report, fmt)  # type: ignore[arg-type]
    second = render(Report.model_validate_json(sample_report.to_json()), fmt)  # type: ignore[arg-type]
    assert first == second
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_fails_loudly(sample_report: Report) -> None:
    with pytest.raises(AssertionError):
        formatter("yaml")  # type: ignore[arg-type]


def test_ci_formats_do_not_import_rich() -> None:
    # The table formatter's renderer is the only one worth its import cost; CI formats stay light.
    code = (
        "import sys\n"
        "from preflight.report.formats import render\n"
        "from preflight.report.report import Report\n"
        "from preflight.deployment import ManifestRef\n"
        "r = Report(verdict='GO', region='r', account_id='a', environment='e',\n"
        "           manifest=ManifestRef(path='m.yaml', name='m', sha256='0'), findings=())\n"
        "for fmt in ('json', 'markdown', 'sarif', 'junit', 'github'):\n"
        "    assert render(r, fmt)\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_format_shows_the_flags_that_change_the_verdict(fmt: str, sample_report: Report) -> None:
    from preflight.gate import GatePolicy, overrides_of

    policy = GatePolicy.from_flags(allow_unknown=True, soft_fail=True)
    report = sample_report.model_copy(update={"overrides": overrides_of(policy, {"L-B99A9384": 2000})})
    out = render(report, fmt)  # type: ignore[arg-type]
    for flag, detail in (
        ("--limit", "L-B99A9384 (Concurrent executions) taken as 2000"),
        ("--allow-unknown", "could not be read do not fail the gate"),
        ("--soft-fail", "exit code is 0 whatever the verdict"),
    ):
        assert flag in out and detail in out, (fmt, flag)
    assert "--limit" not in render(sample_report, fmt)  # type: ignore[arg-type]


def test_the_json_report_lists_the_overrides_of_a_run(cli) -> None:
    import json

    from tests.conftest import MANIFEST

    result = cli(
        "check", MANIFEST, "--sandbox", "seed-account", "--limit", "L-B99A9384=2000", "--format", "json"
    )
    overrides = json.loads(result.output)["overrides"]
    assert [o["flag"] for o in overrides] == ["--limit"]
    assert "L-B99A9384" in overrides[0]["detail"]
