"""The adaptation cascade as a Mermaid flowchart, for the markdown report (GitHub renders it).

The quota that blocked, the choice it forced, and what followed from that choice: the quota of the
gateway endpoints forces the Lambda networking, which drops endpoints and security groups and
changes the execution policy; the concurrency quota shares the reservations. Nodes are coloured by
what happened to the resource (kept, changed, dropped).

Kept small whatever the manifest: more than `COLLAPSE_OVER` changes (or adaptations) of one kind
become one node ("5 functions"), so the graph grows with the kinds of resources, not their number;
GitHub refuses diagrams past ~50,000 characters or 500 edges, and a graph past `MAX_CHARS` is left
out rather than cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from preflight.deployment import Adaptation, Change

COLLAPSE_OVER = 3
MAX_LABEL = 90
MAX_CHARS = 40_000
MAX_EDGES = 400
CLASS_DEFS = (
    "classDef blocked fill:#fde2e1,stroke:#c62828,color:#000",
    "classDef changed fill:#fff4d6,stroke:#b7791f,color:#000",
    "classDef dropped fill:#eeeeee,stroke:#757575,color:#000,stroke-dasharray:4 3",
    "classDef kept fill:#e3f4e4,stroke:#2e7d32,color:#000",
)
NETWORKING = "lambda-networking"
# Mermaid reads entity codes (#name; or #number;) inside a quoted label: one pass, so an entity's own
# `#` and `;` are not escaped again.
_ESCAPES = str.maketrans(
    {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", ";": "#59;"}
)


def label(value: str) -> str:
    """`value` as a quoted Mermaid label: one line, bounded, nothing that ends the label or the fence."""
    value = " ".join(value.split())
    if len(value) > MAX_LABEL:
        value = value[: MAX_LABEL - 1] + "…"
    return f'"{value.translate(_ESCAPES)}"'


def _kind(path: str) -> str:
    """The collection a change's path belongs to: `functions[3].vpc` -> `functions`."""
    match = re.match(r"[A-Za-z]+", path)
    return match.group(0) if match else path


def _state(change: Change) -> str:
    if change.after is None:
        return "dropped"
    return "kept" if change.after == change.before else "changed"


def _value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v).rsplit("/", 1)[-1] for v in value)  # policy ARNs: their names
    return str(value)


def _change_text(change: Change) -> str:
    if change.after is None:
        return f"{change.path}: {_value(change.before)} dropped"
    return f"{change.path}: {_value(change.before)} → {_value(change.after)}"


def _group_text(kind: str, changes: Sequence[Change]) -> str:
    """Many changes of one kind in one label: `5 functions: reservedConcurrency 100 → 10`."""
    fields = {c.path.split(".", 1)[1] if "." in c.path else "" for c in changes}
    what = f"{len(changes)} {kind}" + (
        f": {next(iter(fields))}" if len(fields) == 1 and "" not in fields else ""
    )
    if all(c.after is None for c in changes):
        return f"{what} dropped"
    values = {(_value(c.before), _value(c.after)) for c in changes}
    if len(values) == 1:
        before, after = values.pop()
        return f"{what} {before} → {after}"
    return f"{what} changed"


def _adaptation_state(a: Adaptation) -> str:
    states = {_state(c) for c in a.changes}
    return "dropped" if states == {"dropped"} else "changed"


@dataclass
class _Graph:
    lines: list[str] = field(default_factory=list)
    edges: int = 0
    count: int = 0

    def node(self, text: str, cls: str, shape: tuple[str, str] = ("[", "]")) -> str:
        self.count += 1
        node_id = f"n{self.count}"
        self.lines.append(f"    {node_id}{shape[0]}{label(text)}{shape[1]}:::{cls}")
        return node_id

    def edge(self, source: str | None, target: str) -> None:
        if source is not None:
            self.lines.append(f"    {source} --> {target}")
            self.edges += 1


def _resources(graph: _Graph, parent: str, a: Adaptation) -> None:
    """The resources an adaptation changed, under it; many of one kind as one node."""
    # The choice node already says how the networking changed.
    changes = [c for c in a.changes if not c.path.startswith("lambda.networking")]
    if a.id != NETWORKING and len(changes) <= 1:
        return  # one change: the adaptation's own node says it
    by_kind: dict[str, list[Change]] = {}
    for change in changes:
        by_kind.setdefault(_kind(change.path), []).append(change)
    for kind, group in by_kind.items():
        if len(group) > COLLAPSE_OVER:
            states = {_state(c) for c in group}
            graph.edge(
                parent, graph.node(_group_text(kind, group), states.pop() if len(states) == 1 else "changed")
            )
        else:
            for change in group:
                graph.edge(parent, graph.node(_change_text(change), _state(change)))


def _adaptation_kind(a: Adaptation) -> str:
    """Adaptations of one kind (each dropped endpoint, each dropped group) are collapsed together."""
    return re.sub(r"-[^-]+-dropped$", "-dropped", a.id) if a.id.endswith("-dropped") else a.id


def _cascade(graph: _Graph, parent: str | None, adaptations: Sequence[Adaptation]) -> None:
    by_kind: dict[str, list[Adaptation]] = {}
    for a in adaptations:
        by_kind.setdefault(_adaptation_kind(a), []).append(a)
    for kind, group in by_kind.items():
        if len(group) > COLLAPSE_OVER:
            noun = kind.removesuffix("-dropped").replace("-", " ")
            graph.edge(parent, graph.node(f"{len(group)} × {noun} dropped", "dropped"))
            continue
        for a in group:
            node = graph.node(a.title, _adaptation_state(a))
            graph.edge(parent, node)
            _resources(graph, node, a)


def adaptation_graph(adaptations: Sequence[Adaptation]) -> str:
    """The Mermaid flowchart of `adaptations` (its source, no fence); "" when there is nothing to draw."""
    if not adaptations:
        return ""
    graph = _Graph(lines=["flowchart LR"])
    by_quota: dict[str | None, list[Adaptation]] = {}
    for a in adaptations:
        by_quota.setdefault(a.quota_code, []).append(a)
    for code, group in by_quota.items():
        quota = None
        if code is not None:
            name = group[0].quota_name or ""
            quota = graph.node(f"{code} {name}: does not fit", "blocked", ("{{", "}}"))
        choice = next((a for a in group if a.id == NETWORKING), None)
        if choice is None:
            _cascade(graph, quota, group)
            continue
        # The networking is the choice the quota forced; the rest of the group follows from it.
        node = graph.node(choice.title, "changed")
        graph.edge(quota, node)
        _resources(graph, node, choice)
        _cascade(graph, node, [a for a in group if a is not choice])
    graph.lines += [f"    {d}" for d in CLASS_DEFS]
    source = "\n".join(graph.lines) + "\n"
    if len(source) > MAX_CHARS or graph.edges > MAX_EDGES:
        return ""  # past what GitHub renders: the adaptations list above says it all in words
    return source


def adaptation_graph_section(adaptations: Sequence[Adaptation]) -> list[str]:
    """The markdown lines of the graph (a heading and a fenced block); none when there is nothing to draw."""
    source = adaptation_graph(adaptations)
    if not source:
        return []
    return [
        "",
        "#### How the adaptations follow from the quotas",
        "",
        "```mermaid",
        source.rstrip("\n"),
        "```",
    ]
