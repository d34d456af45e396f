"""`request-increases` as a table: one row per request (one entry each when the terminal is narrow),
then a summary line. The other formats see the result as a checklist (formats/checklist.py)."""

from __future__ import annotations

import io
from typing import Any

from preflight.report.results import STATUS_TEXT, IncreasesResult, amount


def render_increases_table(result: IncreasesResult, *, color: bool = False, width: int = 120) -> str:
    from rich.console import Console
    from rich.table import Table

    style = {"filed": "green", "would-file": "yellow", "error": "bold red", "design-change": "bold red"}
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    if not result.outcomes:
        console.print(f"No increase requests in {result.source}: the requested deployment fits as it is.")
        return buf.getvalue()
    if width < NARROW:
        _print_list(console, result, style)
        console.print(summary_line(result))
        return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
    table = Table(header_style="bold")
    for column in ("quota", "region", "current", "required", "action", "detail"):
        table.add_column(column, justify="right" if column in ("current", "required") else "left")
    for o in result.outcomes:
        current = o.in_force if o.in_force is not None else o.current
        s = style.get(o.status)
        action = STATUS_TEXT[o.status]
        table.add_row(
            f"{o.quota_name}\n[dim]{o.service_code}/{o.quota_code}[/dim]",
            o.region,
            amount(current),
            amount(o.required),
            f"[{s}]{action}[/]" if s else action,
            o.detail,
        )
    console.print(table)
    console.print(summary_line(result))
    return buf.getvalue()


NARROW = 100  # below this the six columns fold every cell: one entry per request instead


def _print_list(console: Any, result: IncreasesResult, style: dict[str, str]) -> None:
    """Each request as a line (code, current -> required, action), its name, region and detail below."""
    from rich.padding import Padding
    from rich.text import Text

    for o in result.outcomes:
        current = o.in_force if o.in_force is not None else o.current
        line = Text.assemble(
            (f"{o.service_code}/{o.quota_code}", "bold"),
            f"  {amount(current)} -> {amount(o.required)}  ",
            (STATUS_TEXT[o.status], style.get(o.status, "")),
        )
        console.print(line)
        about = f"{o.quota_name} ({o.region})" + (f": {o.detail}" if o.detail else "")
        console.print(Padding(Text(about), (0, 0, 0, 4), expand=False))


SHORT_TEXT: dict[str, str] = {
    "filed": "filed",
    "would-file": "to file with --submit",
    "listed": "listed",
    "open-request": "already requested",
    "already-raised": "already raised",
    "design-change": "need a design change",
    "error": "failed",
}


def summary_line(result: IncreasesResult) -> str:
    parts = [f"{result.count(s)} {text}" for s, text in SHORT_TEXT.items() if result.count(s)]  # type: ignore[arg-type]
    mode = "submitted" if result.submitted else "nothing changed in the account"
    return f"{len(result.outcomes)} increase request(s) from {result.source} ({mode}): " + ", ".join(parts)
