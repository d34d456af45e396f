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


@dataclass(frozen=True)
class Demand:
    quota_code: str
    scope: str
    amount: float
    resources: tuple[str, ...]  # manifest paths that create the demand
    note: str = ""  # why the amount is what it is, where that is not obvious (a redeploy's peak)


Need = tuple[str, str, float, str]  # quota code, scope, amount, manifest path


def vpc_scope(d: Deployment) -> str:
    return f"vpc:{d.vpc.name}"


def vpc_needs(d: Deployment) -> Iterator[Need]:
    if not d.vpc.created:
        return
    yield "L-F678F1CE", "region", 1, d.vpc.path
    yield "L-E79EC296", "region", 1, d.vpc.path  # the VPC's default security group
    yield "L-407747CB", vpc_scope(d), len(d.vpc.subnets), f"{d.vpc.path}.azCount"
    if d.vpc.internet_gateway or d.vpc.nat_gateway_azs:
        yield "L-A4707A72", "region", 1, f"{d.vpc.path}.publicSubnets"
    for az in d.vpc.nat_gateway_azs:
        # A public NAT gateway holds an Elastic IP and an ENI in its AZ's public subnet.
        yield "L-FE5A380F", f"az:{az}", 1, "lambda.networking"
        yield "L-0263D0A3", "region", 1, "lambda.networking"
        yield "L-DF5E4CA3", "region", 1, "lambda.networking"


def security_group_needs(sg: SecurityGroupPlan) -> Iterator[Need]:
    yield "L-E79EC296", "region", 1, sg.path
    yield "L-0EA8095F", f"sg:{sg.name}:ingress", len(sg.ingress), f"{sg.path}.ingress"
    yield "L-0EA8095F", f"sg:{sg.name}:egress", len(sg.egress), f"{sg.path}.egress"


def endpoint_needs(ep: EndpointPlan, d: Deployment) -> Iterator[Need]:
    if ep.type == "gateway":
        yield "L-1B52E74A", "region", 1, ep.path
    else:
        yield "L-29B6F2EB", vpc_scope(d), 1, ep.path
        yield "L-DF5E4CA3", "region", len(d.vpc.azs), ep.path  # one ENI per AZ subnet


def lambda_needs(d: Deployment) -> Iterator[Need]:
    attached = [f for f in d.functions if f.vpc_attached]
    if attached:
        private = sum(1 for s in d.vpc.subnets if s.kind == "private")
        # Hyperplane: one ENI per subnet x security-group combination, shared by the functions.
        yield "L-9FEE3D26", vpc_scope(d), private, attached[0].path
        yield "L-DF5E4CA3", "region", private, attached[0].path
    for f in d.functions:
        if f.reserved_concurrency is not None:
            yield "L-B99A9384", "region", f.reserved_concurrency, f"{f.path}.reservedConcurrency"
        yield "L-2ACBD22F", "region", f.code_size, f"{f.path}.source"


def data_needs(d: Deployment) -> Iterator[Need]:
    yield "L-0918CF54", "region", d.stream.shards, f"{d.stream.path}.shards"
    yield "L-F98FE922", "region", 1, d.table.path
    yield "L-DC2B2D3D", "global", 1, d.bucket.path
    yield "L-61103206", "region", 1, d.topic.path
    yield "L-FE177D64", "global", 1, d.role.path
    yield (
        "L-0DA4ABF3",
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
    for code, scope, amount, path in needs:
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
