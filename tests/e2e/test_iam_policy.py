"""The shipped least-privilege IAM policy allows every call the gate makes, and nothing that writes
outside the statements reserved for `request-increases --submit`."""

from __future__ import annotations

import fnmatch
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from preflight.account.aws import iam_action
from preflight.account.sources import PLACEHOLDER_AZS
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT
from preflight.manifest import load_manifest
from preflight.sandbox.calllog import is_read_only
from preflight.sandbox.iam_enforce import NO_PERMISSION_NEEDED
from tests.conftest import MANIFEST, ROOT, many_functions_manifest

POLICY_PATH = ROOT / "preflight" / "data" / "iam-policy.json"
READ_ONLY_SID = "ReadOnlyForCheckPlanSnapshot"
SUBMIT_SID_PREFIX = "OnlyForRequestIncreasesSubmit"
OWN_ROLE = "pipeline-lambda-prod"  # the manifest's Lambda role in prod


# Permissions a call needs beyond its own action: GetFunction answers the tags only with lambda:ListTags.
IMPLIED = {"lambda:ListTags": "lambda:GetFunction"}
OWN_TAGS = {TAG_PROJECT: "tap-pipeline", TAG_ENVIRONMENT: "prod"}


def deploy_named_resources(sb: Any) -> None:
    """The stack's role, stream, table, bucket and topic, tagged as the program tags them: the gate
    then reads their tags and the role's attached policies."""
    d = load_manifest(MANIFEST, "prod").requested("us-east-1", PLACEHOLDER_AZS)
    tag_list = [{"Key": k, "Value": v} for k, v in OWN_TAGS.items()]
    sb.client("iam", "us-east-1").create_role(
        RoleName=OWN_ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}), Tags=tag_list
    )
    kinesis = sb.client("kinesis")
    kinesis.create_stream(StreamName=d.streams[0].name, ShardCount=d.streams[0].shards)
    kinesis.add_tags_to_stream(StreamName=d.streams[0].name, Tags=OWN_TAGS)
    sb.client("dynamodb").create_table(
        TableName=d.tables[0].name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tag_list,
    )
    s3 = sb.client("s3")
    s3.create_bucket(Bucket=d.buckets[0].name)
    s3.put_bucket_tagging(Bucket=d.buckets[0].name, Tagging={"TagSet": tag_list})
    sb.client("sns").create_topic(Name=d.topics[0].name, Tags=tag_list)


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return json.loads(POLICY_PATH.read_text())


def statements(policy: dict[str, Any], *, submit: bool) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Sid"].startswith(SUBMIT_SID_PREFIX) == submit]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def allowed(action: str, statement: dict[str, Any]) -> bool:
    # IAM matches actions case-insensitively, with * and ? wildcards.
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in actions(statement))


def gate_calls(cli: Callable[..., Result], sb: Any, tmp_path: Path) -> dict[str, int]:
    """check, plan --adapt, snapshot and a request-increases dry run against the emulated account."""
    env = {
        "AWS_ENDPOINT_URL": sb.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    assert cli("check", MANIFEST, "--format", "json", env=env).exit_code in (0, 1)
    assert (
        cli("plan", "--adapt", MANIFEST, "--save-plan", str(tmp_path / "plan.json"), env=env).exit_code == 0
    )
    assert cli("snapshot", MANIFEST, "-o", str(tmp_path / "account.json"), env=env).exit_code == 0
    dry_run = cli("request-increases", "--plan", str(tmp_path / "plan.json"), env=env)
    assert dry_run.exit_code == 0, dry_run.output
    # `place --all-regions` reads the account's regions first (then plans each as above); here only
    # that first call, so the test does not plan every region moto knows.
    from preflight.account.sources import LiveAccount, enabled_regions

    enabled_regions(
        LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing")), "us-east-1"
    )
    return sb.call_log.counts()


OWN_TAG_LIST = [{"Key": k, "Value": v} for k, v in OWN_TAGS.items()]


def deployed_stack_names(sb: Any) -> None:
    """The prod stack's named resources, tagged as its own (one function and one alarm are enough)."""
    tags = dict(OWN_TAGS)
    sb.client("s3", "us-east-1").create_bucket(Bucket="pipeline-archive-prod")
    sb.client("s3", "us-east-1").put_bucket_tagging(
        Bucket="pipeline-archive-prod", Tagging={"TagSet": OWN_TAG_LIST}
    )
    sb.client("kinesis").create_stream(StreamName="pipeline-events-prod", ShardCount=1)
    sb.client("kinesis").add_tags_to_stream(StreamName="pipeline-events-prod", Tags=tags)
    sb.client("dynamodb").create_table(
        TableName="pipeline-state-prod",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=OWN_TAG_LIST,
    )
    sb.client("sns").create_topic(Name="pipeline-alarms-prod", Tags=OWN_TAG_LIST)
    sb.client("cloudwatch").put_metric_alarm(
        AlarmName="pipeline-ingest-errors-prod",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=OWN_TAG_LIST,
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return {}\n")
    sb.client("lambda").create_function(
        FunctionName="pipeline-ingest-prod",
        Runtime="python3.11",
        Role=f"arn:aws:iam::123456789012:role/{OWN_ROLE}",
        Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
        Tags=tags,
    )


def test_policy_shape(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(set(sids)) == len(sids) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    [read_only] = [s for s in policy["Statement"] if s["Sid"] == READ_ONLY_SID]
    assert all("*" not in a for a in actions(read_only)), "least privilege: no action wildcards"
    assert sorted(actions(read_only)) == actions(read_only), "kept sorted for review"


def test_no_write_action_outside_the_submit_statements(policy: dict[str, Any]) -> None:
    for statement in statements(policy, submit=False):
        for action in actions(statement):
            assert is_read_only(action.split(":", 1)[1]), f"{action} writes, in {statement['Sid']}"
    submit_actions = [a for s in statements(policy, submit=True) for a in actions(s)]
    assert "servicequotas:RequestServiceQuotaIncrease" in submit_actions


def test_read_only_statement_is_exactly_what_the_gate_calls(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path, policy: dict[str, Any]
) -> None:
    sb = sandbox("seed-account")
    # A stack that already has its role makes the gate also read the role's attached policies.
    iam = sb.client("iam", "us-east-1")
    iam.create_role(
        RoleName=OWN_ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}), Tags=OWN_TAG_LIST
    )
    # And one that already has its security groups makes it read their rules.
    sb.client("ec2").create_security_group(
        GroupName="pipeline-lambda-prod",
        Description="lambda",
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in OWN_TAGS.items()]}
        ],
    )
    sb.call_log.reset()

    first = gate_calls(cli, sb, tmp_path)  # the bucket name is free: HeadBucket asks whether it is taken
    # The stack's other names existing makes the gate read their tags too (who owns them).
    assert sb.call_log.mutating_calls() == []
    deployed_stack_names(sb)
    sb.call_log.reset()
    env = {
        "AWS_ENDPOINT_URL": sb.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    assert cli("check", MANIFEST, "--format", "json", env=env).exit_code in (0, 1)
    calls = {**first, **sb.call_log.counts()}
    # Past 20 functions, the gate lists the account's functions rather than looking each one up.
    sb.call_log.reset()
    many = many_functions_manifest(tmp_path / "many", 21)
    assert cli("check", many, "--env", "prod", "--format", "json", env=env).exit_code in (0, 1)
    calls |= sb.call_log.counts()
    [read_only] = [s for s in policy["Statement"] if s["Sid"] == READ_ONLY_SID]
    needed = {iam_action(*key.split(":", 1)) for key in calls}
    needed |= {implied for implied, by in IMPLIED.items() if by in needed}
    needed -= NO_PERMISSION_NEEDED  # AWS answers GetCallerIdentity whatever the policy says
    assert "iam:ListAttachedRolePolicies" in needed and "s3:ListAllMyBuckets" in needed
    assert {
        "s3:ListBucket",
        "s3:GetBucketTagging",
        "lambda:ListTags",
        "cloudwatch:ListTagsForResource",
    } <= needed
    missing = sorted(a for a in needed if not allowed(a, read_only))
    assert missing == [], f"the read-only statement lacks {missing}"
    unused = sorted(set(actions(read_only)) - needed)
    assert unused == [], f"least privilege: no command calls {unused}"
    assert sb.call_log.mutating_calls() == []


def test_submit_needs_only_the_submit_statement(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path, policy: dict[str, Any]
) -> None:
    sb = sandbox("seed-account")
    env = {"AWS_ENDPOINT_URL": sb.endpoint_url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
    report = tmp_path / "report.json"
    assert cli("check", MANIFEST, "--format", "json", "-o", str(report), env=env).exit_code == 1
    sb.call_log.reset()
    result = cli("request-increases", "--from-report", str(report), "--submit", env=env)
    assert result.exit_code == 0, result.output

    [read_only] = [s for s in policy["Statement"] if s["Sid"] == READ_ONLY_SID]
    submit = statements(policy, submit=True)
    for key in sb.call_log.counts():
        action = iam_action(*key.split(":", 1))
        if is_read_only(key.split(":", 1)[1]):
            assert action in NO_PERMISSION_NEEDED or allowed(action, read_only), action
        else:
            assert action == "servicequotas:RequestServiceQuotaIncrease"
            assert any(allowed(action, s) for s in submit)
            assert not allowed(action, read_only)
