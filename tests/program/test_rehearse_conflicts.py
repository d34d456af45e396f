"""The gate and the rehearsal agree on failures that are not quotas.

For each account where a name is taken or a service is not offered, the gate says NO_GO naming the
resource, and deploying the requested plan anyway fails on a resource the gate named, with the error
the gate predicted (the sandbox answers as AWS does). Where the gate says GO, the plan deploys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preflight.account.sources import LiveAccount
from preflight.commands.run import build_report
from preflight.deployment import Deployment, Plan
from preflight.gate import GatePolicy
from preflight.manifest import Manifest
from preflight.program.rehearse import rehearse
from preflight.report.report import Report
from preflight.sandbox import Sandbox, load_scenario
from tests.program.conftest import AZS, make_plan

# The error each check predicts for the create (an alarm has none: it is silently overwritten).
PREDICTED = {
    "TAP-C001": "EntityAlreadyExists",
    "TAP-C002": "ResourceConflictException",
    "TAP-C003": "ResourceInUseException",
    "TAP-C004": "ResourceInUseException",
    "TAP-C005": "BucketAlreadyExists",
    "TAP-C006": "InvalidParameter",
    "TAP-A001": "InvalidParameter",
    "TAP-A002": "InvalidParameterValueException",
}


@pytest.fixture
def start() -> Iterator[Any]:
    with contextlib.ExitStack() as stack:
        yield lambda scenario: stack.enter_context(Sandbox(load_scenario(scenario), region="us-east-1"))


def gate(sb: Any, manifest: Manifest, deployment: Deployment) -> Report:
    source = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    state = source.read(manifest, "us-east-1", {}, None)
    return build_report(manifest, deployment, state, GatePolicy())


def agree(report: Report, plan: Plan, sb: Any, base_dir: Path) -> dict[str, Any]:
    """The gate said NO_GO on checks; the rehearsal fails on one of their resources, as predicted."""
    assert report.verdict == "NO_GO"
    blocking = [c for c in report.checks if c.status == "FAIL"]
    assert blocking, "the gate must name what blocks"
    result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert not result.complete
    (failure,) = result.failed
    named = {n.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for c in blocking for n in c.names}
    assert failure["name"] in named, (failure, named)
    assert failure["code"] in {PREDICTED.get(c.id) for c in blocking}, (failure, [c.id for c in blocking])
    return failure


def test_the_issues_account_fails_the_gate_and_the_rehearsal_with_entity_already_exists(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    sb = start("name-conflicts")
    report = gate(sb, manifest, requested)
    assert {c.id for c in report.checks} == {"TAP-C001", "TAP-C003"}
    failure = agree(report, make_plan(manifest, requested), sb, base_dir)
    assert (failure["name"], failure["code"]) in {
        ("pipeline-lambda-prod", "EntityAlreadyExists"),
        ("pipeline-events-prod", "ResourceInUseException"),
    }


def test_names_held_elsewhere_fail_as_the_gate_predicts(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    sb = start("names-taken")
    report = gate(sb, manifest, requested)
    assert {c.id for c in report.checks} == {"TAP-C004", "TAP-C005", "TAP-C006", "TAP-C007"}
    agree(report, make_plan(manifest, requested), sb, base_dir)


def test_an_endpoint_service_not_offered_in_the_vpcs_zones_fails_as_the_gate_predicts(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    sb = start("endpoint-zones")
    report = gate(sb, manifest, requested)
    assert [c.id for c in report.checks] == ["TAP-A001"]
    failure = agree(report, make_plan(manifest, requested), sb, base_dir)
    assert failure["name"] == "pipeline-kinesis-endpoint-prod" or "kinesis" in failure["name"]


def test_a_runtime_past_its_block_date_fails_as_the_gate_predicts(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    old = requested.model_copy(
        update={
            "functions": tuple(f.model_copy(update={"runtime": "python3.8"}) for f in requested.functions)
        }
    )
    sb = start("fresh-account")
    report = gate(sb, manifest, old)
    assert {(c.id, c.status) for c in report.checks} == {("TAP-A002", "FAIL")}
    failure = agree(report, make_plan(manifest, old), sb, base_dir)
    assert "python3.8" in failure["message"]


def test_a_plan_that_passes_the_gate_deploys_and_its_names_are_then_its_own(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    sb = start("fresh-account")
    assert gate(sb, manifest, requested).verdict == "GO"
    result = rehearse(make_plan(manifest, requested), endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert result.complete, result.render_text()
    # Deployed with the stack's tags: a re-check finds every name the stack's own, no conflict.
    again = gate(sb, manifest, manifest.requested("us-east-1", AZS))
    assert again.checks == () and again.verdict == "GO"


def test_an_alarm_held_by_another_stack_is_silently_overwritten_so_the_gate_fails_it(
    start: Any, manifest: Manifest, requested: Deployment, base_dir: Path
) -> None:
    sb = start("fresh-account")
    cloudwatch = sb.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="pipeline-ingest-errors-prod",
        Namespace="Orders",
        MetricName="Failures",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=3,
        Threshold=10.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": "tap:project", "Value": "orders"}, {"Key": "tap:environment", "Value": "prod"}],
    )
    report = gate(sb, manifest, requested)
    (alarm,) = report.checks
    assert (alarm.id, alarm.status, alarm.action) == ("TAP-C007", "FAIL", "overwrite")
    # AWS gives no error: the deploy "succeeds" and the other stack's alarm is gone.
    result = rehearse(make_plan(manifest, requested), endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert result.complete, result.render_text()
    (after,) = cloudwatch.describe_alarms(AlarmNames=["pipeline-ingest-errors-prod"])["MetricAlarms"]
    assert (after["Namespace"], after["MetricName"]) == ("AWS/Lambda", "Errors")


def test_plan_places_the_vpc_where_its_endpoint_service_is_offered_and_that_plan_deploys(
    start: Any, manifest: Manifest, base_dir: Path
) -> None:
    from preflight.commands.run import run_plan

    sb = start("endpoint-zones")
    source = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    report, plan = run_plan(manifest, source, "us-east-1", GatePolicy())
    assert report.verdict == plan.verdict == "GO_WITH_ADAPTATIONS"
    (zones,) = [a for a in report.adaptations or () if a.id == "zones-for-endpoint-services"]
    assert zones.changes[0].before == ["us-east-1a", "us-east-1b"]
    assert zones.changes[0].after == ["us-east-1c", "us-east-1d"] and "kinesis-streams" in zones.reason
    assert plan.deployment.vpc.azs == ("us-east-1c", "us-east-1d") and report.checks == ()
    result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=base_dir)
    assert result.complete, result.render_text()
