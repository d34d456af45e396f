"""The answer of `check` on every shipped scenario, held fixed across speed work (issue 11).

The golden files under tests/golden/findings/ were recorded from the tool before any of issue 11's
speed changes; every later change (lazy imports, fewer clients, one wave of reads, fewer calls) must
give the same verdict, the same numbers and the same name checks on every scenario. Only a change of
the answer on purpose may rewrite them: `UPDATE_GOLDEN=1 .venv/bin/python -m pytest
tests/e2e/test_scenario_findings.py`, reviewed and said so in the commit message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from preflight.sandbox.scenario import SCENARIO_NAMES
from tests.conftest import MANIFEST, ROOT

GOLDEN = ROOT / "tests" / "golden" / "findings"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
if UPDATE and os.environ.get("CI"):
    raise RuntimeError("UPDATE_GOLDEN is set together with CI: golden files are rewritten only by hand")

QUOTA_FIELDS = ("quota_code", "scope", "limit", "limit_source", "usage", "demand", "status")
CHECK_FIELDS = ("id", "status", "names", "owner", "action")


def answer(report: dict[str, Any], code: int) -> dict[str, Any]:
    """What the gate decided, without timings, call counts or wording."""
    return {
        "exit_code": code,
        "verdict": report["verdict"],
        "findings": sorted(
            ({k: f[k] for k in QUOTA_FIELDS} for f in report["findings"]),
            key=lambda f: (f["quota_code"], f["scope"]),
        ),
        "checks": sorted(
            ({k: c.get(k) for k in CHECK_FIELDS} for c in report["checks"]),
            key=lambda c: (c["id"], json.dumps(c["names"])),
        ),
        "increase_requests": sorted(
            ({k: r[k] for k in ("quota_code", "current", "required")} for r in report["increase_requests"]),
            key=lambda r: r["quota_code"],
        ),
    }


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_every_scenarios_findings_are_unchanged(cli, scenario: str) -> None:
    result = cli("check", MANIFEST, "--env", "prod", "--sandbox", scenario, "--format", "json")
    assert result.exit_code in (0, 1, 3), result.output
    actual = json.dumps(answer(json.loads(result.output), result.exit_code), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{scenario}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert actual == Path(path).read_text(), f"{path} differs: the answer of check changed on {scenario}"
