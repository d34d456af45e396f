"""What a deployment adds to each quota, in each scope, including what its resources imply.

A NAT gateway brings an Elastic IP and an ENI; an interface endpoint uses one ENI per AZ subnet; a new
VPC brings its default security group; VPC-attached functions share one Lambda ENI per subnet and
security group (Hyperplane). Lambda reservations are one demand on L-B99A9384; the unreserved floor
is applied when the demand is compared with the limit (see `preflight.evaluate`). Each resource kind
declares its own needs (`needs` in `preflight/kinds/<kind>.py`); this sums them per quota and scope.

Scope keys: "region", "global", "vpc:<name>", "az:<zone>", "sg:<name>:ingress|egress", "role:<name>".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from preflight import kinds
from preflight.deployment import Deployment, EndpointPlan, SecurityGroupPlan
from preflight.kinds import endpoint, security_group
from preflight.kinds.base import Need, Needs


@dataclass(frozen=True)
class Demand:
    quota_code: str
    scope: str
    amount: float
    resources: tuple[str, ...]  # manifest paths that create the demand
    note: str = ""  # why the amount is what it is, where that is not obvious (a redeploy's peak)


def all_needs(d: Deployment) -> Needs:
    """What every kind of the deployment takes of each quota (each kind declares its own, in
    `preflight/kinds/`)."""
    return kinds.needs(d)


def endpoint_needs(ep: EndpointPlan, d: Deployment) -> Needs:
    """One endpoint's needs (the planner weighs endpoints one by one)."""
    return endpoint.endpoint_needs(ep, d.vpc)


def security_group_needs(sg: SecurityGroupPlan) -> Needs:
    return security_group.group_needs(sg)


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
