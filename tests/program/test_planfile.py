"""The plan file: loading it (every problem named by file and field) and the reasons to refuse it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from preflight.deployment import Plan
from preflight.program.planfile import load_plan, load_trusted_plan, refusal
from preflight.support.errors import InputError
from tests.program.conftest import ROOT, write_plan


def test_round_trip(tmp_path: Path, adapted_plan: Plan) -> None:
    path = write_plan(tmp_path / "plan.json", adapted_plan)
    assert load_plan(path) == adapted_plan


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("verdict"), "verdict: required field is missing"),
        (lambda d: d.update(verdict="MAYBE"), "verdict:"),
        (lambda d: d.update(surprise=1), "surprise: unknown key"),
        (lambda d: d.update(schema="tap-preflight/plan/v1"), "schema: plan format v1 is not supported"),
        (lambda d: d["deployment"]["functions"][0].pop("handler"), "deployment.functions[0].handler"),
        (lambda d: d.update(created_at="2026-11-28T10:00:00"), "created_at: must carry a time zone"),
        (lambda d: d.update(max_age_hours=0), "max_age_hours: Input should be greater than 0"),
    ],
)
def test_invalid_plans_name_file_and_field(tmp_path: Path, adapted_plan: Plan, mutate, expected: str) -> None:
    data = json.loads(adapted_plan.model_dump_json(by_alias=True))
    mutate(data)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_field_errors_carry_the_line(tmp_path: Path, adapted_plan: Plan) -> None:
    data = json.loads(adapted_plan.model_dump_json(by_alias=True))
    data["verdict"] = "MAYBE"
    path = tmp_path / "plan.json"
    text = json.dumps(data, indent=2)
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"verdict"' in row)
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert err.value.line == line


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "plan file not found"), ("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_unreadable_plans(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=expected):
        load_plan(path)


def test_a_fresh_go_plan_is_accepted(requested_plan: Plan) -> None:
    assert (
        refusal(
            requested_plan,
            manifest_sha256=requested_plan.manifest.sha256,
            account_id=requested_plan.account_id,
            region=requested_plan.region,
        )
        is None
    )


def test_no_go_is_refused(requested_plan: Plan) -> None:
    reason = refusal(requested_plan.model_copy(update={"verdict": "NO_GO"}))
    assert reason and "NO_GO" in reason


def test_a_plan_for_another_manifest_is_refused(requested_plan: Plan) -> None:
    reason = refusal(requested_plan, manifest_sha256="0" * 64)
    assert reason and "another manifest" in reason and requested_plan.manifest.path in reason


def test_a_plan_for_another_account_or_region_is_refused(requested_plan: Plan) -> None:
    assert "account 123456789012, this is account 999999999999" in (
        refusal(requested_plan, account_id="999999999999") or ""
    )
    assert "region us-east-1, this deployment is in eu-west-1" in (
        refusal(requested_plan, region="eu-west-1") or ""
    )


def test_a_stale_plan_is_refused(requested_plan: Plan) -> None:
    now = requested_plan.created_at + timedelta(hours=25)
    reason = refusal(requested_plan, now=now)
    assert reason and "stale" in reason and "24 h" in reason
    assert refusal(requested_plan, now=requested_plan.created_at + timedelta(hours=23)) is None


def test_a_plan_from_the_future_is_refused(requested_plan: Plan) -> None:
    reason = refusal(requested_plan, now=requested_plan.created_at - timedelta(hours=1))
    assert reason and "future" in reason


def test_every_reason_is_given(requested_plan: Plan) -> None:
    reason = refusal(
        requested_plan.model_copy(update={"verdict": "NO_GO"}),
        manifest_sha256="0" * 64,
        now=requested_plan.created_at + timedelta(days=3),
    )
    assert reason and all(word in reason for word in ("NO_GO", "another manifest", "stale"))


def test_the_manifest_is_found_at_its_recorded_path_in_the_project(
    tmp_path: Path, adapted_plan: Plan
) -> None:
    assert adapted_plan.manifest.path == "manifests/tap-pipeline.yaml"
    path = write_plan(tmp_path / "plan.json", adapted_plan)
    trusted = load_trusted_plan(path, root=ROOT)
    assert trusted.deployment == adapted_plan.deployment
    assert trusted.base_dir.resolve() == (ROOT / "manifests").resolve()
    with pytest.raises(
        InputError, match=r"manifest\.path: the plan's manifest .* is not a file in the project"
    ):
        load_trusted_plan(path, root=tmp_path)
