"""`tap-preflight deploy` end to end: the gate against the emulated account, then the Pulumi Automation
API driving a stand-in `pulumi` (tests/standin/pulumi) that records every call and answers as the CLI
does, engine event log included; so the progress, the failure and the summary go through
pulumi.automation's real parsing. A refused deploy never reaches Pulumi."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.conftest import MANIFEST, ROOT, manifest_variant
from tests.test_conflicts import stack_export

pytest.importorskip("pulumi.automation", reason="the deploy needs the pulumi extra")

STANDIN = ROOT / "tests" / "standin"
SEED = ("--env", "prod", "--sandbox", "seed-account")


class Standin:
    """The stand-in `pulumi` first on PATH, its record of calls and its state."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.record_file = tmp_path / "pulumi-calls.jsonl"
        state = tmp_path / "pulumi-state"
        state.mkdir()
        monkeypatch.setenv("PATH", os.pathsep.join([str(STANDIN), os.environ.get("PATH", "")]))
        monkeypatch.setenv("STANDIN_PULUMI_RECORD", str(self.record_file))
        monkeypatch.setenv("STANDIN_PULUMI_STATE", str(state))
        monkeypatch.delenv("STANDIN_PULUMI_FAIL", raising=False)
        monkeypatch.delenv("STANDIN_PULUMI_EXPORT", raising=False)
        self.state_dir = state
        # The project: Pulumi.yaml and its program, as a checkout has them.
        self.project = tmp_path / "project"
        self.project.mkdir()
        for name in ("Pulumi.yaml", "tap.py"):
            shutil.copy(ROOT / name, self.project / name)

    def calls(self) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text().splitlines()]

    def commands(self) -> list[list[str]]:
        """Each call's argv without the Automation API's --non-interactive."""
        return [[a for a in c["argv"] if a != "--non-interactive"] for c in self.calls()]

    def verbs(self) -> list[list[str]]:
        return [c[:2] if c[0] in ("stack", "config") else c[:1] for c in self.commands()]

    def changes(self) -> list[list[str]]:
        """The calls that could change a stack: all but the CLI check and the state export's."""
        reads = (["version"], ["stack", "select"], ["stack", "export"])
        return [verb for verb in self.verbs() if verb not in reads]

    def init_stack(self, name: str) -> None:
        """A stack that exists before the deploy (as `pulumi stack init` leaves it), unrecorded."""
        (self.state_dir / "state.json").write_text(
            json.dumps({"stacks": {name: {"config": {}, "history": []}}})
        )


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Standin:
    return Standin(tmp_path, monkeypatch)


def deploy(cli: Callable[..., Result], standin: Standin, *args: str) -> Result:
    return cli("deploy", MANIFEST, "--stack", "prod", "--project-dir", str(standin.project), *args)


def expected_resources(plan: dict[str, Any]) -> int:
    """What the stand-in creates for a plan (tests/standin/pulumi `resources`)."""
    d = plan["deployment"]
    return 1 + len(d["vpc"]["subnets"]) + len(d["endpoints"]) + 5 + len(d["functions"]) + len(d["alarms"])


def test_go_with_adaptations_is_deployed_through_the_automation_api(
    cli: Callable[..., Result], standin: Standin, tmp_path: Path
) -> None:
    saved = tmp_path / "deployed-plan.json"
    result = deploy(cli, standin, *SEED, "--save-plan", str(saved))
    assert result.exit_code == 0, result.output
    plan = json.loads(saved.read_text())
    assert plan["verdict"] == "GO_WITH_ADAPTATIONS"

    commands = standin.commands()
    assert standin.verbs() == [
        ["version"],
        ["stack", "select"],  # the state export: no stack yet, so no state (tags show ownership)
        ["version"],
        ["whoami"],
        ["stack", "select"],  # no such stack yet: Pulumi says so, and the API creates it
        ["stack", "init"],
        ["config", "set-all"],
        ["up"],
        ["stack", "output"],
        ["stack", "output"],
        ["stack", "history"],
    ]
    config = commands[6]
    assert f"tap:planFile={saved}" in config and f"tap:manifest={MANIFEST}" in config
    assert config[config.index("--stack") + 1] == "prod"
    up = commands[7]
    assert up[:3] == ["up", "--yes", "--skip-preview"]
    assert up[up.index("--policy-pack") + 1] == str(ROOT / "preflight" / "policypack")
    assert up[up.index("--stack") + 1] == "prod" and "--event-log" in up
    # Everything but `pulumi version` (the API's CLI check) runs in the project.
    assert all(c["cwd"] == str(standin.project) for c in standin.calls() if c["argv"][0] != "version")
    assert standin.calls()[7]["env"]["TAP_PLAN"] == str(saved)

    # Pulumi's own progress, streamed on stderr; the report, then Pulumi's summary, on stdout.
    first_function = plan["deployment"]["functions"][0]["name"]
    assert f"+ aws:lambda/function:Function {first_function} created" in result.stderr
    out = result.stdout
    assert "GO_WITH_ADAPTATIONS" in out
    assert out.index("GO_WITH_ADAPTATIONS") < out.index("pulumi up on stack prod: succeeded")
    # The count comes from the engine's summary, parsed by pulumi.automation from the event log/history.
    assert f"resources: create {expected_resources(plan)}" in out
    assert "output verdict: GO_WITH_ADAPTATIONS" in out


def test_preview_on_an_existing_stack_selects_it_and_changes_nothing(
    cli: Callable[..., Result], standin: Standin
) -> None:
    assert deploy(cli, standin, *SEED).exit_code == 0
    before = len(standin.calls())
    result = deploy(cli, standin, *SEED, "--preview", "--no-policy-pack")
    assert result.exit_code == 0, result.output
    commands = standin.commands()[before:]
    stack_calls = [c[:2] for c in commands if c[0] == "stack"]
    # Selected for its state's export, then for the preview: never created.
    assert stack_calls == [["stack", "select"], ["stack", "export"], ["stack", "select"]]
    [preview] = [c for c in commands if c[0] == "preview"]
    assert "--policy-pack" not in preview and "--event-log" in preview
    assert not any(c[0] == "up" for c in commands)
    assert "pulumi preview on stack prod: succeeded" in result.stdout
    assert "resources: create " in result.stdout


def test_a_failed_update_reports_the_engine_errors_and_exits_3(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "up")
    result = deploy(cli, standin, *SEED)
    assert result.exit_code == 3, result.output
    out = result.stdout
    assert "pulumi up on stack prod: FAILED" in out
    assert "InvalidParameterValueException: stand-in failure" in out  # the diagnostic event
    assert "create aws:lambda/function:Function " in out and " failed" in out  # the resOpFailed event
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [
        (("--limit", "L-FE177D64=0"), 1, "the gate says NO_GO"),
        (("--strict",), 1, "the gate says GO_WITH_ADAPTATIONS"),
        (("--fail-on", "warn"), 1, "the gate says GO_WITH_ADAPTATIONS and exits 1"),
    ],
)
def test_a_failed_gate_never_reaches_pulumi(
    cli: Callable[..., Result], standin: Standin, args: tuple[str, ...], code: int, reason: str
) -> None:
    result = deploy(cli, standin, *SEED, *args)
    assert result.exit_code == code, result.output
    assert f"not deploying: {reason}" in result.stderr
    assert standin.changes() == [] and not any(v == ["stack", "export"] for v in standin.verbs())


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan made by the gate job (`plan --save-plan`) for the seed account, as reviewed on the PR."""
    from click.testing import CliRunner

    from cli import main

    path = tmp_path_factory.mktemp("reviewed") / "plan.json"
    result = CliRunner().invoke(
        main, ["plan", "--adapt", MANIFEST, *SEED, "--save-plan", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return path


def edited(reviewed: Path, tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(reviewed.read_text())
    data.update(changes)
    path = tmp_path / "edited-plan.json"
    path.write_text(json.dumps(data))
    return path


def test_a_reviewed_plan_the_gate_agrees_with_is_deployed(
    cli: Callable[..., Result], standin: Standin, reviewed: Path
) -> None:
    result = deploy(cli, standin, *SEED, "--plan", str(reviewed))
    assert result.exit_code == 0, result.output
    [config] = [c for c in standin.commands() if c[:2] == ["config", "set-all"]]
    assert f"tap:planFile={reviewed}" in config


def test_a_stale_or_foreign_reviewed_plan_never_reaches_pulumi(
    cli: Callable[..., Result], standin: Standin, reviewed: Path, tmp_path: Path
) -> None:
    stale = edited(reviewed, tmp_path, created_at=(datetime.now(UTC) - timedelta(hours=30)).isoformat())
    result = deploy(cli, standin, *SEED, "--plan", str(stale))
    assert result.exit_code == 2 and "the plan is stale" in result.stderr, result.output

    other_manifest = manifest_variant(tmp_path, ("shards: 2", "shards: 3"))
    result = cli(
        "deploy", other_manifest, "--stack", "prod", "--project-dir", str(standin.project),
        *SEED, "--plan", str(reviewed),
    )  # fmt: skip
    assert result.exit_code == 2 and "made for another manifest" in result.stderr, result.output

    foreign = edited(reviewed, tmp_path, account_id="999999999999")
    result = deploy(cli, standin, *SEED, "--plan", str(foreign))
    assert result.exit_code == 2, result.output
    assert "the plan was made for account 999999999999" in result.stderr

    no_go = edited(reviewed, tmp_path, verdict="NO_GO")
    result = deploy(cli, standin, *SEED, "--plan", str(no_go))
    assert result.exit_code == 2 and "verdict is NO_GO" in result.stderr, result.output
    assert standin.changes() == []


def test_a_changed_account_refuses_the_reviewed_plan(
    cli: Callable[..., Result], standin: Standin, reviewed: Path
) -> None:
    # The account now has room for one endpoint more than when the plan was reviewed.
    result = deploy(cli, standin, "--env", "prod", "--sandbox", "fresh-account", "--plan", str(reviewed))
    assert result.exit_code == 2, result.output
    assert "the account changed since the plan was made" in result.stderr
    assert standin.changes() == []


def test_without_the_pulumi_cli_it_says_where_to_get_it(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = deploy(cli, standin, *SEED)
    assert result.exit_code == 3
    assert "install the Pulumi CLI: https://www.pulumi.com/docs/install/" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--soft-fail",), "--soft-fail cannot be used with deploy"),
        (("--region", "us-east-1", "--region", "eu-west-1"), "deploy takes one region"),
        (("--project-dir", "/nonexistent"), "no Pulumi.yaml here"),
    ],
)
def test_bad_flags_exit_2_before_anything_runs(
    cli: Callable[..., Result], standin: Standin, args: tuple[str, ...], message: str
) -> None:
    result = deploy(cli, standin, *SEED, *args)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert standin.calls() == []


def test_newer_clis_send_the_engine_events_over_grpc(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After 3.205 the Automation API serves the events over gRPC instead of reading a file. The
    # stand-in then needs grpc and the pulumi SDK: this venv's python first on PATH.
    venv_bin = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", os.pathsep.join([str(STANDIN), venv_bin, os.environ["PATH"]]))
    monkeypatch.setenv("STANDIN_PULUMI_VERSION", "3.220.0")
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "up")
    result = deploy(cli, standin, *SEED)
    assert result.exit_code == 3, result.output
    [up] = [c for c in standin.commands() if c[0] == "up"]
    assert up[up.index("--event-log") + 1].startswith("tcp://127.0.0.1:")
    # Only the engine events carry the diagnostic and the failed step: they came through.
    assert "InvalidParameterValueException: stand-in failure" in result.stdout
    assert "create aws:lambda/function:Function " in result.stdout


# --- ownership from the stack's state, exported through the Automation API ------------------------

CONFLICTS = ("--env", "prod", "--sandbox", "name-conflicts")  # untagged role and stream, the stack's names
ROLE = ("aws:iam/role:Role", "pipeline-lambda-prod", {"name": "pipeline-lambda-prod"})
STREAM = (
    "aws:kinesis/stream:Stream",
    "arn:aws:kinesis:us-east-1:123456789012:stream/pipeline-events-prod",
    {"name": "pipeline-events-prod"},
)


def exported_state(
    standin: Standin, monkeypatch: pytest.MonkeyPatch, *resources: tuple[str, str, dict[str, str]]
) -> None:
    """Stack prod exists and `pulumi stack export` answers a checkpoint holding `resources`."""
    standin.init_stack("prod")
    path = stack_export(standin.state_dir / "export.json", *resources)
    monkeypatch.setenv("STANDIN_PULUMI_EXPORT", path)


def test_the_exported_state_owns_the_untagged_names_so_the_deploy_goes_on(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported_state(standin, monkeypatch, ROLE, STREAM)
    result = deploy(cli, standin, *CONFLICTS)
    assert result.exit_code == 0, result.output
    assert "ownership from the Pulumi state of stack prod (pulumi stack export)" in result.stderr
    assert "TAP-C00" not in result.stdout and "pulumi up on stack prod: succeeded" in result.stdout
    verbs = standin.verbs()
    # Exported once, through the Automation API, before the gate and so before any `up`.
    [export] = [c for c in standin.commands() if c[:2] == ["stack", "export"]]
    assert export[export.index("--stack") + 1] == "prod"
    assert verbs.index(["stack", "export"]) < verbs.index(["up"])
    assert verbs[:3] == [["version"], ["stack", "select"], ["stack", "export"]]


def test_a_name_the_exported_state_does_not_hold_is_a_conflict_and_nothing_is_deployed(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported_state(standin, monkeypatch, STREAM)  # the state holds the stream, not the role
    result = deploy(cli, standin, *CONFLICTS, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "NO_GO"
    [role] = report["checks"]
    assert (role["id"], role["status"], role["names"]) == ("TAP-C001", "FAIL", ["pipeline-lambda-prod"])
    assert "not in the stack state of stack prod (pulumi stack export)" in role["message"]
    assert "not deploying: the gate says NO_GO" in result.stderr
    assert standin.changes() == [] and standin.verbs().count(["stack", "export"]) == 1


def test_a_failed_export_exits_3_before_the_gate(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported_state(standin, monkeypatch, ROLE, STREAM)
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "export")
    result = deploy(cli, standin, *CONFLICTS)
    assert result.exit_code == 3, result.output
    assert "pulumi could not export the state of stack prod" in result.stderr
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""  # no silent fall-back to tags: the gate never ran
    assert standin.changes() == []


def test_a_stack_state_file_is_used_instead_of_the_export(
    cli: Callable[..., Result], standin: Standin, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported_state(standin, monkeypatch, STREAM)  # the export would make the role a conflict
    state = stack_export(standin.state_dir / "reviewed-state.json", ROLE, STREAM)
    result = deploy(cli, standin, *CONFLICTS, "--stack-state", state)
    assert result.exit_code == 0, result.output
    assert ["stack", "export"] not in standin.verbs()
