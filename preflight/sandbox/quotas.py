"""The emulated account's own table of AWS quotas: codes, names, defaults, as AWS documents them.

Written from the AWS documentation (the Service Quotas console, each service's quotas page), never
imported from the gate's catalog: a rehearsal in this account must be able to disagree with the gate.
`tests/sandbox/test_independence.py` checks that no sandbox module imports the gate's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class AwsQuota:
    service_code: str
    code: str
    key: str  # a short alias scenario files may use instead of the code
    name: str
    default: float
    is_global: bool = False  # IAM and S3: one value per partition, kept in its home region
    unit: str = "None"
    adjustable: bool = True
    description: str = ""
    default_by_region: dict[str, float] = field(default_factory=dict)
    # The service's own API reports this limit (Lambda GetAccountSettings, Kinesis DescribeLimits, IAM
    # GetAccountSummary, EC2 DescribeAccountAttributes), so it can hold a value Service Quotas does not list.
    service_reported: bool = False

    def default_for(self, region: str) -> float:
        return self.default_by_region.get(region, self.default)

    @property
    def quota_code(self) -> str:
        return self.code

    @property
    def help(self) -> str:
        return self.description


QUOTAS: tuple[AwsQuota, ...] = (
    AwsQuota("vpc", "L-F678F1CE", "vpcs", "VPCs per Region", 5),
    AwsQuota(
        "vpc",
        "L-A4707A72",
        "internet-gateways",
        "Internet gateways per Region",
        5,
        description="Directly correlated with VPCs per Region: raise that quota to raise this one.",
    ),
    AwsQuota("vpc", "L-FE5A380F", "nat-gateways-per-az", "NAT gateways per Availability Zone", 5),
    AwsQuota("ec2", "L-0263D0A3", "elastic-ips", "EC2-VPC Elastic IPs", 5, service_reported=True),
    AwsQuota("vpc", "L-407747CB", "subnets-per-vpc", "Subnets per VPC", 200),
    AwsQuota("vpc", "L-E79EC296", "security-groups", "VPC security groups per Region", 2500),
    AwsQuota(
        "vpc", "L-0EA8095F", "rules-per-security-group", "Inbound or outbound rules per security group", 60
    ),
    AwsQuota("vpc", "L-1B52E74A", "gateway-endpoints", "Gateway VPC endpoints per Region", 20),
    AwsQuota(
        "vpc",
        "L-29B6F2EB",
        "interface-endpoints-per-vpc",
        "Interface and Gateway Load Balancer endpoints per VPC",
        50,
    ),
    AwsQuota("vpc", "L-DF5E4CA3", "network-interfaces", "Network interfaces per Region", 5000),
    AwsQuota(
        "lambda", "L-B99A9384", "lambda-concurrency", "Concurrent executions", 1000, service_reported=True
    ),
    AwsQuota("lambda", "L-9FEE3D26", "lambda-enis-per-vpc", "Elastic network interfaces per VPC", 250),
    AwsQuota(
        "lambda",
        "L-2ACBD22F",
        "lambda-code-storage",
        "Function and layer storage",
        75 * 1024**3,
        unit="Bytes",
        service_reported=True,
    ),
    # The Kinesis quotas page: 20,000 shards in us-east-1, us-west-2 and eu-west-1, "1,000 or 6,000"
    # in other Regions (the lower figure here).
    AwsQuota(
        "kinesis",
        "L-0918CF54",
        "kinesis-shards",
        "Shards per Region",
        1000,
        default_by_region={"us-east-1": 20000, "us-west-2": 20000, "eu-west-1": 20000},
        service_reported=True,
    ),
    AwsQuota("dynamodb", "L-F98FE922", "dynamodb-tables", "Maximum number of tables", 2500),
    AwsQuota("s3", "L-DC2B2D3D", "s3-buckets", "General purpose buckets", 10000, is_global=True),
    AwsQuota("sns", "L-61103206", "sns-topics", "Topics per Account", 100000),
    AwsQuota(
        "iam", "L-FE177D64", "iam-roles", "Roles per account", 1000, is_global=True, service_reported=True
    ),
    AwsQuota(
        "iam",
        "L-0DA4ABF3",
        "managed-policies-per-role",
        "Managed policies per role",
        10,
        is_global=True,
        service_reported=True,
    ),
)

BY_CODE: dict[str, AwsQuota] = {q.code: q for q in QUOTAS}
BY_KEY: dict[str, AwsQuota] = {q.key: q for q in QUOTAS}
SERVICE_CODES: tuple[str, ...] = tuple(dict.fromkeys(q.service_code for q in QUOTAS))
SERVICE_REPORTED: frozenset[str] = frozenset(q.code for q in QUOTAS if q.service_reported)

# A partition's global quotas live in its home region (the IAM and S3 user guides).
_PARTITION_HOMES = (
    ("cn-", "cn-north-1"),
    ("us-gov-", "us-gov-west-1"),
    ("us-isob-", "us-isob-east-1"),
    ("us-iso-", "us-iso-east-1"),
)


def home_region(region: str) -> str:
    """Where a partition's global quotas are kept: us-east-1, cn-north-1, us-gov-west-1, ..."""
    return next((home for prefix, home in _PARTITION_HOMES if region.startswith(prefix)), "us-east-1")


def unreserved_floor(limit: float) -> int:
    """Lambda keeps this much concurrency unreserved: 100 (PutFunctionConcurrency's error names it),
    or all of it on the new accounts whose limit is 10 or 50."""
    return int(min(100, limit))


# Lambda runtimes: the dates from which AWS blocks creates and updates (the "Deprecated runtimes" table
# of the Lambda developer guide, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
@dataclass(frozen=True)
class RuntimeBlock:
    block_create: date
    block_update: date


RUNTIME_BLOCKS: dict[str, RuntimeBlock] = {
    "python3.7": RuntimeBlock(date(2024, 1, 9), date(2024, 2, 28)),
    "python3.8": RuntimeBlock(date(2025, 2, 28), date(2025, 3, 31)),
    "python3.9": RuntimeBlock(date(2027, 2, 1), date(2027, 3, 3)),
    "python3.10": RuntimeBlock(date(2026, 7, 31), date(2026, 8, 31)),
    "python3.11": RuntimeBlock(date(2027, 7, 31), date(2027, 8, 31)),
    "python3.12": RuntimeBlock(date(2028, 11, 30), date(2029, 1, 10)),
    "python3.13": RuntimeBlock(date(2029, 7, 31), date(2029, 8, 31)),
    "nodejs16.x": RuntimeBlock(date(2025, 2, 28), date(2025, 3, 31)),
}
