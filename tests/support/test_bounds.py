"""Numbers at every door: no NaN, Infinity or value outside AWS's ranges gets in, and none turns a NO_GO
into a GO. Paths at every door: function sources stay inside the project.

The property tests run the gate's own functions (evaluate, verdict) in-process on the seed account's
state, read once from the emulated account.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from preflight.account.read import AccountState
from preflight.evaluate import evaluate
from preflight.gate import GatePolicy, verdict_for
from preflight.manifest import Manifest, load_manifest
from preflight.quotas.limits import LimitReading
from preflight.support.errors import InputError
from preflight.support.flagtypes import BoundedFloat, parse_limit
from preflight.support.ranges import QUOTA_VALUE, SHARE
from tests.conftest import MANIFEST, copy_project, live_source

CONCURRENCY = "L-B99A9384"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST, "prod")


@pytest.fixture(scope="module")
def seed_state(manifest: Manifest) -> Iterator[AccountState]:
    from preflight.sandbox import Sandbox, load_scenario

    with Sandbox(load_scenario("seed-account")) as sb:
        yield live_source(sb).read(manifest, "us-east-1", {}, None)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def seed(manifest: Manifest, seed_state: AccountState) -> dict[str, Any]:
    """The seed account's requested deployment, its failing quotas and what would make each fit."""
    from preflight.evaluate import increase_requests

    requested = manifest.requested("us-east-1", seed_state.azs)
    findings = evaluate(requested, seed_state)
    assert verdict_for(findings, GatePolicy()) == "NO_GO"
    required = {r.quota_code: r.required for r in increase_requests(findings)}
    assert CONCURRENCY in required and len(required) >= 2  # the seed's two failures
    return {"requested": requested, "required": required}


numbers_as_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-0", "1e-400", "0x10", ""]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(numbers_as_text, min_size=1, max_size=3))
def test_no_override_turns_the_seeds_no_go_into_a_go_unless_it_covers_the_need(
    seed_state: AccountState, seed: dict[str, Any], values: list[str]
) -> None:
    codes = sorted(seed["required"])
    overrides: dict[str, float] = {}
    for code, text in zip(codes, values, strict=False):
        parsed = parse_limit(f"{code}={text}")
        if isinstance(parsed, str):  # refused at the door: exit 2
            try:
                number = float(text)
            except ValueError:
                continue
            assert QUOTA_VALUE.problem(number), f"{text!r} is a valid quota value, yet refused"
            continue
        number = parsed[1]
        assert math.isfinite(number) and 0 <= number <= QUOTA_VALUE.high
        overrides[code] = number
    findings = evaluate(seed["requested"], seed_state.with_overrides(overrides))
    if verdict_for(findings, GatePolicy()) == "GO":
        # Only honest values that cover every failing quota's need can make it fit.
        assert all(overrides.get(code, -1) >= need for code, need in seed["required"].items()), overrides


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_no_limit_value_enters_the_model_unless_finite_and_in_range(value: float) -> None:
    if QUOTA_VALUE.problem(value):
        with pytest.raises(ValidationError):
            LimitReading(value=value, source="override")
    else:
        assert LimitReading(value=value, source="override").value == value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["nan", "inf"]))
)
def test_no_warn_threshold_hides_a_full_quota(
    seed_state: AccountState, seed: dict[str, Any], text: str
) -> None:
    try:
        threshold = BoundedFloat(SHARE).convert(text, None, None)
    except click.BadParameter:
        assert SHARE.problem(float(text))
        return
    findings = evaluate(seed["requested"], seed_state, threshold)
    assert verdict_for(findings, GatePolicy()) == "NO_GO"
    # A quota used to 100 % after the deploy is never OK, whatever threshold was accepted.
    assert all(
        f.status != "OK" for f in findings if f.utilization_after is not None and f.utilization_after >= 1
    )


@pytest.mark.parametrize(
    "args",
    [
        ("check", MANIFEST, "--limit", f"{CONCURRENCY}=nan"),
        ("check", MANIFEST, "--limit", f"{CONCURRENCY}=inf"),
        ("check", MANIFEST, "--limit", f"{CONCURRENCY}=-1"),
        ("check", MANIFEST, "--limit", f"{CONCURRENCY}=1e400"),
        ("check", MANIFEST, "--warn-threshold", "nan"),
        ("check", MANIFEST, "--warn-threshold", "1.5"),
        ("plan", "--adapt", MANIFEST, "--max-age-hours", "nan"),
        ("plan", "--adapt", MANIFEST, "--max-age-hours", "inf"),
        ("sandbox", "serve", "--error-rate", "nan"),
        ("sandbox", "serve", "--throttle-rate", "inf"),
    ],
)
def test_number_flags_refuse_nan_infinity_and_out_of_range(
    cli: Callable[..., Any], args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    flag = next(a for a in args if a.startswith("--") and a != "--adapt")
    assert flag.lstrip("-") in result.output


def _manifest(tmp_path: Path, old: str, new: str) -> str:
    copy_project(tmp_path)
    path = tmp_path / "manifests" / "m.yaml"
    text = Path(MANIFEST).read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("threshold: 60000", "threshold: .nan", "alarms[6].threshold"),
        ("threshold: 60000", "threshold: .inf", "alarms[6].threshold"),
        ("threshold: 60000", "threshold: 1e400", "alarms[6].threshold"),
        ("memoryMb: 1024", "memoryMb: .nan", "functions[0].memoryMb"),
        ("memoryMb: 1024", "memoryMb: 1024.5", "functions[0].memoryMb"),
        ("memoryMb: 1024", "memoryMb: 10241", "functions[0].memoryMb"),
        ("timeoutS: 60", "timeoutS: 901", "functions[0].timeoutS"),
        ("reservedConcurrency: 100", "reservedConcurrency: 0", "functions[0].reservedConcurrency"),
        ("shards: 4", "shards: 0", "streams[0].shards"),
        ("shards: 4", "shards: " + "9" * 5000, ""),
    ],
)
def test_manifest_numbers_are_bounded(tmp_path: Path, old: str, new: str, field: str) -> None:
    path = _manifest(tmp_path, old, new)
    with pytest.raises(InputError) as err:
        load_manifest(path, "prod")
    assert path in str(err.value) and field in str(err.value)
    if field:
        assert err.value.line is not None


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("/etc/passwd", "is an absolute path"),
        ("../../../../../../../../etc/hostname", "leads outside the project"),
        ("../../handlers/ingest.py", "leads outside the project"),
        ("link.py", "leads outside the project"),
    ],
)
def test_function_sources_stay_inside_the_project(tmp_path: Path, source: str, why: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = _manifest(project, "source: ../handlers/ingest.py", f"source: {source}")
    (project / "manifests" / "link.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "outside.py").write_text("def handler(e, c): pass\n")
    with pytest.raises(InputError, match=why) as err:
        load_manifest(path, "prod")
    assert "functions[0].source" in str(err.value) and err.value.line is not None


def test_a_symlink_inside_the_project_is_fine(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "source: ../handlers/ingest.py", "source: ingest-link.py")
    (tmp_path / "manifests" / "ingest-link.py").symlink_to(tmp_path / "handlers" / "ingest.py")
    assert load_manifest(path, "prod").doc.functions[0].source == "ingest-link.py"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400", "-3"])
def test_a_snapshot_number_that_is_not_a_count_is_refused(
    seed_state: AccountState, tmp_path: Path, bad: str
) -> None:
    from preflight.account.snapshot import load_snapshot, snapshot_json

    text = snapshot_json(seed_state)
    assert '"region": 850.0' in text
    path = tmp_path / "account.json"
    path.write_text(text.replace('"region": 850.0', f'"region": {bad}', 1))
    with pytest.raises(InputError) as err:
        load_snapshot(str(path))
    assert str(path) in str(err.value) and "L-B99A9384" in str(err.value)


def test_a_snapshot_with_a_key_given_twice_is_refused(seed_state: AccountState, tmp_path: Path) -> None:
    from preflight.account.snapshot import load_snapshot, snapshot_json

    text = snapshot_json(seed_state).replace('"region": 850.0', '"region": 850.0, "region": 0', 1)
    path = tmp_path / "account.json"
    path.write_text(text)
    with pytest.raises(InputError, match="duplicate key 'region'") as err:
        load_snapshot(str(path))
    assert err.value.line is not None


@pytest.mark.parametrize("bad", [".nan", ".inf", "-1", "1e400"])
def test_a_scenario_quota_value_must_be_a_finite_count(tmp_path: Path, bad: str) -> None:
    from preflight.sandbox import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nquotas:\n  - {{service: lambda, code: L-B99A9384, value: {bad}}}\n")
    with pytest.raises(InputError) as err:
        load_scenario(str(path))
    assert str(path) in str(err.value) and "value" in str(err.value)
