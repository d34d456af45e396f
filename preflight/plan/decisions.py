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
from typing import TYPE_CHECKING

from preflight.model import (
    BASIC_EXECUTION_POLICY,
    ENDPOINT_ONLY_MODES,
    VPC_ACCESS_POLICY,
    Decisions,
    Deployment,
    NetworkMode,
)

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


def realize(
    requested: Deployment,
    manifest: Manifest,
    mode: NetworkMode,
    keep: frozenset[str],
    *,
    keep_vpc: bool = True,
    interface: frozenset[str] | None = None,
) -> Deployment:
    """The deployment for one networking choice and one set of kept endpoints, derived along the graph;
    without `keep_vpc` (allowed only with nothing in the VPC), no VPC at all."""
    from preflight.manifest import endpoint_for_mode, prune, security_group_plans

    attached = mode != "no-vpc"
    nat_azs: tuple[str, ...] = ()
    if mode == "vpc-with-nat":
        per_az = manifest.doc.lambda_.networking.nat_gateways == "per-az"
        nat_azs = requested.vpc.azs if per_az else requested.vpc.azs[:1]
    extra = tuple(
        p for p in requested.role.managed_policies if p not in (BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY)
    )
    role = requested.role.model_copy(
        update={"managed_policies": (VPC_ACCESS_POLICY if attached else BASIC_EXECUTION_POLICY, *extra)}
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
                endpoint_for_mode(manifest, ep, mode, interface)
                for ep in requested.endpoints
                if ep.key in keep
            ),
            "functions": tuple(f.model_copy(update={"vpc_attached": attached}) for f in requested.functions),
            "role": role,
            # Security groups are re-derived from the manifest's: prune keeps those still used (the
            # interface fallback's group may serve nothing in the requested deployment).
            "security_groups": security_group_plans(manifest),
        }
    )
    if not keep_vpc:
        vpc = deployment.vpc.model_copy(
            update={"subnets": (), "internet_gateway": False, "nat_gateway_azs": (), "created": False}
        )
        deployment = deployment.model_copy(update={"vpc": vpc})
    return prune(deployment)


def vpc_can_go(manifest: Manifest, mode: NetworkMode, endpoints: frozenset[str] | tuple[str, ...]) -> bool:
    """The VPC serves nothing and the manifest lets an adapted plan leave it out."""
    return manifest.doc.vpc.optional and mode == "no-vpc" and not endpoints


def check_decisions(manifest: Manifest, region: str, decisions: Decisions) -> list[tuple[str, str]]:
    """Every decision the manifest's policy does not allow, as (field under `decisions`, why)."""
    doc = manifest.doc
    problems: list[tuple[str, str]] = []
    azs = decisions.azs
    if len(azs) != doc.vpc.az_count or len(set(azs)) != len(azs):
        problems.append(("azs", f"must be {doc.vpc.az_count} distinct zones (the manifest's vpc.azCount)"))
    for i, az in enumerate(azs):
        if not AZ_RE.match(az) or not az.startswith(region):
            problems.append((f"azs[{i}]", f"{az!r} is not an availability zone of {region}"))
    preference = doc.lambda_.networking.preference
    if decisions.networking not in preference:
        problems.append(
            ("networking", f"{decisions.networking} is not allowed by lambda.networking.preference")
        )
    names = [ep.name for ep in doc.endpoints]
    for i, key in enumerate(decisions.endpoints):
        if key not in names or decisions.endpoints.index(key) != i:
            problems.append((f"endpoints[{i}]", f"{key!r} is not an endpoint of the manifest (or repeated)"))
    used = (
        {s for fn in doc.functions for s in fn.uses} if decisions.networking in ENDPOINT_ONLY_MODES else set()
    )
    for ep in doc.endpoints:
        if (not ep.optional or ep.service in used) and ep.name not in decisions.endpoints:
            problems.append(("endpoints", f"{ep.name!r} is required with {decisions.networking}"))
    gateways = {ep.name for ep in doc.endpoints if ep.type == "gateway"}
    for i, key in enumerate(decisions.interface):
        if decisions.networking != "vpc-with-interface-endpoints":
            problems.append(
                (f"interface[{i}]", f"{key!r}: only vpc-with-interface-endpoints replaces gateways")
            )
        elif key not in gateways or key not in decisions.endpoints or decisions.interface.index(key) != i:
            problems.append((f"interface[{i}]", f"{key!r} is not a kept gateway endpoint (or repeated)"))
    if not decisions.vpc and not vpc_can_go(manifest, decisions.networking, decisions.endpoints):
        problems.append(
            ("vpc", "false: the VPC may be left out only when vpc.optional, no-vpc and no endpoint")
        )
    problems += _reservation_problems(manifest, decisions)
    return problems


def _reservation_problems(manifest: Manifest, decisions: Decisions) -> list[tuple[str, str]]:
    policy = manifest.doc.lambda_.concurrency
    specs = {fn.name: fn for fn in manifest.doc.functions}
    problems = [
        (f"reservations.{key}", "is not a function of the manifest")
        for key in decisions.reservations
        if key not in specs
    ]
    for name, fn in specs.items():
        where = f"reservations.{name}"
        if name not in decisions.reservations:
            problems.append((where, "is missing: every function of the manifest needs a decision"))
            continue
        value = decisions.reservations[name]
        asked = fn.reserved_concurrency
        if asked is None:
            if value is not None:
                problems.append((where, f"{value}: the manifest reserves nothing for {name}"))
        elif value is None:
            if fn.reservation_required or policy.when_floors_do_not_fit == "no-go":
                problems.append((where, f"none: the manifest does not allow dropping {name}'s reservation"))
        else:
            floor = asked if policy.sharing == "none" else fn.min_reserved_concurrency
            if not floor <= value <= asked:
                problems.append((where, f"{value}: the manifest allows {floor} to {asked} for {name}"))
    return problems


def rebuild(manifest: Manifest, region: str, decisions: Decisions) -> Deployment:
    """The deployment the manifest and the decisions give (the decisions checked first by the caller)."""
    requested = manifest.requested(region, decisions.azs)
    with_reservations = requested.model_copy(
        update={
            "functions": tuple(
                f.model_copy(update={"reserved_concurrency": decisions.reservations.get(f.key)})
                for f in requested.functions
            )
        }
    )
    return realize(
        with_reservations,
        manifest,
        decisions.networking,
        frozenset(decisions.endpoints),
        keep_vpc=decisions.vpc,
        interface=frozenset(decisions.interface),
    )
