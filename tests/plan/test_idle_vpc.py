"""Idle resources (issue 10, item 9): a VPC nothing runs in is reported, and left out where allowed."""

from __future__ import annotations

import json
from pathlib import Path

from preflight.deployment import Plan
from preflight.gate import GatePolicy
from preflight.manifest import load_manifest
from preflight.plan.decisions import check_decisions, decisions_of, rebuild
from preflight.plan.planner import plan_manifest
from preflight.policypack.policies import unplanned
from preflight.program import names
from tests.conftest import MANIFEST, manifest_variant, synthetic_state

OPTIONAL_VPC = ("  publicSubnets: true\n", "  publicSubnets: true\n  optional: true\n")
NO_VPC_ONLY = ("preference: [vpc-with-endpoints, no-vpc]", "preference: [no-vpc]")
GATEWAYS_FULL = {"L-1B52E74A": {"region": 20}}
VPCS_FULL = {"L-1B52E74A": {"region": 20}, "L-F678F1CE": {"region": 5}}  # and every VPC of the region


def test_an_optional_vpc_is_left_out_and_its_quota_freed(tmp_path) -> None:
    manifest = load_manifest(manifest_variant(tmp_path, OPTIONAL_VPC), "prod")
    result = plan_manifest(manifest, synthetic_state(usage=VPCS_FULL), GatePolicy())
    assert result.verdict == "GO_WITH_ADAPTATIONS"
    d = result.adapted
    assert d.networking == "no-vpc" and not d.vpc.created
    assert (
        d.vpc.subnets == () and not d.vpc.internet_gateway and d.security_groups == () and d.endpoints == ()
    )
    demand = {(f.quota_code, f.scope): f.demand for f in result.findings}
    for code in ("L-F678F1CE", "L-A4707A72", "L-407747CB"):  # VPCs, internet gateways, subnets: none asked
        assert not [amount for (c, _), amount in demand.items() if c == code and amount > 0]
    (dropped,) = [a for a in result.adaptations if a.id == "vpc-dropped"]
    assert [(c.path, c.before, c.after) for c in dropped.changes] == [("vpc", "pipeline-vpc-prod", None)]
    assert "frees 1 of VPCs per Region (L-F678F1CE)" in dropped.impact.cost
    assert "1 of internet gateways per Region (L-A4707A72)" in dropped.impact.cost
    assert result.notes == ()  # nothing idle left to report
    decisions = decisions_of(d)
    assert decisions.vpc is False and check_decisions(manifest, "us-east-1", decisions) == []
    assert rebuild(manifest, "us-east-1", decisions) == d
    # The shipped manifest does not let the VPC go: the same account is a NO_GO on the VPC quota.
    shipped = load_manifest(MANIFEST, "prod")
    refused = plan_manifest(shipped, synthetic_state(usage=VPCS_FULL), GatePolicy())
    assert refused.verdict == "NO_GO"
    assert "L-F678F1CE" in {f.quota_code for f in refused.findings if f.status == "FAIL"}
    assert ("vpc", "false: the VPC may be left out only when vpc.optional, no-vpc and no endpoint") in (
        check_decisions(shipped, "us-east-1", decisions)
    )


def test_a_vpc_the_manifest_keeps_is_reported_with_what_it_holds(tmp_path) -> None:
    result = plan_manifest(
        load_manifest(MANIFEST, "prod"), synthetic_state(usage=GATEWAYS_FULL), GatePolicy()
    )
    assert result.adapted.networking == "no-vpc" and result.adapted.vpc.created
    (note,) = [n for n in result.notes if n.id == "vpc-idle"]
    assert note.paths == ("vpc",)
    assert note.title == "The VPC and its subnets, route tables, internet gateway serve nothing"
    assert note.impact.monthly_cost_delta_usd == 0
    assert "no hourly charge" in note.impact.cost and "4 subnet(s)" in note.impact.cost
    assert not [a for a in result.adaptations if a.id == "vpc-dropped"]


def test_what_fits_as_requested_keeps_an_optional_vpc_and_only_reports_it(tmp_path) -> None:
    manifest = load_manifest(manifest_variant(tmp_path, OPTIONAL_VPC, NO_VPC_ONLY), "prod")
    result = plan_manifest(manifest, synthetic_state(), GatePolicy())
    assert result.verdict == "GO" and result.adapted == result.requested and result.adapted.vpc.created
    assert "vpc-idle" in {n.id for n in result.notes}


def test_the_seed_account_through_the_cli_both_ways(cli, sandbox, tmp_path, monkeypatch) -> None:
    optional = manifest_variant(tmp_path, OPTIONAL_VPC)
    plan_path = tmp_path / "plan.json"
    result = cli("plan", "--adapt", optional, "--env", "prod", "--sandbox", "seed-account",
                 "--format", "json", "--save-plan", str(plan_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "vpc-dropped" in {a["id"] for a in report["adaptations"]} and "notes" not in report
    assert not [f for f in report["findings"] if f["quota_code"] == "L-F678F1CE" and f["demand"]]
    saved = Plan.model_validate_json(plan_path.read_text())
    assert saved.decisions.vpc is False
    # The policy pack refuses a program that makes the VPC anyway.
    vpc = {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "pipeline-vpc-prod"}}
    assert "is not in the plan" in (unplanned(saved, names.VPC, "pipeline-vpc-prod", vpc) or "")

    monkeypatch.chdir(tmp_path)
    verified = cli("verify-program", "--plan", str(plan_path), "--format", "json")
    assert verified.exit_code == 0, verified.output
    types = {r["type"] for r in json.loads(verified.stdout)["resources"]}
    assert not types & {
        names.VPC,
        names.SUBNET,
        names.ROUTE_TABLE,
        names.INTERNET_GATEWAY,
        names.SECURITY_GROUP,
    }
    sb = sandbox("seed-account")
    vpcs_before = len(sb.client("ec2").describe_vpcs()["Vpcs"])
    rehearsed = cli(
        "rehearse", "--plan", str(plan_path), "--endpoint-url", sb.endpoint_url, "--format", "json"
    )
    assert rehearsed.exit_code == 0, rehearsed.output
    assert len(sb.client("ec2").describe_vpcs()["Vpcs"]) == vpcs_before

    # The shipped manifest: the VPC stays and the plan says it serves nothing.
    sb.stop()  # one emulated account at a time
    monkeypatch.chdir(Path(MANIFEST).parents[1])
    kept = cli("plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "seed-account", "--format", "json")
    assert kept.exit_code == 0, kept.output
    notes = {n["id"]: n for n in json.loads(kept.stdout)["notes"]}
    assert notes["vpc-idle"]["paths"] == ["vpc"]
    assert "vpc.optional" in notes["vpc-idle"]["reason"]
