"""`place`: where does the deployment fit? The requested deployment planned in several regions, ranked.

Each region is planned as `plan --adapt` plans it (the same planner, the same adaptations), then
ranked: fits as requested, fits with adaptations (the fewer and cheaper, the better), does not fit
(the fewer increases, the closer), could not be evaluated (a quota unreadable: fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from preflight.gate import GatePolicy
from preflight.report.report import Report
from preflight.report.results import Accept, Fit, Placement, PlaceResult, RegionFit
from preflight.support.errors import ExitCode, PreflightError

if TYPE_CHECKING:
    from preflight.commands.options import GateOptions
    from preflight.support.config import Config

MAX_WORKERS = 4  # regions read at once: Service Quotas' request rate is per account and region
FIT_ORDER: dict[Fit, int] = {"FITS": 0, "FITS_ADAPTED": 1, "DOES_NOT_FIT": 2, "UNKNOWN": 3}

T = TypeVar("T")
R = TypeVar("R")


def map_regions(fn: Callable[[T], R], regions: Iterable[T], workers: int = MAX_WORKERS) -> list[R]:
    """`fn` on every region, `workers` at a time; results in the regions' order."""
    items = list(regions)
    if len(items) <= 1 or workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="region") as pool:
        return list(pool.map(fn, items))


def classify(report: Report, policy: GatePolicy) -> RegionFit:
    """One region's fit, from its `plan --adapt` report."""
    increases = tuple(
        f"{r.service_code}/{r.quota_code} {r.quota_name}: {_num(r.current)} -> {_num(r.required)}"
        for r in report.increase_requests
    )
    fit: Fit
    unknown = [f.quota_code for f in report.findings if f.status == "UNKNOWN"]
    if unknown and not policy.allow_unknown:
        fit = "UNKNOWN"
    elif report.verdict == "GO":
        fit = "FITS"
    elif report.verdict == "GO_WITH_ADAPTATIONS":
        fit = "FITS_ADAPTED"
    else:
        fit = "DOES_NOT_FIT"
    return RegionFit(
        region=report.region,
        fit=fit,
        verdict=report.verdict,
        adaptations=tuple(a.title for a in report.adaptations) if fit == "FITS_ADAPTED" else (),
        monthly_cost_delta_usd=round(sum(a.impact.monthly_cost_delta_usd for a in report.adaptations), 2)
        if fit == "FITS_ADAPTED"
        else 0.0,
        increases=increases,
        detail=f"unreadable: {', '.join(unknown)}" if fit == "UNKNOWN" and unknown else "",
    )


def unreadable(region: str, error: PreflightError) -> RegionFit:
    """A region whose account could not be read at all (denied, not enabled, unreachable)."""
    return RegionFit(region=region, fit="UNKNOWN", verdict=None, detail=str(error))


def _num(value: float | None) -> str:
    if value is None:
        return "unknown"
    return str(int(value)) if float(value).is_integer() else str(value)


def rank(fits: Iterable[RegionFit]) -> tuple[RegionFit, ...]:
    def key(f: RegionFit) -> tuple[Any, ...]:
        closeness = f.degradation if f.fit == "FITS_ADAPTED" else (len(f.increases), 0.0)
        return (FIT_ORDER[f.fit], *closeness, f.region)

    return tuple(sorted(fits, key=key))


def placement_exit_code(placement: Placement, policy: GatePolicy) -> ExitCode:
    """0 when a region fits as accepted; 3 when none does but some region could not be evaluated (it
    might); 1 when every region was evaluated and none fits. --soft-fail: 0."""
    if policy.soft_fail:
        return ExitCode.GO
    accepted: set[Fit] = {"FITS", "FITS_ADAPTED"} if placement.accept == "adapted" else {"FITS"}
    fits = {f.fit for f in placement.regions}
    if fits & accepted:
        return ExitCode.GO
    return ExitCode.ENVIRONMENT if "UNKNOWN" in fits else ExitCode.NO_GO


def plan_region(manifest: Any, source: Any, region: str, policy: GatePolicy, **kwargs: Any) -> Any:
    """One region planned as `plan --adapt` plans it: its report, or a RegionFit when it cannot be read."""
    from preflight.commands.run import run_plan
    from preflight.support.errors import InputError

    try:
        report, _ = run_plan(manifest, source, region, policy, **kwargs)
    except InputError:
        raise
    except PreflightError as exc:  # denied, region not enabled, unreachable: this region only
        return unreadable(region, exc)
    return report


def placement_of(
    results: list[Report | RegionFit], policy: GatePolicy, accept: Accept
) -> tuple[Placement, list[Report]]:
    """The ranking of the regions' results, and the reports among them (for the per-region formats)."""
    reports = [r for r in results if isinstance(r, Report)]
    fits = [r if isinstance(r, RegionFit) else classify(r, policy) for r in results]
    return Placement(accept=accept, regions=rank(fits)), reports


def run_place(
    manifest: str,
    opts: GateOptions,
    config: Config,
    *,
    all_regions: bool,
    accept: Accept,
    warn: Callable[[str], None],
) -> tuple[PlaceResult, ExitCode]:
    """`place`: every region planned as `plan --adapt` plans it, ranked; and the exit code."""
    from preflight.commands.run import run_gate

    results, policy = run_gate(
        manifest, opts, config, plan_region, warn=warn, all_regions=all_regions, map_regions=map_regions
    )
    placement, reports = placement_of(results, policy, accept)
    return PlaceResult(placement, tuple(reports)), placement_exit_code(placement, policy)
