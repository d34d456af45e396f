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

The search runs over the choices the manifest's policy allows, not over the seed's failures:

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
from dataclasses import dataclass

from preflight import privatelink
from preflight.account import AccountState
from preflight.demand import Demand, Need, all_needs, endpoint_needs, security_group_needs
from preflight.evaluate import (
    DEFAULT_WARN_THRESHOLD,
    evaluate,
    evaluate_demand,
    headroom,
    increase_requests,
)
from preflight.gate import GatePolicy, verdict_for
from preflight.manifest import Manifest, endpoint_for_mode, prune, security_group_plans
from preflight.model import (
    BASIC_EXECUTION_POLICY,
    ENDPOINT_ONLY_MODES,
    Adaptation,
    Change,
    Deployment,
    EndpointPlan,
    IncreaseRequest,
    NetworkMode,
    Note,
    SecurityGroupPlan,
    Verdict,
)
from preflight.plan import impact
from preflight.plan.concurrency import Allocation, share
from preflight.plan.decisions import realize, vpc_can_go
from preflight.quotas import catalog
from preflight.report import Finding


@dataclass(frozen=True)
class Attempt:
    mode: NetworkMode
    deployment: Deployment
    findings: tuple[Finding, ...]
    blocking: tuple[Finding, ...]


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


def _blocking(findings: list[Finding], policy: GatePolicy) -> tuple[Finding, ...]:
    return tuple(
        f for f in findings if f.status == "FAIL" or (f.status == "UNKNOWN" and not policy.allow_unknown)
    )


def serving_endpoints(requested: Deployment, mode: NetworkMode) -> frozenset[str]:
    """The endpoints a VPC-attached function uses under `mode`: none when the functions leave the VPC."""
    if mode == "no-vpc":
        return frozenset()
    used = {s for f in requested.functions for s in f.uses}
    return frozenset(ep.key for ep in requested.endpoints if ep.service in used)


def required_endpoints(requested: Deployment, manifest: Manifest, mode: NetworkMode) -> frozenset[str]:
    """What `mode` cannot work without: non-optional endpoints, and every serving one without NAT."""
    optional = {ep.name: ep.optional for ep in manifest.doc.endpoints}
    mandatory = {ep.key for ep in requested.endpoints if not optional.get(ep.key, True)}
    serving = serving_endpoints(requested, mode) if mode in ENDPOINT_ONLY_MODES else frozenset()
    return frozenset(mandatory | serving)


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
    manifest: Manifest, mode: NetworkMode, kept: frozenset[str], state: AccountState
) -> frozenset[str] | None:
    """With vpc-with-interface-endpoints, the kept gateway endpoints the regional gateway quota cannot
    take: those become interface endpoints, the rest stay free gateways. DynamoDB's gateway is kept
    first (its interface endpoint has no private DNS). Room unknown: every one stands in."""
    if mode != "vpc-with-interface-endpoints":
        return None
    gateways = [ep for ep in manifest.doc.endpoints if ep.type == "gateway" and ep.name in kept]
    room = headroom(state, catalog.GATEWAY_ENDPOINTS, "region")
    stay = max(0, int(room)) if room is not None else 0
    by_preference = sorted(gateways, key=lambda ep: privatelink.private_dns(ep.service))
    return frozenset(ep.name for ep in by_preference[stay:])


def _add_optional_endpoints(
    base: Deployment,
    requested: Deployment,
    candidates: list[EndpointPlan],
    state: AccountState,
    all_groups: dict[str, SecurityGroupPlan],
) -> tuple[Deployment, dict[str, Finding | None]]:
    """Keep every optional endpoint that still fits, free ones first; say which quota stopped the rest."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for quota, scope, amount, _ in all_needs(base):
        totals[(quota.quota_code, scope)] += amount
    kept = {ep.key: ep for ep in base.endpoints}
    groups = {sg.name for sg in base.security_groups}
    refused: dict[str, Finding | None] = {}
    for ep in sorted(candidates, key=lambda e: (e.type != "gateway", e.key)):
        needs: list[Need] = list(endpoint_needs(ep, base))
        if ep.security_group and ep.security_group not in groups:
            needs += security_group_needs(all_groups[ep.security_group])
        blocked = None
        delta: dict[tuple[str, str], float] = defaultdict(float)
        for quota, scope, amount, _ in needs:
            delta[(quota.quota_code, scope)] += amount
        for (code, scope), amount in delta.items():
            room = headroom(state, catalog.quota(code), scope)
            if room is None or totals[(code, scope)] + amount > room:
                blocked = (code, scope)
                break
        if blocked:
            demand = Demand(blocked[0], blocked[1], totals[blocked] + delta[blocked], (ep.path,))
            refused[ep.key] = evaluate_demand(demand, state, DEFAULT_WARN_THRESHOLD)
            continue
        for key, amount in delta.items():
            totals[key] += amount
        kept[ep.key] = ep
        if ep.security_group:
            groups.add(ep.security_group)
    adapted = requested.model_copy(
        update={
            # As the networking realized them (an interface stand-in keeps its gateway's key).
            "endpoints": tuple(kept[ep.key] for ep in requested.endpoints if ep.key in kept),
            "security_groups": tuple(all_groups.values()),
            "functions": base.functions,
            "vpc": base.vpc,
            "role": base.role,
            "networking": base.networking,
        }
    )
    return prune(adapted), refused


def plan(
    manifest: Manifest,
    state: AccountState,
    policy: GatePolicy,
    *,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    adapt: bool = True,
) -> PlanResult:
    """The least-degraded deployment that fits; with `adapt=False`, the deployment as requested (no
    adaptation allowed), judged as `check` judges it."""
    requested = manifest.requested(state.region, state.azs)
    requested_findings = evaluate(requested, state, warn_threshold)
    increases = tuple(increase_requests(requested_findings))
    if not adapt or not _blocking(requested_findings, policy):
        return PlanResult(
            verdict=verdict_for(requested_findings, policy),
            requested=requested,
            adapted=requested,
            findings=tuple(requested_findings),
            adaptations=(),
            increase_requests=increases,
            attempts=(),
            notes=unused_resource_notes(requested) + idle_vpc_notes(requested),
        )

    allocation = share(requested, manifest, state)
    with_reservations = requested.model_copy(
        update={
            "functions": tuple(
                f.model_copy(update={"reserved_concurrency": allocation.reservations.get(f.key)})
                for f in requested.functions
            )
        }
    )
    attempts: list[Attempt] = []
    refused: dict[str, Finding | None] = {}
    chosen: Deployment | None = None
    for mode in manifest.doc.lambda_.networking.preference:
        needed = required_endpoints(requested, manifest, mode)
        # A VPC nothing stays in goes too, where the manifest allows it (which frees its quota).
        base = realize(
            with_reservations,
            manifest,
            mode,
            needed,
            keep_vpc=not vpc_can_go(manifest, mode, needed),
            interface=_stand_ins(manifest, mode, needed, state),
        )
        findings = evaluate(base, state, warn_threshold)
        blocking = _blocking(findings, policy)
        attempts.append(Attempt(mode, base, tuple(findings), blocking))
        if blocking:
            continue
        serving = serving_endpoints(requested, mode)
        extras = [
            endpoint_for_mode(manifest, ep, mode)
            for ep in requested.endpoints
            if ep.key in serving and ep.key not in needed
        ]
        groups = {sg.name: sg for sg in security_group_plans(manifest)}
        chosen, refused = _add_optional_endpoints(base, with_reservations, extras, state, groups)
        break

    if chosen is None:
        # Nothing allowed fits: show the most preferred choice with the fewest quotas still in the way,
        # so a NO_GO is not dressed up with changes that would not have helped.
        closest = min(
            range(len(attempts)), key=lambda i: (len({f.quota_code for f in attempts[i].blocking}), i)
        )
        chosen_attempt = attempts[closest].deployment
    adapted = chosen or chosen_attempt
    findings = evaluate(adapted, state, warn_threshold)
    adaptations = explain(manifest, requested, adapted, attempts, refused, allocation)
    verdict = verdict_for(findings, policy, adapted=bool(adaptations)) if chosen else "NO_GO"
    return PlanResult(
        verdict=verdict,
        requested=requested,
        adapted=adapted,
        findings=tuple(findings),
        adaptations=adaptations,
        increase_requests=increases,
        attempts=tuple(attempts),
        notes=unused_resource_notes(adapted) + idle_vpc_notes(adapted),
    )


def explain(
    manifest: Manifest,
    requested: Deployment,
    adapted: Deployment,
    attempts: list[Attempt],
    refused: dict[str, Finding | None],
    allocation: Allocation,
) -> tuple[Adaptation, ...]:
    """One adaptation per change between requested and adapted, with the quota that forced it."""
    root = _RootCause.of(attempts, adapted)
    out: list[Adaptation] = []
    if adapted.networking != requested.networking:
        out.append(_networking_adaptation(manifest, requested, adapted, root))
    out += _endpoint_adaptations(manifest, requested, adapted, refused, root)
    out += _security_group_adaptations(manifest, requested, adapted, root)
    if requested.vpc.created and not adapted.vpc.created:
        out.append(_vpc_adaptation(manifest, requested, root))
    if adapted.role.managed_policies != requested.role.managed_policies:
        out.append(_role_adaptation(manifest, requested, adapted, root))
    out.extend(_concurrency_adaptations(manifest, requested, adapted, allocation))
    return tuple(out)


@dataclass(frozen=True)
class _RootCause:
    """The quota that ruled out the preferred networking: the root cause of every cascade below it."""

    code: str | None
    name: str | None
    why: str  # "CODE name (scope): what did not fit", or "" when no attempt was blocked

    @classmethod
    def of(cls, attempts: list[Attempt], adapted: Deployment) -> _RootCause:
        root = next((a.blocking[0] for a in attempts if a.blocking and a.mode != adapted.networking), None)
        if root is None:
            return cls(None, None, "")
        what = root.message.removeprefix("does not fit: ")
        why = f"{root.quota_code} {root.quota_name} ({root.scope}): {what}"
        return cls(root.quota_code, root.quota_name, why)


def _networking_adaptation(
    manifest: Manifest, requested: Deployment, adapted: Deployment, root: _RootCause
) -> Adaptation:
    line = manifest.line_of
    changes = [
        Change(
            path="lambda.networking.preference",
            before=requested.networking,
            after=adapted.networking,
            line=line("lambda.networking.preference"),
        )
    ]
    changes += [
        Change(
            path=f"{f.path}.vpc", before="attached (private subnets)", after="not attached", line=line(f.path)
        )
        for f, g in zip(requested.functions, adapted.functions, strict=True)
        if f.vpc_attached and not g.vpc_attached
    ]
    if adapted.vpc.nat_gateway_azs:
        changes.append(
            Change(path="vpc.natGateways", before=0, after=len(adapted.vpc.nat_gateway_azs), line=line("vpc"))
        )
    replaced = _replaced_gateways(adapted)
    changes += _fallback_changes(manifest, adapted, replaced)
    if replaced:
        effect = impact.interface_fallback(
            [(ep.service, ep.url_variable) for ep in replaced],
            len(adapted.vpc.azs),
            replaced[0].security_group,
        )
    elif adapted.vpc.nat_gateway_azs:
        effect = impact.nat_route(len(adapted.vpc.nat_gateway_azs))
    else:
        effect = impact.leave_vpc()
    return Adaptation(
        id="lambda-networking",
        title=f"Lambda networking: {requested.networking} -> {adapted.networking}",
        quota_code=root.code,
        quota_name=root.name,
        reason=f"{requested.networking} does not fit: {root.why}",
        changes=tuple(changes),
        impact=effect,
    )


def _endpoint_adaptations(
    manifest: Manifest,
    requested: Deployment,
    adapted: Deployment,
    refused: dict[str, Finding | None],
    root: _RootCause,
) -> list[Adaptation]:
    """Each requested endpoint the adapted plan drops: refused by its own quota, or no longer needed."""
    kept = {ep.key for ep in adapted.endpoints}
    serving = serving_endpoints(requested, adapted.networking)
    out = []
    for ep in requested.endpoints:
        if ep.key in kept:
            continue
        blocked = refused.get(ep.key)
        if blocked is not None:
            code, name = blocked.quota_code, blocked.quota_name
            reason = f"does not fit {code} {name} ({blocked.scope}); the endpoint is optional"
        else:
            code, name = root.code, root.name
            reason = _unneeded_reason(root.why, moved=adapted.networking != requested.networking)
            if ep.key in serving:
                reason = f"does not fit: {root.why}"
        out.append(
            Adaptation(
                id=f"endpoint-{ep.key}-dropped",
                title=f"Drop the {ep.service} {ep.type} endpoint",
                quota_code=code,
                quota_name=name,
                reason=reason,
                changes=(Change(path=ep.path, before=ep.name, after=None, line=manifest.line_of(ep.path)),),
                impact=impact.drop_gateway_endpoint(ep.service)
                if ep.type == "gateway"
                else impact.drop_interface_endpoint(ep.service, len(requested.vpc.azs)),
            )
        )
    return out


def _security_group_adaptations(
    manifest: Manifest, requested: Deployment, adapted: Deployment, root: _RootCause
) -> list[Adaptation]:
    groups = {sg.name for sg in adapted.security_groups}
    return [
        Adaptation(
            id=f"security-group-{sg.key}-dropped",
            title=f"Drop security group {sg.name}",
            quota_code=root.code,
            quota_name=root.name,
            reason="nothing uses it any more (cascade of the changes above)",
            changes=(Change(path=sg.path, before=sg.name, after=None, line=manifest.line_of(sg.path)),),
            impact=impact.drop_security_group(),
        )
        for sg in requested.security_groups
        if sg.name not in groups
    ]


def _vpc_adaptation(manifest: Manifest, requested: Deployment, root: _RootCause) -> Adaptation:
    return Adaptation(
        id="vpc-dropped",
        title=f"Leave out the VPC {requested.vpc.name}",
        quota_code=root.code,
        quota_name=root.name,
        reason="no function stays in the VPC and no endpoint needs it; vpc.optional lets the plan leave it "
        "out, with its subnets, route tables and internet gateway",
        changes=(Change(path="vpc", before=requested.vpc.name, after=None, line=manifest.line_of("vpc")),),
        impact=impact.drop_vpc(len(requested.vpc.subnets), requested.vpc.internet_gateway),
    )


def _role_adaptation(
    manifest: Manifest, requested: Deployment, adapted: Deployment, root: _RootCause
) -> Adaptation:
    to_basic = BASIC_EXECUTION_POLICY in adapted.role.managed_policies
    return Adaptation(
        id="role-execution-policy",
        title="Role execution policy: "
        + ("AWSLambdaBasicExecutionRole" if to_basic else "AWSLambdaVPCAccessExecutionRole"),
        quota_code=root.code,
        quota_name=root.name,
        reason="the execution policy follows the Lambda networking (VPC access only when attached)",
        changes=(
            Change(
                path="role.managedPolicies",
                before=list(requested.role.managed_policies),
                after=list(adapted.role.managed_policies),
                line=manifest.line_of("role"),
            ),
        ),
        impact=impact.execution_policy(to_basic),
    )


def _replaced_gateways(adapted: Deployment) -> list[EndpointPlan]:
    """The adapted interface endpoints that stand in for requested gateway endpoints."""
    return [ep for ep in adapted.endpoints if ep.stands_in_for_gateway]


def _fallback_changes(manifest: Manifest, adapted: Deployment, replaced: list[EndpointPlan]) -> list[Change]:
    """Each replaced endpoint's type, and the URL variable the functions that use it get."""
    line = manifest.line_of
    changes = [
        Change(path=f"{ep.path}.type", before="gateway", after="interface", line=line(ep.path))
        for ep in replaced
    ]
    for ep in replaced:
        if not ep.url_variable:
            continue
        for f in adapted.functions:
            if f.vpc_attached and ep.service in f.uses:
                changes.append(
                    Change(
                        path=f"{f.path}.environment.{ep.url_variable}",
                        before=None,
                        after=f"https://<{ep.name} DNS name>",
                        line=line(f.path),
                    )
                )
    return changes


def _unneeded_reason(root_why: str, *, moved: bool) -> str:
    if moved:
        return f"no VPC-attached function uses it any more (cascade of lambda-networking; {root_why})"
    # The networking stayed; the plan is adapted for another reason (concurrency) and keeps only
    # what serves something.
    return "no VPC-attached function uses it; an adapted plan keeps only what is needed"


def _concurrency_adaptations(
    manifest: Manifest, requested: Deployment, adapted: Deployment, allocation: Allocation
) -> list[Adaptation]:
    shared, dropped = [], []
    for f, g in zip(requested.functions, adapted.functions, strict=True):
        if f.reserved_concurrency == g.reserved_concurrency:
            continue
        change = Change(
            path=f"{f.path}.reservedConcurrency",
            before=f.reserved_concurrency,
            after=g.reserved_concurrency,
            line=manifest.line_of(f"{f.path}.reservedConcurrency"),
        )
        (dropped if g.reserved_concurrency is None else shared).append(change)
    q = catalog.LAMBDA_CONCURRENCY
    out = []
    if shared:
        out.append(
            Adaptation(
                id="concurrency-shared",
                title=f"Share reserved concurrency: {allocation.requested_total} -> "
                f"{allocation.planned_total}",
                quota_code=q.quota_code,
                quota_name=q.name,
                reason=allocation.reason,
                changes=tuple(shared),
                impact=impact.share_concurrency(allocation.requested_total, allocation.planned_total),
            )
        )
    if dropped:
        out.append(
            Adaptation(
                id="reservations-dropped",
                title=f"Drop the reservation of {len(dropped)} function(s)",
                quota_code=q.quota_code,
                quota_name=q.name,
                reason=allocation.reason,
                changes=tuple(dropped),
                impact=impact.drop_reservations(len(dropped)),
            )
        )
    return out
