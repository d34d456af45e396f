"""The resource kinds of a TAP pipeline, one module each (see `preflight.kinds.base` for what a module
declares). `KINDS` is the registry, in the order the program registers them: what a kind's resources
refer to (the VPC, the groups, the role, the topics) comes before it.

Adding a kind: write its module and list it here. The manifest document and the `Deployment` take its
`PART`'s fields, `resolve` its part of the deployment; the demand, the usage counters, the program,
`verify-program` and `rehearse` loop over this list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from preflight.kinds import (
    alarm,
    bucket,
    endpoint,
    function,
    role,
    security_group,
    stream,
    table,
    topic,
    vpc,
)
from preflight.kinds.base import Account, Fields, Peak, Read, Refusal, Resolving

KINDS: tuple[ModuleType, ...] = (
    vpc,
    security_group,
    endpoint,
    role,
    stream,
    table,
    bucket,
    topic,
    function,
    alarm,
)

# The order the two documents list the kinds' fields in: part of their formats (the manifest's JSON
# Schema, `tap-preflight schema`; the plan files, tap-preflight/plan/v3), fixed when those were, and not
# the order the program registers the kinds in. A kind's field not named here comes after these, in
# the order of KINDS.
MANIFEST_ORDER = (
    "vpc",
    "security_groups",
    "endpoints",
    "lambda_",
    "functions",
    "streams",
    "tables",
    "buckets",
    "topics",
    "alarms",
    "role",
)
DEPLOYMENT_ORDER = (
    "vpc",
    "security_groups",
    "endpoints",
    "functions",
    "streams",
    "tables",
    "buckets",
    "topics",
    "alarms",
    "role",
    "lambda_security_group",
)

# Every pulumi type token the kinds create -> what a reader calls it.
LABELS: dict[str, str] = {token: label for kind in KINDS for token, label in kind.LABELS.items()}
# The order an inventory is listed in (registration order varies from run to run with timing).
TYPE_ORDER: tuple[str, ...] = tuple(LABELS)


def manifest_fields() -> Fields:
    """Every kind's fields of the manifest document (`preflight.manifest.spec.ManifestDoc`)."""
    return _in_order([kind.PART.manifest for kind in KINDS], MANIFEST_ORDER)


def deployment_fields() -> Fields:
    """Every kind's fields of the deployment (`preflight.deployment.Deployment`)."""
    return _in_order([kind.PART.deployment for kind in KINDS], DEPLOYMENT_ORDER)


def _in_order(parts: list[Fields], order: tuple[str, ...]) -> Fields:
    fields: Fields = {}
    for part in parts:
        assert not fields.keys() & part.keys(), f"two kinds declare {sorted(fields.keys() & part.keys())}"
        fields.update(part)
    rank = {name: i for i, name in enumerate(order)}
    return dict(sorted(fields.items(), key=lambda item: rank.get(item[0], len(order))))


def resolve(doc: Any, r: Resolving) -> dict[str, Any]:
    """Every kind's part of the deployment, resolved from the manifest document."""
    return {name: value for kind in KINDS for name, value in kind.PART.resolve(doc, r).items()}


def creators() -> Mapping[str, Any]:
    """Per type token, how `rehearse` creates it."""
    return {token: create for kind in KINDS for token, create in kind.CREATORS.items()}


def updaters() -> Mapping[str, Any]:
    """Per type token, how `rehearse --update` updates the stack's own in place."""
    return {token: update for kind in KINDS for token, update in kind.UPDATERS.items()}


def deleters() -> list[Any]:
    """How `rehearse --update` deletes the stack's resources of each kind the plan no longer has, in
    reverse registration order (as Pulumi deletes: what refers to others first)."""
    return [kind.delete_removed for kind in reversed(KINDS) if hasattr(kind, "delete_removed")]


def needs(d: Any) -> Iterator[Any]:
    """What every kind of the deployment `d` takes of each quota."""
    for kind in KINDS:
        yield from kind.needs(d)


def own_reads(a: Account, d: Any) -> list[Read]:
    """The reads each kind recognises its own with, to start with the account's listings."""
    return [read for kind in KINDS if hasattr(kind, "own_reads") for read in kind.own_reads(a, d)]


def own_enis(a: Account, d: Any) -> set[str]:
    """The ENIs AWS made for the stack's resources (they carry no tags): each kind ties back its own."""
    return {eni for kind in KINDS if hasattr(kind, "own_enis") for eni in kind.own_enis(a, d)}


def redeploy_peaks(d: Any, current: Any) -> list[Peak]:
    """What a redeploy holds on the way beyond the end state, of the kinds that declare it (optional)."""
    return [
        peak for kind in KINDS if hasattr(kind, "redeploy_peaks") for peak in kind.redeploy_peaks(d, current)
    ]


def redeploy_refusals(d: Any, current: Any) -> list[Refusal]:
    """The redeploy's steps a service refuses whatever the headroom, of the kinds that declare them."""
    return [
        r for kind in KINDS if hasattr(kind, "redeploy_refusals") for r in kind.redeploy_refusals(d, current)
    ]
