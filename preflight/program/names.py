"""Names and shapes the program derives from a `Deployment` beyond the names the plan already carries.

Shared by the program (`pipeline`) and by its verification (`verify`), and free of pulumi so either side
can be read without the SDK. The plan names the VPC, subnets, groups, endpoints and so on; the route
tables, internet gateway, Elastic IPs and NAT gateways are named here, from the VPC's name (so they
carry the environment suffix too).
"""

from __future__ import annotations

from preflight.model import Deployment, FunctionPlan, SubnetPlan

# pulumi-aws type tokens, as the resource monitor (and so the mocks) receives them.
PIPELINE = "tap:pipeline:Pipeline"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
FUNCTION = "aws:lambda/function:Function"
STREAM = "aws:kinesis/stream:Stream"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

# The order an inventory is listed in (registration order varies from run to run with timing).
TYPE_ORDER = (
    PIPELINE,
    VPC,
    SUBNET,
    INTERNET_GATEWAY,
    EIP,
    NAT_GATEWAY,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SECURITY_GROUP,
    VPC_ENDPOINT,
    ROLE,
    ROLE_POLICY_ATTACHMENT,
    STREAM,
    TABLE,
    BUCKET,
    TOPIC,
    FUNCTION,
    METRIC_ALARM,
)

# Resources that take no tags (everything else the program creates is tagged).
UNTAGGED = frozenset({PIPELINE, ROUTE_TABLE_ASSOCIATION, ROLE_POLICY_ATTACHMENT})

LAMBDA_ASSUME_ROLE_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
    '"Principal": {"Service": "lambda.amazonaws.com"}}]}'
)


def component_name(d: Deployment) -> str:
    return f"{d.project}-{d.environment}"


def internet_gateway_name(d: Deployment) -> str:
    return f"{d.vpc.name}-igw"


def public_route_table_name(d: Deployment) -> str:
    return f"{d.vpc.name}-public-rt"


def private_route_table_name(d: Deployment, az: str) -> str:
    return f"{d.vpc.name}-private-rt-{d.vpc.azs.index(az) + 1}"


def eip_name(d: Deployment, az: str) -> str:
    return f"{d.vpc.name}-nat-eip-{d.vpc.azs.index(az) + 1}"


def nat_gateway_name(d: Deployment, az: str) -> str:
    return f"{d.vpc.name}-nat-{d.vpc.azs.index(az) + 1}"


def association_name(subnet: SubnetPlan) -> str:
    return f"{subnet.name}-rta"


def public_subnets(d: Deployment) -> tuple[SubnetPlan, ...]:
    return tuple(s for s in d.vpc.subnets if s.kind == "public")


def private_subnets(d: Deployment) -> tuple[SubnetPlan, ...]:
    return tuple(s for s in d.vpc.subnets if s.kind == "private")


def private_route_table_azs(d: Deployment) -> tuple[str, ...]:
    """One private route table per AZ that has a private subnet (a per-AZ NAT route needs its own)."""
    return tuple(dict.fromkeys(s.az for s in private_subnets(d)))


def nat_for_az(d: Deployment, az: str) -> str | None:
    """The AZ whose NAT gateway serves `az`'s private subnets: its own if it has one, else the first."""
    if not d.vpc.nat_gateway_azs:
        return None
    return az if az in d.vpc.nat_gateway_azs else d.vpc.nat_gateway_azs[0]


def service_name(d: Deployment, service: str) -> str:
    return f"com.amazonaws.{d.region}.{service}"


def archive_member(fn: FunctionPlan) -> str:
    """The handler module's file name inside the code archive (`ingest.handler` -> ingest.py)."""
    module = fn.handler.rsplit(".", 1)[0]
    return module.replace(".", "/") + ".py"


def stack_tags(d: Deployment, name: str) -> dict[str, str]:
    """The stack's identifying tags (what `check` recognises) plus Name."""
    return {**d.tags, "Name": name}


def data_variables(d: Deployment) -> dict[str, str]:
    """The environment every function gets: each stream, table and bucket's physical name, as
    `STREAM_NAME_<KEY>` (the manifest name, upper case, `-` as `_`), and as `STREAM_NAME` too when the
    deployment has exactly one of that kind (what the shipped handlers read)."""
    out: dict[str, str] = {}
    for prefix, items in (("STREAM", d.streams), ("TABLE", d.tables), ("BUCKET", d.buckets)):
        if len(items) == 1:
            out[f"{prefix}_NAME"] = items[0].name
        for item in items:
            out[f"{prefix}_NAME_{_variable_key(item.key)}"] = item.name
    return out


def _variable_key(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key.upper())
