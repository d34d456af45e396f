"""The terminal view: a rich table of findings and a one-line verdict."""

from __future__ import annotations

import io
import os

from rich import box
from rich.console import Console
from rich.table import Table

from preflight import catalog
from preflight.report import Finding, Report

DEFAULT_WIDTH = 160  # not a terminal (CI logs, files): wide enough for one line per finding
STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red", "UNKNOWN": "magenta"}
VERDICT_STYLE = {"GO": "bold green", "GO_WITH_ADAPTATIONS": "bold yellow", "NO_GO": "bold red"}


def _where(f: Finding) -> str:
    """The manifest paths behind a finding, shortened: the first two and how many more."""
    shown = ", ".join(f.resources[:2])
    return shown + (f", +{len(f.resources) - 2} more" if len(f.resources) > 2 else "")


def scope_label(scope: str) -> str:
    kind, _, rest = scope.partition(":")
    return {"region": "region", "global": "account"}.get(kind, f"{kind} {rest}".replace(":", " "))


def findings_table(findings: tuple[Finding, ...]) -> Table:
    """One row per quota and scope, status first, so a FAIL is the first thing the eye meets."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, collapse_padding=True)
    table.add_column("status", no_wrap=True)
    table.add_column("code", no_wrap=True, style="dim")
    table.add_column("quota", max_width=44)
    table.add_column("scope", max_width=36, overflow="fold")
    table.add_column("limit", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True, style="dim")
    for column in ("in use", "deploy", "after"):
        table.add_column(column, justify="right", no_wrap=True)
    for f in findings:
        n = catalog.quota(f.quota_code).format
        after = None if f.usage is None else f.usage + f.demand
        table.add_row(
            f"[{STYLE[f.status]}]{f.status}[/]",
            f.quota_code,
            f.quota_name,
            scope_label(f.scope),
            n(f.limit),
            f.limit_source,
            n(f.usage),
            f"+{n(f.demand)}",
            n(after),
        )
    return table


def verdict_line(report: Report) -> str:
    c = report.counts()
    return (
        f"[{VERDICT_STYLE[report.verdict]}]{report.verdict}[/] {report.manifest.name} "
        f"({report.environment}) in {report.region}, account {report.account_id}: "
        f"{c['FAIL']} fail, {c['UNKNOWN']} unknown, {c['WARN']} warn, {c['OK']} ok"
    )


def _value(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v).rsplit("/", 1)[-1] for v in value)
    return str(value)


def print_plan_diff(console: Console, report: Report) -> None:
    """Requested versus adapted, as `terraform plan` shows a diff: each change, its reason and impact."""
    adaptations = report.adaptations or ()
    if not adaptations:
        console.print("[green]No changes:[/] the deployment fits the account as requested.\n")
        for n in report.notes:
            console.print(f"  [cyan]i[/] [bold]{n.title}[/] [dim]({n.id})[/dim]: {n.reason}")
            console.print(f"      cost: {n.impact.cost}")
        if report.notes:
            console.print()
        return
    console.print(f"[bold]{len(adaptations)} adaptation(s)[/] to fit the account:\n")
    for a in adaptations:
        removes = all(c.after is None for c in a.changes)
        mark, style = ("-", "red") if removes else ("~", "yellow")
        quota = f" [dim]forced by {a.quota_code} {a.quota_name}[/dim]" if a.quota_code else ""
        console.print(f"  [{style}]{mark}[/] [bold]{a.title}[/] [dim]({a.id})[/dim]{quota}")
        console.print(f"      reason: {a.reason}")
        for c in a.changes:
            where = f" [dim](line {c.line})[/dim]" if c.line else ""
            if c.after is None:
                console.print(f"      [red]- {c.path}[/]: {_value(c.before)}{where}")
            else:
                console.print(f"      [yellow]~ {c.path}[/]: {_value(c.before)} -> {_value(c.after)}{where}")
        console.print(f"      cost: {a.impact.cost}")
        console.print(f"      security: {a.impact.security}")
        console.print(f"      performance: {a.impact.performance}\n")


def render_table(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    if color is None:
        color = False
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color or "NO_COLOR" in os.environ,
        width=width or DEFAULT_WIDTH,
        color_system="standard" if color else None,
        highlight=False,
    )
    if report.adaptations is not None:
        print_plan_diff(console, report)
    console.print(findings_table(report.findings))
    for f in report.findings:
        if f.status in ("FAIL", "UNKNOWN", "WARN"):
            console.print(
                f"[{STYLE[f.status]}]{f.status}[/] {f.quota_code} {scope_label(f.scope)}: {f.message}"
                f" [dim]({_where(f)})[/dim]"
            )
    for r in report.increase_requests:
        n = catalog.quota(r.quota_code).format
        console.print(
            f"  to fit as requested: raise {r.service_code}/{r.quota_code} ({r.quota_name}) "
            f"from {n(r.current)} to {n(r.required)}"
        )
    console.print(verdict_line(report))
    return buffer.getvalue()


def render_tables(reports: list[Report], *, color: bool = False, width: int | None = None) -> str:
    """The terminal view of one region, or of several with the overall verdict last."""
    if len(reports) == 1:
        return render_table(reports[0], color=color, width=width)
    from preflight.gate import overall_verdict

    parts = [render_table(r, color=color, width=width) for r in reports]
    return (
        "\n".join(parts) + f"Overall: {overall_verdict(reports)} ({', '.join(r.region for r in reports)})\n"
    )
