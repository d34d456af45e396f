"""Reading the JSON files the tool writes (plan, report, snapshot) strictly.

Python's `json` accepts what no tool of ours writes and what a hand can slip in: a key given twice (the
last one wins: `"verdict": "NO_GO", "verdict": "GO"` reads as GO), `NaN`, `Infinity` and `-Infinity`,
numbers too large for a double (`1e400` becomes Infinity), and integers of thousands of digits (which
raise a bare ValueError). Each is refused here with the file, the line and the field.

The JSON files are read here too (`load_json_object`); their lines come from `sourcefile` (JSON is YAML),
which reads no JSON itself, so the two do not import each other.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from typing import Any

from preflight.support.errors import InputError
from preflight.support.fileio import input_name
from preflight.support.sourcefile import MAX_DEPTH, LineMap, PathKey, parse_yaml, read_text_file

MAX_INT_DIGITS = 30  # far above any count AWS takes; far below Python's int-parsing limit


class _Bad:
    """A value the reader refuses; kept in place so its field can be named once parsing is done."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text
        self.why = why


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _constant(text: str) -> _Bad:
    return _Bad(text, "NaN and Infinity are not numbers a plan, report or snapshot can hold")


def _float(text: str) -> float | _Bad:
    value = float(text)
    return value if math.isfinite(value) else _Bad(text, "the number is too large for a double")


def _int(text: str) -> int | _Bad:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        return _Bad(text[:20] + "…", f"an integer of {len(digits)} digits is not a count")
    return int(text)


def loads(text: str, file: str, what: str) -> Any:
    """The JSON value in `text`, or one InputError naming `file`, the line and the field."""
    try:
        data = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float, parse_int=_int
        )
    except _Duplicate as dup:
        raise _duplicate_error(text, file, what, dup.key) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON (truncated or damaged?): {exc.msg}", file=file, line=exc.lineno
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{what} is not valid JSON: {exc}", file=file) from exc
    found = _first_bad(data, ())
    if found:
        path, bad = found
        raise located(text, file, what).error(path, f"{bad.text} refused: {bad.why}")
    return data


def _first_bad(value: Any, path: PathKey) -> tuple[PathKey, _Bad] | None:
    if isinstance(value, _Bad):
        return path, value
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, child in items:
        found = _first_bad(child, (*path, key))
        if found:
            return found
    return None


def located(text: str, file: str, what: str) -> LineMap:
    """Line numbers by field of a JSON text (JSON is YAML); without them an error still names the field."""
    try:
        return parse_yaml(text, file, what)[1]
    except InputError:
        return LineMap(file)


def _duplicate_error(text: str, file: str, what: str, key: str) -> InputError:
    # The YAML reader refuses duplicate keys too, and knows their line and field.
    try:
        parse_yaml(text, file, what)
    except InputError as exc:
        if "duplicate key" in str(exc):
            return InputError(
                f"duplicate key {key!r}: a key given twice is ambiguous (readers differ on which wins)",
                file=file,
                line=exc.line,
                path=exc.path,
            )
    return InputError(f"duplicate key {key!r}: a key given twice is ambiguous", file=file)


def load_json_object(path: str | os.PathLike[str], what: str) -> tuple[dict[str, Any], str]:
    """A JSON file the tool wrote (plan, report, snapshot), read strictly (`loads`)."""
    name = input_name(path)
    text = read_text_file(path, what)
    check_json_depth(text, name)
    data = loads(text, name, what)
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object", file=name, line=1)
    return data, text


def json_line(text: str, file: str, loc: Iterable[str | int]) -> int | None:
    """The line of `loc` in a JSON document (JSON is YAML), or None if it has none."""
    try:
        return parse_yaml(text, file)[1].line_of(loc)
    except InputError:
        return None


# A JSON string (skipped whole, so brackets inside strings do not count) or one bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_json_depth(text: str, file: str) -> None:
    """InputError at the line where `text` nests deeper than MAX_DEPTH (json.loads would recurse)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=file, line=line)
        elif token in "]}":
            depth -= 1
