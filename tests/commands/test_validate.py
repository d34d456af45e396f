"""`tap-preflight validate` (and the pre-commit hooks that run it and `lint`)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import yaml
from click.testing import Result

from tests.conftest import MANIFEST, ROOT, manifest_variant

HOOKS = ROOT / ".pre-commit-hooks.yaml"


def test_the_shipped_manifest_is_valid(cli: Callable[..., Result]) -> None:
    result = cli("validate", MANIFEST)
    assert result.exit_code == 0 and result.output == "", result.output


def test_a_broken_profile_is_named_with_its_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    # Only the dev profile breaks: the default one loads, so every profile must be tried.
    bad = manifest_variant(tmp_path, ("events: {shards: 1}", "events: {shards: many}"))
    result = cli("validate", MANIFEST, bad)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"tap-preflight: error: {bad}:") and "shards" in line
    assert re.search(r"\(environment \w+\)$", line)


def test_the_pre_commit_hooks_run_commands_that_exist(cli: Callable[..., Result]) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"tap-preflight-validate", "tap-preflight-lint"}
    assert re.search(hooks["tap-preflight-validate"]["files"], "manifests/tap-pipeline.yaml")
    # pre-commit appends the staged files it matched to the entry.
    validate = shlex.split(hooks["tap-preflight-validate"]["entry"])
    assert validate[0] == "tap-preflight"
    assert cli(*validate[1:], MANIFEST).exit_code == 0
    lint = shlex.split(hooks["tap-preflight-lint"]["entry"])
    assert cli(*lint[1:], "tap.py").exit_code == 0
