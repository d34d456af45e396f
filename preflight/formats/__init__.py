"""Report formatters: each takes a `Report` and returns a string; none prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

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
        case _:
            raise NotImplementedError(fmt)


def render(report: Report, fmt: Format) -> str:
    return formatter(fmt)(report)
