"""The manifest's degradation policy, read once: what `plan --adapt` may change, and how far.

`degradation_policy(manifest)` is the only place the planner's rules are read from the manifest: the
networking modes allowed (best first) and the NAT choice, which endpoints and whether the VPC may go,
how reserved concurrency is shared (floors, weights, what happens when even the floors do not fit), and
the shapes a choice can take (each endpoint as declared and as its interface stand-in, every security
group). The planner, `realize` and the plan file's checks read this policy, never `manifest.doc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from preflight.deployment import ENDPOINT_ONLY_MODES, EndpointPlan, NetworkMode, SecurityGroupPlan

if TYPE_CHECKING:
    from preflight.manifest import Manifest

Sharing = Literal["water-fill", "none"]
WhenFloorsDoNotFit = Literal["drop-reservations", "no-go"]


@dataclass(frozen=True)
class EndpointChoice:
    """One endpoint of the manifest: whether an adapted plan may drop it, and the forms it can take."""

    key: str
    service: str
    optional: bool
    declared: EndpointPlan  # as the manifest declares it
    stand_in: EndpointPlan | None  # a gateway's interface endpoint (vpc-with-interface-endpoints)

    @property
    def gateway(self) -> bool:
        return self.declared.type == "gateway"

    def as_deployed(self, mode: NetworkMode, interface: frozenset[str] | None = None) -> EndpointPlan:
        """The endpoint as `mode` deploys it: declared, or with vpc-with-interface-endpoints its interface
        stand-in (a gateway in `interface`; None: every gateway)."""
        replace = mode == "vpc-with-interface-endpoints" and (interface is None or self.key in interface)
        return self.stand_in if replace and self.stand_in is not None else self.declared


@dataclass(frozen=True)
class FunctionReservation:
    """How far a function's reserved concurrency may be cut: its request, floor, weight, and whether it
    may be dropped at all."""

    key: str
    request: int | None  # None: the manifest reserves nothing for it
    floor: int  # minReservedConcurrency
    weight: float
    required: bool  # reservationRequired: NO_GO rather than drop it
    uses: tuple[str, ...]  # the services it calls (endpoints serve them)


@dataclass(frozen=True)
class DegradationPolicy:
    networking: tuple[NetworkMode, ...]  # allowed, best first; the first is what was requested
    nat_gateways: Literal["single", "per-az"]
    vpc_optional: bool
    az_count: int
    endpoints: Mapping[str, EndpointChoice]  # in the manifest's order
    security_groups: tuple[SecurityGroupPlan, ...]  # every group a choice may use (`prune` keeps the used)
    sharing: Sharing
    when_floors_do_not_fit: WhenFloorsDoNotFit
    functions: Mapping[str, FunctionReservation]  # in the manifest's order
    # Where a manifest path is written, for each change an adaptation names.
    line_of: Callable[[str], int | None] = field(compare=False, repr=False, default=lambda _: None)

    def floor_of(self, key: str) -> int:
        """The least reservation the function may keep: its floor, or its request without sharing."""
        fn = self.functions[key]
        if self.sharing == "none" and fn.request is not None:
            return fn.request
        return fn.floor

    def may_drop_reservation(self, key: str) -> bool:
        return not self.functions[key].required and self.when_floors_do_not_fit != "no-go"

    def required_endpoints(self, mode: NetworkMode) -> frozenset[str]:
        """What `mode` cannot work without: the endpoints that are not optional, and, where endpoints
        are the functions' only path to their services (no NAT route), every one a function uses."""
        used = (
            {s for fn in self.functions.values() for s in fn.uses} if mode in ENDPOINT_ONLY_MODES else set()
        )
        return frozenset(ep.key for ep in self.endpoints.values() if not ep.optional or ep.service in used)

    def vpc_can_go(self, mode: NetworkMode, endpoints: frozenset[str] | tuple[str, ...]) -> bool:
        """The VPC serves nothing (no function, no endpoint) and the manifest lets a plan leave it out."""
        return self.vpc_optional and mode == "no-vpc" and not endpoints


def degradation_policy(manifest: Manifest) -> DegradationPolicy:
    """The manifest's degradation policy (its environment profile applied), read in one place."""
    from preflight.manifest import endpoint_plans, interface_fallback, security_group_plans

    doc = manifest.doc
    specs = {ep.name: ep for ep in doc.endpoints}
    endpoints = {}
    for ep in endpoint_plans(manifest):
        stand_in = interface_fallback(manifest, ep) if ep.type == "gateway" else None
        endpoints[ep.key] = EndpointChoice(ep.key, ep.service, specs[ep.key].optional, ep, stand_in)
    functions = {
        fn.name: FunctionReservation(
            key=fn.name,
            request=fn.reserved_concurrency,
            floor=fn.min_reserved_concurrency,
            weight=fn.weight,
            required=fn.reservation_required,
            uses=tuple(fn.uses),
        )
        for fn in doc.functions
    }
    networking = doc.lambda_.networking
    concurrency = doc.lambda_.concurrency
    return DegradationPolicy(
        networking=tuple(networking.preference),
        nat_gateways=networking.nat_gateways,
        vpc_optional=doc.vpc.optional,
        az_count=doc.vpc.az_count,
        endpoints=endpoints,
        security_groups=security_group_plans(manifest),
        sharing=concurrency.sharing,
        when_floors_do_not_fit=concurrency.when_floors_do_not_fit,
        functions=functions,
        line_of=manifest.line_of,
    )
