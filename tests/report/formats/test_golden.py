"""Golden files: every report under tests/golden/inputs/ rendered in every format, compared byte for byte.

After an intended change of output, rewrite them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/formats -q
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight.report.formats import FORMAT_NAMES, render
from preflight.report.report import Report

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
EXTENSION = {
    "table": "table.txt",
    "json": "json",
    "markdown": "md",
    "sarif": "sarif",
    "junit": "junit.xml",
    "github": "github.txt",
}
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
if UPDATE and os.environ.get("CI"):
    # Rewriting would pass without comparing anything: CI must compare, so refuse to run at all.
    raise RuntimeError("UPDATE_GOLDEN is set together with CI: golden files are rewritten only by hand")


def golden_path(stem: str, fmt: str) -> Path:
    return GOLDEN / f"{stem}.{EXTENSION[fmt]}"


def test_every_format_has_a_golden_extension() -> None:
    assert set(EXTENSION) == set(FORMAT_NAMES)
    assert len(set(EXTENSION.values())) == len(EXTENSION)


def test_there_are_golden_inputs() -> None:
    stems = {p.stem for p in (GOLDEN / "inputs").glob("*.json")}
    assert len(stems) >= 4, stems


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_golden(golden_input: Path, fmt: str, load_report: Callable[[Path], Report]) -> None:
    actual = render(load_report(golden_input), fmt)  # type: ignore[arg-type]
    expected_path = golden_path(golden_input.stem, fmt)
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert expected_path.exists(), f"{expected_path} is missing: run with UPDATE_GOLDEN=1 and review it"
    # newline="" keeps CRLF visible, so a checkout that rewrote line endings fails here, not silently.
    with expected_path.open(encoding="utf-8", newline="") as handle:
        expected = handle.read()
    assert actual == expected, f"{expected_path} differs: if intended, run with UPDATE_GOLDEN=1"


def test_no_stale_golden_files() -> None:
    stems = [p.stem for p in (GOLDEN / "inputs").glob("*.json")]
    wanted = {golden_path(stem, fmt).name for stem in stems for fmt in FORMAT_NAMES}
    outputs = {p.name for p in GOLDEN.iterdir() if p.is_file() and p.name != "make_inputs.py"}
    stale = sorted(outputs - wanted)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"golden files without an input (delete them, or UPDATE_GOLDEN=1): {stale}"


def test_update_golden_refuses_to_run_in_ci() -> None:
    env = {**os.environ, "UPDATE_GOLDEN": "1", "CI": "true"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "no_stale"],
        capture_output=True,
        text=True,
        env=env,
        cwd=GOLDEN.parent.parent,
        timeout=120,
    )
    assert run.returncode != 0
    assert "UPDATE_GOLDEN is set together with CI" in run.stdout + run.stderr
    assert "1 passed" not in run.stdout
