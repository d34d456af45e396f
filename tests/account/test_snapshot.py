"""Snapshots: what they record, that `--snapshot` runs give the live findings, that bad files are
refused cleanly, and that a snapshot seeds an emulated-account scenario with the same verdict."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from preflight.account.read import SNAPSHOT_SCHEMA, AccountState, StackRef, UsageReading
from preflight.account.snapshot import (
    REDACTED_ACCOUNT,
    load_snapshot,
    scenario_from_snapshot,
    scenario_notes,
    snapshot_json,
)
from preflight.quotas import catalog
from preflight.quotas.limits import LimitReading
from tests.conftest import MANIFEST

# Distinctive fake credentials: the test asserts they appear nowhere in a snapshot.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"  # the emulated account's id


def account_env(sb: Any) -> dict[str, str]:
    """Point the CLI's live reading (boto3's chain, AWS_ENDPOINT_URL) at a running sandbox."""
    return {
        "AWS_ENDPOINT_URL": sb.endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def report_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, result.output
    return result


# --- helpers ---------------------------------------------------------------------------------------------


def _state(
    *,
    limits: dict[str, LimitReading] | None = None,
    usage: dict[str, UsageReading] | None = None,
    usage_counts: dict[str, float] | None = None,
    nat: dict[str, float] | None = None,
    eips: float = 0,
    enis: float = 0,
    unknown: tuple[str, ...] = (),
    own: dict[str, dict[str, float]] | None = None,
) -> AccountState:
    """A small snapshot: catalog defaults, nothing in use unless asked."""
    all_limits = {
        q.quota_code: LimitReading(value=q.default_for("us-east-1"), source="default") for q in catalog.QUOTAS
    }
    all_limits.update(limits or {})
    all_usage: dict[str, UsageReading] = {}
    counts = usage_counts or {}
    for q in catalog.QUOTAS:
        scope = "global" if q.is_global else "region"
        if q.scope in ("region", "global"):
            all_usage[q.quota_code] = UsageReading(scopes={scope: float(counts.get(q.key, 0))})
        else:
            all_usage[q.quota_code] = UsageReading(scopes={})
    all_usage["L-FE5A380F"] = UsageReading(scopes=dict(nat or {}))
    all_usage["L-0263D0A3"] = UsageReading(scopes={"region": float(eips)})
    all_usage["L-DF5E4CA3"] = UsageReading(scopes={"region": float(enis)})
    for key in unknown:
        all_usage[catalog.BY_KEY[key].quota_code] = UsageReading(scopes=None, error="denied")
    for key, scopes in (own or {}).items():
        all_usage[catalog.BY_KEY[key].quota_code] = UsageReading(scopes=scopes)
    all_usage.update(usage or {})
    return AccountState(
        region="us-east-1",
        account_id=ACCOUNT,
        taken_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        stack=StackRef(project="tap-pipeline", environment="prod"),
        azs=tuple(f"us-east-1{z}" for z in "abcdef"),
        limits=all_limits,
        usage=all_usage,
    )


# --- acceptance: check --snapshot == live check on the same account state --------------------------


@pytest.mark.parametrize("scenario", ["seed-account", "busy-account"])
def test_check_on_snapshot_gives_the_live_findings(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path, scenario: str
) -> None:
    sb = sandbox(scenario)
    env = account_env(sb)
    live, offline, snap = tmp_path / "live.json", tmp_path / "offline.json", tmp_path / "account.json"
    live_run = cli("check", MANIFEST, "--format", "json", "-o", str(live), env=env)
    ok(cli("snapshot", MANIFEST, "-o", str(snap), env=env))
    calls = sb.call_log.total()
    offline_run = cli("check", MANIFEST, "--snapshot", str(snap), "--format", "json", "-o", str(offline))
    assert sb.call_log.total() == calls, "check --snapshot must not call AWS"

    assert offline_run.exit_code == live_run.exit_code
    a, b = report_of(live), report_of(offline)
    assert a["findings"] == b["findings"]
    assert (a["verdict"], a["increase_requests"], a["account_id"]) == (
        b["verdict"],
        b["increase_requests"],
        b["account_id"],
    )


def test_plan_on_snapshot_gives_the_live_plan(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    env = account_env(sandbox("seed-account"))
    snap = tmp_path / "account.json"
    ok(cli("snapshot", MANIFEST, "-o", str(snap), env=env))
    outputs = {}
    for name, source in (("live", []), ("offline", ["--snapshot", str(snap)])):
        out = tmp_path / f"{name}.json"
        ok(cli("plan", "--adapt", MANIFEST, *source, "--format", "json", "-o", str(out), env=env))
        outputs[name] = report_of(out)
    for key in ("verdict", "findings", "adaptations", "increase_requests"):
        assert outputs["live"][key] == outputs["offline"][key], key


# --- what a snapshot holds ----------------------------------------------------------------------------


def test_snapshot_records_limits_usage_account_time_and_stack_but_no_credential(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    sb = sandbox("seed-account")
    snap = tmp_path / "account.json"
    before = datetime.now(UTC)
    ok(cli("snapshot", MANIFEST, "--env", "prod", "-o", str(snap), env=account_env(sb)))
    text = snap.read_text()
    data = json.loads(text)
    assert data["schema"] == SNAPSHOT_SCHEMA
    assert data["account_id"] == ACCOUNT
    assert data["region"] == "us-east-1"
    assert data["stack"] == {"project": "tap-pipeline", "environment": "prod"}
    assert before <= datetime.fromisoformat(data["taken_at"]) <= datetime.now(UTC)
    codes = [q.quota_code for q in catalog.QUOTAS]
    assert list(data["limits"]) == codes, "every catalog quota, in catalog order"
    assert list(data["usage"]) == codes
    assert all(r["source"] in ("applied", "default", "service-api") for r in data["limits"].values())
    assert data["limits"]["L-B99A9384"] == {
        "value": 1000.0,
        "source": "service-api",
        "detail": "lambda.GetAccountSettings.ConcurrentExecutions",
    }
    assert data["usage"]["L-1B52E74A"]["scopes"] == {"region": 20.0}
    assert data["usage"]["L-B99A9384"]["scopes"] == {"region": 850.0}
    # Every endpoint's service was asked where it is offered, gateways' too (for the interface
    # fallback): a plan from this snapshot can tell "not offered" from "not asked".
    asked = data["evidence"]["endpoint_services_read"]
    assert {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb"} <= set(asked)
    for secret in (ACCESS_KEY, SECRET_KEY, "aws_secret", "SecretAccessKey", "SessionToken"):
        assert secret not in text
    assert text.endswith("\n") and "\r" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["account.json"], "no temp file left behind"


def test_redact_masks_the_account_id_everywhere(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    env = account_env(sandbox("seed-account"))
    snap, scenario = tmp_path / "account.json", tmp_path / "what-if.yaml"
    ok(cli("snapshot", MANIFEST, "--redact", "-o", str(snap), "--as-scenario", str(scenario), env=env))
    assert ACCOUNT not in snap.read_text()
    assert ACCOUNT not in scenario.read_text()
    assert json.loads(snap.read_text())["account_id"] == REDACTED_ACCOUNT
    report = tmp_path / "r.json"
    result = cli("check", MANIFEST, "--snapshot", str(snap), "--format", "json", "-o", str(report))
    assert result.exit_code == 1  # NO_GO on the seed's account, redacted or not
    assert report_of(report)["account_id"] == REDACTED_ACCOUNT


def test_redact_scrubs_error_texts_and_access_keys() -> None:
    state = _state(
        limits={"L-F678F1CE": LimitReading(value=None, source="unknown", detail=f"arn:aws:iam::{ACCOUNT}:x")},
        usage={"L-F678F1CE": UsageReading(scopes=None, error=f"denied for {ACCESS_KEY}")},
    )
    plain = snapshot_json(state)
    assert ACCESS_KEY not in plain and ACCOUNT in plain  # access key ids never written
    assert ACCOUNT not in snapshot_json(state, redact=True)


def test_snapshot_to_stdout_without_output(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = ok(cli("snapshot", MANIFEST, "--sandbox", "fresh-account"))
    assert json.loads(result.stdout)["schema"] == SNAPSHOT_SCHEMA


def test_failed_snapshot_leaves_the_previous_file_alone(cli: Callable[..., Result], tmp_path: Path) -> None:
    snap = tmp_path / "account.json"
    snap.write_text("previous\n")
    # No credentials anywhere: the account cannot be read (exit 3) and nothing may be written.
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = cli("snapshot", MANIFEST, "-o", str(snap), env=env)
    assert result.exit_code == 3
    assert "tap-preflight: error:" in result.stderr
    assert snap.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["account.json"]


# --- bad snapshot files: a clear message naming the file, exit 2 --------------------------------------


def _good_snapshot() -> dict[str, Any]:
    return json.loads(snapshot_json(_state()))


def _edit(change: Callable[[dict[str, Any]], object]) -> str:
    data = _good_snapshot()
    change(data)
    return json.dumps(data)


BAD_SNAPSHOTS: dict[str, tuple[str | bytes, str]] = {
    "old schema": (
        _edit(lambda d: d.update(schema="tap-preflight/snapshot/v0")),
        "snapshot format v0 is not supported",
    ),
    "newer schema": (_edit(lambda d: d.update(schema="tap-preflight/snapshot/v2")), "take a new snapshot"),
    "a report": (
        json.dumps({"schema": "tap-preflight/report/v1", "verdict": "GO"}),
        "tap-preflight report file, not a snapshot",
    ),
    "another tool's JSON": (
        json.dumps({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": []}),
        "not a tap-preflight snapshot",
    ),
    "foreign schema field": (json.dumps({"schema": "acme/inventory/v3"}), "not a tap-preflight snapshot"),
    "a JSON array": ("[1, 2, 3]", "snapshot must be a JSON object"),
    "truncated": (snapshot_json(_state())[:300], "not valid JSON"),
    "empty": ("", "not valid JSON"),
    "binary": (b"\x00\x01\x02snapshot", "binary"),
    "limit of the wrong type": (
        _edit(lambda d: d["limits"]["L-F678F1CE"].update(value="five")),
        "damaged snapshot",
    ),
    "usage of the wrong shape": (
        _edit(lambda d: d["usage"]["L-F678F1CE"].update(scopes=[1, 2])),
        "damaged snapshot",
    ),
    "missing field": (_edit(lambda d: d.pop("region")), "damaged snapshot"),
    "unknown source": (
        _edit(lambda d: d["limits"]["L-F678F1CE"].update(source="guess")),
        "damaged snapshot",
    ),
    "negative usage": (
        _edit(lambda d: d["usage"]["L-F678F1CE"].update(scopes={"region": -3})),
        "usage.L-F678F1CE.scopes.region: damaged snapshot: Input should be greater than or equal to 0",
    ),
    "not a quota code": (
        _edit(lambda d: d["limits"].update({"vpcs": d["limits"]["L-F678F1CE"]})),
        "is not a quota code",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_SNAPSHOTS))
@pytest.mark.parametrize("command", ["check", "plan"])
def test_bad_snapshot_is_an_input_error_naming_the_file(
    cli: Callable[..., Result], tmp_path: Path, name: str, command: str
) -> None:
    content, expected = BAD_SNAPSHOTS[name]
    path = tmp_path / "account.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    args = ["plan", "--adapt"] if command == "plan" else ["check"]
    result = cli(*args, MANIFEST, "--snapshot", str(path))
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_missing_and_directory_snapshots(cli: Callable[..., Result], tmp_path: Path) -> None:
    for path, expected in ((tmp_path / "absent.json", "not found"), (tmp_path, "is a directory")):
        result = cli("check", MANIFEST, "--snapshot", str(path))
        assert result.exit_code == 2
        assert str(path) in result.stderr and expected in result.stderr


def test_snapshot_of_another_stack_or_region_is_refused(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    path.write_text(snapshot_json(_state()))
    other_env = cli("check", MANIFEST, "--env", "dev", "--snapshot", str(path))
    assert other_env.exit_code == 2 and "taken for stack tap-pipeline/prod" in other_env.stderr
    other_region = cli("check", MANIFEST, "--region", "eu-west-1", "--snapshot", str(path))
    assert other_region.exit_code == 2 and "region us-east-1" in other_region.stderr


def test_load_snapshot_round_trips() -> None:
    state = _state()
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"snap-{os.getpid()}.json"
    try:
        path.write_text(snapshot_json(state))
        assert load_snapshot(str(path)) == state
    finally:
        path.unlink(missing_ok=True)


# --- snapshot -> emulated-account scenario ------------------------------------------------------------


def test_scenario_from_a_seed_snapshot_gives_the_same_verdict(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    from preflight.sandbox import load_scenario

    snap, scenario = tmp_path / "account.json", tmp_path / "what-if.yaml"
    ok(
        cli(
            "snapshot", MANIFEST, "--sandbox", "seed-account", "-o", str(snap), "--as-scenario", str(scenario)
        )
    )
    assert load_scenario(str(scenario)).name == f"snapshot-{ACCOUNT}-us-east-1"

    reports = {}
    for name, source in (("seed", "seed-account"), ("copy", str(scenario))):
        out = tmp_path / f"{name}.json"
        result = cli("check", MANIFEST, "--sandbox", source, "--format", "json", "-o", str(out))
        reports[name] = (result.exit_code, report_of(out))
    (seed_code, seed), (copy_code, copy) = reports["seed"], reports["copy"]
    assert (copy_code, copy["verdict"]) == (seed_code, seed["verdict"]) == (1, "NO_GO")

    def failing(report: dict[str, Any]) -> list[str]:
        return sorted(f["quota_code"] for f in report["findings"] if f["status"] == "FAIL")

    assert failing(copy) == failing(seed) == ["L-1B52E74A", "L-B99A9384"]
    assert copy["increase_requests"] == seed["increase_requests"]

    # Beyond the verdict: every usage count but Lambda code storage is reproduced exactly.
    again = tmp_path / "again.json"
    ok(cli("snapshot", MANIFEST, "--sandbox", str(scenario), "-o", str(again)))
    original, copied = load_snapshot(str(snap)), load_snapshot(str(again))
    for code in original.usage:
        if code != "L-2ACBD22F":
            assert copied.usage[code] == original.usage[code], code
        assert copied.limit(code).value == original.limit(code).value, code


def test_scenario_from_an_existing_snapshot_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    snap, scenario = tmp_path / "account.json", tmp_path / "what-if.yaml"
    snap.write_text(snapshot_json(_state(usage_counts={"vpcs": 2, "gateway-endpoints": 3})))
    ok(cli("snapshot", MANIFEST, "--snapshot", str(snap), "--as-scenario", str(scenario)))
    text = scenario.read_text()
    assert text.startswith("# Emulated-account scenario")
    assert "gatewayEndpoints" in text


def test_scenario_applies_raised_and_unusual_limits_only() -> None:
    limits = {
        "L-1B52E74A": LimitReading(value=40, source="applied"),
        "L-B99A9384": LimitReading(value=10, source="service-api", detail="lambda"),
        "L-F678F1CE": LimitReading(value=5, source="default"),
        "L-0918CF54": LimitReading(value=None, source="unknown", detail="denied"),
    }
    state = _state(limits=limits)
    quotas = {q["code"]: q["value"] for q in scenario_from_snapshot(state)["quotas"]}
    assert quotas == {"L-1B52E74A": 40, "L-B99A9384": 10}
    assert any("L-0918CF54" in note and "limit unknown" in note for note in scenario_notes(state))


def test_scenario_splits_large_counts_and_is_valid() -> None:
    from preflight.sandbox.scenario import parse_scenario
    from preflight.support.sourcefile import LineMap

    counts = {
        "vpcs": 3,
        "internet-gateways": 2,
        "nat-gateways-per-az": 0,
        "gateway-endpoints": 5,
        "lambda-concurrency": 250,
        "kinesis-shards": 12_000,
        "dynamodb-tables": 450,
        "s3-buckets": 3,
        "sns-topics": 201,
        "iam-roles": 5,
    }
    state = _state(usage_counts=counts, nat={"az:us-east-1b": 2}, eips=3, enis=4)
    data = scenario_from_snapshot(state)
    scenario = parse_scenario(data, LineMap("<snapshot>"))
    assert not scenario.default_vpc
    assert sum(v.count for v in scenario.vpcs) == 3
    assert sum(v.count for v in scenario.vpcs if v.internet_gateway) == 2
    host = scenario.vpcs[0]
    assert [s.az for s in host.subnets] == ["us-east-1b"]
    assert sum(n.count for n in host.nat_gateways) == 2
    assert sum(e.count for e in host.gateway_endpoints) == 5
    assert sum(e.count for e in host.interface_endpoints) == 2  # 4 ENIs: 2 NAT gateways + 2 endpoints
    assert sum(e.count for e in scenario.elastic_ips) == 1  # 3 EIPs: 2 held by the NAT gateways
    reserved = sum(f.count * (f.reserved_concurrency or 0) for f in scenario.functions)
    assert reserved == 250
    assert sum(s.shards * s.count for s in scenario.streams) == 12_000
    assert sum(t.count for t in scenario.tables) == 450 and all(t.count <= 200 for t in scenario.tables)
    assert sum(t.count for t in scenario.topics) == 201
    assert sum(r.count for r in scenario.roles) == 4  # + the execution role of the emulated functions


def test_scenario_notes_what_it_cannot_reproduce() -> None:
    state = _state(
        usage_counts={"vpcs": 0, "gateway-endpoints": 2, "security-groups": 9},
        unknown=("sns-topics",),
        own={"subnets-per-vpc": {"vpc:pipeline-vpc-prod": 3}},
    )
    notes = " | ".join(scenario_notes(state))
    assert "VPCs: one more than the snapshot" in notes
    assert "security groups" in notes
    assert "Topics per Account (L-61103206): usage unknown" in notes
    assert "Subnets per VPC (L-407747CB): counted inside this stack's own resources" in notes
    assert len(scenario_from_snapshot(state)["vpcs"]) == 1
