"""`tap-preflight lint`: the seed's code defects, found in a Pulumi program's source (stdlib `ast`).

Each rule is one small class below with its id, name and description (the SARIF rule, the JUnit case,
the annotation's title), checking one of three things: a file's bytes, one file's analysis, or every
file's analyses together. The walk that gathers facts about resource calls (`_FileAnalysis`) is shared.

- TAP000: a file that cannot be read or parsed (nothing else can be said about it).
- TAP001: CRLF line endings.
- TAP002: a resource created twice under one physical name.
- TAP003: the VPC access policy without VPC-attached functions.

The analysis is deliberately local and conservative: a finding names a pattern that is wrong whatever
the values at run time; what depends on values is `verify-program`'s job.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from preflight.support.errors import InputError
from preflight.support.fileio import read_input

LINT_SCHEMA = "tap-preflight/lint/v1"
VPC_ACCESS_POLICY_NAME = "AWSLambdaVPCAccessExecutionRole"
SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".mypy_cache"})

# Keyword arguments that carry a resource's physical name (pulumi-aws).
NAME_KWARGS = ("name", "bucket")
# Where a role's managed policies are given, per resource type.
POLICY_KWARGS = {
    "iam.RolePolicyAttachment": "policy_arn",
    "iam.PolicyAttachment": "policy_arn",
    "iam.Role": "managed_policy_arns",
    "iam.RolePolicyAttachmentsExclusive": "policy_arns",
}
FUNCTION_TYPE = "lambda.Function"


@dataclass(frozen=True)
class LintFinding:
    rule: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} {self.message}"


# --- the rules -------------------------------------------------------------------------------------


class Rule:
    """One lint rule: an id, a name, a description, and the one check it overrides."""

    id: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]

    def check_bytes(self, file: str, raw: bytes) -> Iterator[LintFinding]:
        """Findings in a file's bytes, before it is parsed (any file named, Python or not)."""
        return iter(())

    def check_file(self, analysis: _FileAnalysis) -> Iterator[LintFinding]:
        """Findings in one parsed and analysed Python file."""
        return iter(())

    def check_program(self, analyses: list[_FileAnalysis]) -> Iterator[LintFinding]:
        """Findings that need every linted file at once."""
        return iter(())

    def finding(self, file: str, line: int, message: str) -> LintFinding:
        return LintFinding(self.id, file, line, message)


class Unreadable(Rule):
    id = "TAP000"
    name = "file cannot be parsed"
    description = "The file cannot be read, decoded or parsed as Python: nothing else can be said about it."


class CrlfLineEndings(Rule):
    id = "TAP001"
    name = "CRLF line endings"
    description = "CRLF line endings in a program file (the seed's deploy failed on them): use LF."

    def check_bytes(self, file: str, raw: bytes) -> Iterator[LintFinding]:
        crlf = raw.count(b"\r\n")
        if crlf:
            first = raw[: raw.index(b"\r\n")].count(b"\n") + 1
            yield self.finding(file, first, f"CRLF line endings ({crlf} lines); use LF (e.g. dos2unix)")


class CreatedTwice(Rule):
    id = "TAP002"
    name = "resource created twice under one physical name"
    description = (
        "Two constructors of one pulumi-aws type whose `name=` (or `bucket=`) is the same literal or "
        "expression, a constant name inside a loop, or a second resource named after an existing one "
        "of its type (the seed's `MetricAlarm(..., name=alarm.name)`): the second create fails."
    )

    def check_file(self, analysis: _FileAnalysis) -> Iterator[LintFinding]:
        for call in analysis.calls:
            yield from self._one_call(analysis.file, call)
        yield from self._duplicates(analysis)

    def _one_call(self, file: str, call: _ResourceCall) -> Iterator[LintFinding]:
        if call.name_expr is None:
            return
        cls = call.type.split(".")[-1]
        line = call.node.lineno
        if call.named_after_own_type:  # the seed's pattern
            yield self.finding(
                file,
                line,
                f"{cls} created again under the physical name of an existing {cls} "
                f"({ast.unparse(call.name_expr)}): two resources, one name. Create it once, with "
                "everything it needs (e.g. alarm_actions) set at creation",
            )
        elif call.loops and isinstance(call.name_expr, ast.Constant):
            yield self.finding(
                file,
                line,
                f"{cls} created on every iteration of a loop under one physical name "
                f"{ast.unparse(call.name_expr)}",
            )

    def _duplicates(self, analysis: _FileAnalysis) -> Iterator[LintFinding]:
        seen: dict[tuple[str, str], list[_ResourceCall]] = {}
        for call in analysis.calls:
            if call.name_expr is None:
                continue
            key = (call.type, _name_key(call))
            for earlier in seen.get(key, []):
                if not _exclusive(earlier.branches, call.branches):
                    yield self.finding(
                        analysis.file,
                        call.node.lineno,
                        f"{call.type.split('.')[-1]} created a second time under the physical name "
                        f"{ast.unparse(call.name_expr)} (first at line {earlier.node.lineno})",
                    )
                    break
            seen.setdefault(key, []).append(call)


class VpcPolicyWithoutVpc(Rule):
    id = "TAP003"
    name = "VPC access policy without VPC-attached functions"
    description = (
        "AWSLambdaVPCAccessExecutionRole attached in a program whose functions set no `vpc_config` "
        "(judged per file; a file without functions is judged with the functions of every file): "
        "attach AWSLambdaBasicExecutionRole instead (least privilege)."
    )

    def check_program(self, analyses: list[_FileAnalysis]) -> Iterator[LintFinding]:
        any_vpc_function = any(a.has_vpc_config(c) for a in analyses for c in a.function_calls())
        for a in analyses:
            attachments = a.vpc_policy_attachments()
            functions = a.function_calls()
            vpc_attached = any(a.has_vpc_config(c) for c in functions) if functions else any_vpc_function
            if not attachments or vpc_attached:
                continue
            where = "no function in this file" if functions else "no function in the linted files"
            for node in attachments:
                yield self.finding(
                    a.file,
                    node.lineno,
                    f"{VPC_ACCESS_POLICY_NAME} attached but {where} sets vpc_config: attach "
                    "AWSLambdaBasicExecutionRole instead (least privilege)",
                )


RULES: tuple[Rule, ...] = (Unreadable(), CrlfLineEndings(), CreatedTwice(), VpcPolicyWithoutVpc())
UNREADABLE = RULES[0]


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LintResult:
    """What one `lint` run looked at and found."""

    paths: tuple[str, ...]  # as given
    files: tuple[str, ...]  # every file linted
    findings: tuple[LintFinding, ...]  # sorted by file, line and rule
    rules: tuple[Rule, ...] = RULES

    @property
    def ok(self) -> bool:
        return not self.findings

    def render_text(self) -> str:
        return "".join(f"{finding}\n" for finding in self.findings)

    def to_json(self) -> str:
        body = {
            "schema": LINT_SCHEMA,
            "ok": self.ok,
            "paths": list(self.paths),
            "files": list(self.files),
            "rules": [{"id": r.id, "name": r.name, "description": r.description} for r in self.rules],
            "findings": [
                {"rule": f.rule, "file": f.file, "line": f.line, "message": f.message} for f in self.findings
            ],
        }
        return json.dumps(body, indent=2) + "\n"


def run_lint(paths: Iterable[Path]) -> LintResult:
    """Lint the files (and the *.py files under the directories) given."""
    given = [Path(p) for p in paths]
    files = list(_expand(given))
    findings: list[LintFinding] = []
    analyses: list[_FileAnalysis] = []
    for path in files:
        found, analysis = _lint_file(path)
        findings.extend(found)
        if analysis:
            analyses.append(analysis)
    for rule in RULES:
        findings.extend(rule.check_program(analyses))
    ordered = sorted(findings, key=lambda f: (f.file, f.line, f.rule))
    return LintResult(tuple(map(str, given)), tuple(map(str, files)), tuple(ordered))


def lint_paths(paths: list[Path]) -> list[LintFinding]:
    """The findings of `run_lint`, sorted by file and line."""
    return list(run_lint(paths).findings)


def _expand(paths: list[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError("no such file or directory", file=str(path))
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                found.extend(Path(root) / n for n in names if n.endswith(".py"))
            candidates = sorted(found)
        else:
            candidates = [path]  # named explicitly: linted whatever its extension
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _lint_file(path: Path) -> tuple[list[LintFinding], _FileAnalysis | None]:
    name = str(path)
    try:
        raw = read_input(path, "source file")  # capped and bounded in time: a FIFO cannot hang lint
    except InputError as exc:
        return [UNREADABLE.finding(name, 1, f"cannot read: {exc.detail}")], None
    findings = [f for rule in RULES for f in rule.check_bytes(name, raw)]
    if path.suffix != ".py":
        return findings, None
    try:
        tree = ast.parse(raw.decode("utf-8-sig"), filename=name)
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        findings.append(UNREADABLE.finding(name, line, f"cannot parse: {exc}"))
        return findings, None
    except (RecursionError, MemoryError):
        findings.append(UNREADABLE.finding(name, 1, "cannot parse: expressions nested too deeply"))
        return findings, None
    analysis = _FileAnalysis(name, tree)
    try:
        analysis.run()
        found = [f for rule in RULES for f in rule.check_file(analysis)]
    except RecursionError:  # the analysis walks the tree recursively; no real program nests this deep
        findings.append(UNREADABLE.finding(name, 1, "cannot analyse: expressions nested too deeply"))
        return findings, None
    findings.extend(found)
    return findings, analysis


# --- one file ------------------------------------------------------------------------------------


@dataclass
class _ResourceCall:
    type: str  # "cloudwatch.MetricAlarm"
    node: ast.Call
    name_expr: ast.expr | None
    branches: tuple[tuple[int, str], ...]  # enclosing if-statements and the branch taken
    loops: tuple[_Loop, ...]
    named_after_own_type: bool = False  # name=x.name where x is a resource of this very type


@dataclass
class _Loop:
    targets: frozenset[str]
    iterable: str


@dataclass
class _FileAnalysis:
    file: str
    tree: ast.Module
    calls: list[_ResourceCall] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    var_types: dict[str, set[str]] = field(default_factory=dict)
    collection_types: dict[str, set[str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    def run(self) -> None:
        self._imports()
        self._constants()
        for _ in range(2):  # twice: an append of a variable typed later in the file
            self._types()
        self._visit(self.tree.body, (), ())

    # - names -------------------------------------------------------------------------------------

    def _imports(self) -> None:
        # `aws` is pulumi_aws by convention (the seed's snippets use it without showing the import).
        self.aliases = {"aws": "pulumi_aws"}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "pulumi_aws" or a.name.startswith("pulumi_aws."):
                        self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "pulumi_aws"
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi_aws"):
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def _constants(self) -> None:
        for node in self.tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and isinstance(node.value.value, str):
                        self.constants[t.id] = node.value.value

    def resource_type(self, node: ast.AST) -> str | None:
        """`aws.cloudwatch.MetricAlarm(...)` -> "cloudwatch.MetricAlarm"; None if not a resource."""
        if not isinstance(node, ast.Call):
            return None
        dotted = _dotted(node.func)
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.aliases:
            return None
        full = f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]
        parts = full.split(".")
        if len(parts) != 3 or parts[0] != "pulumi_aws":
            return None
        module, cls = parts[1].rstrip("_"), parts[2]
        if not cls[:1].isupper() or cls.endswith("Args") or cls.endswith("Dict"):
            return None
        return f"{module}.{cls}"

    # - types of variables and collections (flow-insensitive, conservative) -----------------------

    def _types(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    key = _key(t)
                    if key is None:
                        continue
                    typ = self.expr_type(node.value, {})
                    if typ:
                        self.var_types.setdefault(key, set()).add(typ)
                    for elem_type in self._element_types(node.value):
                        self.collection_types.setdefault(key, set()).add(elem_type)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "extend", "add")
                and node.args
            ):
                key = _key(node.func.value)
                if key is None:
                    continue
                arg = node.args[0]
                types = (
                    self._element_types(arg)
                    if node.func.attr == "extend"
                    else {self.expr_type(arg, {})} - {None}
                )
                for typ in types:
                    if typ:
                        self.collection_types.setdefault(key, set()).add(typ)

    def _element_types(self, value: ast.expr) -> set[str]:
        if isinstance(value, ast.List | ast.Tuple | ast.Set):
            return {t for e in value.elts if (t := self.expr_type(e, {}))}
        if isinstance(value, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            t = self.expr_type(value.elt, {})
            return {t} if t else set()
        if isinstance(value, ast.DictComp):
            t = self.expr_type(value.value, {})
            return {t} if t else set()
        if isinstance(value, ast.Dict):
            return {t for v in value.values if (t := self.expr_type(v, {}))}
        return set()

    def expr_type(self, expr: ast.expr, scope: dict[str, str | None]) -> str | None:
        typ = self.resource_type(expr)
        if typ:
            return typ
        key = _key(expr)
        if key is None:
            return None
        if key in scope:
            return scope[key]
        types = self.var_types.get(key, set())
        return next(iter(types)) if len(types) == 1 else None

    def _iter_type(self, iterable: ast.expr) -> tuple[str | None, bool]:
        """The element type of a loop's iterable, and whether it is wrapped in enumerate()."""
        enumerated = False
        node = iterable
        while isinstance(node, ast.Call):
            fname = _dotted(node.func)
            if fname == "enumerate" and node.args:
                enumerated = True
                node = node.args[0]
            elif fname in ("list", "reversed", "sorted", "tuple") and node.args:
                node = node.args[0]
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "values":
                node = node.func.value
            else:
                break
        key = _key(node)
        types = self.collection_types.get(key, set()) if key else set()
        return (next(iter(types)) if len(types) == 1 else None), enumerated

    # - the walk ----------------------------------------------------------------------------------

    def _visit(
        self,
        nodes: list[ast.stmt] | list[ast.AST],
        branches: tuple[tuple[int, str], ...],
        loops: tuple[_Loop, ...],
        scope: dict[str, str | None] | None = None,
    ) -> None:
        scope = scope if scope is not None else {}
        for node in nodes:
            self._visit_node(node, branches, loops, scope)

    def _visit_node(
        self,
        node: ast.AST,
        branches: tuple[tuple[int, str], ...],
        loops: tuple[_Loop, ...],
        scope: dict[str, str | None],
    ) -> None:
        if isinstance(node, ast.If):
            self._visit_node(node.test, branches, loops, scope)
            self._visit(node.body, (*branches, (id(node), "body")), loops, scope)
            self._visit(node.orelse, (*branches, (id(node), "else")), loops, scope)
            return
        if isinstance(node, ast.IfExp):
            self._visit_node(node.test, branches, loops, scope)
            self._visit_node(node.body, (*branches, (id(node), "body")), loops, scope)
            self._visit_node(node.orelse, (*branches, (id(node), "else")), loops, scope)
            return
        if isinstance(node, ast.For | ast.AsyncFor):
            self._visit_node(node.iter, branches, loops, scope)
            inner, loop = self._bind(node.target, node.iter, scope)
            self._visit(node.body, branches, (*loops, loop), inner)
            self._visit(node.orelse, branches, loops, scope)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            inner, new_loops = dict(scope), loops
            for gen in node.generators:
                self._visit_node(gen.iter, branches, new_loops, inner)
                inner, loop = self._bind(gen.target, gen.iter, inner)
                new_loops = (*new_loops, loop)
                for cond in gen.ifs:
                    self._visit_node(cond, branches, new_loops, inner)
            elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            self._visit(elts, branches, new_loops, inner)
            return
        if isinstance(node, ast.Call):
            typ = self.resource_type(node)
            if typ:
                self._resource_call(typ, node, branches, loops, scope)
        for child in ast.iter_child_nodes(node):
            self._visit_node(child, branches, loops, scope)

    def _bind(
        self, target: ast.expr, iterable: ast.expr, scope: dict[str, str | None]
    ) -> tuple[dict[str, str | None], _Loop]:
        inner = dict(scope)
        names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        for n in names:
            inner[n] = None  # a loop variable shadows whatever the name meant outside the loop
        elem_type, enumerated = self._iter_type(iterable)
        element = target
        if enumerated and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            element = target.elts[1]
        if elem_type and isinstance(element, ast.Name):
            inner[element.id] = elem_type
        return inner, _Loop(frozenset(names), ast.unparse(iterable))

    def _resource_call(
        self,
        typ: str,
        node: ast.Call,
        branches: tuple[tuple[int, str], ...],
        loops: tuple[_Loop, ...],
        scope: dict[str, str | None],
    ) -> None:
        name_expr = next((k.value for k in node.keywords if k.arg in NAME_KWARGS), None)
        # Whether it is named after an existing resource of its type needs the scope of the walk.
        renamed = (
            isinstance(name_expr, ast.Attribute)
            and name_expr.attr in NAME_KWARGS
            and self.expr_type(name_expr.value, scope) == typ
        )
        self.calls.append(_ResourceCall(typ, node, name_expr, branches, loops, renamed))

    # - facts for TAP003 (VpcPolicyWithoutVpc) ------------------------------------------------

    def vpc_policy_attachments(self) -> list[ast.Call]:
        out = []
        for call in self.calls:
            kwarg = POLICY_KWARGS.get(call.type)
            value = next((k.value for k in call.node.keywords if k.arg == kwarg), None) if kwarg else None
            if value is not None and self._mentions_vpc_policy(value):
                out.append(call.node)
        return out

    def _mentions_vpc_policy(self, expr: ast.expr) -> bool:
        for n in ast.walk(expr):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and VPC_ACCESS_POLICY_NAME in n.value:
                return True
            if isinstance(n, ast.Name) and VPC_ACCESS_POLICY_NAME in self.constants.get(n.id, ""):
                return True
            if isinstance(n, ast.Name | ast.Attribute) and (_dotted(n) or "").endswith("VPC_ACCESS_POLICY"):
                return True
        return False

    def function_calls(self) -> list[_ResourceCall]:
        return [c for c in self.calls if c.type == FUNCTION_TYPE]

    @staticmethod
    def has_vpc_config(call: _ResourceCall) -> bool:
        value = next((k.value for k in call.node.keywords if k.arg == "vpc_config"), None)
        if value is None:
            # **kwargs may carry it: cannot tell, so do not accuse.
            return any(k.arg is None for k in call.node.keywords)
        return not (isinstance(value, ast.Constant) and value.value is None)


# --- helpers ---------------------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _key(node: ast.AST) -> str | None:
    """A variable or attribute chain as a key (`alarm`, `self.alarms`); None for anything else."""
    return _dotted(node)


def _name_key(call: _ResourceCall) -> str:
    """The name expression, with each loop variable it uses tied to what that loop iterates."""
    assert call.name_expr is not None
    used = {n.id for n in ast.walk(call.name_expr) if isinstance(n, ast.Name)}
    loops = sorted(f"{n}<-{loop.iterable}" for loop in call.loops for n in loop.targets & used)
    return ast.dump(call.name_expr) + "|" + ";".join(loops)


def _exclusive(a: tuple[tuple[int, str], ...], b: tuple[tuple[int, str], ...]) -> bool:
    """Two calls in different branches of the same if-statement never both run."""
    branch_of = dict(a)
    return any(node in branch_of and branch_of[node] != side for node, side in b)
