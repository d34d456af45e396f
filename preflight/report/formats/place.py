"""`place`'s result in every format: table, json and markdown are the ranking (one row per region);
SARIF, JUnit and GitHub annotations carry each region's own report, as `plan` would write it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from preflight.report.formats._common import wrapped_rows
from preflight.report.results import FIT_TEXT

if TYPE_CHECKING:
    from preflight.report.report import Report
    from preflight.report.results import Placement, PlaceResult, RegionFit

HEADER = ("rank", "region", "fit", "details")


def render_place(
    result: PlaceResult,
    fmt: str,
    render_many: Callable[..., str],
    *,
    width: int | None = None,
    wide: bool = False,
    stats: bool = False,
) -> str:
    """The ranking in `fmt`; the table fits `width` unless `wide`, and with `stats` ends with each
    region's API calls. SARIF, JUnit and GitHub annotations carry the regions' own reports, rendered
    by `render_many` (`formats.render_many`, passed in: this module is one of the formats package's)."""
    placement, reports = result.placement, list(result.reports)
    match fmt:
        case "json":
            return placement.to_json()
        case "markdown":
            return render_placement_markdown(placement)
        case "table":
            text = render_placement_table(placement, None if wide else width)
            return text + _stats(reports) if stats else text
        case _:
            if not reports:  # nothing to annotate: say why, exit 3
                from preflight.support.errors import EnvironmentProblem

                why = "; ".join(f"{f.region}: {f.detail}" for f in placement.regions)
                raise EnvironmentProblem(f"no region could be read, no {fmt} report to write ({why})")
            return render_many(reports, fmt)


def render_placement_table(placement: Placement, width: int | None = None) -> str:
    """One row per region, best first; on a terminal the details wrap within their column."""
    from preflight.support.terminal import fit

    rows = [
        HEADER,
        *((str(i), f.region, FIT_TEXT[f.fit], _summary(f)) for i, f in enumerate(placement.regions, 1)),
    ]
    return "\n".join(wrapped_rows(rows, width)) + "\n" + fit(_closing(placement) + "\n", width)


def render_placement_markdown(placement: Placement) -> str:
    from preflight.report.formats.markdown import code, table_lines, text

    icon = {"FITS": "✅", "FITS_ADAPTED": "⚠️", "DOES_NOT_FIT": "❌", "UNKNOWN": "❔"}
    rows = [
        [str(i), code(f.region, cell=True), f"{icon[f.fit]} {FIT_TEXT[f.fit]}", text(_summary(f))]
        for i, f in enumerate(placement.regions, 1)
    ]
    out = ["### tap-preflight place", "", *table_lines(HEADER, rows)]
    return "\n".join([*out, "", text(_closing(placement))]) + "\n"


def _summary(f: RegionFit) -> str:
    match f.fit:
        case "FITS":
            return "as requested"
        case "FITS_ADAPTED":
            cost = f", {f.monthly_cost_delta_usd:+.2f} USD/month" if f.monthly_cost_delta_usd else ""
            return f"{len(f.adaptations)} adaptation(s){cost}: " + "; ".join(f.adaptations)
        case "DOES_NOT_FIT":
            return "needs: " + "; ".join(f.increases) if f.increases else "no adaptation fits"
        case _:
            return f.detail or "could not evaluate"


def _closing(placement: Placement) -> str:
    best = [f.region for f in placement.regions if f.fit == "FITS"]
    adapted = [f.region for f in placement.regions if f.fit == "FITS_ADAPTED"]
    if best:
        return f"Fits as requested in: {', '.join(best)}."
    if adapted:
        return f"Fits only with adaptations, best first: {', '.join(adapted)}."
    return "Fits in none of the regions checked."


def _stats(reports: list[Report]) -> str:
    from preflight.report.formats.table import stats_text

    return "".join(f"\n{r.region}: " + stats_text(r) for r in reports)
