"""The paste-ready GitHub Actions workflow (docs/github-actions.yml): its gate commands, run in the
same order against the emulated account, produce what the later steps consume, with the exit codes
the workflow relies on; and its structure keeps the deploy behind the gate."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    [job] = workflow["jobs"].values()
    return job["steps"]


def shell_lines(script: str) -> list[str]:
    """The script's command lines, backslash continuations joined."""
    return [line.strip() for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def tap_commands(workflow: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """(step, argv) of every `tap-preflight ...` command in the run steps, in order."""
    found = []
    for step in steps(workflow):
        for line in shell_lines(step.get("run", "")):
            argv = shlex.split(line, comments=True)
            if argv and argv[0] == "tap-preflight":
                found.append((step, argv))
    return found


def option(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == name]


def test_the_gate_commands_run_in_order_against_the_emulated_account(
    cli: Callable[..., Result], workflow: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = tap_commands(workflow)
    assert commands, "the workflow runs tap-preflight"
    # A checkout: the manifest and the handler sources it points at.
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "handlers", tmp_path / "handlers")
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "step-summary.md"
    summary.write_text("")

    for step, argv in commands:
        result = cli(*argv[1:], "--sandbox", "seed-account", env={"GITHUB_STEP_SUMMARY": str(summary)})
        # A run step without continue-on-error fails the job on any non-zero exit.
        expected = None if step.get("continue-on-error") else 0
        if expected is not None:
            assert result.exit_code == expected, f"{step['name']}: {result.output}"

    gate = next(argv for _, argv in commands if argv[1] == "plan")
    [plan_path] = option(gate, "--save-plan")
    plan = json.loads(Path(plan_path).read_text())
    assert plan["schema"] == "tap-preflight/plan/v1"
    assert plan["verdict"] == "GO_WITH_ADAPTATIONS"  # the seed's account needs adaptations

    reports = dict(r.split("=", 1) for r in option(gate, "--report"))
    sarif = json.loads(Path(reports["sarif"]).read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"]
    annotations = Path(reports["github"]).read_text()
    commands_in_file = [line for line in annotations.splitlines() if line.startswith("::")]
    assert commands_in_file and all("file=manifests/tap-pipeline.yaml" in c for c in commands_in_file)

    [markdown] = option(gate, "-o")
    assert "GO_WITH_ADAPTATIONS" in Path(markdown).read_text()
    assert "GO_WITH_ADAPTATIONS" in summary.read_text(), "the run page gets the summary"


def test_the_steps_consume_what_the_gate_writes(workflow: dict[str, Any]) -> None:
    names = [s.get("name", s.get("uses", "")) for s in steps(workflow)]
    [(gate_step, gate)] = [(s, argv) for s, argv in tap_commands(workflow) if argv[1] == "plan"]
    assert "--adapt" in gate and not gate_step.get("continue-on-error")
    reports = dict(r.split("=", 1) for r in option(gate, "--report"))
    [plan_path] = option(gate, "--save-plan")
    position = {id(s): i for i, s in enumerate(steps(workflow))}

    [creds] = [
        s for s in steps(workflow) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
    ]
    assert creds["with"]["role-to-assume"].startswith("arn:aws:iam::")
    assert workflow["permissions"]["id-token"] == "write", "OIDC needs an id token"
    assert position[id(creds)] < position[id(gate_step)]

    [upload] = [
        s for s in steps(workflow) if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    ]
    assert upload["with"]["sarif_file"] == reports["sarif"]
    assert "cancelled()" in upload["if"], "the SARIF is uploaded when the gate says NO_GO too"
    assert workflow["permissions"]["security-events"] == "write"

    [deploy] = [s for s in steps(workflow) if "pulumi up" in s.get("run", "")]
    assert deploy["env"]["TAP_PLAN"] == plan_path
    assert position[id(gate_step)] < position[id(deploy)]
    # No status function in its condition: GitHub adds success(), so a failed gate skips the deploy.
    assert not any(f in str(deploy.get("if", "")) for f in ("always()", "cancelled()", "failure()"))
    assert names.index("Quota gate") < names.index("Deploy")
