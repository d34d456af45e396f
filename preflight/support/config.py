"""The project's settings: `.tap-preflight.toml` or `[tool.tap-preflight]` in `pyproject.toml`, the
first found from the current directory upward (as ruff and black find theirs). Command-line flags win:
the settings become click's `default_map`, so a flag given replaces the setting (a list as a whole).

    [tool.tap-preflight]
    manifest = "manifests/tap-pipeline.yaml"
    env = "prod"
    regions = ["us-east-1", "eu-west-1"]
    warn-threshold = 0.8
    fail-on = ["warn"]
    format = "table"
    reports = { sarif = "reports/gate.sarif", markdown = "reports/gate.md" }

    [[tool.tap-preflight.skip]]
    quota = "L-F678F1CE"          # a quota code, or a check id (TAP-C..., TAP-A...)
    scope = "region"              # optional: one scope (or, for a check, one manifest path)
    reason = "VPC cleanup tracked in OPS-123"
    expires = 2026-12-31          # optional; past it the gate fails until someone looks again

Paths in the file are relative to the file's directory. A bad file is exit 2, naming the file and key.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from preflight.support.errors import InputError

OWN_FILE = ".tap-preflight.toml"
PYPROJECT = "pyproject.toml"
GATE_COMMANDS = ("check", "plan", "deploy", "place", "sweep")
FORMATS = ("table", "json", "markdown", "sarif", "junit", "github")
FAIL_ON = ("warn", "fail", "unknown")
SKIP_KEYS = ("quota", "scope", "reason", "expires")


class QuotaFinding(Protocol):
    """What a skip reads of a quota finding (`report.report.Finding`; named by shape: support/ sits
    below report/)."""

    @property
    def kind(self) -> str: ...
    @property
    def quota_code(self) -> str: ...
    @property
    def scope(self) -> str: ...


class CheckedFinding(Protocol):
    """What a skip reads of a check finding (`report.report.CheckFinding`)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def resources(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Skip:
    code: str  # quota code or check id
    scope: str | None = None
    reason: str = ""
    expires: date | None = None
    source: str = ""  # where it was said: the flag, or the config file and entry

    @classmethod
    def from_flag(cls, value: str) -> Skip:
        """`CODE` or `CODE:scope` (the scope may hold colons itself: `L-407747CB:vpc:pipeline-vpc-prod`)."""
        code, _, scope = value.partition(":")
        return cls(
            code=code.strip(), scope=scope or None, reason="accepted with --skip", source=f"--skip {value}"
        )

    @property
    def label(self) -> str:
        return self.code + (f":{self.scope}" if self.scope else "")

    def matches(self, finding: QuotaFinding | CheckedFinding) -> bool:
        if finding.kind == "quota":  # a Finding (pydantic is not imported here: --help stays light)
            return finding.quota_code == self.code and self.scope in (None, finding.scope)  # type: ignore[union-attr]
        return finding.id == self.code and (self.scope is None or self.scope in finding.resources)  # type: ignore[union-attr]

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # None: no settings file
    table: str = ""  # "tool.tap-preflight" in pyproject.toml, "" in the own file
    defaults: dict[str, Any] = field(default_factory=dict)  # click parameter name -> value
    skips: tuple[Skip, ...] = ()

    def default_map(self) -> dict[str, dict[str, Any]]:
        """click's `default_map` for the root command: the same defaults for every gate command."""
        return {command: dict(self.defaults) for command in GATE_COMMANDS} if self.defaults else {}


def find_config(start: Path | None = None) -> Path | None:
    """The settings file of the nearest directory, from `start` (the current one) upward: its own file
    first, else a pyproject.toml with a `[tool.tap-preflight]` table."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        own = directory / OWN_FILE
        if own.is_file():
            return own
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and "tap-preflight" in _read(pyproject).get("tool", {}):
            return pyproject
    return None


def load_config(path: str | Path | None = None, *, start: Path | None = None) -> Config:
    """The settings of `path`, or of the file `find_config` finds; an empty Config when there is none."""
    found = Path(path) if path is not None else find_config(start)
    if found is None:
        return Config()
    if not found.is_file():
        raise InputError("settings file not found", file=str(found))
    data = _read(found)
    table = ""
    if found.name == PYPROJECT:
        table = "tool.tap-preflight"
        data = data.get("tool", {}).get("tap-preflight", {})
    if not isinstance(data, dict):
        raise InputError("must be a table", file=str(found), path=table)
    return _parse(found, table, data)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read: {exc}", file=str(path)) from None


def _parse(path: Path, table: str, data: dict[str, Any]) -> Config:
    base = path.parent

    def key_of(name: str) -> str:
        return f"{table}.{name}" if table else name

    def fail(name: str, message: str) -> InputError:
        return InputError(message, file=str(path), path=key_of(name))

    settings: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
        "manifest": ("manifest", lambda k, v: _relative(base, _text(k, v, fail))),
        "env": ("environment", lambda k, v: _text(k, v, fail)),
        "regions": ("regions", lambda k, v: tuple(_texts(k, v, fail))),
        "warn-threshold": ("warn_threshold", lambda k, v: _share(k, v, fail)),
        "fail-on": ("fail_on", lambda k, v: tuple(_choices(k, v, FAIL_ON, fail))),
        "format": ("fmt", lambda k, v: _choices(k, v, FORMATS, fail)[0]),
        "reports": ("reports", lambda k, v: _reports(k, v, base, fail)),
    }
    defaults: dict[str, Any] = {}
    skips: tuple[Skip, ...] = ()
    for name, value in data.items():
        if name == "skip":
            skips = _skips(path, key_of("skip"), value)
            continue
        if name not in settings:
            known = [*settings, "skip"]
            close = difflib.get_close_matches(name.replace("_", "-"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            raise fail(name, f"unknown setting{hint}")
        param, convert = settings[name]
        defaults[param] = convert(name, value)
    return Config(path=path, table=table, defaults=defaults, skips=skips)


Fail = Callable[[str, str], InputError]


def _text(name: str, value: Any, fail: Fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(name, f"must be a non-empty string, not {value!r}")
    return value


def _texts(name: str, value: Any, fail: Fail) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise fail(name, f"must be a string or a non-empty list of strings, not {value!r}")
    return [_text(name, v, fail) for v in values]


def _choices(name: str, value: Any, allowed: Sequence[str], fail: Fail) -> list[str]:
    values = _texts(name, value, fail)
    for v in values:
        if v not in allowed:
            close = difflib.get_close_matches(v, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fail(name, f"{v!r} is not one of {', '.join(allowed)}; {hint}".rstrip("; ").rstrip())
    return values


def _share(name: str, value: Any, fail: Fail) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise fail(name, f"must be a number above 0 and at most 1 (a share of the limit), not {value!r}")
    return float(value)


def _reports(name: str, value: Any, base: Path, fail: Fail) -> tuple[str, ...]:
    if not isinstance(value, dict) or not value:
        raise fail(name, 'must be a table of FORMAT = "PATH" (reports = { sarif = "gate.sarif" })')
    out = []
    for fmt, target in value.items():
        _choices(f"{name}.{fmt}", fmt, FORMATS, fail)
        out.append(f"{fmt}={_relative(base, _text(f'{name}.{fmt}', target, fail))}")
    return tuple(out)


def _relative(base: Path, value: str) -> str:
    """A path of the file, relative to its directory, as the current directory sees it."""
    if value == "-" or os.path.isabs(value):
        return value
    return os.path.relpath(base / value)


def _skips(path: Path, key: str, value: Any) -> tuple[Skip, ...]:
    if not isinstance(value, list):
        raise InputError("must be an array of tables ([[...skip]] entries)", file=str(path), path=key)
    out = []
    for number, entry in enumerate(value, start=1):
        where = f"{key}[{number}]"
        if not isinstance(entry, dict):
            raise InputError("must be a table", file=str(path), path=where)
        for name in entry:
            if name not in SKIP_KEYS:
                close = difflib.get_close_matches(name, SKIP_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(SKIP_KEYS)})"
                raise InputError(f"unknown key{hint}", file=str(path), path=f"{where}.{name}")
        for required in ("quota", "reason"):
            if not isinstance(entry.get(required), str) or not entry[required].strip():
                raise InputError(
                    "is required: a non-empty string (accepted risk says what and why)",
                    file=str(path),
                    path=f"{where}.{required}",
                )
        scope = entry.get("scope")
        if scope is not None and (not isinstance(scope, str) or not scope):
            raise InputError("must be a non-empty string", file=str(path), path=f"{where}.scope")
        expires = entry.get("expires")
        if expires is not None and (not isinstance(expires, date) or hasattr(expires, "hour")):
            raise InputError(
                f"must be a TOML date (expires = 2026-12-31), not {expires!r}",
                file=str(path),
                path=f"{where}.expires",
            )
        out.append(
            Skip(
                code=entry["quota"].strip(),
                scope=scope,
                reason=entry["reason"].strip(),
                expires=expires,
                source=f"{path.name}: {where}",
            )
        )
    return tuple(out)


def active_skips(config: Config, flags: Sequence[str], today: date | None = None) -> tuple[Skip, ...]:
    """The skips a gate run applies: the file's and the flags'. An expired entry fails the gate (exit 2):
    accepted risk is reviewed again, not kept by default."""
    today = today or date.today()
    for skip in config.skips:
        if skip.expired(today):
            raise InputError(
                f"the accepted risk {skip.label} ({skip.reason}) expired on {skip.expires}: review it, then "
                "renew `expires` or remove the entry",
                file=str(config.path),
                path=skip.source.split(": ", 1)[-1] + ".expires",
            )
    for value in flags:
        if not value.partition(":")[0].strip():
            raise InputError(f"--skip {value!r}: expected QUOTA_CODE or QUOTA_CODE:scope")
    return (*config.skips, *(Skip.from_flag(v) for v in flags))
