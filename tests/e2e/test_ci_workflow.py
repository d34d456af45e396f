"""The paste-ready workflow (docs/github-actions.yml) and the action it uses (action.yml).

- GitHub's own JSON Schemas for workflows and actions (vendored in check-jsonschema) accept both, and
  actionlint finds nothing (when it is installed: the `ci-lint` extra);
- the structure keeps the promises: a read-only role for the gate, a deploy job of its own on the
  default branch behind an environment with another role, minimal permissions per job, actions
  pinned by commit, a SARIF upload that cannot stop anything, the virtualenv Pulumi.yaml expects;
- the action's shell steps run, in order, as the runner would run them (bash, GITHUB_OUTPUT, the
  step summary) with the workflow's inputs against the emulated account, and the deploy job's
  command runs with a stand-in Pulumi CLI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "github-actions.yml"
ACTION = ROOT / "action.yml"
STANDIN = ROOT / "tests" / "standin"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text())


def job_steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


# --- schemas and actionlint -----------------------------------------------------------------------


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema comes with the dev extra")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("schema", "path"), [("vendor.github-workflows", WORKFLOW), ("vendor.github-actions", ACTION)]
)
def test_githubs_schemas_accept_the_workflow_and_the_action(schema: str, path: Path) -> None:
    result = check_jsonschema(schema, path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "path", "old", "new"),
    [
        ("vendor.github-workflows", WORKFLOW, "security-events: write", "security-events: writ"),
        ("vendor.github-actions", ACTION, "using: composite", "using: compost"),
    ],
)
def test_the_schema_check_does_catch_mistakes(
    schema: str, path: Path, old: str, new: str, tmp_path: Path
) -> None:
    broken = tmp_path / path.name
    broken.write_text(path.read_text().replace(old, new, 1))
    assert check_jsonschema(schema, broken).returncode != 0


# --- structure ------------------------------------------------------------------------------------


def test_the_gate_job_is_read_only_and_the_deploy_job_is_apart(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}, "no permission by default: each job asks"
    gate, deploy = workflow["jobs"]["gate"], workflow["jobs"]["deploy"]
    assert gate["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "security-events": "write",
        "actions": "read",
        "pull-requests": "write",
    }
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}

    def role(job: str) -> str:
        [creds] = [
            s
            for s in job_steps(workflow, job)
            if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        return creds["with"]["role-to-assume"]

    assert role("gate") != role("deploy") and role("gate").endswith("-gate")
    assert deploy["needs"] == "gate"
    assert deploy["environment"] == "production"
    condition = deploy["if"]
    assert "github.event_name == 'push'" in condition and "default_branch" in condition
    assert "pull_request" not in str(deploy), "a pull request never reaches the deploy role"
    [gate_step] = [s for s in job_steps(workflow, "gate") if s.get("uses") == "./"]
    assert gate_step["with"]["manifest"] == "manifests/tap-pipeline.yaml"


def test_every_action_is_pinned_by_a_commit_with_its_tag(
    workflow: dict[str, Any], action: dict[str, Any]
) -> None:
    steps = [*job_steps(workflow, "gate"), *job_steps(workflow, "deploy"), *action["runs"]["steps"]]
    remote = [s["uses"] for s in steps if "uses" in s and s["uses"] != "./"]
    assert len(remote) >= 6
    for uses in remote:
        assert PINNED.match(uses), f"{uses} is not pinned by a full commit SHA"
    for path in (WORKFLOW, ACTION):
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(- )?uses: [^.]", line):
                assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), (
                    f"{path.name}: {line.strip()} names no tag"
                )


def test_the_sarif_upload_cannot_stop_the_gate_or_the_deploy(action: dict[str, Any]) -> None:
    [upload] = [s for s in action["runs"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload["continue-on-error"] is True
    assert upload["with"]["sarif_file"] == "${{ steps.sarif.outputs.dir }}"
    # Nor can a comment the token may not post; the verdict step is the one that fails the action.
    [comment] = [s for s in action["runs"]["steps"] if s.get("name") == "Comment on the pull request"]
    assert comment["continue-on-error"] is True
    assert action["runs"]["steps"][-1]["name"] == "Gate verdict"


def test_the_deploy_job_installs_where_pulumi_yaml_looks(workflow: dict[str, Any]) -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    venv = project["runtime"]["options"]["virtualenv"]
    [install] = [s for s in job_steps(workflow, "deploy") if "pip install" in s.get("run", "")]
    assert f"python -m venv {venv}\n" in install["run"]
    assert f"{venv}/bin/pip install --quiet '.[pulumi]'" in install["run"], "from the checkout, with pulumi"
    names = [s.get("name", s.get("uses", "")) for s in job_steps(workflow, "deploy")]
    assert names.index("Install the Pulumi CLI") < names.index("Deploy")


# --- the action's steps, run as the runner runs them ----------------------------------------------


class Runner:
    """Runs the composite action's shell steps in order: expressions, env, GITHUB_OUTPUT, summary."""

    def __init__(self, workspace: Path, action: dict[str, Any], inputs: dict[str, str], event: str) -> None:
        self.workspace = workspace
        self.steps = action["runs"]["steps"]
        defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        self.context = {f"inputs.{k}": v for k, v in {**defaults, **inputs}.items()}
        self.context.update(
            {
                "github.action_path": str(ROOT),
                "github.event_name": event,
                "github.event.pull_request.number": "7",
                "github.token": "token",
            }
        )
        self.temp = workspace.parent / "runner-temp"
        self.temp.mkdir()
        self.summary = workspace.parent / "step-summary.md"
        self.summary.write_text("")
        self.stdout: dict[str, str] = {}

    def evaluate(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.context.get(m.group(1), ""), str(text))

    def run(self, name: str, extra_path: list[str] | None = None) -> int:
        [step] = [s for s in self.steps if s.get("name") == name]
        output = self.temp / f"output-{len(self.stdout)}"
        output.write_text("")
        path = [*(extra_path or []), os.path.dirname(sys.executable), os.environ["PATH"]]
        env = {
            **os.environ,
            "PATH": os.pathsep.join(path),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_REPOSITORY": "owner/tap",
            **{k: self.evaluate(v) for k, v in (step.get("env") or {}).items()},
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        self.stdout[name] = proc.stdout + proc.stderr
        for line in output.read_text().splitlines():
            key, _, value = line.partition("=")
            self.context[f"steps.{step.get('id', '')}.outputs.{key}"] = value
        return proc.returncode


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout: the project file, the manifest and the handler sources it points at."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copytree(ROOT / "manifests", checkout / "manifests")
    shutil.copytree(ROOT / "handlers", checkout / "handlers")
    shutil.copy(ROOT / "Pulumi.yaml", checkout / "Pulumi.yaml")
    return checkout


def gate_inputs(workflow: dict[str, Any], **extra: str) -> dict[str, str]:
    [step] = [s for s in job_steps(workflow, "gate") if s.get("uses") == "./"]
    return {**{k: str(v) for k, v in step["with"].items()}, **extra}


def fake_gh(tmp_path: Path, comments: list[dict[str, Any]]) -> tuple[Path, Path]:
    """A `gh` that lists `comments` for `gh api .../comments` and records every call."""
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    record = tmp_path / "gh-calls.jsonl"
    listing = tmp_path / "gh-comments.json"
    listing.write_text(json.dumps(comments))
    script = f"""#!{sys.executable}
import json, sys
args = sys.argv[1:]
with open({str(record)!r}, "a") as handle:
    handle.write(json.dumps(args) + "\\n")
if "--jq" in args:  # the listing: apply the action's filter as jq would, for these two fields
    marker = args[args.index("--jq") + 1].split('startswith("')[1].split('")')[0]
    for c in json.load(open({str(listing)!r})):
        if c["user"]["type"] == "Bot" and c["body"].startswith(marker):
            print(c["id"])
"""
    (bin_dir / "gh").write_text(script)
    (bin_dir / "gh").chmod(0o755)
    return bin_dir, record


def test_the_action_runs_the_gate_and_publishes_it(
    workflow: dict[str, Any], action: dict[str, Any], workspace: Path, tmp_path: Path
) -> None:
    inputs = gate_inputs(workflow, **{"extra-args": "--sandbox seed-account"})
    runner = Runner(workspace, action, inputs, event="pull_request")
    assert runner.run("Quota gate") == 0, runner.stdout["Quota gate"]
    out = Path(runner.context["steps.gate.outputs.report-dir"])
    assert runner.context["steps.gate.outputs.exit-code"] == "0"  # GO_WITH_ADAPTATIONS

    plan = json.loads((out / "plan-us-east-1.json").read_text())
    assert plan["verdict"] == "GO_WITH_ADAPTATIONS" and plan["region"] == "us-east-1"
    annotations = [line for line in runner.stdout["Quota gate"].splitlines() if line.startswith("::")]
    assert annotations and all("file=manifests/tap-pipeline.yaml" in a for a in annotations)
    assert runner.summary.read_text().count("GO_WITH_ADAPTATIONS") >= 1, "the run page gets the summary"
    assert (out / "us-east-1.junit.xml").is_file()

    assert runner.run("SARIF category per region") == 0, runner.stdout["SARIF category per region"]
    assert runner.context["steps.sarif.outputs.dir"] == str(out / "sarif")
    sarif = json.loads((out / "sarif" / "us-east-1.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert {run["automationDetails"]["id"] for run in sarif["runs"]} == {"tap-preflight/prod/us-east-1/"}

    # The comment: posted the first time, edited in place (the bot's own, found by its marker) after.
    runner.context["steps.artifact.outputs.artifact-url"] = "https://example.test/artifact/1"
    gh_bin, calls = fake_gh(tmp_path, [])
    assert runner.run("Comment on the pull request", [str(gh_bin)]) == 0, runner.stdout[
        "Comment on the pull request"
    ]
    body = (runner.temp / "tap-preflight-comment.md").read_text()
    marker = body.splitlines()[0]
    assert marker == "<!-- tap-preflight:prod:manifests/tap-pipeline.yaml -->"
    assert "GO_WITH_ADAPTATIONS" in body
    posted = [json.loads(line) for line in calls.read_text().splitlines()]
    assert posted[-1][:4] == ["api", "--method", "POST", "repos/owner/tap/issues/7/comments"]

    mine = {"id": 42, "user": {"type": "Bot"}, "body": marker + "\nold"}
    someone_quoting = {"id": 41, "user": {"type": "User"}, "body": marker + "\nquoted"}
    (tmp_path / "again").mkdir()
    gh_bin2, calls2 = fake_gh(tmp_path / "again", [someone_quoting, mine])
    assert runner.run("Comment on the pull request", [str(gh_bin2)]) == 0
    edited = [json.loads(line) for line in calls2.read_text().splitlines()]
    assert edited[-1][:4] == ["api", "--method", "PATCH", "repos/owner/tap/issues/comments/42"]
    assert not any("POST" in c for c in edited)

    assert runner.run("Gate verdict") == 0


def test_a_no_go_fails_the_action_after_publishing(
    workflow: dict[str, Any], action: dict[str, Any], workspace: Path
) -> None:
    inputs = gate_inputs(workflow, **{"extra-args": "--sandbox seed-account --limit L-FE177D64=0"})
    runner = Runner(workspace, action, inputs, event="push")
    assert runner.run("Quota gate") == 0, "the gate step records the code and lets the reports out"
    assert runner.context["steps.gate.outputs.exit-code"] == "1"
    assert "NO_GO" in runner.summary.read_text()
    assert runner.run("SARIF category per region") == 0
    assert runner.run("Gate verdict") == 1


def test_the_deploy_jobs_command_deploys_with_pulumi(
    workflow: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pulumi.automation", reason="the deploy needs the pulumi extra")
    [step] = [s for s in job_steps(workflow, "deploy") if s.get("name") == "Deploy"]
    argv = shlex.split(step["run"])
    assert argv[:2] == ["tap-preflight", "deploy"]
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("manifests", "handlers"):
        shutil.copytree(ROOT / name, checkout / name)
    for name in ("Pulumi.yaml", "tap.py"):
        shutil.copy(ROOT / name, checkout / name)
    state = tmp_path / "pulumi-state"
    state.mkdir()
    monkeypatch.setenv("PATH", os.pathsep.join([str(STANDIN), os.environ["PATH"]]))
    monkeypatch.setenv("STANDIN_PULUMI_RECORD", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("STANDIN_PULUMI_STATE", str(state))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(checkout)
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, [*argv[1:], "--sandbox", "seed-account"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads((checkout / "plan.json").read_text())["verdict"] == "GO_WITH_ADAPTATIONS"
    assert "GO_WITH_ADAPTATIONS" in (checkout / "deploy.md").read_text()
    assert "pulumi up on stack prod: succeeded" in result.stdout
    calls = [json.loads(line)["argv"] for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert any("up" in c for c in calls)
