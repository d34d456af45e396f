"""What a deployment adds to each quota, in each scope, including what its resources imply.

A NAT gateway brings an Elastic IP and an ENI; an interface endpoint uses one ENI per AZ subnet; a new
VPC brings its default security group; VPC-attached functions share one Lambda ENI per subnet and
security group (Hyperplane). Lambda reservations are one demand on L-B99A9384; the unreserved floor
is applied when the demand is compared with the limit (see `preflight.evaluate`).

Scope keys: "region", "global", "vpc:<name>", "az:<zone>", "sg:<name>:ingress|egress", "role:<name>".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from preflight.model import Deployment, EndpointPlan, SecurityGroupPlan
from preflight.quotas.catalog import (
    DYNAMODB_TABLES,
    ELASTIC_IPS,
    GATEWAY_ENDPOINTS,
    IAM_ROLES,
    INTERFACE_ENDPOINTS_PER_VPC,
    INTERNET_GATEWAYS,
    KINESIS_SHARDS,
    LAMBDA_CODE_STORAGE,
    LAMBDA_CONCURRENCY,
    LAMBDA_ENIS_PER_VPC,
    MANAGED_POLICIES_PER_ROLE,
    NAT_GATEWAYS_PER_AZ,
    NETWORK_INTERFACES,
    RULES_PER_SECURITY_GROUP,
    S3_BUCKETS,
    SECURITY_GROUPS,
    SNS_TOPICS,
    SUBNETS_PER_VPC,
    VPCS,
    Quota,
)


@dataclass(frozen=True)
class Demand:
    quota_code: str
    scope: str
    amount: float
    resources: tuple[str, ...]  # manifest paths that create the demand
    note: str = ""  # why the amount is what it is, where that is not obvious (a redeploy's peak)


Need = tuple[Quota, str, float, str]  # quota, scope, amount, manifest path


def vpc_scope(d: Deployment) -> str:
    return f"vpc:{d.vpc.name}"


def vpc_needs(d: Deployment) -> Iterator[Need]:
    if not d.vpc.created:
        return
    yield VPCS, "region", 1, d.vpc.path
    yield SECURITY_GROUPS, "region", 1, d.vpc.path  # the VPC's default security group
    yield SUBNETS_PER_VPC, vpc_scope(d), len(d.vpc.subnets), f"{d.vpc.path}.azCount"
    if d.vpc.internet_gateway or d.vpc.nat_gateway_azs:
        yield INTERNET_GATEWAYS, "region", 1, f"{d.vpc.path}.publicSubnets"
    for az in d.vpc.nat_gateway_azs:
        # A public NAT gateway holds an Elastic IP and an ENI in its AZ's public subnet.
        yield NAT_GATEWAYS_PER_AZ, f"az:{az}", 1, "lambda.networking"
        yield ELASTIC_IPS, "region", 1, "lambda.networking"
        yield NETWORK_INTERFACES, "region", 1, "lambda.networking"


def security_group_needs(sg: SecurityGroupPlan) -> Iterator[Need]:
    yield SECURITY_GROUPS, "region", 1, sg.path
    yield RULES_PER_SECURITY_GROUP, f"sg:{sg.name}:ingress", len(sg.ingress), f"{sg.path}.ingress"
    yield RULES_PER_SECURITY_GROUP, f"sg:{sg.name}:egress", len(sg.egress), f"{sg.path}.egress"


def endpoint_needs(ep: EndpointPlan, d: Deployment) -> Iterator[Need]:
    if ep.type == "gateway":
        yield GATEWAY_ENDPOINTS, "region", 1, ep.path
    else:
        yield INTERFACE_ENDPOINTS_PER_VPC, vpc_scope(d), 1, ep.path
        yield NETWORK_INTERFACES, "region", len(d.vpc.azs), ep.path  # one ENI per AZ subnet


def lambda_needs(d: Deployment) -> Iterator[Need]:
    attached = [f for f in d.functions if f.vpc_attached]
    if attached:
        private = sum(1 for s in d.vpc.subnets if s.kind == "private")
        # Hyperplane: one ENI per subnet x security-group combination, shared by the functions.
        yield LAMBDA_ENIS_PER_VPC, vpc_scope(d), private, attached[0].path
        yield NETWORK_INTERFACES, "region", private, attached[0].path
    for f in d.functions:
        if f.reserved_concurrency is not None:
            yield LAMBDA_CONCURRENCY, "region", f.reserved_concurrency, f"{f.path}.reservedConcurrency"
        yield LAMBDA_CODE_STORAGE, "region", f.code_size, f"{f.path}.source"


def data_needs(d: Deployment) -> Iterator[Need]:
    for stream in d.streams:
        yield KINESIS_SHARDS, "region", stream.shards, f"{stream.path}.shards"
    for table in d.tables:
        yield DYNAMODB_TABLES, "region", 1, table.path
    for bucket in d.buckets:
        yield S3_BUCKETS, "global", 1, bucket.path
    for topic in d.topics:
        yield SNS_TOPICS, "region", 1, topic.path
    yield IAM_ROLES, "global", 1, d.role.path
    yield (
        MANAGED_POLICIES_PER_ROLE,
        f"role:{d.role.name}",
        len(d.role.managed_policies),
        f"{d.role.path}.extraManagedPolicies",
    )


def all_needs(d: Deployment) -> Iterator[Need]:
    yield from vpc_needs(d)
    for sg in d.security_groups:
        yield from security_group_needs(sg)
    for ep in d.endpoints:
        yield from endpoint_needs(ep, d)
    yield from lambda_needs(d)
    yield from data_needs(d)


def aggregate(needs: Iterable[Need]) -> list[Demand]:
    amounts: dict[tuple[str, str], float] = defaultdict(float)
    # A dict per key keeps the paths in first-seen order with a constant-time membership test (1,000
    # functions' paths on one quota made a list's test quadratic).
    paths: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for quota, scope, amount, path in needs:
        code = quota.quota_code
        if amount <= 0:
            continue
        amounts[(code, scope)] += amount
        paths[(code, scope)].setdefault(path)
    return [
        Demand(code, scope, amount, tuple(paths[(code, scope)])) for (code, scope), amount in amounts.items()
    ]


def compute_demand(d: Deployment) -> list[Demand]:
    """Every (quota, scope) this deployment needs, with the amount and the manifest paths behind it."""
    return aggregate(all_needs(d))
