"""Hostile inputs through every command that reads a file: exit 2 (3 for the environment), one message
naming the file (and line and field where the input has them), no traceback, no file changed.

The bulk runs in-process (click's CliRunner, exceptions not caught by the runner, so a crash would fail
the test rather than be swallowed); a sample runs as real processes, as a user or a CI job runs them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
import yaml
from click.testing import CliRunner, Result
from pydantic import BaseModel

from preflight.manifest import ManifestDoc
from preflight.support.sourcefile import format_path
from tests.conftest import MANIFEST, ROOT

ERROR = "tap-preflight: error:"
SCENARIO = ROOT / "preflight" / "sandbox" / "scenarios" / "fresh-account.yaml"
# Sources stay inside the manifest's project: a manifest written to a test folder gets its own copy.
HANDLERS = "handlers/"


def with_handlers(folder: Path) -> Path:
    """`folder` with a copy of the handler sources, so a manifest written there is valid."""
    shutil.copytree(ROOT / "handlers", folder / "handlers", dirs_exist_ok=True)
    return folder


def _run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    from cli import main

    base: dict[str, str | None] = {"TAP_PREFLIGHT_DEBUG": None, "GITHUB_STEP_SUMMARY": None}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})}, catch_exceptions=False)


def _tree_hash(*roots: Path) -> str:
    """Names, kinds and contents of everything under `roots` (symlinks by target, not followed)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            digest.update(str(path).encode())
            if path.is_symlink():
                digest.update(b"->" + os.readlink(path).encode())
            elif path.is_file() and path.stat().st_size > 1 << 20:  # the 50 MB input: its inode and times
                info = path.stat()
                digest.update(f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}".encode())
            elif path.is_file():
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _errors(result: Result) -> list[str]:
    """The error lines: the handler's, or click's own for a flag's value (`Error: Invalid value ...`)."""
    return [line for line in result.stderr.splitlines() if line.startswith((ERROR, "Error: "))]


def _assert_refused(result: Result, shown: str, code: int = 2) -> list[str]:
    """Exit `code`, no traceback anywhere, and error lines that all name `shown` (the file, line, field).

    One line, unless the input has several problems at the same place (`bucket: {zzz: 1}` is an unknown
    key and a missing name): each is then its own line, each naming the place.
    """
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, result.output
    errors = _errors(result)
    assert 1 <= len(errors) <= 2, result.stderr
    assert all(shown in line for line in errors), result.stderr
    return errors


# --- the valid files every case starts from ---------------------------------------------------------------


@dataclass(frozen=True)
class Valid:
    snapshot: str
    plan: str
    report: str
    scenario: str
    big: str  # 50 MB

    def text(self, kind: str) -> str:
        """The valid file of `kind` (a manifest's handler paths start beside it: see `with_handlers`)."""
        path = {"manifest": MANIFEST, "snapshot": self.snapshot, "plan": self.plan, "report": self.report}
        return Path(path.get(kind, self.scenario)).read_text().replace("../handlers/", HANDLERS)


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Valid:
    base = tmp_path_factory.mktemp("valid")
    snapshot, plan, report = str(base / "snap.json"), str(base / "plan.json"), str(base / "report.json")
    made = _run("snapshot", MANIFEST, "--env", "prod", "--sandbox", "fresh-account", "-o", snapshot)
    assert made.exit_code == 0, made.output
    made = _run("plan", "--adapt", MANIFEST, "--env", "prod", "--snapshot", snapshot, "--save-plan", plan)
    assert made.exit_code == 0, made.output
    made = _run("check", MANIFEST, "--env", "prod", "--snapshot", snapshot, "--format", "json", "-o", report)
    assert made.exit_code == 0, made.output
    scenario = base / "scenario.yaml"
    scenario.write_bytes(SCENARIO.read_bytes())
    big_dir = tmp_path_factory.mktemp("big")
    big = big_dir / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"# padding\n" * (5 * 1024 * 1024))  # 50 MB of comments: valid YAML, too large
    return Valid(snapshot, plan, report, str(scenario), str(big))


# --- every command that reads a file ------------------------------------------------------------------------

Command = Callable[[str, Valid, str], list[str]]

COMMANDS: dict[str, tuple[str, Command]] = {
    "check MANIFEST": ("manifest", lambda p, v, out: ["check", p, "--snapshot", v.snapshot, "-o", out]),
    "plan MANIFEST": (
        "manifest",
        lambda p, v, out: ["plan", "--adapt", p, "--snapshot", v.snapshot, "--save-plan", out],
    ),
    "snapshot MANIFEST": ("manifest", lambda p, v, out: ["snapshot", p, "--snapshot", v.snapshot, "-o", out]),
    "validate MANIFEST": ("manifest", lambda p, v, out: ["validate", p]),
    "check --snapshot": ("snapshot", lambda p, v, out: ["check", MANIFEST, "--snapshot", p, "-o", out]),
    "snapshot --snapshot": ("snapshot", lambda p, v, out: ["snapshot", MANIFEST, "--snapshot", p, "-o", out]),
    "check --sandbox FILE": ("scenario", lambda p, v, out: ["check", MANIFEST, "--sandbox", p, "-o", out]),
    "verify-program --plan": ("plan", lambda p, v, out: ["verify-program", "--plan", p]),
    "rehearse --plan": ("plan", lambda p, v, out: ["rehearse", "--plan", p, "--sandbox", "fresh-account"]),
    "request-increases --plan": (
        "plan",
        lambda p, v, out: ["request-increases", "--plan", p, "--offline", "-o", out],
    ),
    "request-increases --from-report": (
        "report",
        lambda p, v, out: ["request-increases", "--from-report", p, "--offline", "-o", out],
    ),
}

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
# Shallow text, deep data: each anchor wraps the previous one.
ALIAS_DEPTH = "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 80))
DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x\n"

# name -> the file's bytes, from the kind's valid text
CORPUS: dict[str, Callable[[str], bytes]] = {
    "empty": lambda valid: b"",
    "whitespace only": lambda valid: b"  \n\t\n",
    "binary": lambda valid: bytes(range(256)) * 4,
    "invalid UTF-8": lambda valid: b"name: \xff\xfe\xfa\n" + valid.encode(),
    "UTF-16 with BOM": lambda valid: valid.encode("utf-16"),
    "UTF-8 BOM then garbage": lambda valid: b"\xef\xbb\xbf{[: ::",
    "deep flow nesting": lambda valid: b"[" * 5000 + b"]" * 5000,
    "deep object nesting": lambda valid: b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "deep block nesting": lambda valid: DEEP_BLOCK.encode(),
    "alias bomb": lambda valid: ALIAS_BOMB.encode(),
    "aliases nesting deep": lambda valid: ALIAS_DEPTH.encode(),
    "integer of 5000 digits": lambda valid: b'{"a": ' + b"9" * 5000 + b"}",
    "top-level list": lambda valid: b"[]",
    "top-level string": lambda valid: b'"just a string"',
    "top-level number": lambda valid: b"-1e999",
    "top-level null": lambda valid: b"null",
    "truncated": lambda valid: _truncated(valid),
    "python tag": lambda valid: b"!!python/object/apply:os.system ['touch pwned']\n",
    "unknown key": lambda valid: _with_unknown_key(valid),
}
# request-increases reads a plan's or a report's increase requests only: other keys are tolerated.
TOLERATED = {("request-increases --plan", "unknown key"), ("request-increases --from-report", "unknown key")}
# Where the input has a line, the message has it.
WITH_LINE = {
    "deep flow nesting",
    "deep object nesting",
    "deep block nesting",
    "aliases nesting deep",
    "python tag",
}


def _is_json(text: str) -> bool:
    return text.lstrip().startswith("{")


def _with_unknown_key(valid: str) -> bytes:
    if _is_json(valid):
        return (valid.rstrip()[:-1].rstrip() + ',\n  "surprise": 1\n}\n').encode()
    return (valid + "\nsurprise: 1\n").encode()


def _truncated(valid: str) -> bytes:
    """Cut short: half a JSON document; a YAML document ending inside a flow collection."""
    if _is_json(valid):
        return valid.encode()[: len(valid) // 2]
    return (valid + "\nlast: [unclosed, \n").encode()


def _cases() -> Iterator[Any]:
    for command in COMMANDS:
        for case in CORPUS:
            if (command, case) not in TOLERATED:
                yield pytest.param(command, case, id=f"{command}|{case}")


@pytest.mark.parametrize(("command", "case"), list(_cases()))
def test_hostile_file_is_refused_with_one_message(
    valid: Valid, tmp_path: Path, command: str, case: str
) -> None:
    kind, args = COMMANDS[command]
    path = tmp_path / ("input.json" if kind in ("snapshot", "plan", "report") else "input.yaml")
    path.write_bytes(CORPUS[case](valid.text(kind)))
    before = _tree_hash(tmp_path)
    result = _run(*args(str(path), valid, str(tmp_path / "out")))
    [line] = _assert_refused(result, str(path))
    if case in WITH_LINE:
        assert re.search(rf"{re.escape(str(path))}:\d+ ", line), line
    assert _tree_hash(tmp_path) == before
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()


SPECIAL: dict[str, Callable[[Path, Valid], str]] = {
    "missing": lambda d, v: str(d / "missing.yaml"),
    "directory": lambda d, v: str(d),
    "symlink loop": lambda d, v: _symlink_loop(d),
    "/dev/null": lambda d, v: "/dev/null",
    "50 MB": lambda d, v: v.big,
}


def _symlink_loop(directory: Path) -> str:
    (directory / "a.yaml").symlink_to(directory / "b.yaml")
    (directory / "b.yaml").symlink_to(directory / "a.yaml")
    return str(directory / "a.yaml")


@pytest.mark.parametrize("special", sorted(SPECIAL))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_special_paths_are_refused(valid: Valid, tmp_path: Path, command: str, special: str) -> None:
    _, args = COMMANDS[command]
    path = SPECIAL[special](tmp_path, valid)
    before = _tree_hash(tmp_path, Path(valid.big).parent)
    result = _run(*args(path, valid, str(tmp_path / "out")))
    [_] = _assert_refused(result, path)
    assert _tree_hash(tmp_path, Path(valid.big).parent) == before


@pytest.mark.parametrize("command", ["check MANIFEST", "check --snapshot", "request-increases --from-report"])
@pytest.mark.parametrize("bom", [False, True], ids=["plain", "UTF-8 BOM"])
def test_the_valid_files_are_accepted(valid: Valid, tmp_path: Path, command: str, bom: bool) -> None:
    """The control: the harness refuses the corpus, not everything."""
    kind, args = COMMANDS[command]
    path = with_handlers(tmp_path) / f"input.{'yaml' if kind == 'manifest' else 'json'}"
    text = valid.text(kind).replace("../handlers/", HANDLERS)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    result = _run(*args(str(path), valid, str(tmp_path / "out")))
    assert result.exit_code == 0, result.output
    assert _errors(result) == []


# --- every field of the manifest: wrong types, tags and numbers --------------------------------------------

SENTINEL = "__HOSTILE_VALUE__"
# Wrong for every field of the manifest, whatever its type.
WRONG_EVERYWHERE = {
    "a mapping": "{zzz: 1}",
    "a list of lists": "[[1]]",
    "!!binary": "!!binary aGVsbG8=",
    "!!timestamp": "!!timestamp 2001-12-14",
    "!!set": "!!set {a: null}",
    "!!omap": "!!omap [{a: 1}]",
    "!!python": "!!python/object/apply:os.system ['touch pwned']",
    "!!int on a word": "!!int twelve",
    "5000 digits": "1" + "0" * 5000,
    "negative": "-2",
    "huge": "1" + "0" * 30,
}
# Numbers a plain float field may hold (a CloudWatch threshold can be negative or huge).
ACCEPTED = {("alarms[0].threshold", "negative"), ("alarms[0].threshold", "huge")}
NOT_A_NUMBER = {"NaN": ".nan", "Infinity": ".inf", "1.0e+400": "1.0e+400"}


def _unwrap(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_paths(
    model: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """Every field of `model`, by the path written in a manifest (lists of models: their first item)."""
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        yield path
        annotation = _unwrap(info.annotation)
        if _is_model(annotation):
            yield from _field_paths(annotation, path)
        elif get_origin(annotation) is list and _is_model(get_args(annotation)[0]):
            yield from _field_paths(get_args(annotation)[0], (*path, 0))


def _override_paths() -> Iterator[tuple[str | int, ...]]:
    """Fields the `test` environment's profile can set, where they are written."""
    from preflight.manifest import FunctionSpec, StreamSpec

    for name, info in FunctionSpec.model_fields.items():
        yield ("environments", "test", "functions", "*", info.alias or name)
    for name, info in StreamSpec.model_fields.items():
        yield ("environments", "test", "streams", "events", info.alias or name)


MANIFEST_FIELDS = [(path, "prod") for path in _field_paths(ManifestDoc)] + [
    (path, "test") for path in _override_paths()
]


def _compact_manifest() -> dict[str, Any]:
    """The shipped manifest with one function and one alarm (quicker to parse, every field still there)."""
    data = yaml.safe_load(Path(MANIFEST).read_text().replace("../handlers/", HANDLERS))
    data["functions"] = data["functions"][:1]
    data["alarms"] = [a for a in data["alarms"] if a.get("function") == data["functions"][0]["name"]][:1]
    return data


def _set(data: Any, path: tuple[str | int, ...], value: str) -> None:
    for part in path[:-1]:
        data = data[part] if isinstance(part, int) else data.setdefault(part, {})
    data[path[-1]] = value


def _template(path: tuple[str | int, ...]) -> tuple[str, int]:
    """The compact manifest with SENTINEL at `path`, and the line it is on."""
    data = _compact_manifest()
    _set(data, path, SENTINEL)
    text = yaml.safe_dump(data, sort_keys=False, width=1000)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if SENTINEL in text_line)
    return text, line


def test_the_compact_manifest_is_valid(valid: Valid, tmp_path: Path) -> None:
    """The control of the field cases: without a hostile value, the manifest passes."""
    target = with_handlers(tmp_path) / "m.yaml"
    target.write_text(yaml.safe_dump(_compact_manifest(), sort_keys=False))
    result = _run("check", str(target), "--env", "prod", "--snapshot", valid.snapshot)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("path", "env"), MANIFEST_FIELDS, ids=[format_path(p) for p, _ in MANIFEST_FIELDS])
def test_every_manifest_field_refuses_wrong_values_at_file_line_field(
    valid: Valid, tmp_path: Path, path: tuple[str | int, ...], env: str
) -> None:
    """Each wrong type, YAML tag and out-of-range number at this field: exit 2 at file:line field."""
    text, line = _template(path)
    field = format_path(path)
    target = with_handlers(tmp_path) / "m.yaml"
    failures = []
    for value, raw in WRONG_EVERYWHERE.items():
        target.write_text(text.replace(SENTINEL, raw))
        before = _tree_hash(tmp_path)
        result = _run(
            "check", str(target), "--env", env, "--snapshot", valid.snapshot, "-o", str(tmp_path / "out")
        )
        try:
            if (field, value) in ACCEPTED:
                assert "Traceback" not in result.output and result.exit_code in (0, 1), result.output
                continue
            for message in _assert_refused(result, f"{target}:{line} {field}"):
                # the field itself, not a longer name that starts like it
                assert re.search(rf"{re.escape(f'{target}:{line} {field}')}[:.\[]", message), message
            assert _tree_hash(tmp_path) == before, "a file changed"
        except AssertionError as exc:
            failures.append(f"{value}: {exc}")
    assert failures == []
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("path", "env"),
    [pytest.param(p, e, id=format_path(p)) for p, e in MANIFEST_FIELDS],
)
def test_nan_and_infinity_are_refused_at_the_door(
    valid: Valid, tmp_path: Path, path: tuple[str | int, ...], env: str
) -> None:
    text, _ = _template(path)
    target = tmp_path / "m.yaml"
    for value, raw in NOT_A_NUMBER.items():
        target.write_text(text.replace(SENTINEL, raw))
        before = _tree_hash(tmp_path)
        result = _run(
            "check", str(target), "--env", env, "--snapshot", valid.snapshot, "-o", str(tmp_path / "out")
        )
        assert "Traceback" not in result.output, (value, result.output)
        assert result.exit_code == 2, (value, result.output)
        assert f"{target}:" in result.output, (value, result.output)
        assert _tree_hash(tmp_path) == before, value


# --- a hostile environment: exit 3, one line that names the fix -------------------------------------------


def _no_aws(**extra: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


def _garbage(directory: Path) -> str:
    path = directory / "garbage"
    path.write_bytes(b"[profile\n\x00\xff\xfe = = [[\n")
    return str(path)


ENVIRONMENTS: dict[str, tuple[Callable[[Path], dict[str, str | None]], str]] = {
    "no credentials": (lambda d: _no_aws(), "--sandbox"),
    "HOME missing": (lambda d: _no_aws(HOME="/nonexistent/home"), "--sandbox"),
    "HOME is a file": (
        lambda d: _no_aws(HOME=_garbage(d), AWS_CONFIG_FILE=None, AWS_SHARED_CREDENTIALS_FILE=None),
        "",
    ),
    "AWS_CONFIG_FILE garbage": (lambda d: _no_aws(AWS_CONFIG_FILE=_garbage(d)), "AWS_CONFIG_FILE"),
    "AWS_CONFIG_FILE a directory": (lambda d: _no_aws(AWS_CONFIG_FILE=str(d)), ""),
    "AWS_SHARED_CREDENTIALS_FILE garbage": (
        lambda d: _no_aws(AWS_SHARED_CREDENTIALS_FILE=_garbage(d)),
        "AWS_SHARED_CREDENTIALS_FILE",
    ),
    "AWS_PROFILE unknown": (lambda d: _no_aws(AWS_PROFILE="nope"), "aws configure list-profiles"),
    "AWS_ENDPOINT_URL not a URL": (lambda d: _no_aws(AWS_ENDPOINT_URL="not a url"), "AWS_ENDPOINT_URL"),
    "AWS_REGION garbage": (lambda d: _no_aws(AWS_REGION="moon!", AWS_DEFAULT_REGION="??"), ""),
    "TAP_PREFLIGHT_DEBUG garbage": (lambda d: _no_aws(TAP_PREFLIGHT_DEBUG="banana"), "--sandbox"),
}


@pytest.mark.parametrize("case", sorted(ENVIRONMENTS))
def test_a_hostile_environment_is_exit_3_with_one_line(tmp_path: Path, case: str) -> None:
    make_env, hint = ENVIRONMENTS[case]
    env = make_env(tmp_path)
    before = _tree_hash(tmp_path)
    result = _run("check", MANIFEST, "-o", str(tmp_path / "out"), env=env)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 3, result.output
    errors = _errors(result)
    assert len(errors) == 1, result.stderr
    assert hint in errors[0]
    assert "internal error" not in errors[0]
    assert _tree_hash(tmp_path) == before


# --- a sample as real processes ---------------------------------------------------------------------------


def test_a_sample_as_real_processes(valid: Valid, tmp_path: Path) -> None:
    exe = str(Path(sys.executable).parent / "tap-preflight")
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    deep_plan = tmp_path / "deep.json"
    deep_plan.write_text("[" * 5000 + "]" * 5000)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("name: !!python/object/apply:os.system ['touch pwned']\n")
    digits = tmp_path / "digits.json"
    digits.write_text('{"schema": ' + "9" * 5000 + "}")
    garbage = _garbage(tmp_path)
    env = {k: v for k, v in _no_aws().items() if v is not None}
    env.update({k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAP_PREFLIGHT_"))})
    runs = [
        ([exe, "check", str(deep), "--sandbox", "fresh-account"], {}, 2, f"{deep}:1 "),
        ([exe, "verify-program", "--plan", str(deep_plan)], {}, 2, f"{deep_plan}:1 "),
        ([exe, "check", str(tagged)], {}, 2, f"{tagged}:1 name: YAML tag !!python/object/apply:os.system"),
        ([exe, "request-increases", "--from-report", str(digits), "--offline"], {}, 2, str(digits)),
        ([exe, "check", MANIFEST, "--profile", "nope"], {}, 3, "aws configure list-profiles"),
        ([exe, "check", MANIFEST], {"AWS_CONFIG_FILE": garbage}, 3, garbage),
    ]
    before = _tree_hash(tmp_path)
    procs = [
        (
            subprocess.Popen(
                args,
                cwd=tmp_path,
                env={**env, **extra},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
            code,
            needle,
        )
        for args, extra, code, needle in runs
    ]
    for proc, code, needle in procs:
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in out + err, err
        assert proc.returncode == code, (proc.args, err)
        errors = [line for line in err.splitlines() if line.startswith(ERROR)]
        assert len(errors) == 1 and needle in errors[0], (proc.args, err)
    assert _tree_hash(tmp_path) == before
    assert not (tmp_path / "pwned").exists()
