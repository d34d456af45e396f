"""The terminal view: a rich table of findings and a one-line verdict."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from preflight.quotas import catalog
from preflight.report.formats._common import ATTENTION, after, number, scope_label, suppression_text, unit_of
from preflight.report.nextsteps import Invocation, NextStep, next_steps
from preflight.report.report import Finding, Report
from preflight.support.terminal import shell_lines

DEFAULT_WIDTH = 160  # not a terminal (CI logs, files): wide enough for one line per finding
STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red", "UNKNOWN": "magenta", "SUPPRESSED": "dim"}
AFTER_LIMIT = "after / limit"  # in use plus this deploy, against the limit
VERDICT_STYLE = {"GO": "bold green", "GO_WITH_ADAPTATIONS": "bold yellow", "NO_GO": "bold red"}


def _where(f: Finding) -> str:
    """The manifest paths behind a finding, shortened: the first two and how many more."""
    shown = ", ".join(f.resources[:2])
    return shown + (f", +{len(f.resources) - 2} more" if len(f.resources) > 2 else "")


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


def verdict_line(report: Report, width: int | None = None) -> str:
    """The one-line summary; at a narrow width the account and the zero counts give way, in that order."""
    c = report.counts()
    verdict = f"[{VERDICT_STYLE[report.verdict]}]{report.verdict}[/]"
    head = f"{verdict} {escape(report.manifest.name)} ({report.environment})"
    suppressed = f", {c['SUPPRESSED']} suppressed" if c["SUPPRESSED"] else ""
    counts = f"{c['FAIL']} fail, {c['UNKNOWN']} unknown, {c['WARN']} warn{suppressed}, {c['OK']} ok"
    nonzero = ", ".join(f"{c[s]} {s.lower()}" for s in ("FAIL", "UNKNOWN", "WARN", "OK") if c[s])
    forms = (
        f"{head} in {report.region}, account {report.account_id}: {counts}",
        f"{head} in {report.region}: {counts}",
        f"{head} {report.region}: {nonzero}",
        f"{verdict} {report.region}: {nonzero}",
    )
    if width is None:
        return forms[0]
    return next((f for f in forms if Text.from_markup(f).cell_len <= width), forms[-1])


def _value(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v).rsplit("/", 1)[-1] for v in value)
    return str(value)


def _at(indent: int, *parts: str | tuple[str, str]) -> Padding:
    """One entry of the plan's diff, indented; a line too long for the terminal wraps under itself."""
    return Padding(Text.assemble(*parts), (0, 0, 0, indent), expand=False)


def print_plan_diff(console: Console, report: Report) -> None:
    """Requested versus adapted, as `terraform plan` shows a diff: each change, its reason and impact."""
    adaptations = report.adaptations or ()
    if not adaptations:
        if report.verdict == "NO_GO":
            console.print("[bold]No changes:[/] the plan is the deployment as requested.\n")
        else:
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
        quota = (f" forced by {a.quota_code} {a.quota_name}", "dim") if a.quota_code else ""
        title = _hanging()
        title.add_row(Text(mark, style), Text.assemble((a.title, "bold"), (f" ({a.id})", "dim"), quota))
        console.print(Padding(title, (0, 0, 0, 2), expand=False))
        console.print(_at(6, f"reason: {a.reason}"))
        for c in a.changes:
            where = (f" (line {c.line})", "dim") if c.line else ""
            if c.after is None:
                console.print(_at(6, (f"- {c.path}", "red"), f": {_value(c.before)}", where))
            else:
                change = f": {_value(c.before)} -> {_value(c.after)}"
                console.print(_at(6, (f"~ {c.path}", "yellow"), change, where))
        console.print(_at(6, f"cost: {a.impact.cost}"))
        console.print(_at(6, f"security: {a.impact.security}"))
        console.print(_at(6, f"performance: {a.impact.performance}"))
        console.print()
    for n in report.notes:  # what the adapted plan keeps that serves nothing (a VPC nothing runs in)
        console.print(_at(2, ("i ", "cyan"), (n.title, "bold"), (f" ({n.id})", "dim"), f": {n.reason}"))
        console.print(_at(6, f"cost: {n.impact.cost}"))
    if report.notes:
        console.print()


def _quota_text(f: Finding, width: int | None = None) -> str:
    """The quota's name, and its scope where the name does not already say it; cut to `width`, the name
    giving way before the scope (three rule-count rows differ only by their group and direction).
    """
    label = scope_label(f.scope)
    if label in ("region", "account"):
        return f.quota_name if width is None else clip(f.quota_name, width)
    scope = f" ({label})"
    if width is None or len(f.quota_name) + len(scope) <= width:
        return f.quota_name + scope
    if width - len(scope) >= 12:
        return clip(f.quota_name, width - len(scope)) + scope
    return clip(label, width)  # the code beside it names the quota; the scope tells the rows apart


def _after_limit(f: Finding) -> str:
    unit = unit_of(f)
    return f"{number(after(f), unit)} / {number(f.limit, unit)}"


def ordered(findings: tuple[Finding, ...]) -> list[Finding]:
    """The findings that need attention first (worst first), then the rest, each in catalog order."""
    rank = {status: i for i, status in enumerate(ATTENTION)}
    return sorted(findings, key=lambda f: rank.get(f.status, len(rank)))


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, ending in an ASCII '...' when cut (a log counts bytes, not cells)."""
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def findings_list(findings: tuple[Finding, ...], width: int) -> list[Text]:
    """One line per finding, no wider than `width`: status, code, quota (scope) and after / limit.

    The quota's name gives way first (cut, ending in '...'); below 72 columns the code goes too, as the
    lines under the list name it for every finding that needs attention.
    """
    rows = ordered(findings)
    show_code = width >= 72
    numbers = [_after_limit(f) for f in rows]
    num_w = max([len(n) for n in numbers] + [len(AFTER_LIMIT)])
    status_w = max([7] + [len(f.status) for f in rows])  # SUPPRESSED is wider than the others
    fixed = status_w + 1 + (12 if show_code else 0) + 2 + num_w
    quota_w = min(max(width - fixed, 8), max([len(_quota_text(f)) for f in rows] + [len("quota")]))
    header = Text(style="bold")
    header.append(
        "status".ljust(status_w + 1) + ("code        " if show_code else "") + "quota".ljust(quota_w)
    )
    header.append("  " + AFTER_LIMIT.rjust(num_w))
    lines = [header]
    for f, amounts in zip(rows, numbers, strict=True):
        name = Text(_quota_text(f, quota_w).ljust(quota_w))
        line = Text()
        line.append(f.status.ljust(status_w), style=STYLE[f.status])
        line.append(" ")
        if show_code:
            line.append(f"{f.quota_code:<10}", style="dim")
            line.append("  ")
        line.append_text(name)
        line.append("  " + amounts.rjust(num_w))
        lines.append(line)
    return lines


def _hanging() -> Table:
    """Two columns, the second wrapping under itself: a label, then text with a hanging indent."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    return grid


def print_next_steps(console: Console, steps: tuple[NextStep, ...]) -> None:
    if not steps:
        return
    console.print("\n[bold]Next:[/]")
    for step in steps:
        console.print(Padding(Text(step.why), (0, 0, 0, 2), expand=False))
        for line in shell_lines(list(step.argv), console.width, indent="    "):
            console.print(Text(line), no_wrap=True, overflow="fold", crop=False)


def _reasons(report: Report) -> Table:
    """Why each finding and check that needs attention does not pass, one hanging row each."""
    reasons = _hanging()
    for f in ordered(report.findings):
        if f.status in ATTENTION:
            reasons.add_row(
                Text.assemble((f.status, STYLE[f.status]), f" {f.quota_code}"),
                Text.assemble(
                    f"{scope_label(f.scope)}: {f.message} ",
                    (f"({_where(f)})", "dim"),
                    f"\n{suppression_text(f)}" if f.suppression else "",
                ),
            )
    for c in report.checks:  # not quotas (names taken, services not offered): rows like the findings'
        if c.status in ATTENTION:
            where = f"({', '.join(c.resources)})" if c.resources else ""
            fix = f"\nfix: {c.fix}" if c.fix else ""
            reasons.add_row(
                Text.assemble((c.status, STYLE[c.status]), f" {c.id}"),
                Text.assemble(f"{c.kind}: {c.message} ", (where, "dim"), fix),
            )
    return reasons


def _increases(report: Report) -> Table:
    """The increases that would make the requested deployment fit, one hanging row each."""
    increases = _hanging()
    for r in report.increase_requests:
        n = catalog.quota(r.quota_code).format if r.quota_code in catalog.BY_CODE else number
        increases.add_row(
            "  to fit as requested:",
            Text(
                f"raise {r.service_code}/{r.quota_code} ({r.quota_name}) "
                f"from {n(r.current)} to {n(r.required)}"
            ),
        )
    return increases


def render_table(
    report: Report,
    *,
    color: bool | None = None,
    width: int | None = None,
    wide: bool = False,
    invocation: Invocation | None = None,
) -> str:
    """The terminal view: the plan's changes, one line per finding (the full table when `wide`), what
    needs attention and why, the increases that would make the request fit, the verdict, what to run next.
    """
    color = bool(color)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width or DEFAULT_WIDTH,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    if report.adaptations is not None:
        print_plan_diff(console, report)
    if wide:
        console.print(findings_table(report.findings))
    else:
        for line in findings_list(report.findings, console.width):
            console.print(line, no_wrap=True, overflow="ellipsis")
        console.print()
    console.print(_reasons(report))
    console.print(_increases(report))
    for o in report.overrides:  # flags that change the verdict on purpose: said before the verdict
        console.print(Text.assemble(("OVERRIDE", "bold yellow"), f" {o.flag}: {o.detail}"))
    console.print(verdict_line(report, console.width))
    print_next_steps(console, next_steps(report, invocation))
    # rich pads grid cells to the column's width: trailing blanks are noise in files and diffs.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def render_tables(
    reports: list[Report],
    *,
    color: bool = False,
    width: int | None = None,
    wide: bool = False,
    invocation: Invocation | None = None,
) -> str:
    """The terminal view of one region, or of several with the overall verdict last."""
    parts = [render_table(r, color=color, width=width, wide=wide, invocation=invocation) for r in reports]
    if len(reports) == 1:
        return parts[0]
    from preflight.gate import overall_verdict

    return (
        "\n".join(parts) + f"Overall: {overall_verdict(reports)} ({', '.join(r.region for r in reports)})\n"
    )


def stats_text(report: Report) -> str:
    """`--stats` for the table: the API calls per operation and the time the account took to read."""
    calls = report.stats.api_calls
    lines = [f"{sum(calls.values())} API calls in {report.stats.elapsed_s:.2f}s"]
    lines += [f"  {count:4d}  {op}" for op, count in sorted(calls.items())]
    return "\n".join(lines) + "\n"
