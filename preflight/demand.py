"""What a deployment adds to each quota, in each scope, including what its resources imply.

A NAT gateway brings an Elastic IP and an ENI; an interface endpoint uses one ENI per AZ subnet; a new
VPC brings its default security group; VPC-attached functions share one Lambda ENI per subnet and
security group (Hyperplane). Lambda reservations are one demand on L-B99A9384; the unreserved floor
is applied when the demand is compared with the limit (see `preflight.evaluate`).

Scope keys: "region", "global", "vpc:<name>", "az:<zone>", "sg:<name>:ingress|egress", "role:<name>".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from preflight.model import Deployment


@dataclass(frozen=True)
class Demand:
    quota_code: str
    scope: str
    amount: float
    resources: tuple[str, ...]  # manifest paths that create the demand


def compute_demand(d: Deployment) -> list[Demand]:
    """Every (quota, scope) this deployment needs, with the amount and the manifest paths behind it."""
    acc: dict[tuple[str, str], list] = defaultdict(lambda: [0.0, []])

    def add(code: str, scope: str, amount: float, path: str) -> None:
        if amount <= 0:
            return
        slot = acc[(code, scope)]
        slot[0] += amount
        if path not in slot[1]:
            slot[1].append(path)

    vpc_scope = f"vpc:{d.vpc.name}"
    add("L-F678F1CE", "region", 1, d.vpc.path)
    add("L-E79EC296", "region", 1, d.vpc.path)  # the VPC's default security group
    add("L-407747CB", vpc_scope, len(d.vpc.subnets), f"{d.vpc.path}.azCount")
    if d.vpc.internet_gateway or d.vpc.nat_gateway_azs:
        add("L-A4707A72", "region", 1, f"{d.vpc.path}.publicSubnets")
    for az in d.vpc.nat_gateway_azs:
        add("L-FE5A380F", f"az:{az}", 1, "lambda.networking")
        add("L-0263D0A3", "region", 1, "lambda.networking")
        add("L-DF5E4CA3", "region", 1, "lambda.networking")

    for sg in d.security_groups:
        add("L-E79EC296", "region", 1, sg.path)
        add("L-0EA8095F", f"sg:{sg.name}:ingress", len(sg.ingress), f"{sg.path}.ingress")
        add("L-0EA8095F", f"sg:{sg.name}:egress", len(sg.egress), f"{sg.path}.egress")

    azs = len(d.vpc.azs)
    for ep in d.endpoints:
        if ep.type == "gateway":
            add("L-1B52E74A", "region", 1, ep.path)
        else:
            add("L-29B6F2EB", vpc_scope, 1, ep.path)
            add("L-DF5E4CA3", "region", azs, ep.path)

    attached = [f for f in d.functions if f.vpc_attached]
    if attached:
        private = sum(1 for s in d.vpc.subnets if s.kind == "private")
        # Hyperplane: one ENI per subnet x security-group combination, shared by the functions.
        add("L-9FEE3D26", vpc_scope, private, attached[0].path)
        add("L-DF5E4CA3", "region", private, attached[0].path)
    for f in d.functions:
        if f.reserved_concurrency is not None:
            add("L-B99A9384", "region", f.reserved_concurrency, f"{f.path}.reservedConcurrency")
        add("L-2ACBD22F", "region", f.code_size, f"{f.path}.source")

    add("L-0918CF54", "region", d.stream.shards, f"{d.stream.path}.shards")
    add("L-F98FE922", "region", 1, d.table.path)
    add("L-DC2B2D3D", "global", 1, d.bucket.path)
    add("L-61103206", "region", 1, d.topic.path)
    add("L-FE177D64", "global", 1, d.role.path)
    add(
        "L-0DA4ABF3",
        f"role:{d.role.name}",
        len(d.role.managed_policies),
        f"{d.role.path}.extraManagedPolicies",
    )

    return [Demand(code, scope, amount, tuple(paths)) for (code, scope), (amount, paths) in acc.items()]
