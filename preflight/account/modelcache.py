"""botocore's service models kept as marshal files, which load about four times faster than JSON.

A check parses a dozen models (EC2's is megabytes of gzipped JSON): ~0.1 s of CPU per process, a
fifth of a whole check. The first reading of a model writes its parsed dict beside the user's other
caches; later processes read that instead. A cached file is named by the model's path, size and
mtime and by the interpreter (marshal's format is per Python version), so a botocore upgrade or a
new interpreter simply misses. Any trouble with the cache (unwritable, corrupt, absent) falls back
to parsing the JSON: the cache can only save time, never change a request or a response.
Service models (`service-2`) are kept without their documentation strings (two thirds of EC2's
model): botocore reads them only to write docstrings, never to build a request or parse a response.
TAP_PREFLIGHT_MODEL_CACHE=off turns it off; =DIR puts it elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "TAP_PREFLIGHT_MODEL_CACHE"
# Part of every entry's name: a change to what is kept (as dropping documentation was) misses.
FORMAT = "2"


def cache_dir() -> Path | None:
    """Where cached models live; None when the cache is turned off."""
    setting = os.environ.get(ENV, "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tap-preflight" / "botocore-models"


def _entry(directory: Path, full_path: str) -> Path | None:
    try:
        stat = os.stat(full_path)
    except OSError:
        return None
    tag = f"{full_path}|{stat.st_size}|{stat.st_mtime_ns}|{sys.version_info[:2]}|{marshal.version}|{FORMAT}"
    return directory / (hashlib.sha256(tag.encode()).hexdigest()[:32] + ".marshal")


def load(full_path: str, parse: Callable[[], Any]) -> Any:
    """The model at full_path: from the cache when it holds it, else parsed (and then cached)."""
    directory = cache_dir()
    entry = _entry(directory, full_path) if directory is not None else None
    if entry is None:
        return parse()
    try:
        return _decoded(marshal.loads(entry.read_bytes()))
    except (OSError, EOFError, ValueError, TypeError):
        pass  # absent, unreadable or not an entry of this format: parse
    model = parse()
    _store(entry, model)
    return model


class Shapes(dict[str, Any]):
    """A service model's shapes, each decoded the first time botocore asks for it by name.

    A check uses a few hundred of EC2's ~5,000 shapes; decoding only those saves most of loading the
    model. Every name is there from the start (botocore lists them for error classes and docs);
    a decoded shape is kept, so changes made to it (botocore's extras merge) stay.
    """

    def __getitem__(self, name: str) -> Any:
        value = dict.__getitem__(self, name)
        if type(value) is bytes:
            value = marshal.loads(value)
            dict.__setitem__(self, name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self else default

    def values(self) -> Any:  # type: ignore[override]
        return [self[name] for name in self]

    def items(self) -> Any:  # type: ignore[override]
        return [(name, self[name]) for name in self]

    # Whatever else reads values hands out decoded shapes too (dict's own versions would not).
    def copy(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(self.items())

    def pop(self, name: str, *default: Any) -> Any:  # type: ignore[override]
        value = self[name] if name in self else dict.pop(self, name, *default)
        dict.pop(self, name, None)
        return value

    def setdefault(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else dict.setdefault(self, name, default)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


def _encoded(model: Any) -> tuple[Any, ...]:
    """An entry: a model with shapes keeps each shape encoded on its own, to be decoded on use, and
    the method name botocore makes of each operation name."""
    if isinstance(model, dict) and isinstance(model.get("shapes"), dict):
        rest = {key: value for key, value in model.items() if key != "shapes"}
        shapes = {name: marshal.dumps(shape) for name, shape in model["shapes"].items()}
        return ("shapes", rest, shapes, _method_names(model))
    return ("whole", model)


def _method_names(model: dict[str, Any]) -> dict[str, str]:
    import botocore

    operations = model.get("operations")
    return {name: botocore.xform_name(name) for name in operations} if isinstance(operations, dict) else {}


def _remember_method_names(names: dict[str, str]) -> None:
    """botocore's memo of method names, filled with the ones it made when the entry was written.

    A client turns every operation name into a method name with two regular expressions (~1,500
    names a check, 20-30 ms). The memo is botocore's module-level dict of (name, separator) ->
    method name; should a release keep it otherwise, nothing is filled and botocore computes them.
    """
    import botocore

    memo = getattr(botocore, "_xform_cache", None)
    if isinstance(memo, dict):
        for name, method in names.items():
            memo.setdefault((name, "_"), method)


def _decoded(entry: Any) -> Any:
    """The model an entry holds; ValueError for anything that is not an entry this module wrote."""
    if type(entry) is tuple and len(entry) == 2 and entry[0] == "whole":
        return entry[1]
    if (
        type(entry) is tuple
        and len(entry) == 4
        and entry[0] == "shapes"
        and all(type(part) is dict for part in entry[1:])
        and all(type(shape) is bytes for shape in entry[2].values())
        and all(type(k) is str and type(v) is str for k, v in entry[3].items())
    ):
        _remember_method_names(entry[3])
        return {**entry[1], "shapes": Shapes(entry[2])}
    raise ValueError("not a model cache entry")


def _store(entry: Path, model: Any) -> None:
    """Write complete or not at all: a temporary file in the same directory, then renamed."""
    try:
        data = marshal.dumps(_encoded(model))
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".model-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, ValueError):
        return  # no cache this time; the parsed model is still returned


def parse_json(open_method: Any, full_path: str) -> Any:
    with open_method(full_path, "rb") as fp:
        model = json.loads(fp.read())
    if os.path.basename(full_path).startswith("service-2.") and isinstance(model, dict):
        without_documentation(model)
    return model


def without_documentation(model: dict[str, Any]) -> dict[str, Any]:
    """A service model's documentation strings removed, in place, where the model's format puts them.

    Only the `documentation` key of the service, of operations and their input/output/error
    references, of shapes and of shape members, keys and values: never a member that happens to be
    named so (a shape's members are names, not attributes).
    """
    model.pop("documentation", None)
    for operation in _values(model.get("operations")):
        _drop(operation)
        for key in ("input", "output"):
            _drop(operation.get(key))
        for error in operation.get("errors") or ():
            _drop(error)
    for shape in _values(model.get("shapes")):
        _drop(shape)
        for member in _values(shape.get("members")):
            _drop(member)
        for key in ("member", "key", "value"):
            _drop(shape.get(key))
    return model


def _values(mapping: Any) -> list[Any]:
    return list(mapping.values()) if isinstance(mapping, dict) else []


def _drop(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("documentation", None)
