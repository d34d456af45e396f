"""Safe YAML loading that remembers where every value came from.

Manifests, scenarios and plans are read through `load_yaml_file`, which returns the data and a
`LineMap` so that every later error can name the file, the line and the field path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from preflight.errors import InputError
from preflight.fileio import input_name, read_input

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000  # caps alias expansion ("billion laughs")

PathKey = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """``("functions", 2, "memoryMb")`` -> ``functions[2].memoryMb``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LineMap:
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        key = tuple(path)
        while True:
            if key in self.lines:
                return self.lines[key]
            if not key:
                return None
            key = key[:-1]

    def error(self, path: Iterable[str | int], message: str) -> InputError:
        path = tuple(path)
        return InputError(message, file=self.file, line=self.line_of(path), path=format_path(path))


class _Builder:
    def __init__(self, linemap: LineMap):
        self.linemap = linemap
        self.nodes = 0
        self.loader = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(
                f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)", file=self.linemap.file
            )
        self.linemap.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise InputError(
                        "YAML merge keys (<<) are not supported",
                        file=self.linemap.file,
                        line=key_node.start_mark.line + 1,
                    )
                key = self.build_scalar(key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise InputError(
                        "mapping keys must be scalars",
                        file=self.linemap.file,
                        line=key_node.start_mark.line + 1,
                        path=format_path(path),
                    )
                if key in out:
                    raise InputError(
                        f"duplicate key {key!r}",
                        file=self.linemap.file,
                        line=key_node.start_mark.line + 1,
                        path=format_path(path),
                    )
                child = (*path, key if isinstance(key, str) else str(key))
                self.linemap.lines[child] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.build_scalar(node)

    def build_scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise InputError("expected a scalar", file=self.linemap.file, line=node.start_mark.line + 1)
        return self.loader.construct_object(node, deep=True)


def read_text_file(path: str | os.PathLike[str], what: str) -> str:
    """Read a small UTF-8 text file, turning every way it can be unusable into an InputError."""
    name = input_name(path)
    raw = read_input(path, what, limit=MAX_BYTES)  # capped, bounded in time, `-` is stdin
    if b"\x00" in raw:
        raise InputError(f"{what} is binary data, expected UTF-8 text", file=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})", file=name) from exc


def parse_yaml(text: str, file: str, what: str = "file") -> tuple[Any, LineMap]:
    linemap = LineMap(file)
    if not text.strip():
        raise InputError(f"{what} is empty", file=file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=file) from exc
    if node is None:
        raise InputError(f"{what} is empty", file=file)
    try:
        data = _Builder(linemap).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InputError(f"invalid YAML value: {exc.problem}", file=file, line=line) from exc
    except RecursionError as exc:
        raise InputError("YAML nesting is too deep", file=file) from exc
    return data, linemap


def load_yaml_file(path: str | os.PathLike[str], what: str = "file") -> tuple[Any, LineMap]:
    return parse_yaml(read_text_file(path, what), input_name(path), what)


def pydantic_errors_to_input_error(exc: Any, linemap: LineMap, prefix: PathKey = ()) -> InputError:
    """The first pydantic validation error, located in the file. (One clear message, not a wall.)"""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = (*prefix, *first["loc"])
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required field is missing"
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return linemap.error(loc, f"{msg}{more}")


def load_json_object(path: str | os.PathLike[str], what: str) -> tuple[dict[str, Any], str]:
    """A JSON file the tool wrote (plan, report, snapshot): the object and its text, or one InputError."""
    import json

    name = input_name(path)
    text = read_text_file(path, what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON (truncated or damaged?): {exc.msg}", file=name, line=exc.lineno
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object", file=name, line=1)
    return data, text
