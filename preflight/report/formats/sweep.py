"""`sweep`'s result in every format: table, json and markdown are the summary (one row per account and
region); SARIF, JUnit and GitHub annotations carry every target's own report (an unreadable target as
one UNKNOWN check), one SARIF category and one JUnit suite per account and region.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from preflight.report.formats._common import wrapped_rows

if TYPE_CHECKING:
    from preflight.gate import GatePolicy
    from preflight.report.report import Report
    from preflight.report.results import SweepResult, SweepRun

ROLE_ARN_PREFIX = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/")
RenderReport = Callable[..., str]  # formats.render: (report, fmt, *, policy=None) -> str
HEADER = ("account", "name", "region", "verdict", "worst quota / why")


def render_sweep(
    run: SweepRun,
    fmt: str,
    render: RenderReport,
    *,
    width: int | None = None,
    wide: bool = False,
    stats: bool = False,
) -> str:
    """The sweep in `fmt`; the table fits `width` unless `wide`, and with `stats` ends with each
    target's API calls. `render` is the report renderer (`formats.render`) the CI formats use per
    target (passed in: this module is one of the formats package's own)."""
    result, reports = run.result, list(run.reports)
    if fmt in ("sarif", "junit", "github") and not reports:  # an empty shard: a valid, empty document
        return _empty(fmt, result)
    match fmt:
        case "json":
            return result.to_json()
        case "markdown":
            return render_sweep_markdown(result)
        case "table":
            text = render_sweep_table(result, None if wide else width)
            return text + _stats(reports) if stats else text
        case "sarif":
            return _sarif(reports, render)
        case "junit":
            return _junit(reports, run.policy, render)
        case "github":
            return _github(reports, result, render)
        case _:
            raise AssertionError(f"unknown format {fmt!r}")


def _rows(result: SweepResult) -> list[tuple[str, str, str, str, str]]:
    # The row names the account: the role's name says the rest (the JSON keeps the whole ARN).
    return [
        (
            t.account_id,
            t.account_name,
            t.region,
            t.status,
            t.worst.text() if t.worst else ROLE_ARN_PREFIX.sub("", t.detail),
        )
        for t in result.targets
    ]


def summary(result: SweepResult) -> str:
    counts = result.counts()
    shard = f" (shard {result.shard})" if result.shard else ""
    line = (
        f"{len(result.targets)} target(s){shard}: {counts['GO']} GO, {counts['NO_GO']} NO_GO, "
        f"{counts['UNKNOWN']} UNKNOWN. Overall: {result.verdict}."
    )
    if result.skipped:
        by_state: dict[str, int] = {}
        for a in result.skipped:
            by_state[a.state] = by_state.get(a.state, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
        line += f" Skipped {len(result.skipped)} account(s) not ACTIVE ({states})."
    for o in result.overrides:
        line += f"\nOverride {o.flag}: {o.detail}."
    return line


def render_sweep_table(result: SweepResult, width: int | None = None) -> str:
    """One row per target. On a terminal every line fits its width: the name gives way first, then
    the last column (the worst quota, or why the target could not be read) wraps within its column."""
    from preflight.support.terminal import fit

    lines = wrapped_rows([HEADER, *_rows(result)], width, shrink=1)
    return "\n".join(lines) + "\n" + fit(summary(result) + "\n", width)


def render_sweep_markdown(result: SweepResult) -> str:
    from preflight.report.formats.markdown import code, table_lines, text
    from preflight.report.truncate import truncate_markdown

    icon = {"GO": "✅", "NO_GO": "❌", "UNKNOWN": "❔"}
    rows = [
        [code(a, cell=True), text(n), code(r, cell=True), f"{icon[s]} {s}", text(w)]
        for a, n, r, s, w in _rows(result)
    ]
    out = ["### tap-preflight sweep", "", *table_lines(HEADER, rows)]
    return truncate_markdown(
        "\n".join([*out, "", text(summary(result))]) + "\n",
        where="the JSON (`--format json`) or `--out-dir`",
    )


def _stats(reports: list[Report]) -> str:
    from preflight.report.formats.table import stats_text

    return "".join(f"\n{r.account_id} {r.region}: " + stats_text(r) for r in reports)


def _empty(fmt: str, result: SweepResult) -> str:
    if fmt == "sarif":
        from preflight.report.formats.sarif import SCHEMA_URI

        return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": []}, indent=2) + "\n"
    if fmt == "junit":
        return '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="tap-preflight sweep" tests="0" />\n'
    return summary(result) + "\n"


def _sarif(reports: list[Report], render: RenderReport) -> str:
    logs = [json.loads(render(r, "sarif")) for r in reports]
    runs = []
    for report, log in zip(reports, logs, strict=True):
        for run in log["runs"]:
            # One category per account and region: code scanning refuses two runs with one category.
            run["automationDetails"] = {
                "id": f"tap-preflight/{report.environment or 'default'}/{report.account_id}/{report.region}/"
            }
            runs.append(run)
    return json.dumps({**logs[0], "runs": runs}, indent=2) + "\n"


def _junit(reports: list[Report], policy: GatePolicy | None, render: RenderReport) -> str:
    import xml.etree.ElementTree as ET

    # JUnit fails WARNs as the gate's policy does (--fail-on warn), as check's JUnit does.
    roots = [ET.fromstring(render(r, "junit", policy=policy)) for r in reports]
    merged = roots[0]
    for root in roots[1:]:
        merged.extend(list(root))
    for attr in ("tests", "failures", "errors", "skipped"):
        merged.set(attr, str(sum(int(r.get(attr, "0")) for r in roots)))
    for report, suite in zip(reports, merged.iter("testsuite"), strict=False):
        suite.set("name", f"{suite.get('name', 'tap-preflight')} account {report.account_id}")
    ET.indent(merged)
    return ET.tostring(merged, encoding="unicode", xml_declaration=True) + "\n"


def _github(reports: list[Report], result: SweepResult, render: RenderReport) -> str:
    parts = []
    for report in reports:
        parts.append(f"::group::{report.account_id} {report.region}\n")
        parts.append(render(report, "github"))
        parts.append("::endgroup::\n")
    return "".join(parts) + summary(result) + "\n"
