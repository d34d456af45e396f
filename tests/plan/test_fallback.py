"""Gateway -> interface endpoint fallback (issue 10, item 8): planned, explained, deployed, enforced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from preflight.deployment import VPC_ACCESS_POLICY, Plan
from preflight.gate import GatePolicy
from preflight.manifest import load_manifest
from preflight.plan.decisions import check_decisions, decisions_of, rebuild
from preflight.plan.planner import plan_manifest
from preflight.policypack.policies import unplanned
from preflight.program import names
from preflight.program.verify import check_inventory, record_program
from preflight.support.errors import InputError
from tests.conftest import MANIFEST, manifest_variant, synthetic_state

ALLOW_INTERFACE = (
    "preference: [vpc-with-endpoints, no-vpc]",
    "preference: [vpc-with-endpoints, vpc-with-interface-endpoints, no-vpc]\n"
    "    interfaceSecurityGroup: endpoints",
)
GATEWAYS_FULL = {"L-1B52E74A": {"region": 20}}  # the seed's failure: every gateway endpoint in use
DDB_URL = "AWS_ENDPOINT_URL_DYNAMODB"


def _interface_manifest(tmp_path: Path):
    return load_manifest(manifest_variant(tmp_path, ALLOW_INTERFACE), "prod")


def test_full_gateway_quota_keeps_the_functions_in_the_vpc_through_interface_endpoints(tmp_path) -> None:
    manifest = _interface_manifest(tmp_path)
    result = plan_manifest(manifest, synthetic_state(usage=GATEWAYS_FULL), GatePolicy())
    d = result.adapted
    assert result.verdict == "GO_WITH_ADAPTATIONS"
    assert d.networking == "vpc-with-interface-endpoints"
    assert all(f.vpc_attached for f in d.functions) and d.role.managed_policies == (VPC_ACCESS_POLICY,)
    by_key = {ep.key: ep for ep in d.endpoints}
    assert {k: ep.type for k, ep in by_key.items()} == {"s3": "interface", "dynamodb": "interface",
                                                        "kinesis": "interface"}  # fmt: skip
    # S3 and Kinesis resolve privately; DynamoDB offers no private DNS: its URL goes to the functions.
    assert (by_key["s3"].private_dns, by_key["s3"].url_variable) == (True, None)
    assert (by_key["dynamodb"].private_dns, by_key["dynamodb"].url_variable) == (False, DDB_URL)
    assert by_key["s3"].security_group == "pipeline-endpoints-prod"
    # Demand: three interface endpoints in the new VPC, none against the full regional gateway quota.
    findings = {(f.quota_code, f.scope): f for f in result.findings}
    assert findings[("L-29B6F2EB", "vpc:pipeline-vpc-prod")].demand == 3
    assert ("L-1B52E74A", "region") not in findings or findings[("L-1B52E74A", "region")].demand == 0
    assert findings[("L-DF5E4CA3", "region")].demand == 3 * 2 + 2  # an ENI per AZ each, + Lambda's two

    (networking,) = [a for a in result.adaptations if a.id == "lambda-networking"]
    assert networking.quota_code == "L-1B52E74A"
    assert networking.impact.monthly_cost_delta_usd == pytest.approx(2 * 2 * 7.30)
    assert "$29.20/month" in networking.impact.cost and "$0.01/GB" in networking.impact.cost
    assert DDB_URL in networking.impact.security and "no private DNS" in networking.impact.security
    assert "inbound only" in networking.impact.security
    paths = {c.path: (c.before, c.after) for c in networking.changes}
    assert paths["endpoints[0].type"] == ("gateway", "interface")
    assert paths["endpoints[1].type"] == ("gateway", "interface")
    # Every function that uses DynamoDB (not archive) gets the endpoint's URL.
    assert {p for p in paths if p.endswith(DDB_URL)} == {
        f"functions[{i}].environment.{DDB_URL}" for i in range(4)
    }
    assert not [a for a in result.adaptations if a.id.startswith("endpoint-")]  # nothing dropped

    # The program rebuilds exactly this from the manifest and the decisions.
    decisions = decisions_of(d)
    assert check_decisions(manifest, "us-east-1", decisions) == []
    assert rebuild(manifest, "us-east-1", decisions) == d


def test_the_default_policy_is_unchanged_and_a_full_interface_quota_falls_through(tmp_path) -> None:
    shipped = load_manifest(MANIFEST, "prod")
    assert (
        plan_manifest(shipped, synthetic_state(usage=GATEWAYS_FULL), GatePolicy()).adapted.networking
        == "no-vpc"
    )
    # Allowed but the per-VPC interface quota cannot take three endpoints: the next choice, no-vpc.
    manifest = _interface_manifest(tmp_path)
    tight = synthetic_state(limits={"L-29B6F2EB": 2}, usage=GATEWAYS_FULL)
    result = plan_manifest(manifest, tight, GatePolicy())
    assert result.adapted.networking == "no-vpc"
    blocked = {a.mode: {f.quota_code for f in a.blocking} for a in result.attempts}
    assert blocked["vpc-with-interface-endpoints"] == {"L-29B6F2EB"}


def test_an_interface_endpoint_only_where_the_manifest_dropped_nothing_it_requires(tmp_path) -> None:
    manifest = _interface_manifest(tmp_path)
    d = plan_manifest(manifest, synthetic_state(usage=GATEWAYS_FULL), GatePolicy()).adapted
    decisions = decisions_of(d).model_copy(update={"endpoints": ("s3", "kinesis")})
    assert ("endpoints", "'dynamodb' is required with vpc-with-interface-endpoints") in check_decisions(
        manifest, "us-east-1", decisions
    )


def test_the_manifest_names_the_interface_group(tmp_path) -> None:
    path = manifest_variant(
        tmp_path,
        (
            "preference: [vpc-with-endpoints, no-vpc]",
            "preference: [vpc-with-endpoints, vpc-with-interface-endpoints]",
        ),
    )
    with pytest.raises(InputError, match="interfaceSecurityGroup") as exc:
        load_manifest(path, "prod")
    lines = Path(path).read_text().splitlines()
    assert exc.value.line == next(i for i, line in enumerate(lines, 1) if "preference:" in line)
    path = manifest_variant(
        tmp_path, (ALLOW_INTERFACE[0], ALLOW_INTERFACE[1].replace("Group: endpoints", "Group: endpoint"))
    )
    with pytest.raises(InputError, match="no security group named 'endpoint'"):
        load_manifest(path, "prod")


def _saved_plan(cli, tmp_path: Path) -> tuple[dict, Path]:
    manifest = manifest_variant(tmp_path, ALLOW_INTERFACE)
    plan_path = tmp_path / "plan.json"
    result = cli("plan", "--adapt", manifest, "--env", "prod", "--sandbox", "seed-account",
                 "--format", "json", "--save-plan", str(plan_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), plan_path


def test_seed_account_plan_chooses_the_fallback_and_rehearse_deploys_it(
    cli, sandbox, tmp_path, monkeypatch
) -> None:
    report, plan_path = _saved_plan(cli, tmp_path)
    monkeypatch.chdir(tmp_path)  # the project the plan's manifest belongs to
    assert report["verdict"] == "GO_WITH_ADAPTATIONS"
    (networking,) = [a for a in report["adaptations"] if a["id"] == "lambda-networking"]
    assert networking["title"] == "Lambda networking: vpc-with-endpoints -> vpc-with-interface-endpoints"
    assert networking["quota_code"] == "L-1B52E74A"
    assert DDB_URL in networking["impact"]["security"]
    assert not [c for c in report["checks"] if c["status"] != "OK"]  # the services are offered in the zones
    saved = Plan.model_validate_json(plan_path.read_text())
    assert saved.decisions.networking == "vpc-with-interface-endpoints"

    sb = sandbox("seed-account")
    result = cli("rehearse", "--plan", str(plan_path), "--endpoint-url", sb.endpoint_url, "--format", "json")
    assert result.exit_code == 0, result.output
    rehearsal = json.loads(result.stdout)
    assert rehearsal["complete"] and not rehearsal["failed"]
    ec2 = sb.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["pipeline-vpc-prod"]}])["Vpcs"][0][
        "VpcId"
    ]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    kinds = {e["ServiceName"].rsplit(".", 1)[-1]: e["VpcEndpointType"] for e in endpoints}
    assert kinds == {"s3": "Interface", "dynamodb": "Interface", "kinesis-streams": "Interface"}
    ddb = next(e for e in endpoints if e["ServiceName"].endswith(".dynamodb"))
    assert ddb["PrivateDnsEnabled"] is False
    lam = sb.client("lambda")
    for fn in saved.deployment.functions:
        variables = (
            lam.get_function(FunctionName=fn.name)["Configuration"]
            .get("Environment", {})
            .get("Variables", {})
        )
        if "dynamodb" in fn.uses:
            assert variables[DDB_URL] == "https://" + ddb["DnsEntries"][0]["DnsName"]
        else:
            assert DDB_URL not in variables

    verified = cli("verify-program", "--plan", str(plan_path), "--format", "json")
    assert verified.exit_code == 0, verified.output


def test_verify_and_the_policy_pack_refuse_a_dropped_or_gateway_endpoint(cli, tmp_path) -> None:
    _, plan_path = _saved_plan(cli, tmp_path)
    saved = Plan.model_validate_json(plan_path.read_text())
    mocks = record_program(saved, base_dir=tmp_path / "manifests")
    assert check_inventory(saved.deployment, mocks.records, mocks.ids, mocks.arns) == []
    # A program that leaves out the DynamoDB interface endpoint.
    keep = [i for i, r in enumerate(mocks.records) if r["name"] != "pipeline-dynamodb-endpoint-prod"]
    violations = check_inventory(
        saved.deployment,
        [mocks.records[i] for i in keep],
        [mocks.ids[i] for i in keep],
        [mocks.arns[i] for i in keep],
    )
    assert "missing: VPC endpoint 'pipeline-dynamodb-endpoint-prod', which the plan asks for" in violations
    # One that makes it a gateway again (which the full regional quota refuses), or turns its DNS on.
    gateway = [dict(r, inputs={**r["inputs"], "vpcEndpointType": "Gateway"})
               if r["name"] == "pipeline-dynamodb-endpoint-prod" else r for r in mocks.records]  # fmt: skip
    assert any(
        "vpcEndpointType is 'Gateway'" in v
        for v in check_inventory(saved.deployment, gateway, mocks.ids, mocks.arns)
    )

    props = {"name": None, "tags": {"Name": "pipeline-dynamodb-endpoint-prod"}}
    assert unplanned(saved, names.VPC_ENDPOINT, "x", {**props, "vpcEndpointType": "Interface",
                                                        "privateDnsEnabled": False}) is None  # fmt: skip
    assert "the plan makes it a interface endpoint" in unplanned(
        saved, names.VPC_ENDPOINT, "x", {**props, "vpcEndpointType": "Gateway"}
    )
    assert "private DNS must be off" in unplanned(
        saved, names.VPC_ENDPOINT, "x", {**props, "vpcEndpointType": "Interface", "privateDnsEnabled": True}
    )
    # The shipped seed plan dropped its endpoints: creating one is refused by name.
    seed = Plan.model_validate_json(_seed_plan(cli, tmp_path).read_text())
    refused = unplanned(seed, names.VPC_ENDPOINT, "x", {**props, "vpcEndpointType": "Gateway"})
    assert "was dropped by the plan (endpoint-dynamodb-dropped" in refused


def _seed_plan(cli, tmp_path: Path) -> Path:
    path = tmp_path / "seed-plan.json"
    result = cli(
        "plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "seed-account", "--save-plan", str(path)
    )
    assert result.exit_code == 0, result.output
    return path


def test_the_sandbox_enforces_the_interface_quota_and_private_dns_rules(
    cli, sandbox, tmp_path, monkeypatch
) -> None:
    _, plan_path = _saved_plan(cli, tmp_path)
    monkeypatch.chdir(tmp_path)
    # The same plan into an account whose VPCs take two interface endpoints: refused on create.
    scenario = tmp_path / "two-interfaces.yaml"
    scenario.write_text(
        (Path(__file__).resolve().parents[2] / "preflight/sandbox/scenarios/seed-account.yaml").read_text()
        + "quotas:\n  - {code: L-29B6F2EB, value: 2}\n"
    )
    sb = sandbox(str(scenario))
    result = cli("rehearse", "--plan", str(plan_path), "--endpoint-url", sb.endpoint_url, "--format", "json")
    assert result.exit_code == 1  # incomplete
    (failure,) = json.loads(result.stdout)["failed"]
    assert (failure["type"], failure["code"]) == (names.VPC_ENDPOINT, "VpcEndpointLimitExceeded")

    ec2 = sb.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"
    ]
    common = {"VpcId": vpc, "VpcEndpointType": "Interface", "SubnetIds": [subnet]}
    with pytest.raises(ClientError, match="does not provide a private DNS name"):
        ec2.create_vpc_endpoint(
            ServiceName="com.amazonaws.us-east-1.dynamodb", PrivateDnsEnabled=True, **common
        )
    with pytest.raises(ClientError, match="must have a Gateway endpoint"):
        ec2.create_vpc_endpoint(ServiceName="com.amazonaws.us-east-1.s3", PrivateDnsEnabled=True, **common)
    ec2.create_vpc_endpoint(
        ServiceName="com.amazonaws.us-east-1.s3",
        PrivateDnsEnabled=True,
        DnsOptions={"PrivateDnsOnlyForInboundResolverEndpoint": False},
        **common,
    )
    services = ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.dynamodb"])
    kinds = sorted(t["ServiceType"] for s in services["ServiceDetails"] for t in s["ServiceType"])
    assert kinds == ["Gateway", "Interface"]


def test_a_scenario_may_hold_others_dynamodb_and_s3_interface_endpoints(sandbox, tmp_path) -> None:
    scenario = tmp_path / "neighbours.yaml"
    scenario.write_text(
        "vpcs:\n  - name: other\n    subnets: [{az: a}]\n"
        "    interfaceEndpoints: [{service: dynamodb, count: 2}, {service: s3}]\n"
    )
    ec2 = sandbox(str(scenario)).client("ec2")
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-type", "Values": ["Interface"]}])
    services = sorted(e["ServiceName"].rsplit(".", 1)[-1] for e in found["VpcEndpoints"])
    assert services == ["dynamodb", "dynamodb", "s3"]
    assert not any(e["PrivateDnsEnabled"] for e in found["VpcEndpoints"])


def test_a_gateway_the_regional_quota_still_takes_stays_a_gateway(tmp_path) -> None:
    # 19 of 20 gateway endpoints used: one of S3 and DynamoDB fits as a free gateway. DynamoDB keeps it
    # (its interface endpoint has no private DNS); only S3 stands in, at half the cost.
    manifest = _interface_manifest(tmp_path)
    result = plan_manifest(manifest, synthetic_state(usage={"L-1B52E74A": {"region": 19}}), GatePolicy())
    d = result.adapted
    assert d.networking == "vpc-with-interface-endpoints"
    assert {ep.key: (ep.type, ep.stands_in_for_gateway) for ep in d.endpoints} == {
        "s3": ("interface", True),
        "dynamodb": ("gateway", False),
        "kinesis": ("interface", False),
    }
    (networking,) = [a for a in result.adaptations if a.id == "lambda-networking"]
    assert networking.impact.monthly_cost_delta_usd == pytest.approx(2 * 7.30)
    assert DDB_URL not in networking.impact.security  # DynamoDB stays on its gateway: no URL to pass
    assert not [c for c in networking.changes if c.path.endswith(DDB_URL)]
    decisions = decisions_of(d)
    assert decisions.interface == ("s3",)
    assert check_decisions(manifest, "us-east-1", decisions) == []
    assert rebuild(manifest, "us-east-1", decisions) == d
    # A decision naming an endpoint that is no gateway, or outside this mode, is refused.
    bad = decisions.model_copy(update={"interface": ("s3", "kinesis")})
    assert ("interface[1]", "'kinesis' is not a kept gateway endpoint (or repeated)") in check_decisions(
        manifest, "us-east-1", bad
    )
    other = decisions.model_copy(update={"networking": "vpc-with-endpoints"})
    assert check_decisions(manifest, "us-east-1", other)[0][0] == "interface[0]"


def test_a_snapshot_without_zone_evidence_for_the_fallback_says_to_take_it_again(tmp_path) -> None:
    """A snapshot taken before the fallback existed never asked where the S3 and DynamoDB interface
    services are offered: the plan fails closed on TAP-A001 saying so, not that they are not offered."""
    from preflight.conflicts import checks_for, endpoint_service_name, endpoint_services_to_read

    old = synthetic_state(usage=GATEWAYS_FULL)  # its evidence lists no zones for s3 nor dynamodb
    assert old.evidence.endpoint_services_read is None  # as in a snapshot of that time
    adapted = plan_manifest(_interface_manifest(tmp_path), old, GatePolicy()).adapted
    assert {ep.key for ep in adapted.endpoints if ep.type == "interface"} >= {"s3", "dynamodb"}

    lacking = {c.names[1]: c for c in checks_for(adapted, old.evidence) if c.id == "TAP-A001"}
    s3, dynamodb = (endpoint_service_name("us-east-1", s) for s in ("s3", "dynamodb"))
    assert set(lacking) == {s3, dynamodb}
    for check in lacking.values():
        assert check.status == "UNKNOWN"  # fails closed: it could not be evaluated
        assert "not offered" not in check.message
        assert (
            "the snapshot holds no evidence" in check.message and "take the snapshot again" in check.message
        )
        assert "tap-preflight snapshot" in check.fix

    # A snapshot that asked and got no answer for them: then they are not offered, and it says so.
    asked = old.evidence.model_copy(
        update={"endpoint_services_read": tuple(endpoint_services_to_read(adapted))}
    )
    refused = [c for c in checks_for(adapted, asked) if c.id == "TAP-A001"]
    assert {c.names[1] for c in refused} == {s3, dynamodb}
    assert all(c.status == "FAIL" and "is not offered in us-east-1" in c.message for c in refused)
