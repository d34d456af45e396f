"""GitHub Actions workflow commands: annotations on the manifest lines that create a failing demand.

One `::error` per FAIL or UNKNOWN finding (UNKNOWN fails the gate closed), one `::warning` per WARN, one
`::notice` per adaptation and per note of a plan (information: a notice fails nothing), then a plain
line with the verdict. Values are escaped exactly as the Actions
toolkit (@actions/core) does, so a `%`, `:` or `,` in a message or a scope cannot end a property early
or inject another command, and a line break cannot start one.
"""

from __future__ import annotations

from preflight.deployment import Adaptation, Note
from preflight.report.formats._common import (
    after,
    attention,
    check_details,
    check_first_line,
    checks_needing_attention,
    counts_text,
    first_line,
    number,
    quota_entry,
    scope_label,
    suppression_text,
    unit_of,
    value_text,
)
from preflight.report.formats.checklist import Checklist
from preflight.report.report import Finding, Report

COMMAND = {"FAIL": "error", "UNKNOWN": "error", "WARN": "warning", "SUPPRESSED": "notice"}
# GitHub shows at most 10 error and 10 warning annotations of a step (50 of a job) and drops the rest
# without a word; past this many the log says how many more there are and where to read them.
ANNOTATION_CAP = 50


def escape_data(value: str) -> str:
    """@actions/core escapeData: the message part of a command."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """@actions/core escapeProperty: a `key=value` property; `:` and `,` delimit properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: dict[str, str | int | None]) -> str:
    """`::name key=value,...::message`, properties in the toolkit's order, empty ones left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _finding_message(f: Finding) -> str:
    unit = unit_of(f)
    lines = [
        f.message,
        (
            f"{f.service_code}/{f.quota_code}, scope {scope_label(f.scope)}: limit {number(f.limit, unit)} "
            f"({f.limit_source}), in use {number(f.usage, unit)}, this deploy {number(f.demand, unit)}, "
            f"after {number(after(f), unit)}"
        ),
    ]
    if f.resources:
        lines.append("from " + ", ".join(f.resources))
    entry = quota_entry(f.quota_code)
    if entry and entry.help:
        lines.append(entry.help)
    if f.suppression:
        lines.append(suppression_text(f) or "")
    return "\n".join(lines)


def _adaptation_message(a: Adaptation) -> str:
    lines = [a.reason]
    lines += [f"{c.path}: {value_text(c.before)} -> {value_text(c.after)}" for c in a.changes]
    lines.append(f"cost: {a.impact.cost}; security: {a.impact.security}; performance: {a.impact.performance}")
    return "\n".join(lines)


def _note_message(n: Note) -> str:
    where = [f"at {', '.join(n.paths)}"] if n.paths else []
    return "\n".join([n.reason, *where, f"cost: {n.impact.cost}"])


def _severity(line: str) -> int:
    """0 for an ::error, 1 for a ::warning, 2 for the rest (the command name ends at a space or ::)."""
    name = line[2:].split(" ", 1)[0].split("::", 1)[0]
    return {"error": 0, "warning": 1}.get(name, 2)


def render_github(report: Report, *, cap: int = ANNOTATION_CAP) -> str:
    path = report.manifest.path
    # Flags that change the verdict on purpose come first: nobody should miss them in the log.
    out = [command("warning", o.detail, {"title": f"override {o.flag}"}) for o in report.overrides]
    for f in attention(report):
        title = f"{f.status} {f.quota_name} ({scope_label(f.scope)})"
        out.append(
            command(
                COMMAND[f.status],
                _finding_message(f),
                {"title": title, "file": path, "line": first_line(f)},
            )
        )
    for c in checks_needing_attention(report):
        out.append(
            command(
                COMMAND[c.status],
                "\n".join([c.message, *check_details(c), *filter(None, [suppression_text(c)])]),
                {"title": f"{c.status} {c.id} {c.title}", "file": path, "line": check_first_line(c)},
            )
        )
    for a in report.adaptations or ():
        line = next((c.line for c in a.changes if c.line is not None and c.line >= 1), None)
        out.append(
            command(
                "notice",
                _adaptation_message(a),
                {"title": f"adaptation {a.id}: {a.title}", "file": path, "line": line},
            )
        )
    for n in report.notes:
        out.append(command("notice", _note_message(n), {"title": f"note {n.id}: {n.title}", "file": path}))
    if len(out) > cap:
        # Most important first (overrides, errors, warnings, notices): what is cut is the least.
        n = len(report.overrides)
        out = out[:n] + sorted(out[n:], key=_severity)
        more = len(out) - (cap - 1)
        out = out[: cap - 1]
        out.append(
            command(
                "notice",
                f"{more} more annotations not shown (at most {cap} per report); "
                "the full list is in the markdown, JSON or SARIF report",
                {"title": f"tap-preflight: {more} more"},
            )
        )
    # A plain log line, not a command; escaped too, so a line break in a name cannot start a command.
    summary = (
        f"tap-preflight: {report.verdict} for {report.manifest.name} ({report.environment}) "
        f"in {report.region}: {counts_text(report)}"
    )
    out.append(escape_data(summary))
    return "\n".join(out) + "\n"


# --- checklists: lint, verify-program, rehearse, request-increases ----------------------------------

_ITEM_COMMAND = {"error": "error", "failed": "error", "warning": "warning"}


def render_checklist_github(checklist: Checklist, *, cap: int = ANNOTATION_CAP) -> str:
    """One annotation per item that needs attention, on its file and line; then the summary line."""
    out = []
    for item in checklist.needing_attention():
        file, line = checklist.location(item)
        title = f"{item.rule} {item.name}".strip()
        out.append(
            command(
                _ITEM_COMMAND[item.status],
                item.message or item.name,
                {"title": title, "file": file, "line": line},
            )
        )
    if len(out) > cap:
        more = len(out) - (cap - 1)
        out = out[: cap - 1]
        out.append(
            command(
                "notice",
                f"{more} more annotations not shown (at most {cap}); the JSON or SARIF output has them all",
                {"title": f"tap-preflight: {more} more"},
            )
        )
    out.append(escape_data(f"tap-preflight {checklist.command}: {checklist.title}"))
    return "\n".join(out) + "\n"
