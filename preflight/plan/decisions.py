"""What `plan --adapt` decides, and the one way a deployment is built from a manifest and decisions.

A plan file is a deploy instruction that travels from the job that read the account to the job that
deploys, so it is a place where a value can be changed. The program therefore does not deploy values
from the plan: it deploys `rebuild(manifest, region, decisions)`, the manifest under version control
(found beside the program, its hash compared with the plan's) plus the few choices the planner made:

* the availability zones the account offered (as many as `vpc.azCount`);
* the Lambda networking mode (one the manifest's `lambda.networking.preference` allows);
* which endpoints are kept (manifest endpoints; every one the mode requires); with
  `vpc-with-interface-endpoints`, the gateway ones are deployed as interface endpoints;
* each function's reserved concurrency (from its floor to its request, or none where the manifest's
  policy allows dropping it).

`check_decisions` refuses any decision the manifest's policy does not allow, so a value the manifest
never said (a memory size, a source path, a reservation above the request, a shard count) cannot reach
the deploy. The plan still carries the full `deployment` (for review and for `verify-program`); the
program refuses a plan whose deployment is not exactly what the manifest and its decisions give.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preflight.deployment import (
    BASIC_EXECUTION_POLICY,
    VPC_ACCESS_POLICY,
    Decisions,
    Deployment,
    NetworkMode,
)
from preflight.plan.policy import DegradationPolicy, degradation_policy
from preflight.report.report import Finding

if TYPE_CHECKING:
    from preflight.manifest import Manifest

AZ_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$")


def decisions_of(deployment: Deployment) -> Decisions:
    """The choices a deployment embodies (the inverse of `rebuild` for the planner's deployments)."""
    return Decisions(
        azs=deployment.vpc.azs,
        networking=deployment.networking,
        endpoints=tuple(ep.key for ep in deployment.endpoints),
        reservations={f.key: f.reserved_concurrency for f in deployment.functions},
        vpc=deployment.vpc.created,
        interface=tuple(ep.key for ep in deployment.endpoints if ep.stands_in_for_gateway),
    )


@dataclass(frozen=True)
class Attempt:
    """One networking choice tried: its deployment (required endpoints only), findings and what blocked it."""

    mode: NetworkMode
    deployment: Deployment
    findings: tuple[Finding, ...]
    blocking: tuple[Finding, ...]


def with_reservations(requested: Deployment, reservations: Mapping[str, int | None]) -> Deployment:
    """The deployment with each function's reserved concurrency as decided (None: no reservation)."""
    functions = tuple(
        f.model_copy(update={"reserved_concurrency": reservations.get(f.key)}) for f in requested.functions
    )
    return requested.model_copy(update={"functions": functions})


def serving_endpoints(requested: Deployment, mode: NetworkMode) -> frozenset[str]:
    """The endpoints a VPC-attached function uses under `mode`: none when the functions leave the VPC."""
    if mode == "no-vpc":
        return frozenset()
    used = {s for f in requested.functions for s in f.uses}
    return frozenset(ep.key for ep in requested.endpoints if ep.service in used)


def realize(
    requested: Deployment,
    policy: DegradationPolicy,
    mode: NetworkMode,
    keep: frozenset[str],
    *,
    keep_vpc: bool = True,
    interface: frozenset[str] | None = None,
) -> Deployment:
    """The deployment for one networking choice and one set of kept endpoints, derived along the graph
    by the functions `manifest.resolve` uses; without `keep_vpc` (allowed only with nothing in the
    VPC), no VPC at all."""
    from preflight.manifest import execution_policies, nat_gateway_azs, prune

    nat_azs = nat_gateway_azs(mode, policy.nat_gateways, requested.vpc.azs)
    extra = tuple(
        p for p in requested.role.managed_policies if p not in (BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY)
    )
    deployment = requested.model_copy(
        update={
            "networking": mode,
            "vpc": requested.vpc.model_copy(
                update={
                    "nat_gateway_azs": nat_azs,
                    "internet_gateway": requested.vpc.internet_gateway or bool(nat_azs),
                }
            ),
            "endpoints": tuple(
                policy.endpoints[ep.key].as_deployed(mode, interface)
                for ep in requested.endpoints
                if ep.key in keep
            ),
            "functions": tuple(
                f.model_copy(update={"vpc_attached": mode != "no-vpc"}) for f in requested.functions
            ),
            "role": requested.role.model_copy(update={"managed_policies": execution_policies(mode, extra)}),
            # Security groups are re-derived from the manifest's: prune keeps those still used (the
            # interface fallback's group may serve nothing in the requested deployment).
            "security_groups": policy.security_groups,
        }
    )
    if not keep_vpc:
        vpc = deployment.vpc.model_copy(
            update={"subnets": (), "internet_gateway": False, "nat_gateway_azs": (), "created": False}
        )
        deployment = deployment.model_copy(update={"vpc": vpc})
    return prune(deployment)


def check_decisions(manifest: Manifest, region: str, decisions: Decisions) -> list[tuple[str, str]]:
    """Every decision the manifest's policy does not allow, as (field under `decisions`, why)."""
    policy = degradation_policy(manifest)
    return [
        *_zone_problems(policy, region, decisions),
        *_networking_problems(policy, decisions),
        *_endpoint_problems(policy, decisions),
        *_reservation_problems(policy, decisions),
    ]


def _zone_problems(policy: DegradationPolicy, region: str, decisions: Decisions) -> list[tuple[str, str]]:
    azs = decisions.azs
    problems = []
    if len(azs) != policy.az_count or len(set(azs)) != len(azs):
        problems.append(("azs", f"must be {policy.az_count} distinct zones (the manifest's vpc.azCount)"))
    for i, az in enumerate(azs):
        if not AZ_RE.match(az) or not az.startswith(region):
            problems.append((f"azs[{i}]", f"{az!r} is not an availability zone of {region}"))
    return problems


def _networking_problems(policy: DegradationPolicy, decisions: Decisions) -> list[tuple[str, str]]:
    if decisions.networking not in policy.networking:
        return [("networking", f"{decisions.networking} is not allowed by lambda.networking.preference")]
    return []


def _endpoint_problems(policy: DegradationPolicy, decisions: Decisions) -> list[tuple[str, str]]:
    problems = []
    for i, key in enumerate(decisions.endpoints):
        if key not in policy.endpoints or decisions.endpoints.index(key) != i:
            problems.append((f"endpoints[{i}]", f"{key!r} is not an endpoint of the manifest (or repeated)"))
    required = policy.required_endpoints(decisions.networking)
    for key in policy.endpoints:  # the manifest's order
        if key in required and key not in decisions.endpoints:
            problems.append(("endpoints", f"{key!r} is required with {decisions.networking}"))
    gateways = {ep.key for ep in policy.endpoints.values() if ep.gateway}
    for i, key in enumerate(decisions.interface):
        if decisions.networking != "vpc-with-interface-endpoints":
            problems.append(
                (f"interface[{i}]", f"{key!r}: only vpc-with-interface-endpoints replaces gateways")
            )
        elif key not in gateways or key not in decisions.endpoints or decisions.interface.index(key) != i:
            problems.append((f"interface[{i}]", f"{key!r} is not a kept gateway endpoint (or repeated)"))
    if not decisions.vpc and not policy.vpc_can_go(decisions.networking, decisions.endpoints):
        problems.append(
            ("vpc", "false: the VPC may be left out only when vpc.optional, no-vpc and no endpoint")
        )
    return problems


def _reservation_problems(policy: DegradationPolicy, decisions: Decisions) -> list[tuple[str, str]]:
    problems = [
        (f"reservations.{key}", "is not a function of the manifest")
        for key in decisions.reservations
        if key not in policy.functions
    ]
    for name, fn in policy.functions.items():
        where = f"reservations.{name}"
        if name not in decisions.reservations:
            problems.append((where, "is missing: every function of the manifest needs a decision"))
            continue
        value = decisions.reservations[name]
        if fn.request is None:
            if value is not None:
                problems.append((where, f"{value}: the manifest reserves nothing for {name}"))
        elif value is None:
            if not policy.may_drop_reservation(name):
                problems.append((where, f"none: the manifest does not allow dropping {name}'s reservation"))
        elif not policy.floor_of(name) <= value <= fn.request:
            problems.append(
                (where, f"{value}: the manifest allows {policy.floor_of(name)} to {fn.request} for {name}")
            )
    return problems


def rebuild(manifest: Manifest, region: str, decisions: Decisions) -> Deployment:
    """The deployment the manifest and the decisions give (the decisions checked first by the caller)."""
    requested = manifest.requested(region, decisions.azs)
    return realize(
        with_reservations(requested, decisions.reservations),
        degradation_policy(manifest),
        decisions.networking,
        frozenset(decisions.endpoints),
        keep_vpc=decisions.vpc,
        interface=frozenset(decisions.interface),
    )
