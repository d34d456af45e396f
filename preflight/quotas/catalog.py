"""The quota catalog: every AWS quota the TAP pipeline touches, one typed declaration each.

Quotas are matched by (service code, quota code), never by name: AWS renames quotas, the code stays.
A `Quota` says everything the tool knows of one: its code, service, unit, scope and default per region;
where the service's own API reports its limit (`service_limit`, step 2 of the chain in
`preflight.quotas.limits`); how its usage is counted (`usage`: the client and the calls of the counter
registered for it in `preflight.quotas.usage`); what AWS keeps back from it (`reserve`); and which
quota AWS raises for it (`raised_with`). Code elsewhere names quotas by the handles below (`VPCS`, ...).

Sources: the AWS Service Quotas console, each service's quotas page and the botocore service models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from preflight.support.errors import InputError

Scope = Literal["region", "global", "vpc", "az", "security-group", "role"]


@dataclass(frozen=True)
class ServiceLimit:
    """Step 2 of the limit chain: the limit the service's own API reports for this account.

    `value` takes the operation's whole answer and returns the limit (None: the answer does not say).
    Answers are shared: quotas whose limit comes from the same call make that call once.
    """

    service: str  # the botocore client that asks
    operation: str
    field: str  # what of the answer is the limit, as people read it
    value: Callable[[Mapping[str, Any]], float | None]
    params: Mapping[str, Any] = field(default_factory=dict)
    # The service's answer wins even over an applied value: it is what the service enforces
    # (Lambda concurrency: GetAccountSettings is the source of truth).
    authoritative: bool = False

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}.{self.field}"


def answer_field(service: str, operation: str, *path: str, authoritative: bool = False) -> ServiceLimit:
    """A limit found at `path` (keys, outermost first) in the answer of `service` `operation`."""

    def value(answer: Mapping[str, Any]) -> float:
        found: Any = answer
        for key in path:
            found = found[key]
        return float(found)

    return ServiceLimit(service, operation, path[-1], value, authoritative=authoritative)


def account_attribute(name: str) -> ServiceLimit:
    """A limit EC2 reports as an account attribute (DescribeAccountAttributes, one attribute asked)."""

    def value(answer: Mapping[str, Any]) -> float | None:
        for attribute in answer.get("AccountAttributes", []):
            if attribute["AttributeName"] == name:
                return float(attribute["AttributeValues"][0]["AttributeValue"])
        return None

    return ServiceLimit("ec2", "DescribeAccountAttributes", name, value, params={"AttributeNames": [name]})


@dataclass(frozen=True)
class UsageCounter:
    """How a quota's usage is counted: the counter registered for it in `preflight.quotas.usage`
    reads with one client, and calls these operations (the least-privilege policy must allow each)."""

    client: str  # the botocore client the counter reads with
    operations: tuple[str, ...]  # every operation the count may call, ownership checks included
    shown: str  # what it counts from, for docs and reports


@dataclass(frozen=True)
class Reserve:
    """Capacity AWS keeps back from a limit: at most `most`, never more than the limit itself.

    Lambda keeps min(100, limit) of its concurrency unreserved for the functions without a reservation.
    """

    most: int
    # The finding's text, with {demand} {usage} {free} {limit} {reserve} (amounts already formatted).
    explain: str

    def of(self, limit: float) -> int:
        return int(min(self.most, limit))

    def limit_for(self, needed: float) -> float:
        """The smallest limit that leaves `needed` once the reserve is kept back."""
        return needed + self.of(needed + self.most)


@dataclass(frozen=True)
class Quota:
    """Everything the tool knows of one quota; generic code reads it (limits, usage, evaluate)."""

    key: str  # short stable id used in code and docs
    service_code: str
    quota_code: str
    name: str  # AWS's name today; for display only
    default: float
    scope: Scope
    usage: UsageCounter
    adjustable: bool = True
    unit: str = "None"
    service_limit: ServiceLimit | None = None  # step 2 of the limit chain, where the service has one
    # Defaults that differ by region (Kinesis shards).
    default_by_region: dict[str, float] = field(default_factory=dict)
    reserve: Reserve | None = None
    # The quota AWS raises instead of this one (internet gateways follow VPCs per Region).
    raised_with: str | None = None
    help: str = ""

    def default_for(self, region: str) -> float:
        return self.default_by_region.get(region, self.default)

    @property
    def is_global(self) -> bool:
        return self.scope == "global"

    @property
    def usage_from(self) -> str:
        return self.usage.shown

    def reserve_of(self, limit: float) -> float:
        """What AWS keeps back from `limit` (nothing for most quotas)."""
        return self.reserve.of(limit) if self.reserve else 0.0

    def limit_for(self, needed: float) -> float:
        """The smallest limit under which `needed` (usage and demand) fits."""
        return self.reserve.limit_for(needed) if self.reserve else needed

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


def counted(client: str, *operations: str, shown: str = "") -> UsageCounter:
    """A usage counter reading with `client`; `shown` defaults to its first operation."""
    return UsageCounter(client, operations, shown or f"{client}:{operations[0]}")


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
        usage=counted("ec2", "DescribeVpcs"),
        help="Each stack creates one VPC. Delete unused VPCs or request an increase.",
    ),
    Quota(
        "internet-gateways",
        "vpc",
        "L-A4707A72",
        "Internet gateways per Region",
        5,
        "region",
        raised_with="L-F678F1CE",  # the VPC quotas page: "increase VPCs per Region"
        usage=counted("ec2", "DescribeInternetGateways"),
        help="A VPC with public subnets (or a NAT gateway) needs one internet gateway.",
    ),
    Quota(
        "nat-gateways-per-az",
        "vpc",
        "L-FE5A380F",
        "NAT gateways per Availability Zone",
        5,
        "az",
        usage=counted(
            "ec2",
            "DescribeNatGateways",
            "DescribeSubnets",
            shown="ec2:DescribeNatGateways (pending, available, deleting) + ec2:DescribeSubnets",
        ),
        help="Counted per Availability Zone, for NAT gateways that are pending, available or deleting.",
    ),
    Quota(
        "elastic-ips",
        "ec2",
        "L-0263D0A3",
        "EC2-VPC Elastic IPs",
        5,
        "region",
        usage=counted("ec2", "DescribeAddresses"),
        service_limit=account_attribute("vpc-max-elastic-ips"),
        help="Each public NAT gateway holds one Elastic IP.",
    ),
    Quota(
        "subnets-per-vpc",
        "vpc",
        "L-407747CB",
        "Subnets per VPC",
        200,
        "vpc",
        usage=counted("ec2", "DescribeSubnets", "DescribeVpcs", shown="ec2:DescribeSubnets (by vpc-id)"),
    ),
    Quota(
        "security-groups",
        "vpc",
        "L-E79EC296",
        "VPC security groups per Region",
        2500,
        "region",
        usage=counted("ec2", "DescribeSecurityGroups", "DescribeVpcs"),
        help="Every new VPC also brings its default security group.",
    ),
    Quota(
        "rules-per-security-group",
        "vpc",
        "L-0EA8095F",
        "Inbound or outbound rules per security group",
        60,
        "security-group",
        usage=counted("ec2", "DescribeSecurityGroupRules", "DescribeSecurityGroups"),
        help="Counted per security group and direction.",
    ),
    Quota(
        "gateway-endpoints",
        "vpc",
        "L-1B52E74A",
        "Gateway VPC endpoints per Region",
        20,
        "region",
        usage=counted("ec2", "DescribeVpcEndpoints", shown="ec2:DescribeVpcEndpoints (type Gateway)"),
        help="S3 and DynamoDB gateway endpoints. Over the quota: VpcEndpointLimitExceeded.",
    ),
    Quota(
        "interface-endpoints-per-vpc",
        "vpc",
        "L-29B6F2EB",
        "Interface and Gateway Load Balancer endpoints per VPC",
        50,
        "vpc",
        usage=counted(
            "ec2",
            "DescribeVpcEndpoints",
            "DescribeVpcs",
            shown="ec2:DescribeVpcEndpoints (type Interface/GatewayLoadBalancer, by vpc-id)",
        ),
    ),
    Quota(
        "network-interfaces",
        "vpc",
        "L-DF5E4CA3",
        "Network interfaces per Region",
        5000,
        "region",
        usage=counted(
            "ec2",
            "DescribeNetworkInterfaces",
            "DescribeVpcEndpoints",  # the ENIs of the stack's own endpoints, NAT gateways, functions
            "DescribeNatGateways",
            "DescribeSecurityGroups",
        ),
        help="Interface endpoints use one ENI per AZ subnet; NAT gateways and VPC Lambdas use ENIs too.",
    ),
    Quota(
        "lambda-concurrency",
        "lambda",
        "L-B99A9384",
        "Concurrent executions",
        1000,
        "region",
        usage=counted(
            "lambda",
            "GetAccountSettings",
            "GetFunction",
            "ListFunctions",  # past 20 functions, the account's are listed first
            shown="lambda:GetAccountSettings + lambda:GetFunction",
        ),
        service_limit=answer_field(
            "lambda", "GetAccountSettings", "AccountLimit", "ConcurrentExecutions", authoritative=True
        ),
        reserve=Reserve(
            100,
            explain="reserving {demand} with {usage} already reserved by other functions; at most {free} "
            "can be reserved (limit {limit} keeps {reserve} unreserved)",
        ),
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
        usage=counted(
            "ec2",
            "DescribeNetworkInterfaces",
            "DescribeVpcs",
            shown="ec2:DescribeNetworkInterfaces (interface-type lambda, by vpc-id)",
        ),
        help="VPC-attached functions share one ENI per subnet and security-group combination.",
    ),
    Quota(
        "lambda-code-storage",
        "lambda",
        "L-2ACBD22F",
        "Function and layer storage",
        75 * 1024**3,
        "region",
        usage=counted(
            "lambda", "GetAccountSettings", shown="lambda:GetAccountSettings (AccountUsage.TotalCodeSize)"
        ),
        unit="Bytes",
        service_limit=answer_field("lambda", "GetAccountSettings", "AccountLimit", "TotalCodeSize"),
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
        usage=counted(
            "kinesis",
            "DescribeLimits",
            "DescribeStreamSummary",  # the stack's own stream, and whether it is the stack's
            "ListTagsForStream",
            shown="kinesis:DescribeLimits (OpenShardCount)",
        ),
        service_limit=answer_field("kinesis", "DescribeLimits", "ShardLimit"),
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
        usage=counted("dynamodb", "ListTables", "DescribeTable", "ListTagsOfResource"),
    ),
    Quota(
        "s3-buckets",
        "s3",
        "L-DC2B2D3D",
        "General purpose buckets",
        10000,
        "global",
        usage=counted("s3", "ListBuckets", "GetBucketTagging"),
    ),
    Quota(
        "sns-topics",
        "sns",
        "L-61103206",
        "Topics per Account",
        100000,
        "region",
        usage=counted("sns", "ListTopics", "ListTagsForResource"),
    ),
    Quota(
        "iam-roles",
        "iam",
        "L-FE177D64",
        "Roles per account",
        1000,
        "global",
        usage=counted("iam", "GetAccountSummary", "GetRole", shown="iam:GetAccountSummary (Roles)"),
        service_limit=answer_field("iam", "GetAccountSummary", "SummaryMap", "RolesQuota"),
    ),
    Quota(
        "managed-policies-per-role",
        "iam",
        "L-0DA4ABF3",
        "Managed policies per role",
        10,
        "role",
        usage=counted("iam", "ListAttachedRolePolicies", "GetRole"),
        service_limit=answer_field("iam", "GetAccountSummary", "SummaryMap", "AttachedPoliciesPerRoleQuota"),
        help="Policies attached to the role outside this stack stay attached after the deploy.",
    ),
)

BY_CODE: dict[str, Quota] = {q.quota_code: q for q in QUOTAS}
BY_KEY: dict[str, Quota] = {q.key: q for q in QUOTAS}
SERVICE_CODES: tuple[str, ...] = tuple(dict.fromkeys(q.service_code for q in QUOTAS))
# Services whose quotas are global: Service Quotas and the service itself answer in the home region.
GLOBAL_SERVICE_CODES: frozenset[str] = frozenset(q.service_code for q in QUOTAS if q.is_global)

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


def raised_for(q: Quota) -> Quota:
    """The quota an increase request for `q` names: `q`, or the one AWS raises it with."""
    return BY_CODE[q.raised_with] if q.raised_with else q


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
