"""Large accounts and the rules AWS applies to listings: every listing pages with an explicit page
size, the emulated account refuses unpaginated calls where AWS documents it (S3's ListBuckets),
endpoints being deleted still count, AWS-managed interfaces are asked for, global quotas are read in
the partition's home region."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from preflight.account.aws import PAGE_SIZES
from preflight.evaluate import increase_requests
from preflight.quotas import catalog
from preflight.report.report import Finding
from tests.conftest import MANIFEST


def test_every_listing_the_gate_makes_has_a_page_size(sandbox, cli) -> None:
    sb = sandbox("seed-account")
    env = {"AWS_ENDPOINT_URL": sb.endpoint_url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
    assert cli("check", MANIFEST, "--env", "prod", "--format", "json", env=env).exit_code == 1
    listings = {k for k in sb.call_log.counts() if k.split(":")[1].startswith(("Describe", "List"))}
    single = {"ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones", "ec2:DescribeAccountAttributes",
              "kinesis:DescribeLimits", "kinesis:DescribeStreamSummary"}  # fmt: skip  # not paginated APIs
    assert listings - single - set(LOOKUPS_BY_NAME) <= {f"{s}:{op}" for s, op in PAGE_SIZES}


# Reads of the stack's own names (the name checks): a lookup of N named items answers at most N, so it
# is not a listing that grows with the account. Each is allowed only as long as every call names them.
LOOKUPS_BY_NAME = {
    "dynamodb:DescribeTable": "TableName",
    "cloudwatch:DescribeAlarms": "AlarmNames",
    "ec2:DescribeVpcEndpointServices": "ServiceNames",
}


def test_the_lookups_exempt_from_paging_always_name_what_they_read() -> None:
    gate = Path(__file__).resolve().parents[2] / "preflight"
    sites: dict[str, list[set[str]]] = {op.split(":")[1]: [] for op in LOOKUPS_BY_NAME}
    for path in gate.rglob("*.py"):
        if "sandbox" in path.relative_to(gate).parts:  # not the checkout's own path
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            # The catalog's declarations name operations (`counted(...)`) without calling them.
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id == "counted"
            ):
                ops = [a.value for a in node.args if isinstance(a, ast.Constant) and a.value in sites]
                for op in ops:
                    sites[op].append({k.arg for k in node.keywords if k.arg})
    for key, parameter in LOOKUPS_BY_NAME.items():
        calls = sites[key.split(":")[1]]
        assert calls, f"{key} is no longer called: drop it from the exemptions"
        assert all(parameter in keywords for keywords in calls), f"a {key} call without {parameter}"


def test_unpaginated_describe_answers_everything_and_pages_on_request(sandbox) -> None:
    # EC2's pagination guide documents no refusal of an unpaginated call (only that it "might be
    # throttled and could time out"), so the emulated account answers every item.
    sb = sandbox("fresh-account")
    sb.set_applied_quota("vpc", "L-E79EC296", 5000)
    ec2 = sb.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    from moto.backends import get_backend

    backend = get_backend("ec2")["123456789012"]["us-east-1"]
    for i in range(1005):  # in-process: a thousand groups in a second, not through HTTP
        backend.create_security_group(name=f"g{i}", description="x", vpc_id=vpc)
    assert len(ec2.describe_security_groups()["SecurityGroups"]) == 1006
    pages = list(ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 400}))
    assert [len(p["SecurityGroups"]) for p in pages] == [400, 400, 206]  # 1005 + the default group


def test_list_buckets_pages_and_is_refused_unpaginated_above_10000(sandbox) -> None:
    sb = sandbox("fresh-account")
    s3 = sb.client("s3")
    for name in ("a-bucket-1", "a-bucket-2", "a-bucket-3"):
        s3.create_bucket(Bucket=name)
    assert len(s3.list_buckets()["Buckets"]) == 3  # the default quota: unpaginated still works
    pages = list(s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Buckets"]) for p in pages] == [2, 1]
    sb.set_applied_quota("s3", "L-DC2B2D3D", 20000)
    with pytest.raises(ClientError):
        s3.list_buckets()
    assert len(s3.list_buckets(MaxBuckets=10)["Buckets"]) == 3


def test_managed_interfaces_are_hidden_unless_asked_for(sandbox) -> None:
    sb = sandbox("fresh-account")
    ec2 = sb.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet)
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.us-east-1.sqs", VpcEndpointType="Interface", SubnetIds=[subnet]
    )
    assert len(ec2.describe_network_interfaces()["NetworkInterfaces"]) == 1
    assert len(ec2.describe_network_interfaces(IncludeManagedResources=True)["NetworkInterfaces"]) == 2


def test_an_endpoint_being_deleted_still_counts(sandbox) -> None:
    from moto.backends import get_backend

    from tests.quotas.test_usage import read

    sb = sandbox("seed-account")
    backend = get_backend("ec2")["123456789012"]["us-east-1"]
    endpoint = next(iter(backend.vpc_end_points.values()))
    endpoint.state = "deleting"
    assert read(sb).usage_in("L-1B52E74A", "region") == 20
    ec2 = sb.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    with pytest.raises(ClientError) as info:  # the account holds the slot too
        ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway"
        )
    assert info.value.response["Error"]["Code"] == "VpcEndpointLimitExceeded"


@pytest.mark.parametrize(
    ("region", "home"),
    [("eu-central-1", "us-east-1"), ("cn-northwest-1", "cn-north-1"), ("us-gov-east-1", "us-gov-west-1"),
     ("us-east-1", "us-east-1")],
)  # fmt: skip
def test_global_quotas_are_read_in_the_partitions_home_region(region: str, home: str) -> None:
    assert catalog.home_region(region) == home


def _fail(code: str, limit: float, usage: float, demand: float, status: str = "FAIL") -> Finding:
    q = catalog.quota(code)
    return Finding(
        service_code=q.service_code, quota_code=code, quota_name=q.name, scope="region", limit=limit,
        limit_source="default", usage=usage, demand=demand, headroom_after=limit - usage - demand,
        utilization_after=None, status=status, resources=(), message="",
    )  # fmt: skip


def test_an_internet_gateway_shortfall_asks_for_more_vpcs() -> None:
    findings = [_fail("L-F678F1CE", 8, 3, 1, "OK"), _fail("L-A4707A72", 5, 5, 1)]
    [request] = increase_requests(findings)
    assert (request.quota_code, request.current, request.required) == ("L-F678F1CE", 8, 6)
    both = [_fail("L-F678F1CE", 5, 6, 1), _fail("L-A4707A72", 5, 5, 1)]
    [request] = increase_requests(both)
    assert (request.quota_code, request.current, request.required) == ("L-F678F1CE", 5, 7)


def test_a_large_account_is_read_in_pages_and_fits(cli) -> None:
    """12,000 buckets with a 20,000 quota (unpaginated ListBuckets is refused there), 2,500 ENIs,
    1,500 security groups, 1,200 functions: the gate pages through all of it."""
    import json

    result = cli(
        "check", MANIFEST, "--env", "prod", "--sandbox", "large-account", "--format", "json", "--stats"
    )
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["verdict"] == "GO", [
        f for f in report["findings"] if f["status"] != "OK"
    ]
    usage = {f["quota_code"]: f["usage"] for f in report["findings"]}
    assert usage["L-DC2B2D3D"] == 12000
    assert usage["L-DF5E4CA3"] == 2500
    assert usage["L-E79EC296"] >= 1500
    calls = report["stats"]["api_calls"]
    assert calls["s3:ListBuckets"] == 2 and calls["ec2:DescribeNetworkInterfaces"] == 3


def test_a_page_chain_is_the_unpaginated_answer_cut_in_order(sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_applied_quota("vpc", "L-E79EC296", 5000)
    ec2 = sb.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    from moto.backends import get_backend

    backend = get_backend("ec2")["123456789012"]["us-east-1"]
    for i in range(23):
        backend.create_security_group(name=f"g{i}", description="x", vpc_id=vpc)
    whole = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    pages = list(ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5}))
    assert [g["GroupId"] for p in pages for g in p["SecurityGroups"]] == whole
    assert [len(p["SecurityGroups"]) for p in pages] == [5, 5, 5, 5, 4]
    # A chain's token resumes that chain only: another question is answered afresh, where offset 5
    # of a one-group answer is no place to resume.
    token = pages[0]["NextToken"]
    one = [{"Name": "group-name", "Values": ["g3"]}]
    with pytest.raises(ClientError) as info:
        ec2.describe_security_groups(MaxResults=5, NextToken=token, Filters=one)
    assert info.value.response["Error"]["Code"] == "InvalidNextToken"
    with pytest.raises(ClientError) as info:
        ec2.describe_security_groups(MaxResults=5, NextToken="not-a-token")
    assert info.value.response["Error"]["Code"] == "InvalidNextToken"


def test_a_listing_rendered_once_per_chain_pages_like_the_whole_answer(sandbox) -> None:
    # VPCs are not cut in moto's backend: their chain is rendered on its first page and kept.
    sb = sandbox("fresh-account")
    sb.set_applied_quota("vpc", "L-F678F1CE", 50)
    ec2 = sb.client("ec2")
    for i in range(12):
        ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")
    whole = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    pages = list(ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Vpcs"]) for p in pages] == [5, 5, 3]  # 12 + the default VPC
    assert [v["VpcId"] for p in pages for v in p["Vpcs"]] == whole
    ec2.create_vpc(CidrBlock="10.99.0.0/16")  # a chain already started keeps its snapshot
    rest = ec2.describe_vpcs(MaxResults=5, NextToken=pages[1]["NextToken"])
    assert [v["VpcId"] for v in rest["Vpcs"]] == whole[10:]
    assert "NextToken" not in rest
