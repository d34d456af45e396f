"""Why each change of an adapted plan was made: one adaptation per change between the requested and
the adapted deployment, with the quota that forced it (the root cause of a cascade) and its impact.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.model import BASIC_EXECUTION_POLICY, Adaptation, Change, Deployment, EndpointPlan
from preflight.plan import impact
from preflight.plan.concurrency import Allocation
from preflight.plan.decisions import Attempt, serving_endpoints
from preflight.plan.policy import DegradationPolicy
from preflight.quotas import catalog
from preflight.report import Finding


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
    changes += _fallback_changes(policy, adapted, replaced)
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
                changes=(Change(path=ep.path, before=ep.name, after=None, line=policy.line_of(ep.path)),),
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


def _replaced_gateways(adapted: Deployment) -> list[EndpointPlan]:
    """The adapted interface endpoints that stand in for requested gateway endpoints."""
    return [ep for ep in adapted.endpoints if ep.stands_in_for_gateway]


def _fallback_changes(
    policy: DegradationPolicy, adapted: Deployment, replaced: list[EndpointPlan]
) -> list[Change]:
    """Each replaced endpoint's type, and the URL variable the functions that use it get."""
    line = policy.line_of
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
