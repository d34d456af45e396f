"""What every resource kind module shares: its model bases, and the small tools its parts are written with.

A kind module (`preflight/kinds/<kind>.py`) declares, in one place:

- `Spec` models: what the manifest may say of it (pydantic, unknown keys refused);
- `Plan` models: what a resolved deployment holds of it (frozen; the plan file carries them);
- `plans(...)`: the manifest's items resolved into plans (physical names);
- `PART`: its fields in the manifest document (its `Spec`s) and in the `Deployment` (its `Plan`s), and
  how the first resolve into the second; the two models are built from every kind's `PART`;
- `needs(d)`: what it takes of each quota (`Need`s on the catalog's handles);
- `redeploy_peaks(d, current)` (optional): what a redeploy holds on the way beyond `needs` (`Peak`s: the
  reservations not yet cut, the old shards open during a reshard), from what of the stack exists now;
- `redeploy_refusals(d, current)` (optional): the redeploy's steps its service refuses (a reshard
  beyond what one UpdateShardCount reaches);
- `register(p, d)`: its Pulumi resources, made through the SDK modules the program hands it (`Program`),
  so that nothing here imports pulumi;
- `expected(d)` and `verify(d, inv, check)`: what `verify-program` holds the program's inventory to;
- `CREATORS` (and `UPDATERS`): how `rehearse` creates (or updates in place) each of its resource types
  in an account, through boto3 clients it is handed;
- `own_*(a, d)`: which of an account's resources of its kind are the stack's own, so the quota counters
  (`preflight.quotas.usage`) leave them out. They are handed the account's reads (`Account`, each made
  once a run) and recognise by the stack's tags (`a.owns`) and the deployment's names; `own_enis(a, d)`
  ties back the network interfaces AWS makes for the kind's resources (they carry no tags), and
  `own_reads(a, d)` names the reads of its own to start with the account's listings;
- `NAME_CHECK`, `named(d)` and `find(aws, a, name)` (or `find_all(aws, a, names)`, a batched read), when
  its physical names can be taken: what `preflight.conflicts` learns of the account under each name.

`preflight.kinds` lists them in the order the program registers them (`KINDS`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from preflight.quotas.catalog import Quota

# The tags that identify the stack's own resources (what `check` recognises, what the program sets).
TAG_PROJECT = "tap:project"
TAG_ENVIRONMENT = "tap:environment"

# The manifest's logical names: the physical name adds namePrefix and the environment.
LOGICAL = "Logical name; the AWS name adds namePrefix and the environment (pipeline-<name>-<env>)."
Name = str


class Strict(BaseModel):
    """A manifest model: unknown keys are errors, fields by their camelCase alias or their own name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Frozen(BaseModel):
    """A plan model (immutable, strict)."""

    # defer_build: the schema is built at first use, not at import (a command uses few models)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


Need = tuple[Quota, str, float, str]  # quota, scope, amount, manifest path
Needs = Iterator[Need]
# While a redeploy runs, what it holds of a quota beyond its end state: quota, scope, amount, why.
Peak = tuple[Quota, str, float, str]


@dataclass(frozen=True)
class Refusal:
    """A step of a redeploy its service refuses whatever the quota's headroom (a FAIL in the report)."""

    quota: Quota
    scope: str
    limit: int  # the most the step can reach
    usage: int  # what there is now
    demand: int  # what the deployment asks for
    path: str  # the manifest path
    message: str


Physical = Callable[[str], str]  # logical name -> physical name (prefix, name, environment)
Expected = dict[str, list[str]]  # pulumi type token -> physical names the plan asks for


# --- its part of the manifest and of the deployment ----------------------------------------------------

# field name -> its type, or (type, default or pydantic `Field(...)`), as `pydantic.create_model` takes it
Fields = dict[str, Any]


@dataclass(frozen=True)
class Resolving:
    """What a kind's part is resolved with besides the manifest document (`preflight.manifest.resolve`)."""

    physical: Physical  # logical name -> physical name
    azs: tuple[str, ...]  # the region's zones the deployment is placed on (the VPC takes its first ones)
    mode: str  # the networking mode (`NetworkMode`): the manifest's first preference
    stack: str  # "<project> <environment>", for descriptions
    code_size: Callable[[int, str], int]  # (function index, source) -> bytes; a missing source: an error


@dataclass(frozen=True)
class Part:
    """A kind's part of the two documents. `preflight.manifest.spec.ManifestDoc` has every kind's
    `manifest` fields, `preflight.deployment.Deployment` every kind's `deployment` fields (in the order
    `preflight.kinds` gives), and `resolve(doc, r)` turns the manifest document's fields into the
    deployment's."""

    manifest: Fields
    deployment: Fields
    resolve: Callable[[Any, Resolving], dict[str, Any]]


# --- names taken (preflight.conflicts) ---------------------------------------------------------------


@dataclass(frozen=True)
class NameCheck:
    """How `check` tells that one of this kind's physical names is held by something not the stack's."""

    type: str  # the resource type in conflict findings and snapshots ("stream")
    rule: str  # the check id (TAP-C003)
    label: str  # what a reader calls it ("Kinesis stream")
    fails_with: str | None  # the create's error on a taken name; None: the deploy adopts or overwrites it
    pulumi_types: tuple[str, ...]  # type tokens whose entries in a stack's state are the stack's own
    title: str  # the rule's title (SARIF, JUnit, the table)
    help: str  # why a taken name matters: what the deploy does then
    help_uri: str  # the AWS API reference of the create


AWS_DOCS = "https://docs.aws.amazon.com"


Named = list[tuple[str, str]]  # (physical name, manifest path) of each resource a kind names


@dataclass(frozen=True)
class Found:
    """What the account holds under one physical name a kind will create (`find` / `find_all`)."""

    exists: bool = False
    arn: str | None = None
    tags: dict[str, str] | None = None  # None: no tags, or they could not be read
    elsewhere: bool = False  # held by another account (S3's global names)


NOT_FOUND = Found()


def tag_dict(tags: list[dict[str, str]] | dict[str, str] | None) -> dict[str, str] | None:
    """Tags as a mapping, from a Key/Value list or a mapping; None when there are none."""
    if not tags:
        return None
    if isinstance(tags, dict):
        return dict(tags)
    return {t["Key"]: t.get("Value", "") for t in tags}


def error_code_is(exc: Exception, *codes: str) -> bool:
    """Whether an AWS call failed with one of these error codes (a missing resource, usually)."""
    return getattr(exc, "code", None) in codes


# --- the stack's own in an account (preflight.quotas.usage) ---------------------------------------------

Tags = list[dict[str, str]] | dict[str, str] | None  # a Key/Value list, or a mapping as Lambda answers
Read = tuple[str, str, Callable[[], Any]]  # (client, label, read): a read to start at once


class Account(Protocol):
    """The reads of one account a kind recognises its own with (`preflight.quotas.usage.Reads`: each
    read is made once a run, however many counters and name checks ask)."""

    # Whether these tags are the stack's (tap:project, tap:environment): what the program sets.
    def owns(self, tags: Tags) -> bool: ...

    def ec2(self, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]: ...

    def nat_gateways(self) -> list[dict[str, Any]]: ...

    def looks_up_functions_by_name(self) -> bool: ...

    def account_function_names(self) -> frozenset[str]: ...

    def function(self, name: str) -> dict[str, Any] | None: ...

    def stream_summary(self, name: str) -> dict[str, Any] | None: ...

    def stream_tags(self, name: str) -> list[dict[str, str]]: ...

    def table_names(self) -> list[str]: ...

    def table_tags(self, name: str) -> list[dict[str, str]]: ...

    def bucket_names(self) -> list[str]: ...

    def bucket_tags(self, name: str) -> list[dict[str, str]]: ...

    def topic_arns(self) -> list[str]: ...

    def topic_tags(self, arn: str) -> list[dict[str, str]]: ...

    def role(self, name: str) -> dict[str, Any] | None: ...


# --- the program (Pulumi) -----------------------------------------------------------------------------


class Program(Protocol):
    """What a kind's `register` gets from the Pulumi component (`preflight.program.pipeline.Pipeline`)."""

    aws: Any  # the pulumi_aws module
    pulumi: Any  # the pulumi module
    child: Any  # ResourceOptions(parent=the component)
    made: dict[str, Any]  # what the kinds registered so far, by key (e.g. "vpc", "topics")

    def tags(self, name: str) -> dict[str, str]: ...

    def options(self, depends_on: list[Any]) -> Any: ...


# --- verify-program -------------------------------------------------------------------------------------


class Checker:
    """Collects violations, in the order the checks find them."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations

    def add(self, violation: str) -> None:
        self.violations.append(violation)

    def eq(self, label: str, what: str, got: Any, want: Any) -> None:
        if got != want:
            self.violations.append(f"{label}: {what} is {got!r}, the plan wants {want!r}")


@dataclass(frozen=True)
class Inventory:
    """The program's records, indexed as the checks look them up: by type and physical name."""

    records: list[dict[str, Any]]
    expected: Expected  # physical names per type, as the plan asks for them
    by_id: dict[str, dict[str, Any]]
    by_type: dict[str, dict[str, list[dict[str, Any]]]]
    id_by_record: dict[int, str]
    arn_by_record: dict[int, str]

    @classmethod
    def of(
        cls,
        records: list[dict[str, Any]],
        ids: list[str],
        arns: list[str],
        expected: Expected,
        physical_name: Callable[[dict[str, Any], dict[str, dict[str, Any]]], str | None],
        refuse: Callable[[dict[str, Any], str], None],
    ) -> Inventory:
        """Index `records`; `refuse(record, why)` for one the plan has no type for or with no name."""
        by_id = dict(zip(ids, records, strict=True))
        by_type: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for r in records:
            if r["type"] not in expected:
                refuse(r, "type")
                continue
            name = physical_name(r, by_id)
            if name is None:
                refuse(r, "name")
                continue
            by_type[r["type"]][name].append(r)
        return cls(
            records=records,
            expected=expected,
            by_id=by_id,
            by_type=by_type,
            id_by_record={id(r): i for r, i in zip(records, ids, strict=True)},
            arn_by_record={id(r): a for r, a in zip(records, arns, strict=True)},
        )

    def one(self, typ: str, name: str) -> dict[str, Any] | None:
        rs = self.by_type.get(typ, {}).get(name)
        return rs[0] if rs else None

    def id_of(self, typ: str, name: str) -> str | None:
        r = self.one(typ, name)
        return self.id_by_record[id(r)] if r else None

    def arn_of(self, typ: str, name: str) -> str | None:
        r = self.one(typ, name)
        return self.arn_by_record[id(r)] if r else None


# --- rehearse -------------------------------------------------------------------------------------------

Clients = Callable[..., Any]  # (service, region=None) -> a boto3 client of the emulated account
Created = tuple[str, dict[str, Any]]  # (id, outputs beyond the inputs)
Creator = Callable[[Any, dict[str, Any]], Created]  # (clients, the resource's inputs)
Updater = Callable[[Any, dict[str, Any]], "Created | None"]  # None: not the stack's, create it


class StepFailed(Exception):
    """An AWS call failed after part of the resource was made (e.g. a function without its reservation)."""

    def __init__(self, step: str, error: Any) -> None:
        err = error.response.get("Error", {})
        self.code = str(err.get("Code", "ClientError"))
        self.message = f"{step}: {err.get('Message', error)}"
        super().__init__(self.message)


def tag_list(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (inputs.get("tags") or {}).items()]


def tag_spec(kind: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    tags = tag_list(inputs)
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


def stack_tags(inputs: dict[str, Any]) -> dict[str, str]:
    """The stack's identifying tags among a resource's inputs."""
    tags = inputs.get("tags") or {}
    return {k: str(tags[k]) for k in (TAG_PROJECT, TAG_ENVIRONMENT) if k in tags}


def owned(found: dict[str, str] | list[dict[str, str]] | None, stack: dict[str, str]) -> bool:
    """Whether tags found in the account (a mapping or a Key/Value list) are the stack's."""
    tags = found if isinstance(found, dict) else {t.get("Key", ""): t.get("Value", "") for t in found or []}
    return bool(stack) and all(tags.get(k) == v for k, v in stack.items())


def not_found(exc: Any) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
