"""Every catalog quota: its usage is counted from the right API, in the right scope, leaving this
stack's own resources out. Each test creates resources in a fresh emulated account through boto3 and
reads the account as the product does (over HTTP)."""

from __future__ import annotations

import io
import zipfile

import pytest

from preflight.account.aws import Aws
from preflight.account.read import AccountState, read_account
from preflight.account.sources import PLACEHOLDER_AZS
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT
from preflight.manifest import load_manifest
from preflight.quotas import catalog
from preflight.quotas.usage import COUNTERS, Stack
from tests.conftest import MANIFEST

DEPLOYMENT = load_manifest(MANIFEST, "prod").requested("us-east-1", PLACEHOLDER_AZS)
STACK = Stack.of(DEPLOYMENT)
OWN_TAGS = [{"Key": TAG_PROJECT, "Value": "tap-pipeline"}, {"Key": TAG_ENVIRONMENT, "Value": "prod"}]
OTHER_TAGS = [{"Key": TAG_PROJECT, "Value": "someone-else"}, {"Key": TAG_ENVIRONMENT, "Value": "prod"}]
OWN_VPC = f"vpc:{DEPLOYMENT.vpc.name}"
POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
)


def tagged(resource: str, tags: list[dict[str, str]]) -> list[dict[str, object]]:
    return [{"ResourceType": resource, "Tags": tags}]


def read(sb, stack: Stack = STACK) -> AccountState:
    return read_account(
        Aws(sb.region, endpoint_url=sb.endpoint_url, credentials=("testing", "testing")), stack
    )


def usage(state: AccountState, code: str, scope: str = "region") -> float | None:
    return state.usage_in(code, scope)


def test_every_catalog_quota_has_a_counter_and_a_test() -> None:
    assert set(COUNTERS) == {q.quota_code for q in catalog.QUOTAS}, "one counter per quota, no other"
    assert {COUNTERS[q.quota_code].__name__ for q in catalog.QUOTAS} <= set(COUNTER_TESTS)


@pytest.mark.parametrize("key", [q.key for q in catalog.QUOTAS])
def test_each_counters_test_fails_when_the_counter_returns_a_constant(
    sandbox, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """Coverage that counts: the counter's own test, run against a counter frozen at its first answer,
    must fail (a test that passes with a constant checks nothing the counter does)."""
    code = catalog.quota(key).quota_code
    real = COUNTERS[code]
    first: list[dict] = []

    def frozen(reads):
        if not first:
            first.append(real(reads))
        return first[0]

    monkeypatch.setitem(COUNTERS, code, frozen)
    with pytest.raises(AssertionError):
        COUNTER_TESTS[real.__name__](sandbox)


def _vpc(ec2, tags=None, cidr="10.9.0.0/16") -> str:
    kwargs = {"TagSpecifications": tagged("vpc", tags)} if tags else {}
    return ec2.create_vpc(CidrBlock=cidr, **kwargs)["Vpc"]["VpcId"]


def _subnet(ec2, vpc: str, cidr: str, az: str = "us-east-1a", tags=None) -> str:
    kwargs = {"TagSpecifications": tagged("subnet", tags)} if tags else {}
    return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az, **kwargs)["Subnet"]["SubnetId"]


def test_vpcs(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-F678F1CE")
    _vpc(ec2, OTHER_TAGS)
    _vpc(ec2, OWN_TAGS, "10.8.0.0/16")
    assert usage(read(sb), "L-F678F1CE") == before + 1


def test_internet_gateways(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-A4707A72")
    ec2.create_internet_gateway(TagSpecifications=tagged("internet-gateway", OTHER_TAGS))
    ec2.create_internet_gateway(TagSpecifications=tagged("internet-gateway", OWN_TAGS))
    assert usage(read(sb), "L-A4707A72") == before + 1


def test_nat_gateways_per_az(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    vpc = _vpc(ec2)
    sub_a = _subnet(ec2, vpc, "10.9.1.0/24", "us-east-1a")
    sub_b = _subnet(ec2, vpc, "10.9.2.0/24", "us-east-1b")

    def nat(subnet: str, tags=None) -> str:
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        kwargs = {"TagSpecifications": tagged("natgateway", tags)} if tags else {}
        return ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip, **kwargs)["NatGateway"][
            "NatGatewayId"
        ]

    assert usage(read(sb), "L-FE5A380F", "az:us-east-1a") == 0
    nat(sub_a)
    nat(sub_a, OWN_TAGS)  # this stack's: not counted
    gone = nat(sub_a)
    ec2.delete_nat_gateway(NatGatewayId=gone)  # deleted ones do not count
    nat(sub_b)
    state = read(sb)
    assert usage(state, "L-FE5A380F", "az:us-east-1a") == 1
    assert usage(state, "L-FE5A380F", "az:us-east-1b") == 1
    assert usage(state, "L-FE5A380F", "az:us-east-1c") == 0


def test_elastic_ips(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-0263D0A3")
    ec2.allocate_address(Domain="vpc")
    ec2.allocate_address(Domain="vpc", TagSpecifications=tagged("elastic-ip", OWN_TAGS))
    assert usage(read(sb), "L-0263D0A3") == before + 1


def test_subnets_per_vpc(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    assert usage(read(sb), "L-407747CB", OWN_VPC) == 0  # the stack's VPC does not exist yet
    own = _vpc(ec2, OWN_TAGS, "10.7.0.0/16")
    other = _vpc(ec2, OTHER_TAGS)
    _subnet(ec2, own, "10.7.1.0/24", tags=OWN_TAGS)
    _subnet(ec2, own, "10.7.2.0/24")  # untagged, inside this stack's VPC: a neighbour, the deploy keeps it
    _subnet(ec2, own, "10.7.3.0/24", tags=OTHER_TAGS)  # another stack's subnet in this VPC
    _subnet(ec2, other, "10.9.1.0/24")
    _subnet(ec2, other, "10.9.2.0/24")
    assert usage(read(sb), "L-407747CB", OWN_VPC) == 2


def test_security_groups(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-E79EC296")
    own = _vpc(ec2, OWN_TAGS, "10.7.0.0/16")  # its default group comes with it: the demand counts it
    other = _vpc(ec2, OTHER_TAGS)  # its default group counts
    ec2.create_security_group(GroupName="a", Description="a", VpcId=other)
    ec2.create_security_group(GroupName="b", Description="b", VpcId=own)  # untagged in this VPC: counts
    ec2.create_security_group(
        GroupName="c", Description="c", VpcId=other, TagSpecifications=tagged("security-group", OWN_TAGS)
    )
    assert usage(read(sb), "L-E79EC296") == before + 3


def _group(ec2, name: str, vpc: str, tags=None) -> str:
    kwargs = {"TagSpecifications": tagged("security-group", tags)} if tags else {}
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc, **kwargs)["GroupId"]


def _ingress(ec2, group: str, ports: range, cidr: str = "10.0.0.0/8") -> None:
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": cidr}]} for p in ports
        ],
    )


def test_security_group_rules(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    endpoints_sg, lambda_sg = (sg.name for sg in DEPLOYMENT.security_groups)
    scope = lambda name, direction: f"sg:{name}:{direction}"  # noqa: E731
    assert usage(read(sb), "L-0EA8095F", scope(endpoints_sg, "ingress")) == 0  # no group yet: a new one
    own_vpc = _vpc(ec2, OWN_TAGS, "10.0.0.0/16")
    # This stack's endpoint group, deployed: its own rule (443 from the VPC) and its allow-all egress
    # (both in the manifest) plus three rules someone added by hand, which a deploy leaves in place.
    group = _group(ec2, endpoints_sg, own_vpc, OWN_TAGS)
    _ingress(ec2, group, range(443, 444), "10.0.0.0/16")
    _ingress(ec2, group, range(8000, 8003))
    own_lambda = _group(ec2, lambda_sg, own_vpc, OWN_TAGS)
    ec2.authorize_security_group_egress(
        GroupId=own_lambda,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    )
    # Another stack's busy group: its 59 rules count against that group, not this stack's.
    _ingress(ec2, _group(ec2, "busy", _vpc(ec2, OTHER_TAGS)), range(1000, 1059))
    state = read(sb)
    assert usage(state, "L-0EA8095F", scope(endpoints_sg, "ingress")) == 3
    assert usage(state, "L-0EA8095F", scope(endpoints_sg, "egress")) == 0
    assert usage(state, "L-0EA8095F", scope(lambda_sg, "ingress")) == 0
    assert usage(state, "L-0EA8095F", scope(lambda_sg, "egress")) == 1
    assert all(not key.startswith("sg:busy") for key in state.usage["L-0EA8095F"].scopes)


def test_gateway_endpoints(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-1B52E74A")
    vpc = _vpc(ec2)
    for service in ("s3", "dynamodb"):
        ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Gateway"
        )
    ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        TagSpecifications=tagged("vpc-endpoint", OWN_TAGS),
    )
    # Interface endpoints are another quota.
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.sqs", VpcEndpointType="Interface")
    assert usage(read(sb), "L-1B52E74A") == before + 2


def test_interface_endpoints_per_vpc(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    own = _vpc(ec2, OWN_TAGS, "10.7.0.0/16")
    other = _vpc(ec2, OTHER_TAGS)
    assert usage(read(sb), "L-29B6F2EB", OWN_VPC) == 0

    def endpoint(vpc: str, service: str, tags=None) -> None:
        kwargs = {"TagSpecifications": tagged("vpc-endpoint", tags)} if tags else {}
        ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Interface", **kwargs
        )

    endpoint(other, "sqs")
    endpoint(other, "sns")  # another VPC's endpoints never count here
    endpoint(own, "kinesis-streams", OWN_TAGS)  # this stack's
    endpoint(own, "sqs", OTHER_TAGS)  # another stack's endpoint inside this VPC
    endpoint(own, "sns")  # untagged inside this VPC: a neighbour's
    ec2.create_vpc_endpoint(VpcId=own, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway")
    assert usage(read(sb), "L-29B6F2EB", OWN_VPC) == 2


def test_network_interfaces(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    before = usage(read(sb), "L-DF5E4CA3")
    other_subnet = _subnet(ec2, _vpc(ec2, OTHER_TAGS), "10.9.1.0/24")
    own_vpc = _vpc(ec2, OWN_TAGS, "10.7.0.0/16")
    own_subnet = _subnet(ec2, own_vpc, "10.7.1.0/24", tags=OWN_TAGS)
    ec2.create_network_interface(SubnetId=other_subnet)
    ec2.create_network_interface(SubnetId=other_subnet)
    ec2.create_network_interface(SubnetId=own_subnet)  # untagged in this stack's VPC: a neighbour's
    ec2.create_network_interface(SubnetId=own_subnet, TagSpecifications=tagged("network-interface", OWN_TAGS))
    # The ENIs AWS makes for this stack's interface endpoint are the stack's (they carry no tags).
    endpoint = ec2.create_vpc_endpoint(
        VpcId=own_vpc,
        ServiceName="com.amazonaws.us-east-1.kinesis-streams",
        VpcEndpointType="Interface",
        SubnetIds=[own_subnet],
        TagSpecifications=tagged("vpc-endpoint", OWN_TAGS),
    )["VpcEndpoint"]
    assert endpoint["NetworkInterfaceIds"]
    # ...and a neighbour's endpoint's ENIs are not.
    ec2.create_vpc_endpoint(
        VpcId=own_vpc,
        ServiceName="com.amazonaws.us-east-1.sqs",
        VpcEndpointType="Interface",
        SubnetIds=[own_subnet],
    )
    assert usage(read(sb), "L-DF5E4CA3") == before + 4


def test_lambda_enis_per_vpc(sandbox) -> None:
    sb = sandbox()
    ec2 = sb.client("ec2")
    assert usage(read(sb), "L-9FEE3D26", OWN_VPC) == 0  # the stack's VPC does not exist yet
    own_vpc = _vpc(ec2, OWN_TAGS, "10.0.0.0/16")
    subnets = [_subnet(ec2, own_vpc, f"10.0.{i}.0/24", f"us-east-1{z}") for i, z in ((1, "a"), (2, "b"))]
    own_sg = _group(ec2, DEPLOYMENT.lambda_security_group, own_vpc, OWN_TAGS)
    other_sg = _group(ec2, "other-functions", own_vpc)
    # This stack's functions (one ENI per subnet, shared): the ENIs its redeploy uses again.
    _function(sb, "pipeline-ingest-prod", vpc={"SubnetIds": subnets, "SecurityGroupIds": [own_sg]})
    _function(sb, "pipeline-enrich-prod", vpc={"SubnetIds": subnets, "SecurityGroupIds": [own_sg]})
    # Other functions in the same VPC: one ENI per subnet x group combination, shared between them.
    _function(sb, "other-a", vpc={"SubnetIds": subnets, "SecurityGroupIds": [other_sg]})
    _function(sb, "other-b", vpc={"SubnetIds": subnets[:1], "SecurityGroupIds": [other_sg]})
    _function(sb, "other-c", vpc={"SubnetIds": subnets[:1], "SecurityGroupIds": [own_sg, other_sg]})
    # Neither a Lambda ENI nor in this VPC: not counted here.
    ec2.create_network_interface(SubnetId=subnets[0])
    elsewhere = _vpc(ec2, OTHER_TAGS)
    _function(
        sb,
        "other-d",
        vpc={
            "SubnetIds": [_subnet(ec2, elsewhere, "10.9.1.0/24")],
            "SecurityGroupIds": [_group(ec2, "d", elsewhere)],
        },
    )
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "interface-type", "Values": ["lambda"]}])
    assert len(enis["NetworkInterfaces"]) == 6  # 2 of this stack, 2 + 1 of others here, 1 elsewhere
    assert usage(read(sb), "L-9FEE3D26", OWN_VPC) == 3


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.py", "def handler(e, c):\n    return 1\n")
    return buffer.getvalue()


def _function(
    sb,
    name: str,
    reserved: int | None = None,
    vpc: dict | None = None,
    tags: list[dict[str, str]] | None = None,
) -> None:
    iam = sb.client("iam")
    try:
        role = iam.get_role(RoleName="fn-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = sb.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        **({"VpcConfig": vpc} if vpc else {}),
        Tags={t["Key"]: t["Value"] for t in tags or []},
    )
    if reserved is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)


def test_lambda_reserved_concurrency(sandbox) -> None:
    sb = sandbox()
    assert usage(read(sb), "L-B99A9384") == 0
    _function(sb, "other-worker", 100)
    _function(sb, "other-api")  # no reservation
    _function(sb, "pipeline-ingest-prod", 50, tags=OWN_TAGS)  # this stack's: gives it back on redeploy
    # The stack's name without its tags is someone else's function: its reservation stays.
    _function(sb, "pipeline-transform-prod", 30)
    assert usage(read(sb), "L-B99A9384") == 130


def test_lambda_code_storage(sandbox) -> None:
    sb = sandbox()
    before = usage(read(sb), "L-2ACBD22F")
    _function(sb, "other-worker")
    assert usage(read(sb), "L-2ACBD22F") == before + len(_zip())


def test_kinesis_shards(sandbox) -> None:
    sb = sandbox()
    kinesis = sb.client("kinesis")
    before = usage(read(sb), "L-0918CF54")
    kinesis.create_stream(StreamName="other-events", ShardCount=3)
    kinesis.create_stream(StreamName=DEPLOYMENT.streams[0].name, ShardCount=2)
    assert usage(read(sb), "L-0918CF54") == before + 5  # the stack's name, not its tags: someone else's
    kinesis.add_tags_to_stream(
        StreamName=DEPLOYMENT.streams[0].name, Tags={t["Key"]: t["Value"] for t in OWN_TAGS}
    )
    assert usage(read(sb), "L-0918CF54") == before + 3


def test_dynamodb_tables(sandbox) -> None:
    sb = sandbox()
    ddb = sb.client("dynamodb")
    before = usage(read(sb), "L-F98FE922")
    for name in ("other-table", DEPLOYMENT.tables[0].name):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert usage(read(sb), "L-F98FE922") == before + 2  # the stack's name, not its tags
    arn = ddb.describe_table(TableName=DEPLOYMENT.tables[0].name)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=OWN_TAGS)
    assert usage(read(sb), "L-F98FE922") == before + 1


def test_s3_buckets(sandbox) -> None:
    sb = sandbox()
    s3 = sb.client("s3")
    before = usage(read(sb), "L-DC2B2D3D", "global")
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.create_bucket(Bucket=DEPLOYMENT.buckets[0].name)
    assert usage(read(sb), "L-DC2B2D3D", "global") == before + 2  # the stack's name, not its tags
    s3.put_bucket_tagging(Bucket=DEPLOYMENT.buckets[0].name, Tagging={"TagSet": OWN_TAGS})
    state = read(sb)
    assert usage(state, "L-DC2B2D3D", "global") == before + 1
    assert usage(state, "L-DC2B2D3D", "region") is None  # an account-wide quota has no regional count


def test_sns_topics(sandbox) -> None:
    sb = sandbox()
    sns = sb.client("sns")
    before = usage(read(sb), "L-61103206")
    sns.create_topic(Name="other-alerts")
    arn = sns.create_topic(Name=DEPLOYMENT.topics[0].name)["TopicArn"]
    assert usage(read(sb), "L-61103206") == before + 2  # the stack's name, not its tags
    sns.tag_resource(ResourceArn=arn, Tags=OWN_TAGS)
    assert usage(read(sb), "L-61103206") == before + 1


def test_iam_roles(sandbox) -> None:
    sb = sandbox()
    iam = sb.client("iam")
    before = usage(read(sb), "L-FE177D64", "global")
    iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")
    iam.create_role(RoleName=DEPLOYMENT.role.name, AssumeRolePolicyDocument="{}")
    assert usage(read(sb), "L-FE177D64", "global") == before + 2  # the stack's name, not its tags
    iam.tag_role(RoleName=DEPLOYMENT.role.name, Tags=OWN_TAGS)
    assert usage(read(sb), "L-FE177D64", "global") == before + 1


def test_role_managed_policies(sandbox) -> None:
    sb = sandbox()
    iam = sb.client("iam")
    scope = f"role:{DEPLOYMENT.role.name}"
    assert usage(read(sb), "L-0DA4ABF3", scope) == 0  # a new role starts empty
    iam.create_role(RoleName=DEPLOYMENT.role.name, AssumeRolePolicyDocument="{}", Tags=OWN_TAGS)
    foreign = iam.create_policy(PolicyName="audit", PolicyDocument=POLICY)["Policy"]["Arn"]
    own = iam.create_policy(PolicyName="pipeline-extra", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=DEPLOYMENT.role.name, PolicyArn=foreign)
    iam.attach_role_policy(RoleName=DEPLOYMENT.role.name, PolicyArn=own)
    other = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")["Role"]["RoleName"]
    iam.attach_role_policy(RoleName=other, PolicyArn=foreign)
    # A policy the stack itself attaches (listed in the manifest) is the stack's; the foreign one stays.
    policies = (*DEPLOYMENT.role.managed_policies, own)
    with_own = DEPLOYMENT.role.model_copy(update={"managed_policies": policies})
    stack = Stack.of(DEPLOYMENT.model_copy(update={"role": with_own}))
    assert usage(read(sb, stack), "L-0DA4ABF3", scope) == 1
    assert usage(read(sb), "L-0DA4ABF3", scope) == 2


@pytest.mark.parametrize("code", [q.quota_code for q in catalog.QUOTAS])
def test_fresh_account_reads_every_limit(sandbox, code: str) -> None:
    sb = sandbox()
    limit = read(sb).limit(code)
    q = catalog.quota(code)
    assert limit.value == q.default_for("us-east-1"), limit
    # The service's own answer comes before the published default wherever a service API exists.
    expected = "service-api" if q.service_limit else "default"
    assert limit.source == expected


# Each counter's test, by the counter's function name (the test named after it).
COUNTER_TESTS = {
    name.removeprefix("test_"): test
    for name, test in dict(globals()).items()
    if name.startswith("test_") and name.removeprefix("test_") in {c.__name__ for c in COUNTERS.values()}
}
