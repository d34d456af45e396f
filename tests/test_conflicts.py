"""Deploy failures that are not quotas: names taken, services not offered where the plan puts them.

Ownership comes from evidence (the stack's state, else its tags), never from a name alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result

from preflight.conflicts import Evidence, Observed, checks_for, load_stack_state, runtime_checks
from preflight.manifest import load_manifest
from preflight.support.errors import InputError
from tests.conftest import MANIFEST, manifest_variant

OWN_TAGS = [{"Key": "tap:project", "Value": "tap-pipeline"}, {"Key": "tap:environment", "Value": "prod"}]
ASSUME = json.dumps({"Version": "2012-10-17", "Statement": []})


def report(cli: Callable[..., Result], *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("check", MANIFEST, "--env", "prod", "--format", "json", *args)
    return result.exit_code, json.loads(result.output)


def env_of(sb: Any) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": sb.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def by_id(rep: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in rep["checks"]:
        out.setdefault(c["id"], []).append(c)
    return out


def stack_export(path: Path, *resources: tuple[str, str, dict[str, str]]) -> str:
    """A `pulumi stack export` (checkpoint v3) holding (type, id, outputs) resources."""
    body = {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-11-01T00:00:00Z"},
            "resources": [
                {"urn": f"urn:pulumi:prod::tap::{t}::{i}", "custom": True, "type": t, "id": i, "outputs": o}
                for t, i, o in resources
            ],
        },
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


# --- the account --------------------------------------------------------------------------


def test_untagged_role_and_stream_with_the_stacks_names_are_conflicts_and_no_go(cli) -> None:
    code, rep = report(cli, "--sandbox", "name-conflicts")
    assert code == 1 and rep["verdict"] == "NO_GO"
    # The quotas all fit: the names alone block the deploy.
    assert {f["status"] for f in rep["findings"]} <= {"OK", "WARN"}
    assert all(f["kind"] == "quota" for f in rep["findings"])
    checks = by_id(rep)
    assert set(checks) == {"TAP-C001", "TAP-C003"}
    (role,) = checks["TAP-C001"]
    assert (role["kind"], role["status"], role["action"], role["owner"]) == (
        "conflict",
        "FAIL",
        "fail",
        "untagged",
    )
    assert role["resources"] == ["role"] and role["names"] == ["pipeline-lambda-prod"]
    assert "EntityAlreadyExists" in role["message"] and role["lines"]
    assert "import" in role["fix"] and "namePrefix" in role["fix"]
    (stream,) = checks["TAP-C003"]
    assert stream["status"] == "FAIL" and "ResourceInUseException" in stream["message"]


def test_plan_adapt_cannot_adapt_around_a_taken_name(cli, tmp_path: Path) -> None:
    plan_path, report_path = tmp_path / "plan.json", tmp_path / "report.json"
    result = cli(
        "plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "name-conflicts",
        "--format", "json", "-o", str(report_path), "--save-plan", str(plan_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    rep = json.loads(report_path.read_text())
    assert rep["verdict"] == "NO_GO" and {c["id"] for c in rep["checks"]} == {"TAP-C001", "TAP-C003"}
    assert json.loads(plan_path.read_text())["verdict"] == "NO_GO"  # the program refuses it


def test_the_stacks_own_tagged_resources_are_not_conflicts(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.client("iam").create_role(
        RoleName="pipeline-lambda-prod", AssumeRolePolicyDocument=ASSUME, Tags=OWN_TAGS
    )
    kinesis = sb.client("kinesis")
    # The manifest's prod shard count: a stream at another count would be a reshard (a check of its own).
    kinesis.create_stream(StreamName="pipeline-events-prod", ShardCount=4)
    kinesis.add_tags_to_stream(
        StreamName="pipeline-events-prod", Tags={t["Key"]: t["Value"] for t in OWN_TAGS}
    )
    result = cli("check", MANIFEST, "--env", "prod", "--format", "json", env=env_of(sb))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["checks"] == []


def test_the_stack_state_is_preferred_over_tags(cli, sandbox, tmp_path: Path) -> None:
    sb = sandbox("name-conflicts")  # role and stream exist, untagged
    state = stack_export(
        tmp_path / "state.json",
        ("aws:iam/role:Role", "pipeline-lambda-prod", {"name": "pipeline-lambda-prod"}),
        (
            "aws:kinesis/stream:Stream",
            "arn:aws:kinesis:us-east-1:123456789012:stream/pipeline-events-prod",
            {"name": "pipeline-events-prod"},
        ),
    )
    result = cli(
        "check", MANIFEST, "--env", "prod", "--format", "json", "--stack-state", state, env=env_of(sb)
    )
    assert result.exit_code == 0, result.output  # the state says both are the stack's: no conflict
    assert json.loads(result.output)["checks"] == []

    # Tagged as this stack's, but the state (which wins) does not hold it: a conflict.
    sb.client("dynamodb").create_table(
        TableName="pipeline-state-prod",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=OWN_TAGS,
    )
    result = cli(
        "check", MANIFEST, "--env", "prod", "--format", "json", "--stack-state", state, env=env_of(sb)
    )
    assert result.exit_code == 1
    (table,) = json.loads(result.output)["checks"]
    assert table["id"] == "TAP-C004" and "not in the stack state" in table["message"]
    assert table["owner"] == "stack tap-pipeline/prod"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("{not json", "not a JSON stack export"), ('{"version": 3}', "no deployment.resources list")],
)
def test_a_bad_stack_state_is_an_input_error_naming_the_file(
    cli, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(text, encoding="utf-8")
    result = cli("check", MANIFEST, "--env", "prod", "--sandbox", "fresh-account", "--stack-state", str(path))
    assert result.exit_code == 2
    assert str(path) in result.output and problem in result.output
    with pytest.raises(InputError):
        load_stack_state(str(tmp_path / "missing.json"))


def test_names_held_elsewhere(cli) -> None:
    code, rep = report(cli, "--sandbox", "names-taken")
    assert code == 1
    checks = by_id(rep)
    assert set(checks) == {"TAP-C004", "TAP-C005", "TAP-C006", "TAP-C007"}
    (bucket,) = checks["TAP-C005"]
    assert bucket["owner"] == "another AWS account" and "BucketAlreadyExists" in bucket["message"]
    (alarm,) = checks["TAP-C007"]
    assert (alarm["action"], alarm["status"], alarm["owner"]) == ("overwrite", "FAIL", "stack orders/prod")
    assert alarm["resources"] == ["alarms[0]"]
    (topic,) = checks["TAP-C006"]
    assert (topic["action"], topic["status"]) == ("fail", "FAIL")  # other tags: CreateTopic refuses


def test_an_untagged_topic_is_adopted_with_a_warning(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.client("sns").create_topic(Name="pipeline-alarms-prod")
    result = cli("check", MANIFEST, "--env", "prod", "--format", "json", env=env_of(sb))
    assert result.exit_code == 0, result.output  # WARN does not fail the gate by default
    (topic,) = json.loads(result.output)["checks"]
    assert (topic["id"], topic["status"], topic["action"]) == ("TAP-C006", "WARN", "adopt")
    assert cli("check", MANIFEST, "--env", "prod", "--fail-on", "warn", env=env_of(sb)).exit_code == 1


def test_a_free_bucket_name_is_not_a_conflict_but_a_foreign_one_is(sandbox) -> None:
    from preflight.account.aws import Aws
    from preflight.kinds import bucket
    from preflight.quotas.usage import Reads, Stack

    sb = sandbox("names-taken")
    aws = Aws("us-east-1", endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    reads = Reads(aws, Stack.of(deployment()))
    assert bucket.find(aws, reads, "pipeline-archive-prod").elsewhere
    free = bucket.find(aws, reads, "nobody-has-this-bucket")
    assert not free.exists and not free.elsewhere


@pytest.mark.parametrize(
    ("region", "home", "partition"),
    [("us-gov-east-1", "us-gov-west-1", "aws-us-gov"), ("cn-northwest-1", "cn-north-1", "aws-cn")],
)
def test_role_and_bucket_are_read_in_the_partitions_home_region(
    sandbox, region: str, home: str, partition: str
) -> None:
    """IAM and bucket names are global to a partition, not to AWS: a GovCloud or China stack's role and
    bucket live in its partition's home region, never in us-east-1."""
    from preflight.account.aws import Aws
    from preflight.kinds import bucket, role
    from preflight.quotas.usage import Reads, Stack

    sb = sandbox("fresh-account")
    sb.client("iam", home).create_role(
        RoleName="pipeline-lambda-prod", AssumeRolePolicyDocument=ASSUME, Tags=OWN_TAGS
    )
    s3 = sb.client("s3", home)
    s3.create_bucket(Bucket="pipeline-archive-prod", CreateBucketConfiguration={"LocationConstraint": home})
    s3.put_bucket_tagging(Bucket="pipeline-archive-prod", Tagging={"TagSet": OWN_TAGS})
    aws = Aws(region, endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    asked: list[tuple[str, str | None]] = []
    client = aws.client

    def recording(service: str, region: str | None = None) -> Any:
        asked.append((service, region))
        return client(service, region)

    aws.client = recording  # type: ignore[method-assign]
    found_role = role.find(aws, Reads(aws, Stack.of(deployment())), "pipeline-lambda-prod")
    assert found_role.exists and found_role.tags == {t["Key"]: t["Value"] for t in OWN_TAGS}
    name = "pipeline-archive-prod"
    # Not ours by ListBuckets, yet HeadBucket in the partition answers: never "free" (us-east-1 said so).
    held = bucket.find(aws, Reads(aws, Stack.of(deployment())), name)
    assert held.exists or held.elsewhere
    # Ours (ListBuckets listing it: the sandbox's ListBuckets knows the aws partition's buckets only):
    # its tags are read in the home region, its ARN names the partition.
    ours = bucket.find(aws, SimpleNamespace(bucket_names=lambda: [name]), name)
    assert ours.exists and ours.arn == f"arn:{partition}:s3:::{name}"
    assert ours.tags == {t["Key"]: t["Value"] for t in OWN_TAGS}
    assert {r for service, r in asked if service in ("iam", "s3")} == {home}


def test_endpoint_service_zones(cli) -> None:
    code, rep = report(cli, "--sandbox", "endpoint-zones")
    assert code == 1
    (zones,) = rep["checks"]
    assert (zones["id"], zones["kind"], zones["status"]) == ("TAP-A001", "availability", "FAIL")
    assert zones["resources"] == ["endpoints[2]"]
    assert "us-east-1c, us-east-1d" in zones["message"] and "us-east-1a, us-east-1b" in zones["message"]


# --- Lambda runtimes, from the catalog's dates -----------------------------------------------------


def deployment(runtime: str = "python3.11") -> Any:
    manifest = load_manifest(MANIFEST, "prod")
    d = manifest.requested("us-east-1", ("us-east-1a", "us-east-1b"))
    return d.model_copy(
        update={"functions": tuple(f.model_copy(update={"runtime": runtime}) for f in d.functions)}
    )


def test_runtime_dates_warn_then_fail_create_then_update() -> None:
    d = deployment("python3.11")  # deprecated 2027-06-30, creates blocked 2027-07-31, updates 2027-08-31
    empty = Evidence()
    assert runtime_checks(d, empty, date(2027, 6, 29)) == []
    warned = runtime_checks(d, empty, date(2027, 7, 1))
    assert {(c.id, c.status) for c in warned} == {("TAP-A002", "WARN")} and len(warned) == len(d.functions)
    assert "2027-06-30" in warned[0].message and "lambda-runtimes" in warned[0].message
    blocked = runtime_checks(d, empty, date(2027, 8, 1))
    assert {c.status for c in blocked} == {"FAIL"} and "creates" in blocked[0].message
    # A deployed function is updated, not created: blocked only from the update date.
    deployed = Evidence(
        resources=tuple(
            Observed(
                type="function",
                name=f.name,
                exists=True,
                tags={"tap:project": "tap-pipeline", "tap:environment": "prod"},
            )
            for f in d.functions
        )
    )
    assert {c.status for c in runtime_checks(d, deployed, date(2027, 8, 1))} == {"WARN"}
    assert {c.status for c in runtime_checks(d, deployed, date(2027, 9, 1))} == {"FAIL"}


def test_a_blocked_runtime_is_no_go(cli, tmp_path: Path) -> None:
    manifest = manifest_variant(tmp_path, ("runtime: python3.11", "runtime: python3.8"))
    result = cli("check", manifest, "--env", "prod", "--sandbox", "fresh-account", "--format", "json")
    assert result.exit_code == 1
    rep = json.loads(result.output)
    assert {(c["id"], c["status"]) for c in rep["checks"]} == {("TAP-A002", "FAIL")}


def test_a_snapshot_without_evidence_fails_closed() -> None:
    (unknown,) = checks_for(deployment(), None, today=date(2026, 11, 1))
    assert (unknown.id, unknown.status) == ("TAP-C000", "UNKNOWN")


# --- every format shows them ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def conflict_report() -> Any:
    from preflight.account.sources import sandbox_account
    from preflight.commands.run import run_check
    from preflight.gate import GatePolicy

    manifest = load_manifest(MANIFEST, "prod")
    with sandbox_account("names-taken", "us-east-1") as source:
        return run_check(manifest, source, "us-east-1", GatePolicy())


def test_every_format_shows_the_checks(conflict_report: Any) -> None:
    import xml.etree.ElementTree as ET

    from preflight.report.formats import render

    rep = conflict_report
    assert rep.verdict == "NO_GO" and rep.counts()["FAIL"] >= 4

    table = render(rep, "table")
    assert "FAIL TAP-C005 conflict:" in table and "fix:" in table

    markdown = render(rep, "markdown")
    assert "#### Names and availability (not quotas)" in markdown and "`TAP-C007`" in markdown

    github = render(rep, "github")
    assert "::error title=FAIL TAP-C007 CloudWatch alarm name held by another stack" in github

    sarif = json.loads(render(rep, "sarif"))
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {"TAP-C004", "TAP-C005", "TAP-C006", "TAP-C007"} <= set(rule_ids)
    check_results = [r for r in run["results"] if r["ruleId"].startswith("TAP-")]
    assert len(check_results) == 4
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert all(r["level"] == "error" and r["properties"]["kind"] == "conflict" for r in check_results)

    junit = ET.fromstring(render(rep, "junit"))
    cases = {c.get("classname"): c for c in junit.iter("testcase")}
    assert cases["conflict.TAP-C005"].find("failure") is not None
    assert junit.get("tests") == str(len(rep.findings) + len(rep.checks))
    assert junit.get("failures") == str(rep.counts()["FAIL"])

    as_json = json.loads(rep.to_json())
    assert {c["kind"] for c in as_json["checks"]} == {"conflict"}


def test_sarif_with_checks_validates_against_the_schema(conflict_report: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from preflight.report.formats import render
    from tests.conftest import ROOT

    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(json.loads(render(conflict_report, "sarif")), schema)


def test_zone_placement_moves_the_vpc_only_when_enough_zones_offer_every_service() -> None:
    from preflight.conflicts import zone_placement

    d = deployment()
    kinesis = "com.amazonaws.us-east-1.kinesis-streams"
    account = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")
    everywhere = Evidence(endpoint_zones={kinesis: account})
    assert zone_placement(account, d, everywhere) == (account, None)
    two = Evidence(endpoint_zones={kinesis: ("us-east-1b", "us-east-1d")})
    azs, adaptation = zone_placement(account, d, two)
    assert azs[:2] == ("us-east-1b", "us-east-1d") and adaptation is not None
    one = Evidence(endpoint_zones={kinesis: ("us-east-1d",)})
    assert zone_placement(account, d, one) == (account, None)  # too few: the check fails instead
    (check,) = checks_for(d, one, today=date(2026, 11, 1))
    assert check.id == "TAP-A001" and "zones that would work: us-east-1d" in check.message
