"""The layout's rules, read from the source: no import cycle, no private name imported across modules,
every import points down the layers (LAYERS), and only the commands reach the emulated account.

Every `from preflight... import` counts, at module level, inside a function or under TYPE_CHECKING:
a lazy import or an annotation-only one still ties two modules together (issue 12). The known cycle
list below (empty today) is where a cycle accepted as a debt would be named, so that it can only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "preflight"
KNOWN_CYCLES: list[set[str]] = []

# The package order, lowest first: a module may import its own layer and those below, never one above
# (docs/architecture.md, "The layers"). Names are under preflight/ ("" is the package itself, with its
# version); a module belongs to the longest name that holds it, and a new package must be placed here.
LAYERS: list[tuple[str, ...]] = [
    ("support", ""),  # plumbing no stage owns
    ("account.aws", "account.modelcache"),  # AWS sessions, error translation, botocore's models
    ("quotas", "kinds", "redeploy", "manifest", "deployment", "report.report"),  # the model
    ("demand",),
    ("sandbox",),  # the emulated account, opened only by SANDBOX_USERS
    ("account", "conflicts"),  # opening and reading an account, the names taken in it
    ("evaluate",),
    ("gate", "skips"),
    ("plan",),
    ("program",),  # the Pulumi program, its plan file, verify-program, rehearse, lint
    ("report",),  # the results and their formats
    ("commands", "policypack"),
    ("cli",),  # cli.py, outside the package
]
SANDBOX_USERS = ("sandbox", "account.sources", "commands", "cli")  # who may import the emulated account


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, ast.Module]:
    files = [*PACKAGE.rglob("*.py"), ROOT / "cli.py"]
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in files}


def _imports(tree: ast.Module, modules: set[str]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken) for every import of a project module in `tree`."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            target = node.module
            # `from preflight.report.formats import checklist` imports the submodule, not a name.
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    out.append((sub, []))
            taken = [a.name for a in node.names if f"{target}.{a.name}" not in modules]
            if target in modules and taken:
                out.append((target, taken))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name in modules]
    return out


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    modules = set(sources)
    return {
        name: {target for target, _ in _imports(tree, modules) if target != name}
        for name, tree in sources.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_but_the_known_one() -> None:
    cycles = _cycles(_graph())
    assert [c for c in cycles if c not in KNOWN_CYCLES] == []
    # A known cycle that is gone leaves the list too.
    assert [c for c in KNOWN_CYCLES if c not in cycles] == []


def test_the_cycles_issue_12_named_are_gone() -> None:
    graph = _graph()
    assert "preflight.commands.run" not in graph["preflight.account.snapshot"]
    assert "preflight.sandbox.server" not in graph["preflight.sandbox.provision"]
    assert "preflight.support.strictjson" not in graph["preflight.support.sourcefile"]


def test_no_private_name_is_imported_across_modules() -> None:
    sources = _sources()
    modules = set(sources)
    private = [
        f"{name} imports {target}.{taken}"
        for name, tree in sources.items()
        for target, names in _imports(tree, modules)
        for taken in names
        if taken.startswith("_") and not taken.startswith("__")
    ]
    assert private == []


def _bare_exit_numbers(tree: ast.Module) -> list[int]:
    """Lines that return a bare exit number (`return 1`, `return 0 if ok else 1`) from a function."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            values = (
                [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
            )
            if any(isinstance(v, ast.Constant) and type(v.value) is int for v in values):
                lines.append(node.lineno)
    return lines


def test_commands_and_the_gate_return_exit_code_members_never_bare_numbers() -> None:
    # Where exit codes are decided: the commands, the gate, place, deploy, the failure handler, CI.
    files = [
        "cli.py",
        "preflight/gate.py",
        "preflight/commands/place.py",
        "preflight/commands/deploy.py",
        "preflight/support/exits.py",
        "preflight/commands/ci.py",
    ]
    found = {f: _bare_exit_numbers(ast.parse((ROOT / f).read_text(encoding="utf-8"))) for f in files}
    assert {f: lines for f, lines in found.items() if lines} == {}
    assert _bare_exit_numbers(ast.parse("def f():\n    return 0 if x else 1\n")) == [2]


def _module(name: str) -> str:
    """A LAYERS name as a module: `report.report` -> `preflight.report.report`."""
    return "cli" if name == "cli" else ".".join(filter(None, ("preflight", name)))


def _owner(module: str, names: Iterable[str]) -> str | None:
    """The longest of `names` that is `module` or a package holding it."""
    # "" (the package itself) holds only its __init__, so that a new package is never placed by default.
    hits = [n for n in names if module == _module(n) or (n and module.startswith(_module(n) + "."))]
    return max(hits, key=len, default=None)


def _layer(module: str) -> int | None:
    owner = _owner(module, (n for layer in LAYERS for n in layer))
    return next((i for i, layer in enumerate(LAYERS) if owner in layer), None)


def test_every_module_has_a_layer() -> None:
    assert [name for name in _graph() if _layer(name) is None] == []


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
        for name, targets in sorted(graph.items())
        for target in sorted(targets)
        if (_layer(name) or 0) < (_layer(target) or 0)
    ]


def test_imports_point_down_the_layers() -> None:
    # Lazy and annotation-only imports count: they tie the packages together as much as the others.
    assert _upward(_graph()) == []


def test_the_layer_rule_catches_an_import_up_and_places_by_the_longest_prefix() -> None:
    assert _upward({"preflight.support.config": {"preflight.report.report"}}) != []
    assert _upward({"preflight.report.formats.place": {"preflight.commands.place"}}) != []
    assert _upward({"preflight.report.formats.place": {"preflight.report.results", "preflight.gate"}}) == []
    aws, usage, read = (_layer(f"preflight.{m}") for m in ("account.aws", "quotas.usage", "account.read"))
    assert aws is not None and usage is not None and read is not None and aws < usage < read
    model, evaluate, formats = (
        _layer(f"preflight.{m}") for m in ("report.report", "evaluate", "report.formats")
    )
    assert model is not None and evaluate is not None and formats is not None and model < evaluate < formats
    assert _layer("preflight") == 0 and _layer("preflight.unplaced") is None


def test_only_account_sources_and_the_commands_import_the_sandbox() -> None:
    graph = _graph()
    users = [
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in sorted(targets)
        if _owner(target, ["sandbox"]) and not _owner(name, SANDBOX_USERS)
    ]
    assert users == []


# A function a reader can hold (issue 12): from `def` to its last line, docstring included (a click
# command's option decorators are declarations, not code to hold).
LONGEST_FUNCTION = 60


def _long_functions(files: Iterable[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONGEST_FUNCTION:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_length_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LONGEST_FUNCTION))
    source = tmp_path / "long.py"
    source.write_text(f"def short():\n    pass\n\n\ndef long():\n{body}", encoding="utf-8")
    assert _long_functions([source], tmp_path) == [f"long.py:5 long ({LONGEST_FUNCTION + 1} lines)"]


def test_no_function_is_longer_than_a_reader_can_hold() -> None:
    files = [ROOT / "cli.py", ROOT / "tap.py", *sorted((ROOT / "preflight").rglob("*.py"))]
    assert _long_functions(files) == []
