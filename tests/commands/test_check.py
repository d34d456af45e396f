"""`tap-preflight check` end to end against the emulated account: verdicts, exit codes, the report
contract, the limit-reading chain and update-awareness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from preflight.account.aws import Aws
from preflight.account.read import read_account
from preflight.account.sources import PLACEHOLDER_AZS
from preflight.commands.run import run_check
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT
from preflight.gate import GatePolicy
from preflight.manifest import load_manifest
from preflight.quotas.usage import Stack
from tests.conftest import MANIFEST, ROOT, live_source, no_aws_env

REPORT_FIELDS = {
    "service_code", "quota_code", "quota_name", "scope", "limit", "limit_source", "usage", "demand",
    "headroom_after", "utilization_after", "status", "resources", "message",
}  # fmt: skip


def _report(cli, *args: str) -> tuple[int, dict]:
    result = cli("check", MANIFEST, "--env", "prod", "--format", "json", *args)
    return result.exit_code, json.loads(result.output)


def test_seed_account_is_no_go_on_gateway_endpoints_and_concurrency(cli) -> None:
    code, report = _report(cli, "--sandbox", "seed-account")
    assert code == 1
    assert report["schema"] == "tap-preflight/report/v1" and report["verdict"] == "NO_GO"
    failed = {f["quota_code"]: f for f in report["findings"] if f["status"] == "FAIL"}
    assert set(failed) == {"L-1B52E74A", "L-B99A9384"}
    endpoints = failed["L-1B52E74A"]
    assert (endpoints["limit"], endpoints["usage"], endpoints["demand"]) == (20, 20, 2)
    assert endpoints["resources"] == ["endpoints[0]", "endpoints[1]"]
    concurrency = failed["L-B99A9384"]
    assert (concurrency["limit"], concurrency["limit_source"], concurrency["usage"]) == (
        1000,
        "service-api",
        850,
    )
    assert concurrency["headroom_after"] == 1000 - 100 - 850 - 500
    increases = {r["quota_code"]: r for r in report["increase_requests"]}
    assert increases["L-1B52E74A"]["required"] == 22
    assert increases["L-B99A9384"]["required"] == 1450  # 850 held + 500 + the floor of 100
    assert set(increases) == set(failed)


def test_the_increases_named_make_it_fit(cli) -> None:
    code, report = _report(
        cli, "--sandbox", "seed-account", "--limit", "L-1B52E74A=22", "--limit", "L-B99A9384=1450"
    )
    assert code == 0, [f for f in report["findings"] if f["status"] != "OK"]
    assert {f["limit_source"] for f in report["findings"] if f["quota_code"] == "L-1B52E74A"} == {"override"}
    code, report = _report(
        cli, "--sandbox", "seed-account", "--limit", "L-1B52E74A=22", "--limit", "L-B99A9384=1449"
    )
    assert code == 1


def test_fresh_account_is_go(cli) -> None:
    code, report = _report(cli, "--sandbox", "fresh-account")
    assert code == 0 and report["verdict"] == "GO"
    assert {f["status"] for f in report["findings"]} <= {"OK", "WARN"}
    assert all(REPORT_FIELDS <= f.keys() for f in report["findings"])
    assert "adaptations" not in report
    assert report["manifest"]["sha256"] and report["manifest"]["name"] == "tap-pipeline"


def test_new_account_floor_equals_limit(cli) -> None:
    code, report = _report(cli, "--sandbox", "new-account")
    assert code == 1
    finding = next(f for f in report["findings"] if f["quota_code"] == "L-B99A9384")
    assert finding["limit"] == 10 and finding["status"] == "FAIL"
    assert "keeps 10 unreserved" in finding["message"]


def test_warn_threshold_and_fail_on_warn(cli) -> None:
    code, report = _report(cli, "--sandbox", "fresh-account", "--limit", "L-F678F1CE=2")
    vpcs = next(f for f in report["findings"] if f["quota_code"] == "L-F678F1CE")
    assert vpcs["status"] == "WARN" and code == 0  # default VPC + this stack's = 2 of 2
    code, _ = _report(cli, "--sandbox", "fresh-account", "--limit", "L-F678F1CE=2", "--fail-on", "warn")
    assert code == 1
    code, _ = _report(cli, "--sandbox", "seed-account", "--soft-fail")
    assert code == 0


def test_stats_count_each_operation_no_more_than_pagination_needs(cli) -> None:
    _, report = _report(cli, "--sandbox", "seed-account", "--stats")
    calls = report["stats"]["api_calls"]
    assert calls["ec2:DescribeVpcs"] == 1 and calls["lambda:GetAccountSettings"] == 1
    assert calls["service-quotas:ListServiceQuotas"] == 8  # one per service code, one page each
    assert calls["service-quotas:ListAWSDefaultServiceQuotas"] == 8  # read alongside, not after
    assert calls["lambda:GetFunction"] == 5  # this stack's five functions (tags and reservation)
    assert all(
        count == 1 for op, count in calls.items() if not op.startswith(("service-quotas", "lambda:GetF"))
    )
    assert report["stats"]["elapsed_s"] > 0


def test_stats_on_a_deployed_stack_read_each_name_once(cli) -> None:
    """The redeploy scenario holds the stack's own resources: their tags are read, each once."""
    _, report = _report(cli, "--sandbox", "redeploy", "--stats")
    calls = report["stats"]["api_calls"]
    per_function = {"lambda:GetFunction", "lambda:ListTags"}
    assert calls["lambda:GetFunction"] == 5 and calls["lambda:ListTags"] == 5
    per_code = {op for op in calls if op.startswith("service-quotas:")}
    assert {calls[op] for op in per_code} == {8}
    twice = {op: n for op, n in calls.items() if n != 1 and op not in per_function | per_code}
    assert twice == {}, f"operations called more often than their pages need: {twice}"


def test_many_functions_are_listed_once_not_looked_up_one_by_one(cli, tmp_path) -> None:
    """Past 20 functions: one ListFunctions page (the account holds a few), no GetFunction for names
    that do not exist; Lambda allows GetFunction 100 a second, which 1,000 lookups would wait on."""
    from tests.conftest import many_functions_manifest

    many = many_functions_manifest(tmp_path, 300)
    result = cli("check", many, "--env", "prod", "--format", "json", "--sandbox", "seed-account", "--stats")
    assert result.exit_code in (0, 1), result.output
    calls = json.loads(result.output)["stats"]["api_calls"]
    assert calls["lambda:ListFunctions"] == 1
    assert "lambda:GetFunction" not in calls and "lambda:GetFunctionConcurrency" not in calls
    assert sum(calls.values()) < 60, calls


def test_table_output_has_the_verdict_line(cli) -> None:
    result = cli("check", MANIFEST, "--env", "prod", "--sandbox", "seed-account")
    assert result.exit_code == 1
    assert "NO_GO tap-pipeline (prod) in us-east-1" in result.output
    assert "raise vpc/L-1B52E74A (Gateway VPC endpoints per Region) from 20 to 22" in result.output


def test_output_file_is_written_and_the_check_is_read_only(cli, sandbox, tmp_path) -> None:
    sb = sandbox("seed-account")
    out = tmp_path / "report.json"
    env = {"AWS_ENDPOINT_URL": sb.endpoint_url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
    result = cli("check", MANIFEST, "--env", "prod", "--format", "json", "-o", str(out), env=env)
    assert result.exit_code == 1, result.output
    assert json.loads(out.read_text())["verdict"] == "NO_GO"
    assert sb.call_log.total() > 0 and sb.call_log.mutating_calls() == []


def test_no_credentials_exits_3_naming_the_call() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "check", MANIFEST, "--env", "prod"],
        capture_output=True, text=True, cwd=ROOT, env=no_aws_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "no AWS credentials found" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_endpoint_exits_3(cli) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
           "AWS_MAX_ATTEMPTS": "1"}  # fmt: skip
    result = cli("check", MANIFEST, "--env", "prod", env=env)
    assert result.exit_code == 3
    assert "cannot reach the AWS endpoint" in result.output


# --- the limit-reading chain --------------------------------------------------------------------


def _state(sb, region: str = "us-east-1"):
    stack = Stack.of(load_manifest(MANIFEST, "prod").requested(region, PLACEHOLDER_AZS))
    aws = Aws(region, endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    return read_account(aws, stack)


def test_applied_value_wins_over_default(sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_applied_quota("vpc", "L-1B52E74A", 40)
    limit = _state(sb).limit("L-1B52E74A")
    assert (limit.value, limit.source) == (40, "applied")


def test_global_quotas_are_read_in_us_east_1(sandbox) -> None:
    sb = sandbox("fresh-account", region="eu-central-1")
    sb.set_applied_quota("iam", "L-FE177D64", 1500, region="us-east-1")
    sb.set_applied_quota("s3", "L-DC2B2D3D", 20000, region="us-east-1")
    state = _state(sb, "eu-central-1")
    assert state.limit("L-FE177D64").value == 1500 and state.limit("L-FE177D64").source == "applied"
    assert state.limit("L-DC2B2D3D").value == 20000
    # Kinesis' default differs by region: 1,000 in Frankfurt (the lower of the page's "1,000 or 6,000").
    assert state.limit("L-0918CF54").value == 1000


def test_the_service_api_wins_over_the_published_default(sandbox) -> None:
    """An older account: Kinesis enforces 300 shards, Service Quotas lists nothing, the default is 20,000."""
    sb = sandbox("fresh-account")
    sb.set_applied_quota("kinesis", "L-0918CF54", 300, listed=False)
    sb.set_applied_quota("ec2", "L-0263D0A3", 3, listed=False)
    sb.set_applied_quota("iam", "L-FE177D64", 700, listed=False)
    state = _state(sb)
    shards = state.limit("L-0918CF54")
    assert (shards.value, shards.source) == (300, "service-api")
    assert "below AWS's published default of 20000" in shards.detail
    assert (state.limit("L-0263D0A3").value, state.limit("L-0263D0A3").source) == (3, "service-api")
    assert (state.limit("L-FE177D64").value, state.limit("L-FE177D64").source) == (700, "service-api")


def test_an_applied_value_wins_over_the_service_api(sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_applied_quota("kinesis", "L-0918CF54", 800)
    shards = _state(sb).limit("L-0918CF54")
    assert (shards.value, shards.source) == (800, "applied")


def test_the_published_default_when_the_service_api_does_not_answer(sandbox) -> None:
    from preflight.sandbox import FaultConfig

    sb = sandbox("fresh-account")
    sb.set_faults(FaultConfig(deny=frozenset({"kinesis:DescribeLimits"})))
    shards = _state(sb).limit("L-0918CF54")
    assert (shards.value, shards.source) == (20000, "default")
    assert "own limit could not be read (kinesis:DescribeLimits failed: access denied" in shards.detail


def test_low_kinesis_is_no_go(cli) -> None:
    """Judged against the published default (20,000) this account would be a false GO."""
    code, report = _report(cli, "--sandbox", "low-kinesis")
    assert code == 1 and report["verdict"] == "NO_GO"
    failed = {f["quota_code"]: f for f in report["findings"] if f["status"] == "FAIL"}
    assert set(failed) == {"L-0918CF54"}
    shards = failed["L-0918CF54"]
    assert (shards["limit"], shards["limit_source"], shards["usage"], shards["demand"]) == (
        500,
        "service-api",
        498,
        4,
    )
    increases = {r["quota_code"]: r for r in report["increase_requests"]}
    assert (increases["L-0918CF54"]["current"], increases["L-0918CF54"]["required"]) == (500, 502)


def test_neighbours_in_the_stacks_own_vpc_count(cli) -> None:
    """Untagged subnets, endpoints and ENIs in the stack's VPC stay after the deploy: they take quota."""
    code, report = _report(cli, "--sandbox", "neighbour-vpc")
    assert code == 1 and report["verdict"] == "NO_GO"
    failed = {
        f["quota_code"]: (f["usage"], f["demand"], f["limit"])
        for f in report["findings"]
        if f["status"] == "FAIL"
    }
    assert failed == {"L-407747CB": (2, 4, 5), "L-29B6F2EB": (1, 1, 1), "L-DF5E4CA3": (5, 4, 8)}
    vpcs = next(f for f in report["findings"] if f["quota_code"] == "L-F678F1CE")
    assert vpcs["usage"] == 1  # the stack's own (tagged) VPC is not counted twice: only the default VPC


def test_redeploy_counts_the_reshard_and_not_the_stacks_own_reservations(cli) -> None:
    code, report = _report(cli, "--sandbox", "redeploy")
    assert code == 1 and report["verdict"] == "NO_GO"
    findings = {f["quota_code"]: f for f in report["findings"]}
    shards = findings["L-0918CF54"]
    # 2 open now + 4 made while UpdateShardCount runs: 6 of 5 (the end state alone, 4, would fit).
    assert (shards["status"], shards["usage"], shards["demand"], shards["limit"]) == ("FAIL", 0, 6, 5)
    assert "resharding 2 -> 4" in shards["message"]
    concurrency = findings["L-B99A9384"]
    # Others hold 300; the stack's current 560 are given back; the program cuts before it raises.
    assert (concurrency["status"], concurrency["usage"], concurrency["demand"]) == ("WARN", 300, 500)


def test_a_reshard_beyond_one_call_is_a_finding_without_an_increase(cli, tmp_path) -> None:
    scenario = tmp_path / "one-shard.yaml"
    scenario.write_text(
        "streams:\n"
        "  - name: pipeline-events-prod\n"
        "    shards: 1\n"
        '    tags: {"tap:project": tap-pipeline, "tap:environment": prod}\n'
    )
    code, report = _report(cli, "--sandbox", str(scenario))
    assert code == 1
    [finding] = [f for f in report["findings"] if f["status"] == "FAIL"]
    assert finding["scope"] == "stream:pipeline-events-prod" and finding["quota_code"] == "L-0918CF54"
    assert (finding["usage"], finding["demand"], finding["limit"]) == (1, 4, 2)
    assert "needs 2 calls (1 -> 2 -> 4)" in finding["message"]
    assert report["increase_requests"] == []  # no quota increase makes one call do it


def test_the_plan_records_what_the_redeploy_changes_from(cli, tmp_path) -> None:
    plan_path = tmp_path / "plan.json"
    cli("plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "redeploy", "--save-plan", str(plan_path))
    current = json.loads(plan_path.read_text())["current"]
    assert current["stream_shards"] == {"pipeline-events-prod": 2}
    assert current["reservations"] == {
        "pipeline-ingest-prod": 400,
        "pipeline-transform-prod": 100,
        "pipeline-enrich-prod": 50,
        "pipeline-aggregate-prod": 10,
        "pipeline-archive-prod": None,
    }


def test_lambda_concurrency_comes_from_get_account_settings(sandbox) -> None:
    sb = sandbox("new-account")
    limit = _state(sb).limit("L-B99A9384")
    assert (limit.value, limit.source) == (10, "service-api")


def test_unknown_limit_fails_closed_unless_allowed(sandbox) -> None:
    """A quota whose limit nothing answers is UNKNOWN, and the gate blocks (exit 3) unless allowed.

    The account denies Service Quotas: SNS has no API of its own that tells its topic limit.
    """
    from preflight.gate import exit_code
    from preflight.sandbox import FaultConfig

    sb = sandbox("fresh-account")
    sb.set_faults(
        FaultConfig(
            deny=frozenset({"service-quotas:ListServiceQuotas", "service-quotas:ListAWSDefaultServiceQuotas"})
        )
    )
    manifest = load_manifest(MANIFEST, "prod")
    report = run_check(manifest, live_source(sb), "us-east-1", GatePolicy())
    topic = next(f for f in report.findings if f.quota_code == "L-61103206")
    assert topic.status == "UNKNOWN" and topic.limit is None and topic.limit_source == "unknown"
    assert "access denied (needs servicequotas:ListServiceQuotas)" in topic.message
    assert not [f for f in report.findings if f.status == "FAIL"]
    assert report.verdict == "NO_GO" and exit_code(report, GatePolicy()) == 3
    allowed = GatePolicy.from_flags(allow_unknown=True)
    report = run_check(manifest, live_source(sb), "us-east-1", allowed)
    assert report.verdict == "GO" and exit_code(report, allowed) == 0


# --- update-aware -------------------------------------------------------------------------------


def _deploy_own_stack(sb, deployment) -> None:
    """Create this stack's resources as the Pulumi program would (same names, same tags: without its
    tags a named resource is someone else's, a conflict)."""
    tags = [
        {"Key": TAG_PROJECT, "Value": deployment.project},
        {"Key": TAG_ENVIRONMENT, "Value": deployment.environment},
    ]
    spec = lambda kind: [{"ResourceType": kind, "Tags": tags}]  # noqa: E731
    ec2 = sb.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=deployment.vpc.cidr, TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    subnets = {
        s.name: ec2.create_subnet(
            VpcId=vpc, CidrBlock=s.cidr, AvailabilityZone=s.az, TagSpecifications=spec("subnet")
        )["Subnet"]["SubnetId"]
        for s in deployment.vpc.subnets
    }
    ec2.create_internet_gateway(TagSpecifications=spec("internet-gateway"))
    for sg in deployment.security_groups:
        ec2.create_security_group(
            GroupName=sg.name, Description="x", VpcId=vpc, TagSpecifications=spec("security-group")
        )
    private = [sid for name, sid in subnets.items() if "private" in name]
    for ep in deployment.endpoints:
        kwargs = {"SubnetIds": private} if ep.type == "interface" else {}
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{deployment.region}.{ep.service}",
            VpcEndpointType=ep.type.capitalize(),
            TagSpecifications=spec("vpc-endpoint"),
            **kwargs,
        )
    iam = sb.client("iam")
    role = iam.create_role(RoleName=deployment.role.name, AssumeRolePolicyDocument="{}", Tags=tags)["Role"][
        "Arn"
    ]
    lam = sb.client("lambda")
    for f in deployment.functions:
        lam.create_function(
            FunctionName=f.name, Runtime=f.runtime, Role=role, Handler=f.handler,
            Code={"ZipFile": (ROOT / "handlers" / f"{f.key}.py").read_bytes()}, Tags=deployment.tags,
        )  # fmt: skip
        if f.reserved_concurrency:
            lam.put_function_concurrency(
                FunctionName=f.name, ReservedConcurrentExecutions=f.reserved_concurrency
            )
    sb.client("kinesis").create_stream(
        StreamName=deployment.streams[0].name, ShardCount=deployment.streams[0].shards
    )
    sb.client("kinesis").add_tags_to_stream(StreamName=deployment.streams[0].name, Tags=deployment.tags)
    sb.client("dynamodb").create_table(
        TableName=deployment.tables[0].name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tags,
    )
    sb.client("s3").create_bucket(Bucket=deployment.buckets[0].name)
    sb.client("s3").put_bucket_tagging(Bucket=deployment.buckets[0].name, Tagging={"TagSet": tags})
    sb.client("sns").create_topic(Name=deployment.topics[0].name, Tags=tags)


@pytest.mark.parametrize(
    "limits",
    [
        {},
        # Exactly full after this deploy: counting the stack twice would turn these into FAIL.
        {"L-F678F1CE": 2, "L-A4707A72": 1, "L-1B52E74A": 2, "L-B99A9384": 600},
    ],
)
def test_redeploying_the_stack_does_not_count_it_twice(sandbox, limits: dict[str, float]) -> None:
    sb = sandbox("fresh-account")
    for code, value in limits.items():
        sb.set_applied_quota("", code, value)
    manifest = load_manifest(MANIFEST, "prod")
    before = run_check(manifest, live_source(sb), "us-east-1", GatePolicy())
    _deploy_own_stack(sb, manifest.requested("us-east-1", before_azs(before, sb)))
    after = run_check(manifest, live_source(sb), "us-east-1", GatePolicy())
    assert before.verdict == after.verdict == "GO"
    assert after.checks == ()  # every name is the stack's own, by its tags
    assert [
        (f.quota_code, f.scope, f.usage, f.status) for f in before.findings if f.quota_code != "L-2ACBD22F"
    ] == [(f.quota_code, f.scope, f.usage, f.status) for f in after.findings if f.quota_code != "L-2ACBD22F"]


def before_azs(report, sb) -> tuple[str, ...]:
    zones = sb.client("ec2").describe_availability_zones()["AvailabilityZones"]
    return tuple(sorted(z["ZoneName"] for z in zones))


def test_role_arn_assumes_the_role_first(cli) -> None:
    role = "arn:aws:iam::123456789012:role/deployer"
    result = cli(
        "check", MANIFEST, "--sandbox", "fresh-account", "--role-arn", role, "--format", "json", "--stats"
    )
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["stats"]["api_calls"]["sts:AssumeRole"] == 1


def test_warn_starts_at_the_threshold() -> None:
    from preflight.demand import Demand
    from preflight.evaluate import evaluate_demand
    from tests.conftest import synthetic_state

    state = synthetic_state(limits={"L-F678F1CE": 5}, usage={"L-F678F1CE": {"region": 3}})
    at = evaluate_demand(Demand("L-F678F1CE", "region", 1, ("vpc",)), state, warn_threshold=0.8)
    assert (at.status, at.utilization_after, at.headroom_after) == ("WARN", 0.8, 1)  # 4 of 5: 80 %
    below = evaluate_demand(Demand("L-F678F1CE", "region", 1, ("vpc",)), state, warn_threshold=0.81)
    assert below.status == "OK"
    full = evaluate_demand(Demand("L-F678F1CE", "region", 2, ("vpc",)), state, warn_threshold=0.8)
    assert (full.status, full.headroom_after) == ("WARN", 0)  # exactly full still fits
    over = evaluate_demand(Demand("L-F678F1CE", "region", 3, ("vpc",)), state, warn_threshold=0.8)
    assert (over.status, over.headroom_after) == ("FAIL", -1)


def test_an_increase_covers_the_fullest_scope() -> None:
    from preflight.demand import Demand
    from preflight.evaluate import evaluate_demand, increase_requests
    from tests.conftest import synthetic_state

    state = synthetic_state(
        limits={"L-FE5A380F": 1}, usage={"L-FE5A380F": {"az:us-east-1a": 2, "az:us-east-1b": 1}}
    )
    findings = [
        evaluate_demand(Demand("L-FE5A380F", f"az:us-east-1{z}", 1, ("vpc",)), state, 0.8) for z in "ab"
    ]
    assert [f.status for f in findings] == ["FAIL", "FAIL"]
    for order in (findings, findings[::-1]):
        [request] = increase_requests(order)
        assert (request.current, request.required) == (1, 3)  # 2 in use + 1 in us-east-1a
