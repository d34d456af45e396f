"""Formatters: each takes a result and returns a string; none prints.

Two entry points: `render`/`render_many` for quota reports (check, plan, deploy), and `render_result`
for every result kind (`ResultKind`) in every format (`Format`). Reports have a renderer per format;
`place` and `sweep` rank regions or accounts in their table, JSON and markdown, and carry their
regions' and accounts' own reports to the CI formats (formats/place.py, formats/sweep.py); the other
results have their own table and JSON, and reach the CI formats (markdown, sarif, junit, github) as a
checklist (formats/checklist.py). Adding a format: a member of `Format`, a module here,
and a case in `formatter` and `checklist_formatter`; the type checker's `assert_never` and
tests/report/formats/test_dispatch.py name every place that is missing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, assert_never, get_args

from preflight.report.nextsteps import Invocation
from preflight.report.report import Report

if TYPE_CHECKING:
    from preflight.gate import GatePolicy
    from preflight.report.formats.checklist import Checklist

Format = Literal["table", "json", "markdown", "sarif", "junit", "github"]
FORMAT_NAMES: tuple[str, ...] = get_args(Format)
# Every result a command writes: quota reports, then the results that render as checklists.
ResultKind = Literal["report", "place", "sweep", "increases", "verify", "rehearse", "lint"]
RESULT_KINDS: tuple[str, ...] = get_args(ResultKind)


def formatter(fmt: Format) -> Callable[[Report], str]:
    """The formatter for `fmt`. Imported lazily so a run pays only for the format it writes."""
    match fmt:
        case "table":
            from preflight.report.formats.table import render_table

            return render_table
        case "json":
            return Report.to_json
        case "markdown":
            from preflight.report.formats.markdown import render_markdown

            return render_markdown
        case "sarif":
            from preflight.report.formats.sarif import render_sarif

            return render_sarif
        case "junit":
            from preflight.report.formats.junit import render_junit

            return render_junit
        case "github":
            from preflight.report.formats.github import render_github

            return render_github
        case _:
            # A type checker proves this unreachable; at run time an unchecked string still fails loudly.
            assert_never(fmt)


def render(
    report: Report, fmt: Format, invocation: Invocation | None = None, *, policy: GatePolicy | None = None
) -> str:
    """`report` in `fmt`; the table and markdown end a NO_GO with the commands to run next, built from
    `invocation` (the arguments the report was made with) when given; JUnit fails WARNs and
    adaptations as `policy` does (--fail-on warn, --strict)."""
    if fmt == "junit" and policy is not None:
        from preflight.report.formats.junit import render_junit

        return render_junit(report, warn_fails="warn" in policy.fail_on, strict=policy.strict)
    if invocation is not None and fmt in ("table", "markdown"):
        return formatter(fmt)(report, invocation=invocation)  # type: ignore[call-arg]
    return formatter(fmt)(report)


REPORT_SET_SCHEMA = "tap-preflight/report-set/v1"


def render_many(
    reports: list[Report],
    fmt: Format,
    invocation: Invocation | None = None,
    *,
    policy: GatePolicy | None = None,
    color: bool = False,
    width: int | None = None,
    wide: bool = False,
    stats: bool = False,
) -> str:
    """Several regions in one document: one report renders as itself; more are combined per format
    (a report set in JSON, one SARIF run and one JUnit suite per region, the rest one after another).
    Markdown is kept under a pull-request comment's limit, pointing at the full report when cut.
    The table alone takes the terminal's `color` and `width`, `wide` (the full table) and `stats` (API
    calls per operation after each region; the other formats carry them in the report itself)."""
    if fmt == "table":
        from preflight.report.formats.table import render_tables, stats_text

        text = render_tables(reports, color=color, width=width, wide=wide, invocation=invocation)
        return text + "".join(stats_text(r) for r in reports) if stats else text
    if fmt == "markdown":
        from preflight.report.truncate import truncate_markdown

        return truncate_markdown(_render_many(reports, fmt, invocation, policy=policy), where=FULL_REPORT)
    return _render_many(reports, fmt, invocation, policy=policy)


# Where a cut markdown report sends its reader: every run can write the whole report as JSON.
FULL_REPORT = "the JSON report (`--report json=PATH`) or the SARIF report for every finding"


def _render_many(
    reports: list[Report],
    fmt: Format,
    invocation: Invocation | None = None,
    *,
    policy: GatePolicy | None = None,
) -> str:
    if len(reports) == 1:
        return render(reports[0], fmt, invocation, policy=policy)
    match fmt:
        case "json":
            import json

            from preflight.gate import overall_verdict

            body = {
                "schema": REPORT_SET_SCHEMA,
                "verdict": overall_verdict(reports),
                "reports": [json.loads(r.to_json()) for r in reports],
            }
            return json.dumps(body, indent=2) + "\n"
        case "sarif":
            import json

            logs = [json.loads(render(r, "sarif")) for r in reports]
            logs[0]["runs"] = [run for log in logs for run in log["runs"]]
            return json.dumps(logs[0], indent=2) + "\n"
        case "junit":
            import xml.etree.ElementTree as ET

            roots = [ET.fromstring(render(r, "junit", policy=policy)) for r in reports]
            merged = roots[0]
            for root in roots[1:]:
                merged.extend(list(root))
            for attr in ("tests", "failures", "errors", "skipped"):
                merged.set(attr, str(sum(int(r.get(attr, "0")) for r in roots)))
            ET.indent(merged)
            return ET.tostring(merged, encoding="unicode", xml_declaration=True) + "\n"
        case "table":
            from preflight.report.formats.table import render_tables

            return render_tables(reports, invocation=invocation)
        case "markdown" | "github":
            from preflight.gate import overall_verdict

            parts = [render(r, fmt, invocation) for r in reports]
            verdict = overall_verdict(reports)
            regions = ", ".join(r.region for r in reports)
            closing = {
                "markdown": f"**Overall: {verdict}** ({regions})\n",
                "github": f"Overall: {verdict} ({regions})\n",
            }[fmt]
            return "\n".join(parts) + closing
        case _:
            assert_never(fmt)


# --- every result kind -----------------------------------------------------------------------------


def result_formatter(kind: ResultKind, fmt: Format) -> Callable[[Any], str]:
    """The formatter of a `kind` result in `fmt` (tables at their file width: see `render_result`)."""
    match kind:
        case "report":
            return formatter(fmt)
        case "place":
            from preflight.report.formats.place import render_place

            return lambda result: render_place(result, fmt, render_many)
        case "sweep":
            from preflight.report.formats.sweep import render_sweep

            return lambda result: render_sweep(result, fmt, render)
        case "increases" | "verify" | "rehearse" | "lint":
            if fmt == "table":
                return lambda result: _table(kind, result)
            if fmt == "json":
                return lambda result: str(result.to_json())
            to_checklist = checklist_of(kind)
            render_checklist = checklist_formatter(fmt)
            return lambda result: render_checklist(to_checklist(result))
        case _:
            assert_never(kind)


def render_result(
    kind: ResultKind,
    result: Any,
    fmt: Format,
    *,
    color: bool = False,
    width: int | None = None,
    wide: bool = False,
    stats: bool = False,
) -> str:
    """`result` (of `kind`) in `fmt`; a table is fitted to `width` (None: kept whole), coloured if `color`;
    `wide` keeps a ranking's table whole and `stats` adds the API calls of each region or account read."""
    match kind:
        case "place":
            from preflight.report.formats.place import render_place

            return render_place(result, fmt, render_many, width=width, wide=wide, stats=stats)
        case "sweep":
            from preflight.report.formats.sweep import render_sweep

            return render_sweep(result, fmt, render, width=width, wide=wide, stats=stats)
        case "report":
            return result_formatter(kind, fmt)(result)
    if fmt == "table":
        return _table(kind, result, color=color, width=width)
    return result_formatter(kind, fmt)(result)


def checklist_of(kind: Literal["increases", "verify", "rehearse", "lint"]) -> Callable[[Any], Checklist]:
    from preflight.report.formats import checklist

    match kind:
        case "increases":
            return checklist.of_increases
        case "verify":
            return checklist.of_verify
        case "rehearse":
            return checklist.of_rehearsal
        case "lint":
            return checklist.of_lint
        case _:
            assert_never(kind)


def checklist_formatter(fmt: Literal["markdown", "sarif", "junit", "github"]) -> Callable[[Checklist], str]:
    match fmt:
        case "markdown":
            from preflight.report.formats.markdown import render_checklist_markdown

            return render_checklist_markdown
        case "sarif":
            from preflight.report.formats.sarif import render_checklist_sarif

            return render_checklist_sarif
        case "junit":
            from preflight.report.formats.junit import render_checklist_junit

            return render_checklist_junit
        case "github":
            from preflight.report.formats.github import render_checklist_github

            return render_checklist_github
        case _:
            assert_never(fmt)


def _table(
    kind: Literal["increases", "verify", "rehearse", "lint"],
    result: Any,
    *,
    color: bool = False,
    width: int | None = None,
) -> str:
    """Each command's own table view, as it has always looked."""
    if kind == "increases":
        from preflight.report.formats.increases import render_increases_table

        return render_increases_table(result, color=color, width=width or 120)
    from preflight.support.terminal import fit

    return fit(result.render_text(), width)
