"""The adaptation cascade drawn as a Mermaid flowchart in the markdown report."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from preflight.deployment import Adaptation, Change, Impact
from preflight.report.formats.markdown import render_markdown
from preflight.report.formats.mermaid import MAX_CHARS, adaptation_graph, label
from preflight.report.report import Report

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "inputs"
NODE = re.compile(r'^\s+(n\d+)[\[{]+"(.*)"[\]}]+:::(\w+)$')


def _mermaid(markdown: str) -> str | None:
    match = re.search(r"```mermaid\n(.*?)\n```", markdown, re.S)
    return match.group(1) if match else None


def _nodes(source: str) -> dict[str, tuple[str, str]]:
    return {m.group(1): (m.group(2), m.group(3)) for line in source.splitlines() if (m := NODE.match(line))}


def _edges(source: str) -> set[tuple[str, str]]:
    return {tuple(line.split(" --> ")) for line in map(str.strip, source.splitlines()) if " --> " in line}


def test_seed_plan_draws_the_cascade(load_report: Callable[[Path], Report]) -> None:
    report = load_report(GOLDEN / "plan-seed-account-adapted.json")
    source = _mermaid(render_markdown(report))
    assert source is not None and source.startswith("flowchart LR")
    nodes = _nodes(source)
    by_label = {text: (node_id, cls) for node_id, (text, cls) in nodes.items()}
    quota, quota_cls = by_label["L-1B52E74A Gateway VPC endpoints per Region: does not fit"]
    choice, choice_cls = by_label["Lambda networking: vpc-with-endpoints -#gt; no-vpc"]
    assert (quota_cls, choice_cls) == ("blocked", "changed")
    edges = _edges(source)
    assert (quota, choice) in edges
    # What followed the choice hangs under it: the functions (collapsed), endpoints, groups, policy.
    followers = {nodes[b] for a, b in edges if a == choice}
    assert ("5 functions: vpc attached (private subnets) → not attached", "changed") in followers
    assert ("Drop the s3 gateway endpoint", "dropped") in followers
    assert ("Drop security group pipeline-lambda-prod", "dropped") in followers
    assert ("Role execution policy: AWSLambdaBasicExecutionRole", "changed") in followers
    shared, _ = by_label["Share reserved concurrency: 500 -#gt; 50"]
    concurrency, _ = by_label["L-B99A9384 Concurrent executions: does not fit"]
    assert (concurrency, shared) in edges
    assert {nodes[b] for a, b in edges if a == shared} == {
        ("5 functions: reservedConcurrency 100 → 10", "changed")
    }
    assert {f"classDef {c} " for c in ("blocked", "changed", "dropped", "kept")} <= {
        line.strip()[: len("classDef ") + len(line.split()[1]) + 1]
        for line in source.splitlines()
        if "classDef" in line
    }


def test_no_graph_without_adaptations(load_report: Callable[[Path], Report]) -> None:
    for name in ("check-fresh-account-go", "check-seed-account-no-go"):
        report = load_report(GOLDEN / f"{name}.json")
        assert not report.adaptations
        assert "```mermaid" not in render_markdown(report)
    assert adaptation_graph(()) == ""


def test_a_thousand_functions_stay_a_small_graph(tmp_path) -> None:
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest
    from preflight.plan.planner import plan_manifest
    from tests.conftest import MANIFEST, manifest_variant, synthetic_state

    doc = yaml.safe_load(Path(MANIFEST).read_text())
    template = {k: v for k, v in doc["functions"][0].items() if k != "minReservedConcurrency"}
    doc["functions"] = [{**copy.deepcopy(template), "name": f"fn{i}"} for i in range(1000)]
    doc.pop("alarms", None)
    manifest = load_manifest(manifest_variant(tmp_path, text=yaml.safe_dump(doc)), "prod")
    state = synthetic_state(
        limits={"L-B99A9384": 1000, "L-1B52E74A": 20},
        usage={"L-B99A9384": {"region": 900}, "L-1B52E74A": {"region": 20}},
    )
    result = plan_manifest(manifest, state, GatePolicy())
    assert sum(len(a.changes) for a in result.adaptations) >= 2000  # the graph has much to collapse
    source = adaptation_graph(result.adaptations)
    assert source and len(source) < 5_000 and len(_edges(source)) < 30
    assert any(text.startswith("1000 functions") for text, _ in _nodes(source).values())


def test_many_dropped_endpoints_become_one_node_and_a_huge_graph_is_left_out() -> None:
    impact = Impact(cost="none", security="none", performance="none")

    def dropped(i: int) -> Adaptation:
        change = Change(path=f"endpoints[{i}]", before=f"ep{i}", after=None)
        return Adaptation(id=f"endpoint-e{i}-dropped", title=f"Drop e{i}", quota_code="L-1",
                          quota_name="q", reason="r", changes=(change,), impact=impact)  # fmt: skip

    source = adaptation_graph([dropped(i) for i in range(600)])
    assert [text for text, _ in _nodes(source).values()] == ["L-1 q: does not fit", "600 × endpoint dropped"]
    # Adaptations of 600 different quotas cannot be collapsed: past GitHub's limits, no graph at all.
    many = [a.model_copy(update={"quota_code": f"L-{i}", "id": f"kind{i}"}) for i, a in
            enumerate(dropped(i) for i in range(600))]  # fmt: skip
    assert len("".join(a.title for a in many)) * 3 < MAX_CHARS  # the edge count, not the size, decides
    assert adaptation_graph(many) == ""


def test_hostile_labels_are_escaped() -> None:
    hostile = 'x"] --> evil["pwned"]; click n1 href "javascript:alert(1)" <script>&#x41;`\n```'
    assert label(hostile) == (
        '"x#quot;] --#gt; evil[#quot;pwned#quot;]#59; click n1 href #quot;javascript:alert(1)#quot; '
        '#lt;script#gt;#amp;#35;x41#59;#96; #96;#96;#96;"'
    )
    inner = label(hostile)[1:-1]
    assert not set(inner) & set('"<>`\n') and "-->" not in inner
    impact = Impact(cost="none", security="none", performance="none")
    change = Change(path="functions[0].vpc", before=hostile, after="<b>")
    a = Adaptation(id="lambda-networking", title=hostile, quota_code="L-1", quota_name=hostile, reason="r",
                   changes=(change,), impact=impact)  # fmt: skip
    source = adaptation_graph([a])
    assert source.count("```") == 0 and "<" not in source and "javascript" in source
    for line in source.splitlines()[1:]:
        assert (
            NODE.match(line) or re.fullmatch(r"\s+n\d+ --> n\d+", line) or line.strip().startswith("classDef")
        )
