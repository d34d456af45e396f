"""tap.py itself, under mocks: it finds the plan, refuses what it must before registering anything."""

from __future__ import annotations

import json
import runpy
from datetime import timedelta
from pathlib import Path

import pytest

from preflight.deployment import Plan
from preflight.program import names
from preflight.program.entry import PlanRefused
from preflight.program.mockrun import run_with_mocks
from preflight.program.verify import RecordingMocks
from tests.program.conftest import ACCOUNT, ROOT, write_plan

TAP = ROOT / "tap.py"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TAP_PLAN", "PULUMI_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def run_tap(account: str = ACCOUNT, region: str = "us-east-1") -> RecordingMocks:
    mocks = RecordingMocks(account, region)
    run_with_mocks(mocks, lambda: runpy.run_path(str(TAP)), project="tap-pipeline", stack="prod")
    return mocks


def refused(mocks_args: dict[str, str] | None = None) -> str:
    mocks = RecordingMocks(**(mocks_args or {"account_id": ACCOUNT, "region": "us-east-1"}))
    with pytest.raises(PlanRefused) as err:
        run_with_mocks(mocks, lambda: runpy.run_path(str(TAP)), project="tap-pipeline", stack="prod")
    assert mocks.records == [], "nothing may be registered before a refusal"
    return str(err.value)


def test_deploys_the_plan_from_tap_plan(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "plan.json", adapted_plan)))
    mocks = run_tap()
    types = [r["type"] for r in mocks.records]
    assert types.count(names.FUNCTION) == 5
    assert names.VPC_ENDPOINT not in types


def test_config_tap_plan_file_wins(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_plan(tmp_path / "plan.json", adapted_plan)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"tap:planFile": str(path)}))
    monkeypatch.setenv("TAP_PLAN", str(tmp_path / "absent.json"))
    assert any(r["type"] == names.FUNCTION for r in run_tap().records)


def test_no_plan_is_refused() -> None:
    assert "no plan to deploy" in refused()


def test_an_unreadable_plan_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plan.json").write_text("{}")
    monkeypatch.setenv("TAP_PLAN", str(tmp_path / "plan.json"))
    assert "schema: not a tap-preflight plan file" in refused()


def test_no_go_is_refused(tmp_path: Path, requested_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TAP_PLAN",
        str(write_plan(tmp_path / "p.json", requested_plan.model_copy(update={"verdict": "NO_GO"}))),
    )
    assert "NO_GO" in refused()


def test_a_plan_for_another_manifest_is_refused_without_any_opt_in(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The manifest beside tap.py changed since the plan was made (its hash no longer matches).
    other = adapted_plan.model_copy(
        update={"manifest": adapted_plan.manifest.model_copy(update={"sha256": "0" * 64})}
    )
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "p.json", other)))
    assert "another manifest" in refused()


def test_a_plan_whose_manifest_is_not_in_the_project_is_refused(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = adapted_plan.model_copy(
        update={"manifest": adapted_plan.manifest.model_copy(update={"path": "../tap-pipeline.yaml"})}
    )
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "p.json", moved)))
    assert "leads outside the project" in refused()


def test_the_plans_own_manifest_is_accepted(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "p.json", adapted_plan)))
    assert run_tap().records


def test_a_stale_plan_is_refused(tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = adapted_plan.model_copy(update={"created_at": adapted_plan.created_at - timedelta(hours=30)})
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "p.json", stale)))
    assert "stale" in refused()


def test_a_plan_for_another_account_or_region_is_refused(
    tmp_path: Path, adapted_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAP_PLAN", str(write_plan(tmp_path / "p.json", adapted_plan)))
    assert "this is account 999999999999" in refused({"account_id": "999999999999", "region": "us-east-1"})
    assert "this deployment is in eu-west-1" in refused({"account_id": ACCOUNT, "region": "eu-west-1"})
