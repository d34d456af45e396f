"""The report as GitHub-flavoured markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

Order follows what a reviewer needs: the verdict on the first line, then what is wrong (failing quotas),
what the planner changed to make it fit (adaptations), what to ask AWS for (increase requests), what the
plan keeps that you should know about (notes: what serves nothing, with its cost), and the full findings
table folded away in `<details>`.
"""

from __future__ import annotations

import shlex

from preflight.deployment import Adaptation, Verdict
from preflight.report.formats._common import (
    VERDICT_TEXT,
    after,
    attention,
    check_details,
    counts_text,
    number,
    quota_entry,
    scope_label,
    suppression_text,
    unit_of,
    usd,
    value_text,
)
from preflight.report.formats.checklist import Checklist, Item
from preflight.report.formats.mermaid import adaptation_graph_section
from preflight.report.nextsteps import Invocation, next_steps
from preflight.report.report import Finding, Report

ICON: dict[Verdict, str] = {"GO": "✅", "GO_WITH_ADAPTATIONS": "⚠️", "NO_GO": "❌"}
STATUS_ICON = {"OK": "✅", "WARN": "⚠️", "FAIL": "❌", "UNKNOWN": "❔", "SUPPRESSED": "🔕"}
_FINDING_COLUMNS = ("status", "quota", "scope", "limit (source)", "in use", "this deploy", "after", "details")


def text(value: str) -> str:
    """Plain text for a table cell or a list item.

    HTML is escaped because GitHub renders inline HTML; `|` is escaped because it would split a cell;
    emphasis, link and code markers are escaped so a message renders as written; line breaks become
    `<br>` so a table row stays one line.
    """
    for char in ("\\", "`", "*", "[", "]", "|"):
        value = value.replace(char, "\\" + char)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def code(value: str, *, cell: bool = False) -> str:
    """An inline code span that survives backticks in the value (entities and escapes are literal in code).

    Only inside a table cell is `|` escaped: GFM splits cells before parsing code spans and honours `\\|`
    there, while in a list item `\\|` inside a code span would show the backslash.
    """
    value = " ".join(value.split())  # a code span cannot hold a line break inside a table row
    fence = "`"
    while fence in value:
        fence += "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    if cell:
        value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def _row(cells: tuple[str, ...] | list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_lines(header: tuple[str, ...], rows: list[list[str]], right: tuple[str, ...] = ()) -> list[str]:
    """A GitHub markdown table (also `place`'s): the header, its alignment row, one line per row."""
    align = tuple("---:" if column in right else "---" for column in header)
    return [_row(header), _row(align), *(_row(r) for r in rows)]


def _finding_row(f: Finding) -> list[str]:
    unit = unit_of(f)
    return [
        f"{STATUS_ICON[f.status]} {f.status}",
        f"{text(f.quota_name)}<br>{code(f'{f.service_code}/{f.quota_code}', cell=True)}",
        text(scope_label(f.scope)),
        f"{number(f.limit, unit)} ({text(f.limit_source)})",
        number(f.usage, unit),
        number(f.demand, unit),
        number(after(f), unit),
        text(" ".join(filter(None, [f.message, suppression_text(f)]))),
    ]


def _findings_table(findings: list[Finding]) -> list[str]:
    return table_lines(
        _FINDING_COLUMNS,
        [_finding_row(f) for f in findings],
        right=("in use", "this deploy", "after"),
    )


def _adaptation(index: int, a: Adaptation) -> list[str]:
    lines = [f"{index}. **{text(a.title)}** ({code(a.id)})"]
    because = f" (quota {code(a.quota_code)} {text(a.quota_name or '')})" if a.quota_code else ""
    lines.append(f"   - why: {text(a.reason)}{because}")
    for c in a.changes:
        where = f" (line {c.line})" if c.line is not None else ""
        lines.append(
            f"   - {code(c.path)}{where}: {code(value_text(c.before))} → {code(value_text(c.after))}"
        )
    impact = a.impact
    lines.append(f"   - cost: {text(impact.cost)} ({usd(impact.monthly_cost_delta_usd)}, estimate)")
    lines.append(f"   - security: {text(impact.security)}")
    lines.append(f"   - performance: {text(impact.performance)}")
    return lines


def _next_steps(report: Report, invocation: Invocation | None) -> list[str]:
    steps = next_steps(report, invocation)
    if not steps:
        return []
    out = ["", "#### Next steps", ""]
    for step in steps:
        out += [text(step.why), "", "```sh", shlex.join(step.argv), "```", ""]
    return out[:-1]


def render_markdown(report: Report, *, invocation: Invocation | None = None) -> str:
    manifest = report.manifest
    out = [
        f"### {ICON[report.verdict]} tap-preflight: {VERDICT_TEXT[report.verdict]}",
        "",
        (
            f"{report.command} of {code(manifest.path)} ({text(manifest.name)}, "
            f"environment {code(report.environment)}) in {code(report.region)}, "
            f"account {code(report.account_id)}: {counts_text(report)}."
        ),
    ]
    if report.overrides:
        out += ["", "#### Overrides", "", "Flags that change the verdict or the exit code on purpose:", ""]
        out += [f"- {code(o.flag)}: {text(o.detail)}" for o in report.overrides]
    out += _attention_section(report)
    out += _checks_section(report)
    out += _adaptations_section(report)
    out += _increases_section(report)
    out += _next_steps(report, invocation)
    out += _notes_section(report)
    out += [
        "",
        "<details>",
        f"<summary>All {len(report.findings)} findings ({counts_text(report)})</summary>",
        "",
    ]
    out += _findings_table(list(report.findings)) if report.findings else ["No findings."]
    out += ["", f"Manifest sha256 {code(manifest.sha256)}.", "", "</details>"]
    return "\n".join(out) + "\n"


def _attention_section(report: Report) -> list[str]:
    failing = attention(report)
    out = ["", "#### Quotas that need attention", ""]
    if failing:
        return out + _findings_table(failing)
    return [*out, f"None: all {len(report.findings)} quotas fit with room to spare."]


def _checks_section(report: Report) -> list[str]:
    if not report.checks:
        return []
    rows = [
        [
            f"{STATUS_ICON[c.status]} {c.status}",
            f"{text(c.title)}<br>{code(c.id, cell=True)} ({text(c.kind)})",
            text(", ".join(c.resources)) or "-",
            text(" ".join(filter(None, [c.message, suppression_text(c)]))),
            "<br>".join(text(line) for line in check_details(c)) or "-",
        ]
        for c in report.checks
    ]
    header = ("status", "check", "manifest", "details", "owner and fix")
    return ["", "#### Names and availability (not quotas)", "", *table_lines(header, rows)]


def _adaptations_section(report: Report) -> list[str]:
    if not report.adaptations:
        return []
    out = ["", "#### Adaptations", "", "The plan was changed to fit the account:", ""]
    for i, a in enumerate(report.adaptations, start=1):
        out += _adaptation(i, a)
    return out + adaptation_graph_section(report.adaptations)


def _notes_section(report: Report) -> list[str]:
    """Information, not findings: one short item per note, before the fold a truncated comment cuts first."""
    if not report.notes:
        return []
    out = ["", "#### Notes", "", "Deployed as requested; they change nothing in the verdict:", ""]
    for n in report.notes:
        where = f" ({', '.join(code(p) for p in n.paths)})" if n.paths else ""
        cost = text(n.impact.cost)
        out.append(f"- **{text(n.title)}** ({code(n.id)}){where}: {text(n.reason)}; cost: {cost}")
    return out


def _increases_section(report: Report) -> list[str]:
    if not report.increase_requests:
        return []
    verb = "deploy as requested" if report.adaptations else "fit"
    rows = []
    for r in report.increase_requests:
        entry = quota_entry(r.quota_code)
        unit = entry.unit if entry else "None"
        rows.append(
            [
                f"{text(r.quota_name)}<br>{code(f'{r.service_code}/{r.quota_code}', cell=True)}",
                number(r.current, unit),
                number(r.required, unit),
                "yes" if r.adjustable else "no: needs a design change",
            ]
        )
    table = table_lines(("quota", "current", "required", "adjustable"), rows, right=("current", "required"))
    return ["", "#### Quota increases", "", f"To {verb}, ask AWS for:", "", *table]


# --- checklists: lint, verify-program, rehearse, request-increases ----------------------------------

_ITEM_ICON = {"passed": "✅", "failed": "❌", "error": "❔", "warning": "⚠️", "skipped": "⏭️"}


def render_checklist_markdown(checklist: Checklist) -> str:
    """The result in one line, then what needs attention as a table, the rest folded in `<details>`."""
    icon = "✅" if checklist.ok else "❌"
    lines = [f"### {icon} tap-preflight {checklist.command}: {text(checklist.title)}", ""]
    attention = checklist.needing_attention()
    if attention:
        rows = [_item_row(checklist, item) for item in attention]
        lines += [*table_lines(("status", "rule", "what", "message", "where"), rows), ""]
    rest = [item for item in checklist.items if item not in attention]
    if rest:
        summary = ", ".join(
            f"{n} {status}"
            for status in ("passed", "skipped")
            if (n := sum(i.status == status for i in rest))
        )
        lines += ["<details>", f"<summary>{summary}</summary>", ""]
        lines += [
            *table_lines(
                ("status", "rule", "what", "message", "where"), [_item_row(checklist, i) for i in rest]
            ),
            "",
        ]
        lines += ["</details>", ""]
    return "\n".join(lines)


def _item_row(checklist: Checklist, item: Item) -> list[str]:
    file, line = checklist.location(item)
    where = code(f"{file}:{line}" if line else file, cell=True) if file else ""
    return [
        f"{_ITEM_ICON[item.status]} {item.status}",
        code(item.rule, cell=True) if item.rule else "",
        text(item.name),
        text(item.message),
        where,
    ]
