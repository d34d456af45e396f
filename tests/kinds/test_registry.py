"""The kinds registry: every kind module declares the whole interface, and the pieces agree with each other.

A kind that forgot its rehearsal creator would be reported "not rehearsed" at run time; one whose
type token the program registers but `verify-program` does not expect would be "not in the plan". These
catch both, for every kind, before any account is involved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from preflight import kinds
from preflight.demand import compute_demand
from preflight.manifest import load_manifest
from preflight.program import names
from preflight.program.verify import expected_names
from tests.conftest import MANIFEST, ROOT

INTERFACE = ("PART", "LABELS", "CREATORS", "UPDATERS", "needs", "register", "expected", "verify")
AZS = ("us-east-1a", "us-east-1b")


@pytest.mark.parametrize("kind", kinds.KINDS, ids=[k.__name__.rsplit(".", 1)[-1] for k in kinds.KINDS])
def test_each_kind_declares_the_whole_interface(kind) -> None:
    missing = [name for name in INTERFACE if not hasattr(kind, name)]
    assert missing == []
    # Every resource type it creates can be rehearsed, and it updates in place only what it creates.
    assert set(kind.CREATORS) == set(kind.LABELS)
    assert set(kind.UPDATERS) <= set(kind.LABELS)


def test_the_registry_covers_every_type_token_once() -> None:
    tokens = [token for kind in kinds.KINDS for token in kind.LABELS]
    assert len(tokens) == len(set(tokens))
    assert set(kinds.creators()) == set(tokens) == set(kinds.TYPE_ORDER)
    assert names.TYPE_ORDER == (names.PIPELINE, *kinds.TYPE_ORDER)


def test_each_kind_expects_exactly_its_own_types_for_the_shipped_deployment() -> None:
    d = load_manifest(MANIFEST, "prod").requested("us-east-1", AZS)
    for kind in kinds.KINDS:
        assert set(kind.expected(d)) == set(kind.LABELS), kind.__name__
    assert set(expected_names(d)) == {names.PIPELINE, *kinds.TYPE_ORDER}


def test_the_demand_is_the_sum_of_the_kinds_needs() -> None:
    """demand.py adds nothing of its own: every demanded (quota, scope) comes from some kind."""
    d = load_manifest(MANIFEST, "prod").requested("us-east-1", AZS)
    by_kind = {(q.quota_code, scope) for q, scope, amount, _ in kinds.needs(d) if amount > 0}
    assert {(x.quota_code, x.scope) for x in compute_demand(d)} == by_kind
    assert len(by_kind) > 10  # the shipped deployment touches most quotas


def test_the_kinds_import_no_pulumi_and_no_manifest_or_model() -> None:
    """The kinds are below the model, the manifest and the program: they import none of them, and
    reach Pulumi only through the SDK modules the program hands them."""
    for path in sorted((ROOT / "preflight" / "kinds").glob("*.py")):
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        imported = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        bad = {
            m
            for m in imported
            if m
            and (
                m.split(".")[0] in ("pulumi", "pulumi_aws")
                or m.startswith(("preflight.deployment", "preflight.manifest", "preflight.program"))
            )
        }
        assert bad == set(), path.name


def test_the_kinds_name_checks_cover_every_conflict_type_and_rule() -> None:
    from typing import get_args

    from preflight.conflicts import RULES, ResourceType

    checks = [k.NAME_CHECK for k in kinds.KINDS if k.NAME_CHECK is not None]
    assert sorted(c.type for c in checks) == sorted(get_args(ResourceType))
    assert {c.rule for c in checks} == {r for r in RULES if r.startswith("TAP-C") and r != "TAP-C000"}
    d = load_manifest(MANIFEST, "prod").requested("us-east-1", AZS)
    for kind in kinds.KINDS:
        if kind.NAME_CHECK is None:
            assert kind.named(d) == []
        else:  # every name it checks is one its resources carry, and it says how to find one
            assert {name for name, _ in kind.named(d)} <= {n for ns in kind.expected(d).values() for n in ns}
            assert hasattr(kind, "find") != hasattr(kind, "find_all"), kind.__name__


@pytest.mark.parametrize(
    ("module", "model"),
    [("preflight.manifest.spec", "ManifestDoc"), ("preflight.deployment", "Deployment")],
)
def test_the_typed_view_of_each_document_is_its_model(module: str, model: str) -> None:
    """ManifestDoc and Deployment are built from the kinds' parts; the fields their classes declare for
    type checkers (under TYPE_CHECKING) are fields of the model, with the same type."""
    import importlib

    mod = importlib.import_module(module)
    fields = getattr(mod, model).model_fields
    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == model)
    guarded = next(n for n in cls.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    declared = {
        n.target.id: eval(ast.unparse(n.annotation), vars(mod))  # our own source
        for n in guarded.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert len(declared) >= 10
    assert {name: fields[name].annotation for name in declared if name in fields} == declared


def test_the_documents_take_every_kinds_fields_in_the_formats_order() -> None:
    from preflight.deployment import Deployment
    from preflight.manifest.spec import ManifestDoc

    manifest_fields = [f for kind in kinds.KINDS for f in kind.PART.manifest]
    deployment_fields = [f for kind in kinds.KINDS for f in kind.PART.deployment]
    assert [f for f in ManifestDoc.model_fields if f in manifest_fields] == list(kinds.MANIFEST_ORDER)
    assert [f for f in Deployment.model_fields if f in deployment_fields] == list(kinds.DEPLOYMENT_ORDER)
    assert list(ManifestDoc.model_fields)[-1] == "environments"
