"""The sandbox stands on moto's documented surface (issue 12 item 5), read from the source.

moto is reached through `moto.server`'s WSGI application (what `ThreadedMotoServer` and the
`moto_server` entry point serve), its `/moto-api/...` HTTP API and plain AWS API calls. An import
of any other moto module is a reach into its internals, which tie the tool to one moto version.
`REMAINING` names those not yet moved behind the AWS API, each with the reason it is still there:
the list can only shrink (a name no longer used must leave it).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tests.conftest import ROOT

# moto's documented entry points the sandbox may import.
DOCUMENTED = {
    ("moto.server", "DomainDispatcherApplication"),
    ("moto.server", "create_backend_app"),
    ("moto.server", "ThreadedMotoServer"),
}

# Internal uses still in place: (file, module, name) -> why it is not yet an AWS API call.
REMAINING = {
    # Paging cuts large listings in moto's backend, before moto serialises thousands of items.
    ("paging.py", "moto.backends", "get_backend"): "large listings cut before moto renders them",
    ("paging.py", "moto.ec2.models", "EC2Backend"): "large listings cut before moto renders them",
    # Bulk set-up: large-account's 17,000 buckets, interfaces, groups and functions in seconds; through
    # the API (a few ms a call in-process) it would take about a minute.
    ("provision.py", "moto.backends", "get_backend"): "bulk resources in seconds",
    # Memory (issue 11): moto 5.x has no documented setting for how it loads its models and EC2 data;
    # upstream reads every region's instance-type offerings and every instance type at import.
    ("motoload.py", "moto.core.utils", ""): "moto's model loader reads the model cache (create_loader)",
    ("motoload.py", "moto.utilities.utils", ""): "EC2 offerings files read per region on first use",
    ("motoload.py", "moto.ec2.models", "instance_types"): "EC2 offerings and instance types on first use",
}

SANDBOX = ROOT / "preflight" / "sandbox"


def _moto_uses(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every moto import in a file, and of every moto name `mock.patch` replaces."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "moto":
            found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names if alias.name.split(".")[0] == "moto"}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("moto.") and " " not in node.value:
                module, _, name = node.value.rpartition(".")
                found.add((module, name))
    return found


def _sandbox_uses() -> set[tuple[str, str, str]]:
    return {(path.name, module, name) for path in SANDBOX.glob("*.py") for module, name in _moto_uses(path)}


def test_the_sandbox_imports_only_moto_s_documented_names_and_the_named_remainder() -> None:
    undocumented = [use for use in _sandbox_uses() if use[1:] not in DOCUMENTED and use not in REMAINING]
    assert not undocumented, f"moto internals used (go through the AWS API instead): {undocumented}"


def test_the_remainder_lists_only_what_is_still_used() -> None:
    used = _sandbox_uses()
    gone = [use for use in REMAINING if use not in used]
    assert not gone, f"no longer used: drop from REMAINING {gone}"


def test_only_the_sandbox_imports_moto() -> None:
    outside = [
        (str(path.relative_to(ROOT)), use)
        for path in [*(ROOT / "preflight").rglob("*.py"), ROOT / "cli.py"]
        if SANDBOX not in path.parents
        for use in _moto_uses(path)
    ]
    assert not outside, outside


def test_the_check_sees_an_internal_import(tmp_path: Path) -> None:
    """The AST reading itself: an internal import, a documented one, a patched name."""
    source = (
        "from moto.backends import get_backend\nfrom moto.server import ThreadedMotoServer\n"
        "import moto.ec2\nmock.patch('moto.iam.models.x')\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert _moto_uses(path) == {
        ("moto.backends", "get_backend"),
        ("moto.server", "ThreadedMotoServer"),
        ("moto.ec2", ""),
        ("moto.iam.models", "x"),
    }


def test_moto_is_a_range_within_one_major_version_tested_at_its_lowest() -> None:
    """pyproject.toml allows moto `>=LOWEST,<NEXT_MAJOR`; `make test-moto-range` installs that LOWEST."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (requirement,) = [d for d in project["dependencies"] if d.startswith("moto[")]
    found = re.fullmatch(r"moto\[[a-z0-9,-]+\]>=(\d+)\.(\d+\.\d+),<(\d+)", requirement)
    assert found, f"moto is not a range within a major version: {requirement}"
    major, minor, next_major = found.groups()
    assert int(next_major) == int(major) + 1, requirement
    lowest = re.search(r"^MOTO_LOWEST := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert lowest and lowest.group(1) == f"{major}.{minor}", "Makefile's MOTO_LOWEST is not pyproject's"
