"""The program under Pulumi's mocks: what it registers for a plan, and how departures are caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from preflight.deployment import BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY, Deployment, Plan
from preflight.manifest import Manifest
from preflight.program import names
from preflight.program.verify import check_inventory, record_program, verify_program
from tests.program.conftest import make_plan, seed_adapted


def of_type(resources: list[dict[str, Any]], typ: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == typ]


def test_adapted_plan_of_the_seed_account(adapted_plan: Plan, base_dir: Path) -> None:
    result = verify_program(adapted_plan, base_dir=base_dir)
    assert result.ok, result.violations
    resources = result.resources
    assert not of_type(resources, names.VPC_ENDPOINT)
    functions = of_type(resources, names.FUNCTION)
    assert len(functions) == 5
    assert all("vpcConfig" not in f["inputs"] for f in functions)
    assert [f["inputs"]["reservedConcurrentExecutions"] for f in functions] == [10] * 5
    attachments = of_type(resources, names.ROLE_POLICY_ATTACHMENT)
    assert [a["inputs"]["policyArn"] for a in attachments] == [BASIC_EXECUTION_POLICY]
    alarms = of_type(resources, names.METRIC_ALARM)
    assert sorted(a["inputs"]["name"] for a in alarms) == sorted(
        a.name for a in adapted_plan.deployment.alarms
    )
    topic = of_type(resources, names.TOPIC)[0]
    assert all(len(a["inputs"]["alarmActions"]) == 1 for a in alarms)
    assert all(topic["name"] in a["inputs"]["alarmActions"][0] for a in alarms)
    # No security group survives the adaptation: neither the endpoints' nor the Lambda one.
    assert not of_type(resources, names.SECURITY_GROUP)


def test_requested_prod_plan_on_a_fresh_account(requested_plan: Plan, base_dir: Path) -> None:
    result = verify_program(requested_plan, base_dir=base_dir)
    assert result.ok, result.violations
    endpoints = of_type(result.resources, names.VPC_ENDPOINT)
    assert sorted((e["inputs"]["vpcEndpointType"], e["inputs"]["serviceName"]) for e in endpoints) == [
        ("Gateway", "com.amazonaws.us-east-1.dynamodb"),
        ("Gateway", "com.amazonaws.us-east-1.s3"),
        ("Interface", "com.amazonaws.us-east-1.kinesis-streams"),
    ]
    interface = next(e for e in endpoints if e["inputs"]["vpcEndpointType"] == "Interface")
    assert interface["inputs"]["privateDnsEnabled"] is True
    assert len(interface["inputs"]["subnetIds"]) == 2
    functions = of_type(result.resources, names.FUNCTION)
    assert len(functions) == 5
    assert all(len(f["inputs"]["vpcConfig"]["subnetIds"]) == 2 for f in functions)
    assert all(f["inputs"]["reservedConcurrentExecutions"] == 100 for f in functions)
    attachments = of_type(result.resources, names.ROLE_POLICY_ATTACHMENT)
    assert [a["inputs"]["policyArn"] for a in attachments] == [VPC_ACCESS_POLICY]


def test_every_taggable_resource_carries_the_stack_tags(requested_plan: Plan, base_dir: Path) -> None:
    result = verify_program(requested_plan, base_dir=base_dir)
    tagged = [r for r in result.resources if r["type"] not in names.UNTAGGED]
    assert len(tagged) > 20
    for r in tagged:
        tags = r["inputs"]["tags"]
        assert tags["tap:project"] == "tap-pipeline" and tags["tap:environment"] == "prod", r["name"]
        assert tags["Name"].endswith("-prod") or "-prod-" in tags["Name"], r["name"]


def test_no_reservation_leaves_the_input_unset(
    manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    d = seed_adapted(requested)
    d = d.model_copy(
        update={"functions": tuple(f.model_copy(update={"reserved_concurrency": None}) for f in d.functions)}
    )
    result = verify_program(make_plan(manifest, d), base_dir=base_dir)
    assert result.ok, result.violations
    # Never 0 (that throttles the function to death), never sent at all.
    assert all(
        "reservedConcurrentExecutions" not in f["inputs"] for f in of_type(result.resources, names.FUNCTION)
    )


def test_nat_networking(manifest: Manifest, requested: Deployment, base_dir: Path) -> None:
    d = requested.model_copy(
        update={
            "networking": "vpc-with-nat",
            "endpoints": (),
            "security_groups": tuple(sg for sg in requested.security_groups if sg.key == "lambda"),
            "vpc": requested.vpc.model_copy(update={"nat_gateway_azs": ("us-east-1a",)}),
        }
    )
    result = verify_program(make_plan(manifest, d), base_dir=base_dir)
    assert result.ok, result.violations
    (nat,) = of_type(result.resources, names.NAT_GATEWAY)
    assert len(of_type(result.resources, names.EIP)) == 1
    assert nat["inputs"]["subnetId"].endswith("public-1")  # the public subnet of its AZ
    private_rts = [r for r in of_type(result.resources, names.ROUTE_TABLE) if "private" in r["name"]]
    assert all(r["inputs"]["routes"][0]["natGatewayId"] == f"natgateway-{nat['name']}" for r in private_rts)


def test_repeated_runs_in_one_process_are_identical(adapted_plan: Plan, base_dir: Path) -> None:
    first = verify_program(adapted_plan, base_dir=base_dir).to_json()
    assert verify_program(adapted_plan, base_dir=base_dir).to_json() == first


def test_json_shape(adapted_plan: Plan, base_dir: Path) -> None:
    data = json.loads(verify_program(adapted_plan, base_dir=base_dir).to_json())
    assert set(data) == {"resources", "violations"}
    assert data["violations"] == []
    assert all(set(r) == {"type", "name", "inputs"} for r in data["resources"])
    fn = next(r for r in data["resources"] if r["type"] == names.FUNCTION)
    assert fn["inputs"]["code"]["archive"]["ingest.py"]["file"].endswith("handlers/ingest.py")


def test_render_text(adapted_plan: Plan, base_dir: Path) -> None:
    text = verify_program(adapted_plan, base_dir=base_dir).render_text()
    assert "aws:lambda/function:Function" in text and "reserved=10 vpc=no" in text
    assert text.rstrip().endswith("exactly what the plan asks for.")


# --- departures are caught -------------------------------------------------------------------------


def test_the_requested_program_departs_from_the_adapted_plan(
    requested_plan: Plan, adapted_plan: Plan, base_dir: Path
) -> None:
    # The seed's situation: a program that still builds the requested design, judged by the adapted plan.
    mocks = record_program(requested_plan, base_dir=base_dir)
    violations = check_inventory(adapted_plan.deployment, mocks.records, mocks.ids, mocks.arns)
    text = "\n".join(violations)
    assert "not in the plan: VPC endpoint 'pipeline-s3-endpoint-prod'" in text
    assert "function pipeline-ingest-prod has a vpcConfig but the plan keeps it out of the VPC" in text
    assert "function pipeline-ingest-prod reserves 100 concurrent executions, the plan 10" in text
    assert f"missing: role policy attachment 'pipeline-lambda-prod {BASIC_EXECUTION_POLICY}'" in text


def test_duplicate_alarm_without_actions_is_caught(adapted_plan: Plan, base_dir: Path) -> None:
    mocks = record_program(adapted_plan, base_dir=base_dir)
    alarm = next(r for r in mocks.records if r["type"] == names.METRIC_ALARM)
    # The seed's second "update" alarm: same physical name, another logical name, no actions at first.
    twin = {"type": names.METRIC_ALARM, "name": "alarm-action-0", "inputs": {"name": alarm["inputs"]["name"]}}
    records = [*mocks.records, twin]
    violations = check_inventory(
        adapted_plan.deployment, records, [*mocks.ids, "twin"], [*mocks.arns, "arn:twin"]
    )
    assert any(v.startswith("duplicate: 2 CloudWatch alarms under one physical name") for v in violations)


def test_alarm_without_actions_and_vpc_policy_without_vpc(adapted_plan: Plan, base_dir: Path) -> None:
    mocks = record_program(adapted_plan, base_dir=base_dir)
    records = json.loads(json.dumps(mocks.records))
    for r in records:
        if r["type"] == names.METRIC_ALARM:
            r["inputs"].pop("alarmActions")
        if r["type"] == names.ROLE_POLICY_ATTACHMENT:
            r["inputs"]["policyArn"] = VPC_ACCESS_POLICY
    violations = check_inventory(adapted_plan.deployment, records, mocks.ids, mocks.arns)
    assert sum("has no alarmActions" in v for v in violations) == len(adapted_plan.deployment.alarms)
    assert any(f"the role has {VPC_ACCESS_POLICY} but no function is VPC-attached" in v for v in violations)


def test_vpc_functions_without_the_vpc_policy(requested_plan: Plan, base_dir: Path) -> None:
    bad = requested_plan.deployment.model_copy(
        update={
            "role": requested_plan.deployment.role.model_copy(
                update={"managed_policies": (BASIC_EXECUTION_POLICY,)}
            )
        }
    )
    result = verify_program(requested_plan.model_copy(update={"deployment": bad}), base_dir=base_dir)
    assert any("are VPC-attached but the role lacks" in v for v in result.violations)


def test_a_no_go_plan_registers_nothing(requested_plan: Plan, base_dir: Path) -> None:
    result = verify_program(requested_plan.model_copy(update={"verdict": "NO_GO"}), base_dir=base_dir)
    assert result.resources == []
    assert result.violations and "NO_GO" in result.violations[0]


def test_a_missing_handler_source_fails_the_program(adapted_plan: Plan, tmp_path: Path) -> None:
    result = verify_program(adapted_plan, base_dir=tmp_path)
    assert result.resources == []
    # tmp_path is a project of its own: ../handlers/ leads out of it, and is refused as such.
    assert "handler source '../handlers/ingest.py' leads outside the project" in result.violations[0]


def test_a_zero_reservation_is_refused(manifest: Manifest, requested: Deployment, base_dir: Path) -> None:
    d = seed_adapted(requested)
    zero = d.model_copy(
        update={"functions": (d.functions[0].model_copy(update={"reserved_concurrency": 0}),)}
    )
    result = verify_program(make_plan(manifest, d).model_copy(update={"deployment": zero}), base_dir=base_dir)
    assert result.resources == []
    assert "would throttle it completely" in result.violations[0]


@pytest.mark.parametrize("source", ["/etc/passwd", "../../../../../../../../etc/hostname"])
def test_the_program_never_packs_a_file_from_outside_the_project(
    manifest: Manifest, requested: Deployment, base_dir: Path, source: str
) -> None:
    d = seed_adapted(requested)
    outside = d.model_copy(update={"functions": (d.functions[0].model_copy(update={"source": source}),)})
    result = verify_program(
        make_plan(manifest, d).model_copy(update={"deployment": outside}), base_dir=base_dir
    )
    assert result.resources == []
    assert "handler source" in result.violations[0]
    assert "absolute path" in result.violations[0] or "leads outside the project" in result.violations[0]
