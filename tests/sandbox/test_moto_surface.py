"""The sandbox stands on moto's documented surface (issue 12 item 5), read from the source.

moto is reached through `moto.server`'s WSGI application (what `ThreadedMotoServer` and the
`moto_server` entry point serve), its `/moto-api/...` HTTP API and plain AWS API calls. An import
of any other moto module is a reach into its internals, which tie the tool to one moto version.
`REMAINING` names the few left, each an optional accelerator (speed or memory, issue 11) over a
documented path that always answers the same (preflight/sandbox/accelerators.py): each entry says why
it is there and what answers without it, each file consults the one switch and a probe before it
reaches in, and none reaches in at import. The list can only shrink (a name no longer used must
leave it); tests/sandbox/test_accelerated_*.py prove each fallback gives the same answers.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import NamedTuple

from tests.conftest import ROOT

# moto's documented entry points the sandbox may import.
DOCUMENTED = {
    ("moto.server", "DomainDispatcherApplication"),
    ("moto.server", "create_backend_app"),
    ("moto.server", "ThreadedMotoServer"),
}


class Accelerator(NamedTuple):
    why: str  # what reaching into moto buys (issue 11's targets)
    fallback: str  # the documented path that answers the same without it


# Internal uses still in place, all accelerators: (file, module, name) -> why, and what answers without.
_CUT = Accelerator(
    "interfaces and security groups cut in moto's EC2 backend and written from its objects: a large "
    "account's page costs the page, not the account",
    "moto answers the whole listing through its server; the page is cut from its rendered answer "
    "(paging._cut_rendered: the same bytes and tokens)",
)
_LISTINGS = Accelerator(
    "ListBuckets and ListFunctions pages read from moto's backends: no 12,000 buckets rendered and parsed",
    "moto's own ListBuckets/ListFunctions answers through its server (motoserver.client, .written)",
)
_BULK = Accelerator(
    "large-account's 17,000 buckets, interfaces, groups and functions made in seconds (about a minute "
    "through the API)",
    "the resources the backends did not make, made with the AWS API over the layer in parallel "
    "(provision._BulkThroughApi)",
)
_LAZY = Accelerator(
    "memory (issue 11): moto 5.x has no documented setting for loading its models and EC2 data on use",
    "moto loads everything at import, as upstream does (more memory, the same answers)",
)
REMAINING = {
    ("paging.py", "moto.ec2.models", "EC2Backend"): _CUT,
    ("paging.py", "moto.backends", "get_backend"): _LISTINGS,
    ("provision.py", "moto.backends", "get_backend"): _BULK,
    ("motoload.py", "moto.core.utils", ""): _LAZY,  # moto's model loader reads the model cache
    ("motoload.py", "moto.utilities.utils", ""): _LAZY,  # EC2 offerings files read per region on use
    ("motoload.py", "moto.ec2.models", "instance_types"): _LAZY,  # instance types read on first use
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


def _is_usable_call(node: ast.AST) -> bool:
    """`accelerators.usable(...)`: the one switch and the accelerator's probe, consulted."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "usable"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "accelerators"
    )


def test_every_remaining_use_is_an_accelerator_with_a_fallback() -> None:
    for use, accelerator in REMAINING.items():
        assert isinstance(accelerator, Accelerator), use
        assert accelerator.why.strip() and accelerator.fallback.strip(), use


def test_every_file_in_the_remainder_consults_the_switch_and_a_probe() -> None:
    for name in sorted({file for file, _, _ in REMAINING}):
        tree = ast.parse((SANDBOX / name).read_text(encoding="utf-8"))
        assert any(_is_usable_call(node) for node in ast.walk(tree)), f"{name} reaches into moto unguarded"


def test_no_file_reaches_into_moto_at_import() -> None:
    """An internal import at module level would fail the whole sandbox on a moto that moved it."""
    for name in sorted({file for file, _, _ in REMAINING}):
        tree = ast.parse((SANDBOX / name).read_text(encoding="utf-8"))
        top = [
            node.lineno
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            and any(m.split(".")[0] == "moto" for m in _imported_modules(node))
        ]
        assert not top, f"{name} imports moto at module level (lines {top})"


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    return [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]


def test_the_switch_check_sees_a_guard() -> None:
    assert _is_usable_call(ast.parse("accelerators.usable('x', probe)").body[0].value)  # type: ignore[attr-defined]
    assert not _is_usable_call(ast.parse("accelerators.drop('x', e)").body[0].value)  # type: ignore[attr-defined]
