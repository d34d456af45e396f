"""`rehearse`: the program creates its resources in the emulated account; quotas fail as AWS fails them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pulumi.runtime import MockResourceArgs

from preflight.deployment import BASIC_EXECUTION_POLICY, Plan
from preflight.manifest import Manifest
from preflight.program import names
from preflight.program import rehearse as rehearse_module
from preflight.program.rehearse import RehearsalMocks, rehearse
from preflight.sandbox import Sandbox, load_scenario
from tests.program.conftest import seed_adapted


@pytest.fixture
def start() -> Iterator[Any]:
    """Start the emulated account with a scenario, as `rehearse --sandbox` does; stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda scenario: stack.enter_context(Sandbox(load_scenario(scenario), region="us-east-1"))


def own_tagged(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if {"Key": "tap:project", "Value": "tap-pipeline"} in (i.get("Tags") or [])]


def test_requested_plan_fails_at_the_first_gateway_endpoint_of_the_seed_account(
    start: Any, requested_plan: Plan, base_dir: Path
) -> None:
    sb = start("seed-account")
    result = rehearse(requested_plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert not result.complete
    (failure,) = result.failed
    assert failure["type"] == names.VPC_ENDPOINT
    assert failure["name"] == "pipeline-s3-endpoint-prod"  # the first gateway endpoint
    assert failure["code"] == "VpcEndpointLimitExceeded"
    # It stopped there: the functions (which need the endpoints) were not attempted.
    assert {s["type"] for s in result.skipped} >= {names.FUNCTION}
    assert not [d for d in result.deployed if d["type"] in (names.FUNCTION, names.VPC_ENDPOINT)]
    assert "VpcEndpointLimitExceeded" in result.render_text()
    assert json.loads(result.to_json())["complete"] is False


def test_adapted_plan_deploys_completely_into_the_seed_account(
    start: Any, adapted_plan: Plan, base_dir: Path
) -> None:
    sb = start("seed-account")
    result = rehearse(adapted_plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert result.complete, result.render_text()
    assert len(result.deployed) == 31
    lam = sb.client("lambda")
    for fn in adapted_plan.deployment.functions:
        assert lam.get_function_concurrency(FunctionName=fn.name)["ReservedConcurrentExecutions"] == 10
        assert (
            not lam.get_function(FunctionName=fn.name)["Configuration"].get("VpcConfig", {}).get("SubnetIds")
        )
    assert not own_tagged(sb.client("ec2").describe_vpc_endpoints()["VpcEndpoints"])
    attached = sb.client("iam").list_attached_role_policies(RoleName=adapted_plan.deployment.role.name)
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [BASIC_EXECUTION_POLICY]
    alarms = sb.client("cloudwatch").describe_alarms(AlarmNamePrefix="pipeline-")["MetricAlarms"]
    assert len(alarms) == len(adapted_plan.deployment.alarms)
    assert all(a["AlarmActions"] for a in alarms)


def test_requested_plan_deploys_completely_into_a_fresh_account_and_check_recognises_it(
    start: Any, manifest: Manifest, requested_plan: Plan, base_dir: Path
) -> None:
    from preflight.account.sources import LiveAccount

    sb = start("fresh-account")
    account = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    before = account.read(manifest, "us-east-1", {}, None)
    result = rehearse(requested_plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert result.complete, result.render_text()
    ec2 = sb.client("ec2")
    endpoints = own_tagged(ec2.describe_vpc_endpoints()["VpcEndpoints"])
    assert sorted(e["VpcEndpointType"] for e in endpoints) == ["Gateway", "Gateway", "Interface"]
    lam = sb.client("lambda")
    for fn in requested_plan.deployment.functions:
        config = lam.get_function(FunctionName=fn.name)["Configuration"]
        assert len(config["VpcConfig"]["SubnetIds"]) == 2
        assert lam.get_function_concurrency(FunctionName=fn.name)["ReservedConcurrentExecutions"] == 100

    # `check` on the same account sees the deployed stack as its own: usage by others is unchanged.
    after = account.read(manifest, "us-east-1", {}, None)
    ignored = {"L-2ACBD22F"}  # code storage: the stack's own few KB are deliberately not subtracted

    def used(state: Any, code: str) -> dict[str, float]:
        # A scope that is absent counts 0 (e.g. this stack's VPC before it exists).
        return {k: v for k, v in (state.usage[code].scopes or {}).items() if v}

    changed = {
        code: (used(before, code), used(after, code))
        for code in before.usage
        if code not in ignored and used(before, code) != used(after, code)
    }
    assert changed == {}
    assert used(after, "L-F678F1CE") == used(before, "L-F678F1CE") == {"region": 1}  # the default VPC only


# --- the bookkeeping, without an account ------------------------------------------------------------


def args(typ: str, name: str, custom: bool = True) -> MockResourceArgs:
    return MockResourceArgs(typ=typ, name=name, inputs={"name": name}, custom=custom)


def test_untranslatable_types_are_listed_never_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    mocks = RehearsalMocks(clients=None)  # type: ignore[arg-type]
    mocks.new_resource(args("aws:sqs/queue:Queue", "q"))
    mocks.new_resource(args(names.PIPELINE, "tap-pipeline-prod", custom=False))  # a component: nothing
    assert mocks.not_rehearsed == [{"type": "aws:sqs/queue:Queue", "name": "q"}]
    assert mocks.deployed == [] and mocks.failed == []


def test_after_a_failure_the_rest_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(clients: Any, inputs: dict[str, Any]) -> Any:
        raise ClientError({"Error": {"Code": "TopicLimitExceeded", "Message": "too many"}}, "CreateTopic")

    monkeypatch.setitem(rehearse_module.TRANSLATORS, names.TOPIC, fail)
    mocks = RehearsalMocks(clients=None)  # type: ignore[arg-type]
    mocks.new_resource(args(names.TOPIC, "t"))
    mocks.new_resource(args(names.METRIC_ALARM, "a"))
    assert mocks.failed == [
        {"type": names.TOPIC, "name": "t", "code": "TopicLimitExceeded", "message": "too many"}
    ]
    assert mocks.skipped == [
        {"type": names.METRIC_ALARM, "name": "a", "reason": "not attempted after t failed"}
    ]


def test_the_planners_plan_end_to_end(start: Any, manifest: Manifest, base_dir: Path, tmp_path: Path) -> None:
    """plan --adapt on the seed account, its plan file, verify-program, then the rehearsal: all agree."""
    from preflight.account.sources import LiveAccount
    from preflight.commands.run import plan_json, run_plan
    from preflight.gate import GatePolicy
    from preflight.program.planfile import load_plan
    from preflight.program.verify import verify_program

    sb = start("seed-account")
    account = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    _, plan = run_plan(manifest, account, "us-east-1", GatePolicy())
    path = tmp_path / "plan.json"
    path.write_text(plan_json(plan))
    plan = load_plan(path)
    assert plan.verdict == "GO_WITH_ADAPTATIONS"
    assert plan.deployment == seed_adapted(manifest.requested("us-east-1", plan.deployment.vpc.azs))
    assert verify_program(plan, base_dir=base_dir).ok
    assert rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir).complete


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://127.3.4.5", True),
        ("http://[::1]:8080", True),
        ("http://localhost:5000", True),
        ("http://169.254.169.254/latest", False),  # the instance metadata address
        ("https://ec2.us-east-1.amazonaws.com", False),
        ("http://10.0.0.5:4566", False),
        ("http://localhost.attacker.example", False),
        ("file:///etc/passwd", False),
        ("127.0.0.1:4566", False),
    ],
)
def test_rehearse_talks_to_loopback_endpoints_only(url: str, allowed: bool) -> None:
    assert (rehearse_module.endpoint_problem(url) is None) is allowed


def test_a_remote_endpoint_needs_the_flag(cli: Any, adapted_plan: Plan, tmp_path: Path) -> None:
    from tests.program.conftest import write_plan

    path = write_plan(tmp_path / "plan.json", adapted_plan)
    refused = cli("rehearse", "--plan", str(path), "--endpoint-url", "http://169.254.169.254")
    assert refused.exit_code == 2 and "not a loopback address" in refused.output
    assert "--allow-remote-endpoint" in refused.output


def test_a_no_go_plan_is_rehearsed_only_with_force_and_said_so(
    cli: Any, requested_plan: Plan, tmp_path: Path
) -> None:
    from tests.program.conftest import write_plan

    path = write_plan(tmp_path / "plan.json", requested_plan.model_copy(update={"verdict": "NO_GO"}))
    refused = cli("rehearse", "--plan", str(path), "--sandbox", "seed-account")
    assert refused.exit_code == 2
    assert "refusing to rehearse" in refused.output and "NO_GO" in refused.output
    forced = cli("rehearse", "--plan", str(path), "--sandbox", "seed-account", "--force", "--format", "json")
    assert "FORCED" in forced.stderr
    result = json.loads(forced.stdout)
    assert "NO_GO" in result["forced"]
    # The seed account cannot take the requested plan: the rehearsal shows it, as AWS would.
    assert forced.exit_code == 1 and result["complete"] is False


def test_a_plan_for_another_account_is_not_rehearsed(cli: Any, adapted_plan: Plan, tmp_path: Path) -> None:
    from tests.program.conftest import write_plan

    foreign = adapted_plan.model_copy(update={"account_id": "999999999999"})
    path = write_plan(tmp_path / "plan.json", foreign)
    refused = cli("rehearse", "--plan", str(path), "--sandbox", "seed-account")
    assert refused.exit_code == 2
    assert "made for account 999999999999, this is account 123456789012" in refused.output


# --- update mode: a redeploy onto the stack already in the account ---------------------------------


def _redeploy_account(base_dir: Path) -> tuple[Any, Plan]:
    """The `redeploy` account with archive (last in the plan's order) holding the 400 instead of
    ingest, plus a function the plan no longer has (40 reserved, the stack's own); and its plan, the
    stream kept at its 2 shards (the reshard to 4 is over this account's limit, a NO_GO)."""
    from preflight.account.sources import LiveAccount
    from preflight.commands.run import run_plan
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest
    from preflight.sandbox import Sandbox
    from preflight.sandbox.scenario import parse_scenario
    from preflight.support.sourcefile import load_yaml_file
    from tests.program.conftest import MANIFEST

    data, lines = load_yaml_file(
        Path(rehearse_module.__file__).parents[1] / "sandbox/scenarios/redeploy.yaml"
    )
    held = {"pipeline-ingest-prod": None, "pipeline-archive-prod": 400}
    for fn in data["functions"]:
        fn["reservedConcurrency"] = held.get(fn["name"], fn.get("reservedConcurrency"))
    own = {"tap:project": "tap-pipeline", "tap:environment": "prod"}
    data["functions"].append({"name": "pipeline-legacy-prod", "reservedConcurrency": 40, "tags": own})
    sb = Sandbox(parse_scenario(data, lines, None)).start()
    account = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    _, plan = run_plan(load_manifest(str(MANIFEST), "prod"), account, "us-east-1", GatePolicy())
    assert plan.current.reservations["pipeline-archive-prod"] == 400
    d = plan.deployment
    stream = d.streams[0].model_copy(update={"shards": 2})
    return sb, plan.model_copy(update={"deployment": d.model_copy(update={"streams": (stream,)})})


def test_update_mode_redeploys_in_place_cuts_first_and_deletes_the_removed_last(base_dir: Path) -> None:
    """The end state fits (300 others + 500 + 40 of the 900 reservable); raising ingest before
    archive's cut would not (300 + 560 + 100 + 40 > 900): the update completes in the program's order
    only. The removed function is deleted after everything else, so it held its 40 throughout."""
    sb, plan = _redeploy_account(base_dir)
    try:
        result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir, update=True)
        assert result.complete, result.render_text()
        d = plan.deployment
        assert set(result.updated) == {*(f.name for f in d.functions), "pipeline-events-prod"}
        assert result.deleted == [{"type": names.FUNCTION, "name": "pipeline-legacy-prod"}]
        lam = sb.client("lambda")
        for fn in d.functions:
            assert lam.get_function_concurrency(FunctionName=fn.name)["ReservedConcurrentExecutions"] == 100
        payload = json.loads(result.to_json())
        assert payload["deleted"] and payload["updated"]

        # Create-only (the default) meets the stack's existing function, as a fresh `pulumi up` would.
        again = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
        assert not again.complete
        assert "updated" not in json.loads(again.to_json())
    finally:
        sb.stop()


def test_update_mode_without_the_programs_order_meets_the_floor(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same redeploy, the program's cuts-first dependencies taken away: ingest's raise comes
    first and PutFunctionConcurrency refuses it (the rehearsal checks each call, not the end state)."""
    from preflight.kinds import function
    from preflight.redeploy import ReservationSteps

    monkeypatch.setattr(function, "reservation_steps", lambda current, planned: ReservationSteps((), ()))
    sb, plan = _redeploy_account(base_dir)
    try:
        result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir, update=True)
        (failure,) = result.failed
        assert (failure["name"], failure["code"]) == (
            "pipeline-ingest-prod",
            "InvalidParameterValueException",
        )
        assert not result.deleted  # a deployment that stopped never reaches its deletes
    finally:
        sb.stop()
