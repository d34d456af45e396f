"""Report formatters: each takes a `Report` and returns a string; none prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, assert_never, get_args

from preflight.report import Report

Format = Literal["table", "json", "markdown", "sarif", "junit", "github"]
FORMAT_NAMES: tuple[str, ...] = get_args(Format)


def formatter(fmt: Format) -> Callable[[Report], str]:
    """The formatter for `fmt`. Imported lazily so a run pays only for the format it writes."""
    match fmt:
        case "table":
            from preflight.formats.table import render_table

            return render_table
        case "json":
            return Report.to_json
        case "markdown":
            from preflight.formats.markdown import render_markdown

            return render_markdown
        case "sarif":
            from preflight.formats.sarif import render_sarif

            return render_sarif
        case "junit":
            from preflight.formats.junit import render_junit

            return render_junit
        case "github":
            from preflight.formats.github import render_github

            return render_github
        case _:
            # A type checker proves this unreachable; at run time an unchecked string still fails loudly.
            assert_never(fmt)


def render(report: Report, fmt: Format) -> str:
    return formatter(fmt)(report)
