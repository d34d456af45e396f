"""Tampered plans, as an attacker (or a careless hand) would write them, through every reader of plans.

Each case changes one thing in a good plan file (the seed account's adapted plan). A plan the file
checks refuse (`input`) is refused by `verify-program`, `rehearse` and `request-increases --plan` with
exit 2, and by the Pulumi program (tap.py under mocks) before it registers anything. A plan that is
well formed but must not be deployed (`deploy`: NO_GO, stale, from the future, another account) is
refused by the program and by `rehearse` (exit 2 without --force).
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from preflight.deployment import Plan
from preflight.program.entry import PlanRefused
from preflight.program.mockrun import run_with_mocks
from preflight.program.verify import RecordingMocks
from tests.program.conftest import ACCOUNT, ROOT

Edit = Callable[[dict[str, Any]], object]


def fn(d: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return d["deployment"]["functions"][i]


@dataclass(frozen=True)
class TextEdit:
    """An edit of the file's text, for what JSON data cannot hold (NaN, a key given twice, 400 digits)."""

    old: str
    new: str

    def __call__(self, text: str) -> str:
        assert self.old in text, self.old
        return text.replace(self.old, self.new, 1)


text_edit = TextEdit


# name: (edit of the JSON data, or of the text; expected in the message; kind)
CASES: dict[str, tuple[Edit | TextEdit, str, str]] = {
    # Numbers out of what AWS accepts.
    "memory below 128": (lambda d: fn(d).update(memory_mb=-1), "memory_mb", "input"),
    "memory above 10240": (lambda d: fn(d).update(memory_mb=20_000), "memory_mb", "input"),
    "timeout 0": (lambda d: fn(d).update(timeout_s=0), "timeout_s", "input"),
    "timeout above 900": (lambda d: fn(d).update(timeout_s=901), "timeout_s", "input"),
    "reservation 0 (throttles)": (
        lambda d: fn(d).update(reserved_concurrency=0),
        "reserved_concurrency",
        "input",
    ),
    "reservation 10**30": (
        lambda d: fn(d).update(reserved_concurrency=10**30),
        "reserved_concurrency",
        "input",
    ),
    "decided reservation 10**30": (
        lambda d: d["decisions"]["reservations"].update(ingest=10**30),
        "decisions.reservations.ingest",
        "input",
    ),
    "shards negative": (
        lambda d: d["deployment"]["streams"][0].update(shards=-4),
        "deployment.streams[0].shards",
        "input",
    ),
    "shards 10**30": (
        lambda d: d["deployment"]["streams"][0].update(shards=10**30),
        "deployment.streams[0].shards",
        "input",
    ),
    "current shards 10**30": (
        lambda d: d.setdefault("current", {}).update(stream_shards={"pipeline-events-prod": 10**30}),
        "current.stream_shards",
        "input",
    ),
    "current reservation 1.5": (
        lambda d: d.setdefault("current", {}).update(reservations={"pipeline-ingest-prod": 1.5}),
        "current.reservations",
        "input",
    ),
    "retention 1 h": (
        lambda d: d["deployment"]["streams"][0].update(retention_hours=1),
        "retention_hours",
        "input",
    ),
    "alarm threshold 1e300": (
        lambda d: d["deployment"]["alarms"][0].update(threshold=1e300),
        "alarms[0].threshold",
        "input",
    ),
    "alarm period 0": (lambda d: d["deployment"]["alarms"][0].update(period_s=0), "period_s", "input"),
    "code size negative": (lambda d: fn(d).update(code_size=-1), "code_size", "input"),
    "max age 0": (lambda d: d.update(max_age_hours=0), "max_age_hours", "input"),
    "max age 10**9": (lambda d: d.update(max_age_hours=10**9), "max_age_hours", "input"),
    "increase required negative": (
        lambda d: d["increase_requests"][0].update(required=-1),
        "increase_requests[0].required",
        "input",
    ),
    # NaN, Infinity, numbers no double holds.
    "max age NaN": (
        text_edit('"max_age_hours": 24.0', '"max_age_hours": NaN'),
        "max_age_hours: NaN",
        "input",
    ),
    "max age Infinity": (
        text_edit('"max_age_hours": 24.0', '"max_age_hours": Infinity'),
        "max_age_hours: Infinity",
        "input",
    ),
    "threshold -Infinity": (text_edit('"threshold": 1.0', '"threshold": -Infinity'), "threshold", "input"),
    "threshold 1e400": (
        text_edit('"threshold": 1.0', '"threshold": 1e400'),
        "too large for a double",
        "input",
    ),
    "memory of 400 digits": (
        text_edit('"memory_mb": 1024', '"memory_mb": 1' + "0" * 400),
        "401 digits",
        "input",
    ),
    # Wrong types.
    "memory as a string": (lambda d: fn(d).update(memory_mb="1024"), "memory_mb", "input"),
    "memory as a fraction": (lambda d: fn(d).update(memory_mb=1024.5), "memory_mb", "input"),
    "memory as a bool": (lambda d: fn(d).update(memory_mb=True), "memory_mb", "input"),
    "verdict as a number": (lambda d: d.update(verdict=1), "verdict", "input"),
    "created_at as a number": (lambda d: d.update(created_at=12), "created_at", "input"),
    "networking unknown": (
        lambda d: d["decisions"].update(networking="vpn"),
        "decisions.networking",
        "input",
    ),
    # Unknown fields, versions.
    "unknown top-level field": (lambda d: d.update(surprise=1), "surprise: unknown key", "input"),
    "unknown function field": (lambda d: fn(d).update(layers=["x"]), "layers: unknown key", "input"),
    "schema v1": (lambda d: d.update(schema="tap-preflight/plan/v1"), "plan format v1", "input"),
    "schema v2 (one stream, table, bucket, topic)": (
        lambda d: d.update(schema="tap-preflight/plan/v2"),
        "plan format v2 is not supported",
        "input",
    ),
    "schema v4": (lambda d: d.update(schema="tap-preflight/plan/v4"), "plan format v4", "input"),
    "no schema": (lambda d: d.pop("schema"), "not a tap-preflight plan file", "input"),
    # Duplicate keys: readers differ on which wins.
    "verdict given twice": (
        text_edit('"verdict": "GO_WITH_ADAPTATIONS"', '"verdict": "NO_GO", "verdict": "GO_WITH_ADAPTATIONS"'),
        "duplicate key 'verdict'",
        "input",
    ),
    "memory given twice": (
        text_edit('"memory_mb": 1024', '"memory_mb": 1024, "memory_mb": 10240'),
        "duplicate key 'memory_mb'",
        "input",
    ),
    # Paths out of the project.
    "source /etc/passwd": (lambda d: fn(d).update(source="/etc/passwd"), "functions[0].source", "input"),
    "source climbing out": (
        lambda d: fn(d).update(source="../../../../etc/hostname"),
        "functions[0].source",
        "input",
    ),
    "manifest path absolute": (
        lambda d: d["manifest"].update(path=str(ROOT / "manifests" / "tap-pipeline.yaml")),
        "manifest.path",
        "input",
    ),
    "manifest path climbing out": (
        lambda d: d["manifest"].update(path="../manifests/tap-pipeline.yaml"),
        "manifest.path",
        "input",
    ),
    "region with a path": (lambda d: d.update(region="us-east-1/../../x"), "region", "input"),
    # Another manifest; values the manifest never said.
    "manifest hash": (lambda d: d["manifest"].update(sha256="0" * 64), "another manifest", "input"),
    "manifest name": (lambda d: d["manifest"].update(name="other"), "another manifest", "input"),
    "memory the manifest does not say": (lambda d: fn(d).update(memory_mb=2048), "memory_mb", "input"),
    "bucket renamed": (
        lambda d: d["deployment"]["buckets"][0].update(name="attacker-bucket"),
        "buckets[0].name",
        "input",
    ),
    "admin policy added": (
        lambda d: d["deployment"]["role"].update(
            managed_policies=[
                *d["deployment"]["role"]["managed_policies"],
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ]
        ),
        "role.managed_policies",
        "input",
    ),
    "alarm muted": (lambda d: d["deployment"]["alarms"][0].update(threshold=1e9), "threshold", "input"),
    "reservation raised in the deployment only": (
        lambda d: fn(d).update(reserved_concurrency=100),
        "reserved_concurrency",
        "input",
    ),
    "decided reservation above the request": (
        lambda d: d["decisions"]["reservations"].update(ingest=1000),
        "decisions.reservations.ingest",
        "input",
    ),
    "decided reservation below the floor": (
        lambda d: d["decisions"]["reservations"].update(ingest=1),
        "decisions.reservations.ingest",
        "input",
    ),
    "networking the manifest forbids": (
        lambda d: d["decisions"].update(networking="vpc-with-nat"),
        "decisions.networking",
        "input",
    ),
    "endpoint the manifest lacks": (
        lambda d: d["decisions"].update(endpoints=["nope"]),
        "decisions.endpoints[0]",
        "input",
    ),
    "zone of another region": (
        lambda d: d["decisions"].update(azs=["eu-west-1a", "eu-west-1b"]),
        "azs",
        "input",
    ),
    # Verdict flips the plan's own content contradicts.
    "GO with adaptations": (lambda d: d.update(verdict="GO"), "verdict: the plan is inconsistent", "input"),
    # Dates.
    "naive date": (lambda d: d.update(created_at="2026-11-28T10:00:00"), "time zone", "input"),
    "not a date": (lambda d: d.update(created_at="yesterday"), "created_at", "input"),
    # Well formed, but not to be deployed.
    "NO_GO": (lambda d: d.update(verdict="NO_GO"), "NO_GO", "deploy"),
    "stale": (lambda d: d.update(created_at="2000-01-01T00:00:00Z"), "stale", "deploy"),
    "from the future": (lambda d: d.update(created_at="2999-01-01T00:00:00Z"), "future", "deploy"),
}


@pytest.fixture(scope="module")
def good_plan_text() -> str:
    """The seed account's adapted plan (with an increase request), as `plan --save-plan` writes it."""
    from preflight.deployment import IncreaseRequest
    from preflight.manifest import load_manifest
    from tests.program.conftest import make_plan, seed_adapted

    manifest = load_manifest(str(ROOT / "manifests" / "tap-pipeline.yaml"), "prod")
    adapted = seed_adapted(manifest.requested("us-east-1", ("us-east-1a", "us-east-1b")))
    request = IncreaseRequest(
        service_code="lambda",
        quota_code="L-B99A9384",
        quota_name="Concurrent executions",
        current=1000,
        required=1550,
        adjustable=True,
    )
    plan: Plan = make_plan(manifest, adapted, verdict="GO_WITH_ADAPTATIONS", increase_requests=(request,))
    return plan.model_dump_json(by_alias=True, indent=2) + "\n"


def tampered(good: str, name: str, tmp_path: Path) -> Path:
    edit = CASES[name][0]
    if isinstance(edit, TextEdit):
        text = edit(good)
    else:
        data = json.loads(good)
        edit(data)
        text = json.dumps(data, indent=2)
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    return path


def run_program(plan: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RecordingMocks, str | None]:
    monkeypatch.setenv("TAP_PLAN", str(plan))
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    mocks = RecordingMocks(ACCOUNT, "us-east-1")
    try:
        run_with_mocks(
            mocks, lambda: runpy.run_path(str(ROOT / "tap.py")), project="tap-pipeline", stack="prod"
        )
    except PlanRefused as exc:
        return mocks, str(exc)
    return mocks, None


def test_the_untampered_plan_is_accepted_everywhere(
    cli: Callable[..., Any], good_plan_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(good_plan_text)
    verify = cli("verify-program", "--plan", str(path))
    assert verify.exit_code == 0, verify.output
    increases = cli("request-increases", "--plan", str(path), "--offline")
    assert increases.exit_code == 0, increases.output
    mocks, refusal = run_program(path, monkeypatch)
    assert refusal is None and len(mocks.records) > 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_tampered_plan_is_refused_by_every_reader(
    cli: Callable[..., Any], good_plan_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _, expected, kind = CASES[name]
    path = tampered(good_plan_text, name, tmp_path)

    mocks, refusal = run_program(path, monkeypatch)
    assert refusal is not None and expected in refusal, refusal
    assert mocks.records == [], "nothing may be registered before a refusal"

    # rehearse refuses before creating anything: a port nothing listens on is never reached.
    rehearsal = cli("rehearse", "--plan", str(path), "--endpoint-url", "http://127.0.0.1:9")
    assert rehearsal.exit_code == 2, rehearsal.output
    assert expected in rehearsal.output and "Traceback" not in rehearsal.output

    if kind == "input":
        for argv in (("verify-program",), ("request-increases", "--offline")):
            result = cli(*argv, "--plan", str(path))
            assert result.exit_code == 2, (argv, result.output)
            assert expected in result.output and str(path) in result.output, (argv, result.output)


def test_a_plan_for_another_account_is_refused_by_the_program(
    good_plan_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(good_plan_text.replace(f'"account_id": "{ACCOUNT}"', '"account_id": "999999999999"'))
    mocks, refusal = run_program(path, monkeypatch)
    assert refusal and "made for account 999999999999" in refusal
    assert mocks.records == []
