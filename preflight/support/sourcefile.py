"""Safe YAML loading that remembers where every value came from.

Manifests, scenarios and plans are read through `load_yaml_file`, which returns the data and a
`LineMap` so that every later error can name the file, the line and the field path.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, ClassVar, Union, get_args, get_origin

import yaml

from preflight.support import collector
from preflight.support.errors import InputError, InputProblems
from preflight.support.fileio import input_name, read_input

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000  # caps alias expansion ("billion laughs")
# Nesting deeper than this is never a real manifest, plan or scenario; bounding it keeps the parsers
# (recursive in PyYAML, json and pydantic) far from Python's recursion limit.
MAX_DEPTH = 64
MAX_REPORTED = 20  # validation problems listed at once; the rest are counted

# The tags a value may carry: the JSON types. `!!binary`, `!!timestamp`, `!!set`, `!!omap`,
# `!!python/...` would hand the models bytes, dates or sets they were not written for.
_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_Y}{t}" for t in ("str", "int", "float", "bool", "null")}
_MAPPING_TAGS = {f"{_Y}map"}
_SEQUENCE_TAGS = {f"{_Y}seq"}

PathKey = tuple[str | int, ...]


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Iterable[str | int]) -> str:
    """``("functions", 2, "memoryMb")`` -> ``functions[2].memoryMb``; odd keys quoted: ``functions."*"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _PLAIN_KEY.match(part) else json.dumps(part)
            out += f".{key}" if out else key
    return out


@dataclass
class LineMap:
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)
    # Where a value was written when it is not where it ends up (an environment override of
    # ``functions."*".memoryMb`` lands in every ``functions[i].memoryMb``): errors name the former.
    origins: dict[PathKey, PathKey] = field(default_factory=dict)

    def written(self, path: Iterable[str | int]) -> PathKey:
        """`path` as the user wrote it: through the nearest ancestor that came from elsewhere."""
        key = tuple(path)
        for cut in range(len(key), 0, -1):
            origin = self.origins.get(key[:cut])
            if origin is not None:
                return (*origin, *key[cut:])
        return key

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
        path = self.written(path)
        return InputError(message, file=self.file, line=self.line_of(path), path=format_path(path))


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1's implicit types, minus dates and the value tag: `2024-01-01` and "=" stay strings."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (f"{_Y}timestamp", f"{_Y}value")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _BoundedComposer(yaml.composer.Composer):
    """The composer recurses once per level: stop long before Python's recursion limit does."""

    file: str
    depth: int

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise InputError(
                    f"nested more than {MAX_DEPTH} levels deep", file=self.file, line=mark.line + 1
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Loader(
    _BoundedComposer,
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.constructor.SafeConstructor,
    _Resolver,
):
    """PyYAML's safe loader, in Python, with the composer bounded and the resolver above."""

    def __init__(self, stream: str, file: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self.file = file
        self.depth = 0


def _loader(text: str, file: str) -> Any:
    """A loader for `text`: events from libyaml when PyYAML has it (several times faster), else Python.

    Either way the nodes are composed by the bounded composer above, in Python.
    """
    if _FastLoader is None:
        return _Loader(text, file)
    return _FastLoader(text, file)


_FastLoader: Any = None
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_BoundedComposer, CParser, yaml.constructor.SafeConstructor, _Resolver):  # type: ignore[no-redef]
        # _BoundedComposer (and Composer) come before CParser: libyaml parses, Python composes.
        def __init__(self, stream: str, file: str):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _Resolver.__init__(self)
            self.file = file
            self.depth = 0


class _Builder:
    """Plain data from the composed nodes, with the line of every path.

    Values that cannot be used (a tag that is not a JSON type, `!!int abc`, a duplicate key) are
    collected in `problems`, so one run reports them all; only size and depth stop it at once.
    """

    def __init__(self, linemap: LineMap):
        self.linemap = linemap
        self.nodes = 0
        self.loader = _Loader("", linemap.file)
        self.problems: list[InputError] = []

    def fail(self, node: yaml.Node, path: PathKey, message: str) -> InputError:
        return InputError(
            message, file=self.linemap.file, line=node.start_mark.line + 1, path=format_path(path)
        )

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(
                f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)", file=self.linemap.file
            )
        if len(path) > MAX_DEPTH:  # aliases can nest deeper than the text does
            raise self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
        self.linemap.lines.setdefault(path, node.start_mark.line + 1)
        if not self.tag_allowed(node, path):
            return None
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.build_scalar(node, path)

    def build_mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_Y}merge":
                self.problems.append(self.fail(key_node, path, "YAML merge keys (<<) are not supported"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(self.fail(key_node, path, "mapping keys must be scalars"))
                continue
            if not self.tag_allowed(key_node, path):
                continue
            key = self.build_scalar(key_node, path)
            if key in out:
                self.problems.append(self.fail(key_node, path, f"duplicate key {key!r}"))
                continue
            child = (*path, key if isinstance(key, str) else str(key))
            self.linemap.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child)
        return out

    def tag_allowed(self, node: yaml.Node, path: PathKey) -> bool:
        allowed = (
            _MAPPING_TAGS
            if isinstance(node, yaml.MappingNode)
            else _SEQUENCE_TAGS
            if isinstance(node, yaml.SequenceNode)
            else _SCALAR_TAGS
        )
        if node.tag in allowed:
            return True
        tag = node.tag.replace(_Y, "!!")
        self.problems.append(
            self.fail(node, path, f"YAML tag {tag} is not allowed here: write a plain value, list or mapping")
        )
        return False

    def build_scalar(self, node: yaml.ScalarNode, path: PathKey) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError):
            # An explicit tag on a value it cannot hold (`!!int abc`, `!!bool maybe`), or an integer
            # with more digits than Python converts.
            tag = node.tag.replace(_Y, "!!")
            self.problems.append(self.fail(node, path, f"cannot read {_excerpt(node.value)} as {tag}"))
            return None


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


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
    loader = _loader(text, file)
    try:
        with collector.paused():  # tens of thousands of nodes, garbage only once built (no cycles)
            node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # libyaml puts the end of a file without a final newline one line past it
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=file) from exc
    finally:
        loader.dispose()
    if node is None:
        raise InputError(f"{what} is empty", file=file)
    builder = _Builder(linemap)
    with collector.paused():
        data = builder.build(node, ())
    if builder.problems:
        raise collect(builder.problems)
    return data, linemap


def load_yaml_file(path: str | os.PathLike[str], what: str = "file") -> tuple[Any, LineMap]:
    return parse_yaml(read_text_file(path, what), input_name(path), what)


def pydantic_errors_to_input_error(
    exc: Any, linemap: LineMap, prefix: PathKey = (), model: type | None = None
) -> InputError:
    """Every pydantic validation error (up to MAX_REPORTED), each located in the file where it was written.

    With `model` (the class validated), unknown keys and enum values get a "did you mean".
    """
    return collect(
        linemap.error((*prefix, *err["loc"]), _explain(err, model, tuple(err["loc"])))
        for err in exc.errors(include_url=False)
    )


def collect(problems: Iterable[InputError]) -> InputError:
    """One error for several problems of one file: in file order, at most MAX_REPORTED, then a count.

    The same problem at the same place is one: an override ("*") wrong for every item is one mistake.
    """
    unique: dict[tuple[str, int | None, str], InputError] = {}
    for problem in problems:
        unique.setdefault((problem.path, problem.line, problem.detail), problem)
    ordered = sorted(unique.values(), key=lambda p: p.line if p.line is not None else 1 << 62)
    if len(ordered) == 1:
        return ordered[0]
    return InputProblems(ordered[:MAX_REPORTED], more=len(ordered) - MAX_REPORTED)


def _explain(err: Any, model: type | None, loc: PathKey) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        keys = _keys_at(model, loc[:-1]) if model else []
        return "unknown key" + suggest(str(loc[-1]), keys, "the keys here are")
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    given = err.get("input")
    if isinstance(given, bool | int | float | str) and len(repr(given)) <= 60:
        msg += f" (got {given!r})"
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", str(err.get("ctx", {}).get("expected", "")))
        return msg + suggest(str(given), choices)
    return msg


def suggest(word: str, choices: Sequence[str], listing: str = "") -> str:
    """ "; did you mean 'x'?" for the closest choice, or the list of choices when there are few."""
    folded = {choice.casefold(): choice for choice in choices}  # `provisioned` means PROVISIONED
    close = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {folded[close[0]]!r}?"
    if listing and choices:
        return f"; {listing}: {', '.join(choices)}"
    return ""


def _keys_at(model: type, loc: PathKey) -> list[str]:
    """The keys a mapping at `loc` of `model` may hold (field aliases, as written in files)."""
    from pydantic import BaseModel

    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if isinstance(part, int) and origin in (list, tuple):
            annotation = get_args(annotation)[0]
        elif origin is dict:
            annotation = get_args(annotation)[1]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field_info = next(
                (f for name, f in annotation.model_fields.items() if part in (name, f.alias)), None
            )
            if field_info is None:
                return []
            annotation = field_info.annotation
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """`Model | None` -> `Model` (the optional field's type)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation
