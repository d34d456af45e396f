"""Demand against the account: one finding per quota and scope, and the verdict.

Status per finding: FAIL when the demand does not fit the headroom, UNKNOWN when the limit or the usage
could not be read, WARN when utilization after the deploy reaches the warn threshold, else OK.
"""

from __future__ import annotations

from preflight import kinds
from preflight.account.read import AccountState
from preflight.demand import Demand, compute_demand
from preflight.deployment import CurrentStack, Deployment, IncreaseRequest
from preflight.quotas import catalog
from preflight.report.report import Finding, Status
from preflight.support.ranges import UTILIZATION

DEFAULT_WARN_THRESHOLD = 0.8
_CATALOG_ORDER = {q.quota_code: i for i, q in enumerate(catalog.QUOTAS)}


def headroom(state: AccountState, q: catalog.Quota, scope: str) -> float | None:
    """What of `q` is still free in `scope`: limit - reserve - usage by others; None when the limit or
    the usage could not be read. The one place it is computed (evaluate, planner, concurrency)."""
    limit = state.limit(q.quota_code).value
    usage = state.usage_in(q.quota_code, scope)
    if limit is None or usage is None:
        return None
    return limit - q.reserve_of(limit) - usage


def evaluate_demand(d: Demand, state: AccountState, warn_threshold: float) -> Finding:
    q = catalog.quota(d.quota_code)
    limit = state.limit(d.quota_code)
    usage = state.usage_in(d.quota_code, d.scope)
    base = dict(
        service_code=q.service_code,
        quota_code=q.quota_code,
        quota_name=q.name,
        scope=d.scope,
        limit=limit.value,
        limit_source=limit.source,
        usage=usage,
        demand=d.amount,
        resources=d.resources,
    )
    if limit.value is None or usage is None:
        reason = limit.detail if limit.value is None else (state.usage[d.quota_code].error or "not counted")
        what = "limit" if limit.value is None else "usage"
        return Finding(
            **base,
            headroom_after=None,
            utilization_after=None,
            status="UNKNOWN",
            message=f"{what} unknown: {reason}",
        )
    free = headroom(state, q, d.scope)
    assert free is not None  # both read (above)
    headroom_after = free - d.amount
    reserve = q.reserve_of(limit.value)
    utilization = (usage + d.amount + reserve) / limit.value if limit.value > 0 else float(d.amount > 0)
    # A limit of a tiny fraction gives a share beyond any meaning (or an overflow): cap it, finitely.
    utilization = min(utilization, UTILIZATION.high)
    status: Status
    if headroom_after < 0:
        status = "FAIL"
    elif utilization >= warn_threshold:
        status = "WARN"
    else:
        status = "OK"
    return Finding(
        **base,
        headroom_after=headroom_after,
        utilization_after=round(utilization, 4),
        status=status,
        message=_message(q, status, limit.value, free, usage, d.amount) + (f" ({d.note})" if d.note else ""),
    )


def _message(q: catalog.Quota, status: Status, limit: float, free: float, usage: float, demand: float) -> str:
    _fmt = q.format
    if q.reserve is not None:
        text = q.reserve.explain.format(
            demand=_fmt(demand),
            usage=_fmt(usage),
            free=_fmt(max(free, 0)),
            limit=_fmt(limit),
            reserve=_fmt(q.reserve_of(limit)),
        )
    else:
        text = f"needs {_fmt(demand)}, {_fmt(max(free, 0))} of {_fmt(limit)} free ({_fmt(usage)} in use)"
    if status == "FAIL":
        return f"does not fit: {text}"
    return text


def redeploy_demand(demands: list[Demand], d: Deployment, current: CurrentStack) -> list[Demand]:
    """The demand while the deploy runs, where a redeploy holds more than the end state: each kind's
    `redeploy_peaks` (reservations not yet cut, a reshard's old shards), where above the end state."""
    peaks = {
        (q.quota_code, scope): (amount, note) for q, scope, amount, note in kinds.redeploy_peaks(d, current)
    }
    out = []
    for demand in demands:
        amount, note = peaks.get((demand.quota_code, demand.scope), (0, ""))
        if amount > demand.amount:
            demand = Demand(demand.quota_code, demand.scope, amount, demand.resources, note)
        out.append(demand)
    return out


def redeploy_findings(d: Deployment, current: CurrentStack) -> list[Finding]:
    """A FAIL for each step of the redeploy its service refuses whatever the headroom (each kind's
    `redeploy_refusals`: a reshard one UpdateShardCount cannot reach). Not a quota an increase raises."""
    return [
        Finding(
            service_code=r.quota.service_code,
            quota_code=r.quota.quota_code,
            quota_name=r.quota.name,
            scope=r.scope,
            limit=r.limit,
            limit_source="default",
            usage=r.usage,
            demand=r.demand,
            headroom_after=None,
            utilization_after=None,
            status="FAIL",
            resources=(r.path,),
            message=r.message,
        )
        for r in kinds.redeploy_refusals(d, current)
    ]


def evaluate(
    deployment: Deployment, state: AccountState, warn_threshold: float = DEFAULT_WARN_THRESHOLD
) -> list[Finding]:
    demands = redeploy_demand(compute_demand(deployment), deployment, state.current)
    findings = [evaluate_demand(d, state, warn_threshold) for d in demands]
    findings += redeploy_findings(deployment, state.current)
    return sorted(findings, key=lambda f: (_CATALOG_ORDER[f.quota_code], f.scope))


def increase_requests(findings: list[Finding]) -> list[IncreaseRequest]:
    """For every quota with a FAIL, the limit that makes it fit in every scope (Lambda's floor included)."""
    out: dict[str, IncreaseRequest] = {}
    limits = {f.quota_code: f.limit for f in findings}
    for f in findings:
        if f.status != "FAIL" or f.limit is None or f.usage is None or f.scope.startswith("stream:"):
            continue  # (a reshard beyond one call is not a quota: no increase makes it fit)
        q = catalog.raised_for(catalog.quota(f.quota_code))  # the quota AWS raises for this one
        required = q.limit_for(f.usage + f.demand)
        if q.quota_code in out and out[q.quota_code].required >= required:
            continue
        current = f.limit if q.quota_code == f.quota_code else limits.get(q.quota_code)
        if q.quota_code in out and current is None:
            current = out[q.quota_code].current
        out[q.quota_code] = IncreaseRequest(
            service_code=q.service_code,
            quota_code=q.quota_code,
            quota_name=q.name,
            current=current,
            required=required,
            adjustable=q.adjustable,
        )
    return list(out.values())
