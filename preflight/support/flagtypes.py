"""Number flags read through the same ranges as every other door (`preflight.support.ranges`).

click's FloatRange lets `nan` through (every comparison with NaN is false) and takes `inf`; these
types refuse both, and name the flag. Only click and the ranges are imported: `--help` stays fast.
"""

from __future__ import annotations

from typing import Any

import click

from preflight.support.ranges import QUOTA_VALUE, Range


class BoundedFloat(click.ParamType):
    """A finite float within `rng`."""

    name = "number"

    def __init__(self, rng: Range) -> None:
        self.rng = rng

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        problem = self.rng.problem(number)
        if problem:
            self.fail(problem, param, ctx)
        return number

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"[{self.rng.low:g}-{self.rng.high:g}]"


def parse_limit(value: str) -> tuple[str, float] | str:
    """`CODE=N` of --limit: (code, value), or why it is refused (finite, at least 0, a quota's range)."""
    code, sep, text = value.partition("=")
    if not sep or not code.startswith("L-"):
        return f"--limit expects CODE=N with a quota code such as L-1B52E74A=40, got {value!r}"
    try:
        number = float(text)
    except ValueError:
        return f"--limit expects CODE=N with N a number, got {value!r}"
    problem = QUOTA_VALUE.problem(number)
    if problem:
        return f"--limit {code}: a quota value {problem}"
    return code, number
