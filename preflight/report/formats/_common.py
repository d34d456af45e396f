"""Helpers shared by the text formatters (markdown, github, sarif, junit).

Kept free of rich so that the CI formats do not pay for the terminal renderer's import.
"""

from __future__ import annotations

from preflight.deployment import Verdict
from preflight.quotas import catalog
from preflight.report.report import CheckFinding, Finding, Report, Status

# Statuses that deserve the reader's attention, worst first: the order of every "failing quotas" list.
# SUPPRESSED last: accepted, but never silently dropped from a list.
ATTENTION: tuple[Status, ...] = ("FAIL", "UNKNOWN", "WARN", "SUPPRESSED")

VERDICT_TEXT: dict[Verdict, str] = {
    "GO": "GO: the deployment fits the account's quotas",
    "GO_WITH_ADAPTATIONS": "GO_WITH_ADAPTATIONS: the adapted deployment fits; the requested one does not",
    "NO_GO": "NO_GO: the deployment does not fit the account's quotas",
}


def quota_entry(code: str) -> catalog.Quota | None:
    """The catalog entry, or None for a code this build does not know (a report from a newer tool)."""
    return catalog.BY_CODE.get(code)


def number(value: float | None, unit: str = "None") -> str:
    """A limit, usage or demand as a person reads it; `?` when it is unknown."""
    if value is None:
        return "?"
    if unit == "Bytes":
        for suffix, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if abs(value) >= size:
                scaled = value / size
                return f"{scaled:.0f} {suffix}" if scaled.is_integer() else f"{scaled:.2f} {suffix}"
        return f"{value:.0f} B"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def unit_of(finding: Finding) -> str:
    entry = quota_entry(finding.quota_code)
    return entry.unit if entry else "None"


def after(finding: Finding) -> float | None:
    return None if finding.usage is None else finding.usage + finding.demand


def scope_label(scope: str) -> str:
    """`region`, `account`, `vpc pipeline-vpc-prod`, `sg pipeline-lambda-prod egress`, ..."""
    kind, _, rest = scope.partition(":")
    return {"region": "region", "global": "account"}.get(kind, f"{kind} {rest}".replace(":", " ").strip())


def first_line(finding: Finding) -> int | None:
    """The manifest line an annotation points at: the first resource's line, when the parser knew it."""
    valid = [n for n in finding.lines if n >= 1]
    return valid[0] if valid else None


def attention(report: Report) -> list[Finding]:
    """Findings that are not OK, worst status first, otherwise in report (catalog) order."""
    rank = {status: i for i, status in enumerate(ATTENTION)}
    return sorted((f for f in report.findings if f.status in rank), key=lambda f: rank[f.status])


def counts_text(report: Report) -> str:
    c = report.counts()
    suppressed = f", {c['SUPPRESSED']} suppressed" if c["SUPPRESSED"] else ""
    return f"{c['FAIL']} fail, {c['UNKNOWN']} unknown, {c['WARN']} warn{suppressed}, {c['OK']} ok"


def suppression_text(f: Finding | CheckFinding) -> str | None:
    """Why a SUPPRESSED finding is accepted, in one line; None for any other."""
    s = f.suppression
    if s is None:
        return None
    until = f", until {s.expires.isoformat()}" if s.expires else ""
    return f"accepted {s.status}: {s.reason} ({s.source}{until})"


def value_text(value: object) -> str:
    """A `Change.before`/`after` value in one line: lists joined, None as `none`."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def usd(delta: float) -> str:
    if delta == 0:
        return "$0/month"
    sign = "+" if delta > 0 else "-"
    return f"{sign}${abs(delta):.2f}/month"


def checks_needing_attention(report: Report) -> list[CheckFinding]:
    """Non-quota findings (names taken, services not offered), worst status first."""
    rank = {status: i for i, status in enumerate(ATTENTION)}
    return sorted((c for c in report.checks if c.status in rank), key=lambda c: (rank[c.status], c.id))


def check_first_line(check: CheckFinding) -> int | None:
    valid = [n for n in check.lines if n >= 1]
    return valid[0] if valid else None


def check_details(check: CheckFinding) -> list[str]:
    """The lines every format shows for a check beyond its message."""
    lines = []
    if check.names:
        lines.append(f"in the account: {', '.join(check.names)}")
    if check.owner:
        lines.append(f"owner: {check.owner}")
    if check.action:
        lines.append(f"the deploy would: {check.action}")
    if check.fix:
        lines.append(f"fix: {check.fix}")
    return lines


MIN_LAST_COLUMN = 24  # narrower than this, the last column wraps under the row instead of beside it


def wrapped_rows(rows: list[tuple[str, ...]], width: int | None, *, shrink: int | None = None) -> list[str]:
    """A plain table whose last column is free text: every line fits `width` (None: kept whole).
    Column `shrink` (a name) gives way first, then the last column wraps within its column, or under
    the row when too little is left beside it."""
    import textwrap

    last = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(last)]
    if width is not None and shrink is not None:
        fixed = sum(w for i, w in enumerate(widths) if i != shrink) + last * 2
        beside = width - fixed - MIN_LAST_COLUMN  # what the name may take with the last column beside it
        # Too narrow for that: the last column goes under the row and the name keeps what is left.
        kept = min(widths[shrink], beside) if beside >= 8 else max(4, min(widths[shrink], width - fixed - 2))
        widths[shrink] = kept
    start = sum(widths) + last * 2
    indent = start if width is None or width - start >= MIN_LAST_COLUMN else 4
    lines = []
    for r in rows:
        cells = "  ".join(_cut(c, w).ljust(w) for c, w in zip(r[:last], widths, strict=True)) + "  "
        if width is None or len(cells) + len(r[last]) <= width:
            lines.append((cells + r[last]).rstrip())
            continue
        first_width = width - len(cells) if indent == start else 0
        words = (
            textwrap.wrap(r[last], width=max(1, first_width), break_long_words=True) if first_width else []
        )
        lines.append((cells + (words[0] if words else "")).rstrip())
        rest = r[last][len(words[0]) :].strip() if words else r[last]
        lines += [" " * indent + part for part in textwrap.wrap(rest, width=width - indent)]
    return lines


def _cut(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"
