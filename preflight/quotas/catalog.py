"""The quota catalog: every AWS quota the TAP pipeline touches, as one table of data.

Quotas are matched by (service code, quota code), never by name: AWS renames quotas, the code stays.
Each entry says where its limit can be read besides Service Quotas (`service_api`) and which usage
counter in `preflight.usage` counts what already uses it (`counter`).

Sources: ../shared/DOMAIN.md, the AWS Service Quotas console and the botocore service models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from preflight.errors import InputError

Scope = Literal["region", "global", "vpc", "az", "security-group", "role"]

# Where a limit may be read when Service Quotas has no applied value (step 2 of the chain, before the
# published default: the service answers what it enforces for this account, which can be lower).
ServiceApi = Literal[
    "lambda.GetAccountSettings.ConcurrentExecutions",
    "lambda.GetAccountSettings.TotalCodeSize",
    "kinesis.DescribeLimits.ShardLimit",
    "iam.GetAccountSummary.RolesQuota",
    "iam.GetAccountSummary.AttachedPoliciesPerRoleQuota",
    "ec2.DescribeAccountAttributes.vpc-max-elastic-ips",
]


@dataclass(frozen=True)
class Quota:
    key: str  # short stable id used in code and docs
    service_code: str
    quota_code: str
    name: str  # AWS's name today; for display only
    default: float
    scope: Scope
    counter: str  # usage counter id, see preflight.usage.COUNTERS
    usage_from: str  # the API call(s) usage is counted from, for docs and reports
    adjustable: bool = True
    unit: str = "None"
    service_api: ServiceApi | None = None
    # The service API is authoritative even over an applied value, e.g. Lambda concurrency.
    service_api_first: bool = False
    # Defaults that differ by region (Kinesis shards).
    default_by_region: dict[str, float] = field(default_factory=dict)
    help: str = ""

    def default_for(self, region: str) -> float:
        return self.default_by_region.get(region, self.default)

    @property
    def is_global(self) -> bool:
        return self.scope == "global"

    def format(self, amount: float | None) -> str:
        """An amount of this quota for people: bytes as KiB/MiB/GiB, counts as integers."""
        if amount is None:
            return "?"
        if self.unit == "Bytes":
            for size, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
                if abs(amount) >= size:
                    return f"{amount / size:.2f} {name}"
            return f"{int(amount)} B"
        return f"{int(amount)}" if float(amount).is_integer() else f"{amount:.2f}"


GLOBAL_QUOTA_REGION = "us-east-1"  # the aws partition's home region (see home_region)

# Global quotas (IAM, S3 buckets) are read in the home region of the stack's partition.
_PARTITION_HOMES: tuple[tuple[str, str], ...] = (
    ("cn-", "cn-north-1"),  # aws-cn
    ("us-gov-", "us-gov-west-1"),  # aws-us-gov
    ("us-isob-", "us-isob-east-1"),  # aws-iso-b
    ("us-iso-", "us-iso-east-1"),  # aws-iso
)


def home_region(region: str) -> str:
    """The region where a partition's global quotas (IAM, S3 buckets) are read: us-east-1 for aws,
    cn-north-1 for aws-cn, us-gov-west-1 for aws-us-gov."""
    for prefix, home in _PARTITION_HOMES:
        if region.startswith(prefix):
            return home
    return GLOBAL_QUOTA_REGION


def partition_of(region: str) -> str:
    """The partition an ARN of `region` names: aws, aws-cn, aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# AWS region names: partition prefix, words, a number (us-east-1, us-gov-west-1, ap-southeast-4).
REGION_NAME = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")


def check_region(region: str, option: str = "--region") -> str:
    """`region` if it is shaped like an AWS region name; InputError (exit 2) before any call otherwise.

    botocore would put the name into endpoint host names (`us-east-1/../x`) or fail later, per call.
    """
    if not REGION_NAME.fullmatch(region):
        raise InputError(f"{option}: {region!r} is not an AWS region name (like us-east-1 or eu-west-2)")
    return region


QUOTAS: tuple[Quota, ...] = (
    Quota(
        "vpcs",
        "vpc",
        "L-F678F1CE",
        "VPCs per Region",
        5,
        "region",
        counter="vpcs",
        usage_from="ec2:DescribeVpcs",
        help="Each stack creates one VPC. Delete unused VPCs or request an increase.",
    ),
    Quota(
        "internet-gateways",
        "vpc",
        "L-A4707A72",
        "Internet gateways per Region",
        5,
        "region",
        counter="internet_gateways",
        usage_from="ec2:DescribeInternetGateways",
        help="A VPC with public subnets (or a NAT gateway) needs one internet gateway.",
    ),
    Quota(
        "nat-gateways-per-az",
        "vpc",
        "L-FE5A380F",
        "NAT gateways per Availability Zone",
        5,
        "az",
        counter="nat_gateways_per_az",
        usage_from="ec2:DescribeNatGateways (pending, available, deleting) + ec2:DescribeSubnets",
        help="Counted per Availability Zone, for NAT gateways that are pending, available or deleting.",
    ),
    Quota(
        "elastic-ips",
        "ec2",
        "L-0263D0A3",
        "EC2-VPC Elastic IPs",
        5,
        "region",
        counter="elastic_ips",
        usage_from="ec2:DescribeAddresses",
        service_api="ec2.DescribeAccountAttributes.vpc-max-elastic-ips",
        help="Each public NAT gateway holds one Elastic IP.",
    ),
    Quota(
        "subnets-per-vpc",
        "vpc",
        "L-407747CB",
        "Subnets per VPC",
        200,
        "vpc",
        counter="subnets_per_vpc",
        usage_from="ec2:DescribeSubnets (by vpc-id)",
    ),
    Quota(
        "security-groups",
        "vpc",
        "L-E79EC296",
        "VPC security groups per Region",
        2500,
        "region",
        counter="security_groups",
        usage_from="ec2:DescribeSecurityGroups",
        help="Every new VPC also brings its default security group.",
    ),
    Quota(
        "rules-per-security-group",
        "vpc",
        "L-0EA8095F",
        "Inbound or outbound rules per security group",
        60,
        "security-group",
        counter="security_group_rules",
        usage_from="ec2:DescribeSecurityGroupRules",
        help="Counted per security group and direction.",
    ),
    Quota(
        "gateway-endpoints",
        "vpc",
        "L-1B52E74A",
        "Gateway VPC endpoints per Region",
        20,
        "region",
        counter="gateway_endpoints",
        usage_from="ec2:DescribeVpcEndpoints (type Gateway)",
        help="S3 and DynamoDB gateway endpoints. Over the quota: VpcEndpointLimitExceeded.",
    ),
    Quota(
        "interface-endpoints-per-vpc",
        "vpc",
        "L-29B6F2EB",
        "Interface and Gateway Load Balancer endpoints per VPC",
        50,
        "vpc",
        counter="interface_endpoints_per_vpc",
        usage_from="ec2:DescribeVpcEndpoints (type Interface/GatewayLoadBalancer, by vpc-id)",
    ),
    Quota(
        "network-interfaces",
        "vpc",
        "L-DF5E4CA3",
        "Network interfaces per Region",
        5000,
        "region",
        counter="network_interfaces",
        usage_from="ec2:DescribeNetworkInterfaces",
        help="Interface endpoints use one ENI per AZ subnet; NAT gateways and VPC Lambdas use ENIs too.",
    ),
    Quota(
        "lambda-concurrency",
        "lambda",
        "L-B99A9384",
        "Concurrent executions",
        1000,
        "region",
        counter="lambda_reserved_concurrency",
        usage_from="lambda:GetAccountSettings + lambda:GetFunction",
        service_api="lambda.GetAccountSettings.ConcurrentExecutions",
        service_api_first=True,
        help=(
            "Reserved concurrency must leave the unreserved floor, min(100, limit), for functions "
            "without a reservation."
        ),
    ),
    Quota(
        "lambda-enis-per-vpc",
        "lambda",
        "L-9FEE3D26",
        "Elastic network interfaces per VPC",
        250,
        "vpc",
        counter="lambda_enis_per_vpc",
        usage_from="ec2:DescribeNetworkInterfaces (interface-type lambda, by vpc-id)",
        help="VPC-attached functions share one ENI per subnet and security-group combination.",
    ),
    Quota(
        "lambda-code-storage",
        "lambda",
        "L-2ACBD22F",
        "Function and layer storage",
        75 * 1024**3,
        "region",
        counter="lambda_code_storage",
        usage_from="lambda:GetAccountSettings (AccountUsage.TotalCodeSize)",
        unit="Bytes",
        service_api="lambda.GetAccountSettings.TotalCodeSize",
    ),
    Quota(
        "kinesis-shards",
        "kinesis",
        "L-0918CF54",
        "Shards per Region",
        # The Kinesis quotas page: 20,000 in us-east-1, us-west-2 and eu-west-1; "1,000 or 6,000"
        # elsewhere, so the lower figure. Older accounts have less (500/200): DescribeLimits says so.
        1000,
        "region",
        counter="kinesis_shards",
        usage_from="kinesis:DescribeLimits (OpenShardCount)",
        service_api="kinesis.DescribeLimits.ShardLimit",
        default_by_region={"us-east-1": 20000, "us-west-2": 20000, "eu-west-1": 20000},
        help="Older accounts have a lower shard limit than today's default; DescribeLimits reports it.",
    ),
    Quota(
        "dynamodb-tables",
        "dynamodb",
        "L-F98FE922",
        "Maximum number of tables",
        2500,
        "region",
        counter="dynamodb_tables",
        usage_from="dynamodb:ListTables",
    ),
    Quota(
        "s3-buckets",
        "s3",
        "L-DC2B2D3D",
        "General purpose buckets",
        10000,
        "global",
        counter="s3_buckets",
        usage_from="s3:ListBuckets",
    ),
    Quota(
        "sns-topics",
        "sns",
        "L-61103206",
        "Topics per Account",
        100000,
        "region",
        counter="sns_topics",
        usage_from="sns:ListTopics",
    ),
    Quota(
        "iam-roles",
        "iam",
        "L-FE177D64",
        "Roles per account",
        1000,
        "global",
        counter="iam_roles",
        usage_from="iam:GetAccountSummary (Roles)",
        service_api="iam.GetAccountSummary.RolesQuota",
    ),
    Quota(
        "managed-policies-per-role",
        "iam",
        "L-0DA4ABF3",
        "Managed policies per role",
        10,
        "role",
        counter="role_managed_policies",
        usage_from="iam:ListAttachedRolePolicies",
        service_api="iam.GetAccountSummary.AttachedPoliciesPerRoleQuota",
        help="Policies attached to the role outside this stack stay attached after the deploy.",
    ),
)

BY_CODE: dict[str, Quota] = {q.quota_code: q for q in QUOTAS}
BY_KEY: dict[str, Quota] = {q.key: q for q in QUOTAS}
SERVICE_CODES: tuple[str, ...] = tuple(dict.fromkeys(q.service_code for q in QUOTAS))

# Named handles: code outside this table refers to a quota by these names, never by its raw code.
VPCS: Quota = BY_KEY["vpcs"]
INTERNET_GATEWAYS: Quota = BY_KEY["internet-gateways"]
NAT_GATEWAYS_PER_AZ: Quota = BY_KEY["nat-gateways-per-az"]
ELASTIC_IPS: Quota = BY_KEY["elastic-ips"]
SUBNETS_PER_VPC: Quota = BY_KEY["subnets-per-vpc"]
SECURITY_GROUPS: Quota = BY_KEY["security-groups"]
RULES_PER_SECURITY_GROUP: Quota = BY_KEY["rules-per-security-group"]
GATEWAY_ENDPOINTS: Quota = BY_KEY["gateway-endpoints"]
INTERFACE_ENDPOINTS_PER_VPC: Quota = BY_KEY["interface-endpoints-per-vpc"]
NETWORK_INTERFACES: Quota = BY_KEY["network-interfaces"]
LAMBDA_CONCURRENCY: Quota = BY_KEY["lambda-concurrency"]
LAMBDA_ENIS_PER_VPC: Quota = BY_KEY["lambda-enis-per-vpc"]
LAMBDA_CODE_STORAGE: Quota = BY_KEY["lambda-code-storage"]
KINESIS_SHARDS: Quota = BY_KEY["kinesis-shards"]
DYNAMODB_TABLES: Quota = BY_KEY["dynamodb-tables"]
S3_BUCKETS: Quota = BY_KEY["s3-buckets"]
SNS_TOPICS: Quota = BY_KEY["sns-topics"]
IAM_ROLES: Quota = BY_KEY["iam-roles"]
MANAGED_POLICIES_PER_ROLE: Quota = BY_KEY["managed-policies-per-role"]


def quota(code_or_key: str) -> Quota:
    """The catalog entry for a quota code (``L-...``) or a catalog key."""
    found = BY_CODE.get(code_or_key) or BY_KEY.get(code_or_key)
    if found is None:
        raise KeyError(code_or_key)
    return found


def lambda_unreserved_floor(limit: float) -> int:
    """AWS keeps this much concurrency unreserved: 100, or the whole limit on 10/50 accounts."""
    return int(min(100, limit))


# --- Lambda runtimes: when AWS deprecates each, then blocks creates, then updates -----------------


@dataclass(frozen=True)
class Runtime:
    """One managed runtime's end of support. A date of None: not announced (or not yet reached us)."""

    identifier: str
    deprecation: date | None
    block_create: date | None
    block_update: date | None
    replacement: str


# From the "Supported runtimes" and "Deprecated runtimes" tables of the Lambda developer guide, as of
# 2026-11; AWS moves these dates (it postponed several), so this table is data to refresh, not logic.
RUNTIMES_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
RUNTIMES: tuple[Runtime, ...] = (
    Runtime("python3.7", date(2023, 12, 4), date(2024, 1, 9), date(2024, 2, 28), "python3.13"),
    Runtime("python3.8", date(2024, 10, 14), date(2025, 2, 28), date(2025, 3, 31), "python3.13"),
    Runtime("python3.9", date(2025, 12, 15), date(2027, 2, 1), date(2027, 3, 3), "python3.13"),
    Runtime("python3.10", date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), "python3.13"),
    Runtime("python3.11", date(2027, 6, 30), date(2027, 7, 31), date(2027, 8, 31), "python3.13"),
    Runtime("python3.12", date(2028, 10, 31), date(2028, 11, 30), date(2029, 1, 10), "python3.13"),
    Runtime("python3.13", date(2029, 6, 30), date(2029, 7, 31), date(2029, 8, 31), "python3.14"),
    Runtime("nodejs16.x", date(2024, 6, 12), date(2025, 2, 28), date(2025, 3, 31), "nodejs22.x"),
)
RUNTIME_BY_ID: dict[str, Runtime] = {r.identifier: r for r in RUNTIMES}
