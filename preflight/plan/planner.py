"""`plan --adapt`: the least-degraded deployment that fits the account, and why each change was made.

The rule, stated once (the property test's brute force applies the same one):

* A deployment that fits as requested is returned unchanged (GO). Resources in it that serve nothing
  (an endpoint no VPC-attached function uses) stay, and are reported as notes with their cost.
* Only an adapted plan drops optional resources that nothing needs any more. An endpoint is *needed*
  when a VPC-attached function uses its service (`serving_endpoints`); it is *required* when the
  deployment cannot work without it: the manifest says it is not optional, or the networking is
  `vpc-with-endpoints`, where endpoints are the functions' only path (`required_endpoints`). An adapted
  plan keeps the required ones, keeps the needed-but-not-required ones (a NAT route exists) when they
  fit, the free (gateway) ones first, and drops the rest.

The search runs over the choices the manifest's degradation policy allows (`policy`, read once), not
over the seed's failures:

* Lambda networking, in the manifest's order of preference (`vpc-with-endpoints`,
  `vpc-with-interface-endpoints`, `vpc-with-nat`, `no-vpc`). The rest of the resource graph follows
  from that choice (`realize`): a NAT route brings a NAT gateway, its Elastic IP and the internet
  gateway; interface endpoints stand in for the gateway ones (per-VPC quota, an ENI per AZ, the
  DynamoDB URL for the functions); the role's execution policy and the Lambda security group follow
  attachment, an endpoint security group goes with the last interface endpoint, ENI demand goes with
  attachment (see `preflight.demand`); with nothing in the VPC and `vpc.optional`, no VPC at all.
  A plan that keeps a VPC nothing runs in says so (a note with what it holds).
* Reserved concurrency: shared by water-filling what the account can still reserve (`concurrency`).

Degradation is ordered: networking preference first, then endpoints dropped, then reservations dropped,
then concurrency given up, then monthly cost. The first networking choice whose required part fits
wins; every other choice is independent of the rest, so the result is the least-degraded plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from preflight.account.read import AccountState
from preflight.demand import Demand, Need, all_needs, endpoint_needs, security_group_needs
from preflight.deployment import (
    Adaptation,
    Deployment,
    EndpointPlan,
    IncreaseRequest,
    NetworkMode,
    Note,
    Verdict,
)
from preflight.evaluate import (
    DEFAULT_WARN_THRESHOLD,
    evaluate,
    evaluate_demand,
    headroom,
    increase_requests,
)
from preflight.gate import GatePolicy, blocking, verdict_for
from preflight.kinds.endpoint import private_dns
from preflight.manifest import Manifest, prune
from preflight.plan import impact
from preflight.plan.concurrency import share
from preflight.plan.decisions import Attempt, realize, serving_endpoints, with_reservations
from preflight.plan.explain import explain
from preflight.plan.policy import DegradationPolicy, degradation_policy
from preflight.quotas import catalog
from preflight.report.report import Finding

__all__ = [
    "Attempt",
    "PlanResult",
    "on_account",
    "plan",
    "plan_manifest",
    "requested_on",
    "required_endpoints",
    "serving_endpoints",
]

Totals = dict[tuple[str, str], float]  # (quota code, scope) -> amount


@dataclass(frozen=True)
class PlanResult:
    verdict: Verdict
    requested: Deployment
    adapted: Deployment
    findings: tuple[Finding, ...]  # of the adapted deployment
    adaptations: tuple[Adaptation, ...]
    increase_requests: tuple[IncreaseRequest, ...]  # what would make the requested deployment fit
    attempts: tuple[Attempt, ...]
    notes: tuple[Note, ...] = ()  # about the adapted deployment; they change nothing


def plan_manifest(
    manifest: Manifest,
    state: AccountState,
    gate_policy: GatePolicy,
    *,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    adapt: bool = True,
) -> PlanResult:
    """`plan` of the manifest's requested deployment (placed on the state's zones) under its policy."""
    requested = manifest.requested(state.region, state.azs)
    policy = degradation_policy(manifest)
    return plan(requested, policy, state, gate_policy, warn_threshold=warn_threshold, adapt=adapt)


def requested_on(manifest: Manifest, state: AccountState, azs: tuple[str, ...] | None = None) -> Deployment:
    """What `check` evaluates and `plan` starts from: the manifest's requested deployment on this
    account, in `azs` (default: the account's zones)."""
    requested = manifest.requested(state.region, state.azs if azs is None else azs)
    return on_account(requested, degradation_policy(manifest), state)


def on_account(requested: Deployment, policy: DegradationPolicy, state: AccountState) -> Deployment:
    """The requested deployment as this account takes it (idempotent).

    vpc-with-interface-endpoints means gateway endpoints where the regional gateway quota takes them
    and interface stand-ins only for the rest (interface endpoints cost money, gateways are free), so
    which gateways stand in is read from the account, as the zones are; the plan file records them
    (`decisions.interface`). Every other mode is the manifest's alone."""
    mode = requested.networking
    if mode != "vpc-with-interface-endpoints":
        return requested
    keys = frozenset(ep.key for ep in requested.endpoints)
    stand_ins = _stand_ins(policy, mode, keys, state)
    return realize(requested, policy, mode, keys, keep_vpc=requested.vpc.created, interface=stand_ins)


def plan(
    requested: Deployment,
    policy: DegradationPolicy,
    state: AccountState,
    gate_policy: GatePolicy,
    *,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    adapt: bool = True,
) -> PlanResult:
    """The least-degraded deployment that fits; with `adapt=False`, the deployment as requested (no
    adaptation allowed), judged as `check` judges it. `requested` is taken as the account takes it
    (`on_account`), so a plan with no adaptation is exactly what `check` evaluated."""
    requested = on_account(requested, policy, state)
    requested_findings = tuple(evaluate(requested, state, warn_threshold))
    increases = tuple(increase_requests(requested_findings))
    if not adapt or not blocking(requested_findings, gate_policy):
        verdict = verdict_for(requested_findings, gate_policy)
        return PlanResult(
            verdict, requested, requested, requested_findings, (), increases, (), _notes(requested)
        )

    allocation = share(requested, policy, state)
    reserved = with_reservations(requested, allocation.reservations)
    search = _Search(requested, reserved, policy, state, gate_policy, warn_threshold)
    chosen, refused = search.run()
    # Nothing allowed fits: show the most preferred choice with the fewest quotas still in the way, so a
    # NO_GO is not dressed up with changes that would not have helped.
    adapted = chosen or _closest(search.attempts).deployment
    findings = tuple(evaluate(adapted, state, warn_threshold))
    adaptations = explain(policy, requested, adapted, search.attempts, refused, allocation)
    verdict = verdict_for(findings, gate_policy, adapted=bool(adaptations)) if chosen else "NO_GO"
    attempts = tuple(search.attempts)
    return PlanResult(
        verdict, requested, adapted, findings, adaptations, increases, attempts, _notes(adapted)
    )


def _closest(attempts: list[Attempt]) -> Attempt:
    ranked = sorted(enumerate(attempts), key=lambda ia: (len({f.quota_code for f in ia[1].blocking}), ia[0]))
    return ranked[0][1]


def _notes(deployment: Deployment) -> tuple[Note, ...]:
    return unused_resource_notes(deployment) + idle_vpc_notes(deployment)


@dataclass
class _Search:
    """The networking modes in the policy's order: the first whose required part fits wins, then the
    optional endpoints that still fit are added to it."""

    requested: Deployment
    reserved: Deployment  # requested, with the reservations shared
    policy: DegradationPolicy
    state: AccountState
    gate_policy: GatePolicy
    warn_threshold: float

    def __post_init__(self) -> None:
        self.attempts: list[Attempt] = []

    def run(self) -> tuple[Deployment | None, dict[str, Finding | None]]:
        for mode in self.policy.networking:
            attempt = self.attempt(mode)
            self.attempts.append(attempt)
            if not attempt.blocking:
                needed = required_endpoints(self.requested, self.policy, mode)
                extras = [
                    self.policy.endpoints[key].as_deployed(mode)
                    for key in (ep.key for ep in self.requested.endpoints)
                    if key in serving_endpoints(self.requested, mode) and key not in needed
                ]
                return self.add_optional_endpoints(attempt.deployment, extras)
        return None, {}

    def attempt(self, mode: NetworkMode) -> Attempt:
        """`mode` with only its required endpoints (and no VPC where nothing stays in it and the
        manifest allows that, which frees its quota)."""
        needed = required_endpoints(self.requested, self.policy, mode)
        base = realize(
            self.reserved,
            self.policy,
            mode,
            needed,
            keep_vpc=not self.policy.vpc_can_go(mode, needed),
            interface=_stand_ins(self.policy, mode, needed, self.state),
        )
        findings = tuple(evaluate(base, self.state, self.warn_threshold))
        return Attempt(mode, base, findings, blocking(findings, self.gate_policy))

    def add_optional_endpoints(
        self, base: Deployment, candidates: list[EndpointPlan]
    ) -> tuple[Deployment, dict[str, Finding | None]]:
        """Keep every optional endpoint that still fits, free ones first; say which quota stopped the rest."""
        totals = _totals(all_needs(base))
        kept = {ep.key: ep for ep in base.endpoints}
        groups = {sg.name for sg in base.security_groups}
        all_groups = {sg.name: sg for sg in self.policy.security_groups}
        refused: dict[str, Finding | None] = {}
        for ep in sorted(candidates, key=lambda e: (e.type != "gateway", e.key)):
            needs: list[Need] = list(endpoint_needs(ep, base))
            if ep.security_group and ep.security_group not in groups:
                needs += security_group_needs(all_groups[ep.security_group])
            delta = _totals(needs)
            blocked = _first_short(self.state, totals, delta)
            if blocked:
                demand = Demand(blocked[0], blocked[1], totals[blocked] + delta[blocked], (ep.path,))
                refused[ep.key] = evaluate_demand(demand, self.state, DEFAULT_WARN_THRESHOLD)
                continue
            for key, amount in delta.items():
                totals[key] += amount
            kept[ep.key] = ep
            if ep.security_group:
                groups.add(ep.security_group)
        adapted = self.reserved.model_copy(
            update={
                # As the networking realized them (an interface stand-in keeps its gateway's key).
                "endpoints": tuple(kept[ep.key] for ep in self.requested.endpoints if ep.key in kept),
                "security_groups": self.policy.security_groups,
                "functions": base.functions,
                "vpc": base.vpc,
                "role": base.role,
                "networking": base.networking,
            }
        )
        return prune(adapted), refused


def _totals(needs: Iterable[Need]) -> Totals:
    totals: Totals = defaultdict(float)
    for quota, scope, amount, _ in needs:
        totals[(quota.quota_code, scope)] += amount
    return totals


def _first_short(state: AccountState, totals: Totals, delta: Totals) -> tuple[str, str] | None:
    """The first (quota, scope) whose headroom cannot take `delta` on top of `totals` (unknown room
    cannot take anything: fail closed)."""
    for (code, scope), amount in delta.items():
        room = headroom(state, catalog.quota(code), scope)
        if room is None or totals[(code, scope)] + amount > room:
            return code, scope
    return None


def required_endpoints(requested: Deployment, policy: DegradationPolicy, mode: NetworkMode) -> frozenset[str]:
    """What `mode` cannot work without, of the endpoints `requested` holds (`policy.required_endpoints`)."""
    return policy.required_endpoints(mode) & {ep.key for ep in requested.endpoints}


def unused_resource_notes(deployment: Deployment) -> tuple[Note, ...]:
    """Endpoints in the deployment that no VPC-attached function uses, each with what it costs."""
    serving = serving_endpoints(deployment, deployment.networking)
    return tuple(
        Note(
            id=f"endpoint-{ep.key}-unused",
            title=f"The {ep.service} {ep.type} endpoint serves nothing",
            reason=f"no VPC-attached function uses {ep.service} (Lambda networking: "
            f"{deployment.networking}); it is deployed as requested",
            paths=(ep.path,),
            impact=impact.unused_endpoint(ep.service, ep.type, len(deployment.vpc.azs)),
        )
        for ep in deployment.endpoints
        if ep.key not in serving
    )


def idle_vpc_notes(deployment: Deployment) -> tuple[Note, ...]:
    """The VPC and what comes with it, when no function runs in it: it serves nothing."""
    vpc = deployment.vpc
    if not vpc.created or deployment.vpc_attached:
        return ()
    parts = ["subnets", "route tables"] + (["internet gateway"] if vpc.internet_gateway else [])
    return (
        Note(
            id="vpc-idle",
            title=f"The VPC and its {', '.join(parts)} serve nothing",
            reason=f"no function runs in the VPC (Lambda networking: {deployment.networking}); it is "
            "deployed as the manifest asks (vpc.optional lets an adapted plan leave it out)",
            paths=(vpc.path,),
            impact=impact.idle_vpc(len(vpc.subnets), vpc.internet_gateway),
        ),
    )


def _stand_ins(
    policy: DegradationPolicy, mode: NetworkMode, kept: frozenset[str], state: AccountState
) -> frozenset[str] | None:
    """With vpc-with-interface-endpoints, the kept gateway endpoints the regional gateway quota cannot
    take: those become interface endpoints, the rest stay free gateways. DynamoDB's gateway is kept
    first (its interface endpoint has no private DNS). Room unknown: every one stands in."""
    if mode != "vpc-with-interface-endpoints":
        return None
    gateways = [ep for ep in policy.endpoints.values() if ep.gateway and ep.key in kept]
    room = headroom(state, catalog.GATEWAY_ENDPOINTS, "region")
    stay = max(0, int(room)) if room is not None else 0
    by_preference = sorted(gateways, key=lambda ep: private_dns(ep.service))
    return frozenset(ep.key for ep in by_preference[stay:])
