"""The shipped policy pack, called as the engine calls it: each validation gets the resources the
shipped program registers (captured by Pulumi's mocks: type token, logical name, camelCase inputs)
and a plan, and must pass the program that deploys the plan and refuse every departure from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi_policy", reason="pulumi-policy comes with the pulumi extra")

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from preflight.deployment import Plan
from preflight.policypack import policies
from preflight.program import names
from preflight.program.planfile import load_plan
from preflight.program.verify import record_program
from tests.conftest import MANIFEST, ROOT, manifest_variant
from tests.program.conftest import write_plan

Record = dict[str, Any]


@pytest.fixture(scope="module")
def seed_plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed account's real adapted plan (endpoints dropped, reservations shared), from `plan`."""
    from click.testing import CliRunner

    from cli import main

    path = tmp_path_factory.mktemp("plan") / "plan.json"
    result = CliRunner().invoke(
        main,
        ["plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "seed-account", "--save-plan", str(path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def seed_plan(seed_plan_path: Path) -> Plan:
    plan = load_plan(seed_plan_path)
    assert plan.verdict == "GO_WITH_ADAPTATIONS" and not plan.deployment.endpoints
    return plan


def registered(plan: Plan) -> list[Record]:
    """What the shipped program registers for `plan`, as the engine receives it."""
    return record_program(plan, base_dir=ROOT / "manifests").records


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,
        additional_secret_outputs=[],
        parent=None,
    )


def urn(record: Record) -> str:
    return f"urn:pulumi:prod::tap-pipeline::{record['type']}::{record['name']}"


def provider(region: str) -> PolicyProviderResource:
    return PolicyProviderResource("pulumi:providers:aws", {"region": region}, "urn:default_aws", "default")


def resource_violations(
    validate: Callable[..., None], records: list[Record], config: dict[str, Any]
) -> list[str]:
    found: list[str] = []
    for r in records:
        args = ResourceValidationArgs(
            r["type"], r["inputs"], urn(r), r["name"], options(), provider("us-east-1"), config
        )
        validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_violations(records: list[Record], config: dict[str, Any], region: str = "us-east-1") -> list[str]:
    aws = PolicyResource(
        "pulumi:providers:aws",
        {"region": region},
        "urn:default_aws",
        "default",
        options(),
        None,
        None,
        [],
        {},
    )
    resources = [aws] + [
        PolicyResource(r["type"], r["inputs"], urn(r), r["name"], options(), None, None, [], {})
        for r in records
    ]
    found: list[str] = []
    policies.validate_plan_deployable(
        StackValidationArgs(resources, config), lambda message, urn=None: found.append(message)
    )
    return found


def all_violations(records: list[Record], config: dict[str, Any]) -> list[str]:
    return (
        stack_violations(records, config)
        + resource_violations(policies.validate_only_planned_resources, records, config)
        + resource_violations(policies.validate_planned_concurrency, records, config)
    )


def test_the_program_deploying_the_plan_passes_every_policy(seed_plan: Plan, seed_plan_path: Path) -> None:
    records = registered(seed_plan)
    assert len(records) > 15 and all(r["type"] != names.VPC_ENDPOINT for r in records)
    assert all_violations(records, {"planFile": str(seed_plan_path), "manifest": MANIFEST}) == []


def test_the_plan_comes_from_tap_plan_too(
    seed_plan: Plan, seed_plan_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = registered(seed_plan)
    monkeypatch.setenv("TAP_PLAN", str(seed_plan_path))
    assert all_violations(records, {}) == []
    monkeypatch.delenv("TAP_PLAN")
    assert stack_violations(records, {}) == [policies.NO_PLAN]


def test_a_program_ignoring_the_plan_is_refused_resource_by_resource(
    seed_plan: Plan, seed_plan_path: Path, tmp_path: Path
) -> None:
    # The program run for what the manifest requested (endpoints, VPC, 100 reserved each), checked
    # against the seed account's plan: what a `pulumi up` without the plan, or an edited program, does.
    requested = seed_plan.model_copy(update={"deployment": _requested(seed_plan)})
    records = registered(requested)
    config = {"planFile": str(seed_plan_path)}

    unplanned = resource_violations(policies.validate_only_planned_resources, records, config)
    dropped = [v for v in unplanned if v.startswith("VPC endpoint")]
    assert len(dropped) == 3, unplanned
    assert all("was dropped by the plan" in v for v in dropped), dropped
    assert any("aws:ec2/securityGroup:SecurityGroup" in v for v in unplanned), unplanned

    concurrency = resource_violations(policies.validate_planned_concurrency, records, config)
    planned = {f.name: f.reserved_concurrency for f in seed_plan.deployment.functions}
    assert sorted(concurrency) == sorted(
        f"function {name} reserves 100, the plan {want}" for name, want in planned.items()
    )


def test_reserved_concurrency_zero_or_unset_is_refused(seed_plan: Plan, seed_plan_path: Path) -> None:
    config = {"planFile": str(seed_plan_path)}
    functions = [r for r in registered(seed_plan) if r["type"] == names.FUNCTION]
    zero = [{**r, "inputs": {**r["inputs"], "reservedConcurrentExecutions": 0}} for r in functions[:1]]
    unset = [
        {**r, "inputs": {k: v for k, v in r["inputs"].items() if k != "reservedConcurrentExecutions"}}
        for r in functions[1:2]
    ]
    found = resource_violations(policies.validate_planned_concurrency, zero + unset, config)
    assert (
        found[0]
        == f"function {zero[0]['inputs']['name']} reserves 0 concurrent executions: it would never run"
    )
    assert found[1].startswith(f"function {unset[0]['inputs']['name']} reserves none, the plan ")
    # The engine sends numbers as doubles: 10.0 is the planned 10.
    as_double = [{**r, "inputs": {**r["inputs"], "reservedConcurrentExecutions": 10.0}} for r in functions]
    planned = {f.name: f.reserved_concurrency for f in seed_plan.deployment.functions}
    ok = [r for r in as_double if planned[r["inputs"]["name"]] == 10]
    assert ok and resource_violations(policies.validate_planned_concurrency, ok, config) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"verdict": "NO_GO"}, "the plan's verdict is NO_GO"),
        ({"created_at": datetime.now(UTC) - timedelta(hours=30)}, "the plan is stale"),
    ],
)
def test_a_no_go_or_stale_plan_is_refused(
    seed_plan: Plan, tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    bad = write_plan(tmp_path / "plan.json", seed_plan.model_copy(update=change))
    [violation] = stack_violations(registered(seed_plan), {"planFile": str(bad)})
    assert violation.startswith(f"refusing to deploy {bad}: ") and expected in violation


def test_a_plan_for_another_manifest_or_region_is_refused(
    seed_plan: Plan, seed_plan_path: Path, tmp_path: Path
) -> None:
    records = registered(seed_plan)
    other = manifest_variant(tmp_path, ("shards: 2", "shards: 3"))
    [violation] = stack_violations(records, {"planFile": str(seed_plan_path), "manifest": other})
    assert "the plan was made for another manifest" in violation
    [violation] = stack_violations(records, {"planFile": str(seed_plan_path)}, region="eu-west-1")
    assert "the plan was made for region us-east-1, this deployment is in eu-west-1" in violation


def test_an_unreadable_plan_is_a_violation_not_a_crash(seed_plan: Plan, tmp_path: Path) -> None:
    broken = tmp_path / "plan.json"
    broken.write_text(json.dumps({"schema": "tap-preflight/plan/v1"}))
    [violation] = stack_violations(registered(seed_plan), {"planFile": str(broken)})
    assert violation.startswith("unusable plan file: ")
    [violation] = stack_violations(registered(seed_plan), {"planFile": str(tmp_path / "none.json")})
    assert violation.startswith("cannot read the plan file ")


def test_the_pack_is_shipped_as_pulumi_runs_it() -> None:
    pack = Path(policies.__file__).parent
    assert (pack / "PulumiPolicy.yaml").is_file() and "runtime: python" in (
        pack / "PulumiPolicy.yaml"
    ).read_text()
    assert "serve()" in (pack / "__main__.py").read_text()
    assert [p.name for p in policies.policies()] == [
        policies.PLAN_DEPLOYABLE,
        policies.ONLY_PLANNED_RESOURCES,
        policies.PLANNED_CONCURRENCY,
    ]


def _requested(plan: Plan) -> Any:
    from preflight.manifest import load_manifest

    manifest = load_manifest(MANIFEST, "prod")
    return manifest.requested(plan.region, plan.deployment.vpc.azs)


def test_the_pack_served_as_pulumi_runs_it_refuses_over_grpc(seed_plan_path: Path) -> None:
    """`python <pack dir>`, as Pulumi's analyzer starts it: it prints its port and answers the
    engine's Analyze calls (inputs as a protobuf Struct) with mandatory diagnostics."""
    import os
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    pack = Path(policies.__file__).parent
    env = {**os.environ, "TAP_PLAN": str(seed_plan_path)}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(pack)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == policies.PACK_NAME
            assert {p.name for p in info.policies} == {
                policies.PLAN_DEPLOYABLE,
                policies.ONLY_PLANNED_RESOURCES,
                policies.PLANNED_CONCURRENCY,
            }
            props = struct_pb2.Struct()
            props.update({"vpcEndpointType": "Gateway", "tags": {"Name": "pipeline-s3-endpoint-prod"}})
            request = analyzer_pb2.AnalyzeRequest(
                type=names.VPC_ENDPOINT,
                properties=props,
                urn="urn:pulumi:prod::tap-pipeline::aws:ec2/vpcEndpoint:VpcEndpoint::s3",
                name="s3",
            )
            response = stub.Analyze(request, timeout=30)
    finally:
        proc.kill()
        proc.wait()
    [diagnostic] = response.diagnostics
    assert diagnostic.policyName == policies.ONLY_PLANNED_RESOURCES
    # The SDK puts the policy's description first, then our message.
    assert (
        "\nVPC endpoint 'pipeline-s3-endpoint-prod' was dropped by the plan (endpoint-s3-dropped: "
        in diagnostic.message
    )
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
