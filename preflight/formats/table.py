"""The terminal view: a rich table of findings and a one-line verdict."""

from __future__ import annotations

import io
import os

from rich.console import Console
from rich.table import Table

from preflight.report import Finding, Report

STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red", "UNKNOWN": "magenta"}
VERDICT_STYLE = {"GO": "bold green", "GO_WITH_ADAPTATIONS": "bold yellow", "NO_GO": "bold red"}


def _n(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 10 * 1024**2:
        return f"{value / 1024**3:.2f} GiB"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def scope_label(scope: str) -> str:
    kind, _, rest = scope.partition(":")
    return {"region": "region", "global": "account"}.get(kind, f"{kind} {rest}".replace(":", " "))


def findings_table(findings: tuple[Finding, ...]) -> Table:
    table = Table(show_lines=False, header_style="bold", expand=False)
    for column in ("quota", "scope", "limit (source)", "in use", "this deploy", "after", "status"):
        table.add_column(column, justify="right" if column in ("in use", "this deploy", "after") else "left")
    for f in findings:
        after = None if f.usage is None else f.usage + f.demand
        table.add_row(
            f"{f.quota_name}\n[dim]{f.service_code}/{f.quota_code}[/dim]",
            scope_label(f.scope),
            f"{_n(f.limit)} ({f.limit_source})",
            _n(f.usage),
            _n(f.demand),
            _n(after),
            f"[{STYLE[f.status]}]{f.status}[/]",
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
        width=width or 120,
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
                f" [dim]({', '.join(f.resources)})[/dim]"
            )
    for r in report.increase_requests:
        console.print(
            f"  to fit as requested: raise {r.service_code}/{r.quota_code} ({r.quota_name}) "
            f"from {_n(r.current)} to {_n(r.required)}"
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
