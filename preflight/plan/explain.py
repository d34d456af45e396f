"""Why each change of an adapted plan was made: one adaptation per change between the requested and
the adapted deployment, with the quota that forced it (the root cause of a cascade) and its impact.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.deployment import BASIC_EXECUTION_POLICY, Adaptation, Change, Deployment, EndpointPlan, Impact
from preflight.plan import impact
from preflight.plan.concurrency import Allocation
from preflight.plan.decisions import Attempt, serving_endpoints
from preflight.plan.policy import DegradationPolicy
from preflight.quotas import catalog
from preflight.report.report import Finding


def explain(
    policy: DegradationPolicy,
    requested: Deployment,
    adapted: Deployment,
    attempts: list[Attempt],
    refused: dict[str, Finding | None],
    allocation: Allocation,
) -> tuple[Adaptation, ...]:
    """One adaptation per change between requested and adapted, with the quota that forced it."""
    root = RootCause.of(attempts, adapted)
    out: list[Adaptation] = []
    if adapted.networking != requested.networking:
        out.append(_networking_adaptation(policy, requested, adapted, root))
    out += _endpoint_adaptations(policy, requested, adapted, refused, root)
    out += _gateway_kept_adaptations(policy, requested, adapted, root)
    out += _security_group_adaptations(policy, requested, adapted, root)
    if requested.vpc.created and not adapted.vpc.created:
        out.append(_vpc_adaptation(policy, requested, root))
    if adapted.role.managed_policies != requested.role.managed_policies:
        out.append(_role_adaptation(policy, requested, adapted, root))
    out.extend(_concurrency_adaptations(policy, requested, adapted, allocation))
    return tuple(out)


@dataclass(frozen=True)
class RootCause:
    """The quota that ruled out the preferred networking: the root cause of every cascade below it."""

    code: str | None
    name: str | None
    why: str  # "CODE name (scope): what did not fit", or "" when no attempt was blocked

    @classmethod
    def of(cls, attempts: list[Attempt], adapted: Deployment) -> RootCause:
        root = next((a.blocking[0] for a in attempts if a.blocking and a.mode != adapted.networking), None)
        if root is None:
            return cls(None, None, "")
        what = root.message.removeprefix("does not fit: ")
        why = f"{root.quota_code} {root.quota_name} ({root.scope}): {what}"
        return cls(root.quota_code, root.quota_name, why)


def _networking_adaptation(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment, root: RootCause
) -> Adaptation:
    line = policy.line_of
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
            path=f"{f.path}.vpc",
            before=_attachment(f.vpc_attached),
            after=_attachment(g.vpc_attached),
            line=line(f.path),
        )
        for f, g in zip(requested.functions, adapted.functions, strict=True)
        if f.vpc_attached != g.vpc_attached
    ]
    changes += _detached_url_changes(policy, requested, adapted)
    changes += _vpc_route_changes(policy, requested, adapted)
    replaced = _replaced_gateways(requested, adapted)
    changes += _fallback_changes(policy, adapted, replaced)
    changes += _added_group_changes(policy, requested, adapted)
    return Adaptation(
        id="lambda-networking",
        title=f"Lambda networking: {requested.networking} -> {adapted.networking}",
        quota_code=root.code,
        quota_name=root.name,
        reason=f"{requested.networking} does not fit: {root.why}",
        changes=tuple(changes),
        impact=_networking_impact(requested, adapted, replaced),
    )


def _attachment(attached: bool) -> str:
    return "attached (private subnets)" if attached else "not attached"


def _detached_url_changes(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment
) -> list[Change]:
    """The endpoint URL variables functions that leave the VPC no longer get (of endpoints still kept)."""
    kept = {ep.key for ep in adapted.endpoints if ep.url_variable}
    detached = {
        f.key for f, g in zip(requested.functions, adapted.functions, strict=True) if not g.vpc_attached
    }
    changes = _url_changes(
        policy, requested, [ep for ep in requested.endpoints if ep.key in kept], added=False
    )
    return [
        c
        for c in changes
        if c.path.split(".")[0] in {f.path for f in requested.functions if f.key in detached}
    ]


def _vpc_route_changes(policy: DegradationPolicy, requested: Deployment, adapted: Deployment) -> list[Change]:
    """The NAT gateways (and the internet gateway a NAT route brings) the networking adds or gives up."""
    before, after = requested.vpc, adapted.vpc
    if not (before.created and after.created):
        return []  # a VPC left out is its own adaptation
    line = policy.line_of("vpc")
    changes = []
    if before.nat_gateway_azs != after.nat_gateway_azs:
        changes.append(
            Change(
                path="vpc.natGateways",
                before=len(before.nat_gateway_azs),
                after=len(after.nat_gateway_azs),
                line=line,
            )
        )
    if before.internet_gateway != after.internet_gateway:
        changes.append(
            Change(
                path="vpc.internetGateway",
                before=before.internet_gateway,
                after=after.internet_gateway,
                line=line,
            )
        )
    return changes


def _networking_impact(requested: Deployment, adapted: Deployment, replaced: list[EndpointPlan]) -> Impact:
    """Each effect of the networking change: leaving the VPC, a NAT route added or given up, gateways
    replaced by interface endpoints."""
    nat_before, nat_after = len(requested.vpc.nat_gateway_azs), len(adapted.vpc.nat_gateway_azs)
    parts = []
    if requested.vpc_attached and not adapted.vpc_attached:
        parts.append(impact.leave_vpc())
    if nat_after > nat_before:
        parts.append(impact.nat_route(nat_after))
    elif nat_before > nat_after:
        parts.append(impact.drop_nat_route(nat_before, attached=adapted.vpc_attached))
    if replaced:
        parts.append(
            impact.interface_fallback(
                [(ep.service, ep.url_variable) for ep in replaced],
                len(adapted.vpc.azs),
                replaced[0].security_group,
            )
        )
    return impact.combined(parts) if parts else impact.same_resources()


def _added_group_changes(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment
) -> list[Change]:
    """Security groups the adapted networking brings (the interface stand-ins' group)."""
    had = {sg.name for sg in requested.security_groups}
    return [
        Change(path=sg.path, before=None, after=sg.name, line=policy.line_of(sg.path))
        for sg in adapted.security_groups
        if sg.name not in had
    ]


def _endpoint_adaptations(
    policy: DegradationPolicy,
    requested: Deployment,
    adapted: Deployment,
    refused: dict[str, Finding | None],
    root: RootCause,
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
                changes=(
                    Change(path=ep.path, before=ep.name, after=None, line=policy.line_of(ep.path)),
                    *_url_changes(policy, requested, [ep], added=False),
                ),
                impact=impact.drop_gateway_endpoint(ep.service)
                if ep.type == "gateway"
                else impact.drop_interface_endpoint(ep.service, len(requested.vpc.azs)),
            )
        )
    return out


def _security_group_adaptations(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment, root: RootCause
) -> list[Adaptation]:
    groups = {sg.name for sg in adapted.security_groups}
    return [
        Adaptation(
            id=f"security-group-{sg.key}-dropped",
            title=f"Drop security group {sg.name}",
            quota_code=root.code,
            quota_name=root.name,
            reason="nothing uses it any more (cascade of the changes above)",
            changes=(Change(path=sg.path, before=sg.name, after=None, line=policy.line_of(sg.path)),),
            impact=impact.drop_security_group(),
        )
        for sg in requested.security_groups
        if sg.name not in groups
    ]


def _vpc_adaptation(policy: DegradationPolicy, requested: Deployment, root: RootCause) -> Adaptation:
    return Adaptation(
        id="vpc-dropped",
        title=f"Leave out the VPC {requested.vpc.name}",
        quota_code=root.code,
        quota_name=root.name,
        reason="no function stays in the VPC and no endpoint needs it; vpc.optional lets the plan leave it "
        "out, with its subnets, route tables and internet gateway",
        changes=(Change(path="vpc", before=requested.vpc.name, after=None, line=policy.line_of("vpc")),),
        impact=impact.drop_vpc(len(requested.vpc.subnets), requested.vpc.internet_gateway),
    )


def _role_adaptation(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment, root: RootCause
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
                line=policy.line_of("role"),
            ),
        ),
        impact=impact.execution_policy(to_basic),
    )


def _replaced_gateways(requested: Deployment, adapted: Deployment) -> list[EndpointPlan]:
    """The adapted interface endpoints that stand in for gateway endpoints the request deploys as gateways."""
    declared = {ep.key for ep in requested.endpoints if ep.type == "gateway"}
    return [ep for ep in adapted.endpoints if ep.stands_in_for_gateway and ep.key in declared]


def _fallback_changes(
    policy: DegradationPolicy, adapted: Deployment, replaced: list[EndpointPlan]
) -> list[Change]:
    """Each replaced endpoint's type, and the URL variable the functions that use it get."""
    changes = [
        Change(path=f"{ep.path}.type", before="gateway", after="interface", line=policy.line_of(ep.path))
        for ep in replaced
    ]
    return changes + _url_changes(policy, adapted, replaced, added=True)


def _url_changes(
    policy: DegradationPolicy, d: Deployment, endpoints: list[EndpointPlan], *, added: bool
) -> list[Change]:
    """The URL variable each VPC-attached function of `d` that uses one of `endpoints` gets (or, not
    `added`, no longer gets): the endpoints without private DNS."""
    changes = []
    for ep in endpoints:
        if not ep.url_variable:
            continue
        url = f"https://<{ep.name} DNS name>"
        for f in d.functions:
            if f.vpc_attached and ep.service in f.uses:
                changes.append(
                    Change(
                        path=f"{f.path}.environment.{ep.url_variable}",
                        before=None if added else url,
                        after=url if added else None,
                        line=policy.line_of(f.path),
                    )
                )
    return changes


def _gateway_kept_adaptations(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment, root: RootCause
) -> list[Adaptation]:
    """Interface stand-ins of the request that the adapted plan deploys as gateway endpoints again: the
    networking no longer replaces them, or the regional gateway quota takes them once other endpoints
    are dropped (only what it cannot take stands in)."""
    gateways = {ep.key: ep for ep in adapted.endpoints if ep.type == "gateway"}
    out = []
    for ep in requested.endpoints:
        if not (ep.stands_in_for_gateway and ep.key in gateways):
            continue
        moved = adapted.networking != requested.networking
        reason = (
            f"{adapted.networking} deploys the manifest's gateway endpoint (cascade of lambda-networking)"
            if moved
            else "the regional gateway endpoint quota takes it once the endpoints above are dropped; "
            "only what it cannot take stands in as an interface endpoint"
        )
        changes = [
            Change(path=f"{ep.path}.type", before="interface", after="gateway", line=policy.line_of(ep.path))
        ]
        changes += _url_changes(policy, requested, [ep], added=False)
        out.append(
            Adaptation(
                id=f"endpoint-{ep.key}-gateway",
                title=f"Keep the {ep.service} gateway endpoint (no interface stand-in)",
                quota_code=root.code if moved else None,
                quota_name=root.name if moved else None,
                reason=reason,
                changes=tuple(changes),
                impact=impact.gateway_kept([ep.service], len(adapted.vpc.azs)),
            )
        )
    return out


def _unneeded_reason(root_why: str, *, moved: bool) -> str:
    if moved:
        return f"no VPC-attached function uses it any more (cascade of lambda-networking; {root_why})"
    # The networking stayed; the plan is adapted for another reason (concurrency) and keeps only
    # what serves something.
    return "no VPC-attached function uses it; an adapted plan keeps only what is needed"


def _concurrency_adaptations(
    policy: DegradationPolicy, requested: Deployment, adapted: Deployment, allocation: Allocation
) -> list[Adaptation]:
    shared, dropped = [], []
    for f, g in zip(requested.functions, adapted.functions, strict=True):
        if f.reserved_concurrency == g.reserved_concurrency:
            continue
        change = Change(
            path=f"{f.path}.reservedConcurrency",
            before=f.reserved_concurrency,
            after=g.reserved_concurrency,
            line=policy.line_of(f"{f.path}.reservedConcurrency"),
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
