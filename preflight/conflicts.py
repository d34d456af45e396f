"""Deploy failures that are not quotas: names already taken, services not offered where the plan puts them.

A physically named resource (role, functions, stream, table, bucket, topic, alarms) is this stack's own
only on evidence: the Pulumi state lists it (`--stack-state`, preferred when given), or it carries the
stack's tags. Anything else with the stack's name is someone else's, and the deploy would fail on it
(role, function, stream, table, bucket), adopt it (an SNS topic), or silently overwrite it (an alarm).

Reading (`read_evidence`) is separate from judging (`checks_for`), so a snapshot carries the evidence
and an offline run judges it the same way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from preflight import kinds
from preflight.deployment import (
    TAG_ENVIRONMENT,
    TAG_PROJECT,
    Adaptation,
    Change,
    Deployment,
    EndpointPlan,
    Impact,
)
from preflight.kinds.base import AWS_DOCS, Found
from preflight.quotas import catalog
from preflight.report.report import CheckFinding
from preflight.support.errors import InputError

READ_WORKERS = 32  # a deploy has a dozen names or so; past 20 functions most answer from one listing

# The kinds whose names are checked, in the order of their rules (TAP-C001 ...): how findings are listed.
# Each says how (`NAME_CHECK`, `named` and `find` or `find_all` in `preflight/kinds/`).
_FINDERS = tuple(
    sorted((k for k in kinds.KINDS if k.NAME_CHECK is not None), key=lambda k: k.NAME_CHECK.rule)
)
_CHECKED = tuple(kind.NAME_CHECK for kind in _FINDERS)
if TYPE_CHECKING:
    ResourceType = str
else:  # their types ("role", "function", ...): a snapshot naming another is refused
    ResourceType = Literal[tuple(c.type for c in _CHECKED)]
Action = Literal["fail", "adopt", "overwrite"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Observed(Frozen):
    """What the account says about one name the stack will create."""

    type: ResourceType
    name: str
    exists: bool = False
    arn: str | None = None
    tags: dict[str, str] | None = None  # None: the resource has no tags, or they could not be read
    elsewhere: bool = False  # S3 only: the name is held by another account (HeadBucket answered, not 404)
    error: str | None = None  # the read failed: nothing is known about this name


class Evidence(Frozen):
    """Everything the checks need from the account; part of a snapshot."""

    resources: tuple[Observed, ...] = ()
    endpoint_zones: dict[str, tuple[str, ...]] = {}  # interface endpoint service name -> zones offered
    endpoint_error: str | None = None
    # The service names DescribeVpcEndpointServices was asked about: one asked but absent from
    # `endpoint_zones` is not offered; one never asked is unknown. None: a snapshot taken before this
    # was recorded (and before gateway endpoints' services were asked, for the interface fallback).
    endpoint_services_read: tuple[str, ...] | None = None


# --- the Pulumi stack's own state ------------------------------------------------------------------

# pulumi-aws type token -> our resource type. Ids and outputs differ per type (a stream's id is its ARN,
# a topic's too), so every identifier a resource carries is kept.
_PULUMI_TYPES: dict[str, ResourceType] = {token: c.type for c in _CHECKED for token in c.pulumi_types}
_IDENTITY_OUTPUTS = ("name", "arn", "bucket", "functionName")


@dataclass(frozen=True)
class StackState:
    """The names and ARNs a Pulumi stack's state holds, per resource type."""

    path: str
    owned: frozenset[tuple[ResourceType, str]]

    def owns(self, kind: ResourceType, name: str, arn: str | None) -> bool:
        return (kind, name) in self.owned or (arn is not None and (kind, arn) in self.owned)


def load_stack_state(path: str) -> StackState:
    """`pulumi stack export` JSON from a file (checkpoint version 3, or the bare `deployment` object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the stack state: {exc.strerror or exc}", file=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON stack export: {exc}", file=path) from None
    return parse_stack_state(data, path)


def parse_stack_state(data: Any, source: str) -> StackState:
    """A parsed `pulumi stack export` (a file's, or the Automation API's `export_stack`); `source`
    names it in messages. InputError (naming `source` as the file) when it is not one."""
    deployment = _deployment_of(data)
    # A stack that exists but holds nothing exports its deployment without `resources` (omitempty).
    resources = deployment.get("resources", []) if isinstance(deployment, dict) else None
    if not isinstance(resources, list):
        raise InputError("not a `pulumi stack export` file: no deployment.resources list", file=source)
    owned: set[tuple[ResourceType, str]] = set()
    for i, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise InputError("a resource is not an object", file=source, path=f"deployment.resources[{i}]")
        kind = _PULUMI_TYPES.get(str(resource.get("type", "")))
        if kind is None or resource.get("delete"):  # pending deletion: on its way out, not the stack's
            continue
        outputs = resource.get("outputs") or {}
        values = [resource.get("id"), *(outputs.get(k) for k in _IDENTITY_OUTPUTS)]
        owned.update((kind, v) for v in values if isinstance(v, str) and v)
    return StackState(path=source, owned=frozenset(owned))


def _deployment_of(data: Any) -> Any:
    """The checkpoint's `deployment`, or the bare deployment object (which always has a manifest)."""
    if not isinstance(data, dict):
        return None
    if "deployment" in data:
        return data["deployment"]
    return data if "manifest" in data or "resources" in data else None


# --- reading the account ---------------------------------------------------------------------------


def read_evidence(aws: Any, deployment: Deployment, reads: Any = None) -> Evidence:
    """Read what the account holds under each of the deployment's physical names (read-only calls).

    `reads` (a `usage.Reads` of the same run) shares the listings the usage counters make too.
    """
    from preflight.quotas.usage import Reads, Stack

    reads = reads or Reads(aws, Stack.of(deployment))
    d = deployment
    jobs = [job for kind in _FINDERS for job in _find_jobs(kind, aws, reads, d)]

    def zones() -> tuple[dict[str, tuple[str, ...]], str | None]:
        from preflight.account.aws import AwsCallError

        try:
            return _endpoint_zones(aws, d), None
        except AwsCallError as exc:
            return {}, str(exc)

    asked = tuple(endpoint_services_to_read(d))

    # Independent reads, in parallel: each is one or two calls, and a deploy has a dozen names.
    # A worker for each (up to READ_WORKERS): the batched names and zones must not queue behind the rest.
    with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(jobs) + 1), thread_name_prefix="names") as pool:
        named = [pool.submit(job) for job in jobs]
        zone_future = pool.submit(zones)
        found = [observed for future in named for observed in future.result()]
        zone_map, endpoint_error = zone_future.result()
    return Evidence(
        resources=tuple(found),
        endpoint_zones=zone_map,
        endpoint_error=endpoint_error,
        endpoint_services_read=asked,
    )


def _find_jobs(kind: Any, aws: Any, reads: Any, d: Deployment) -> list[Callable[[], list[Observed]]]:
    """The reads of one kind's names: one job a name (`find`), or one for them all (`find_all`)."""
    from preflight.account.aws import AwsCallError

    kind_type: ResourceType = kind.NAME_CHECK.type
    names = [name for name, _path in kind.named(d)]

    def observed(name: str, found: Found) -> Observed:
        return Observed(type=kind_type, name=name, **dataclasses.asdict(found))

    def read(names: list[str], finds: Callable[[], list[Found]]) -> list[Observed]:
        try:
            return [observed(name, found) for name, found in zip(names, finds(), strict=True)]
        except AwsCallError as exc:  # nothing is known about these names
            return [Observed(type=kind_type, name=name, error=str(exc)) for name in names]

    if hasattr(kind, "find_all"):
        return [lambda: read(names, lambda: kind.find_all(aws, reads, names))] if names else []
    return [lambda n=n: read([n], lambda: [kind.find(aws, reads, n)]) for n in names]


def endpoint_service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def endpoint_services_to_read(d: Deployment) -> list[str]:
    """Every endpoint's service name, gateway endpoints' too: plan --adapt may stand an interface
    endpoint of their service in for one (vpc-with-interface-endpoints)."""
    return sorted({endpoint_service_name(d.region, e.service) for e in d.endpoints})


def _endpoint_zones(aws: Any, d: Deployment) -> dict[str, tuple[str, ...]]:
    from preflight.account.aws import call

    # S3 and DynamoDB list a gateway and an interface service under one name: only the interface
    # one's zones matter.
    wanted = endpoint_services_to_read(d)
    if not wanted:
        return {}
    answer = call(aws.client("ec2"), "DescribeVpcEndpointServices", ServiceNames=wanted)
    return {
        s["ServiceName"]: tuple(sorted(s.get("AvailabilityZones") or ()))
        for s in answer.get("ServiceDetails", [])
        if s.get("ServiceName") in wanted and _offers_interface(s)
    }


def _offers_interface(detail: dict[str, Any]) -> bool:
    types = [t.get("ServiceType") for t in detail.get("ServiceType") or () if isinstance(t, dict)]
    return not types or "Interface" in types


# --- judging ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    kind: Literal["conflict", "availability"]
    title: str
    help: str
    help_uri: str = ""


_RUNTIMES = catalog.RUNTIMES_SOURCE
_NAMES_NOT_CHECKED = Rule(
    "TAP-C000",
    "conflict",
    "Names not checked",
    "Who owns the stack's physical names could not be read; the gate fails closed.",
    "https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_export/",
)
# One rule a kind whose names are checked (TAP-C001 ...: its NAME_CHECK), then the availability rules.
_NAME_RULES = tuple(Rule(c.rule, "conflict", c.title, c.help, c.help_uri) for c in _CHECKED)
_AVAILABILITY_RULES = (
    Rule(
        "TAP-A001",
        "availability",
        "Endpoint service not offered in a planned zone",
        "An interface endpoint can only have subnets in the zones its service is offered in "
        "(DescribeVpcEndpointServices).",
        f"{AWS_DOCS}/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html",
    ),
    Rule(
        "TAP-A002",
        "availability",
        "Lambda runtime deprecated or blocked",
        f"Lambda blocks creates, then updates, of a deprecated runtime ({_RUNTIMES}).",
        _RUNTIMES,
    ),
)
RULES: dict[str, Rule] = {r.id: r for r in (_NAMES_NOT_CHECKED, *_NAME_RULES, *_AVAILABILITY_RULES)}

_RULE_OF: dict[ResourceType, str] = {c.type: c.rule for c in _CHECKED}
_ERROR_OF: dict[ResourceType, str] = {c.type: c.fails_with for c in _CHECKED if c.fails_with}
_LABEL: dict[ResourceType, str] = {c.type: c.label for c in _CHECKED}


def owner_text(tags: dict[str, str] | None) -> str:
    if not tags:
        return "untagged"
    if TAG_PROJECT in tags:
        return f"stack {tags[TAG_PROJECT]}/{tags.get(TAG_ENVIRONMENT, '?')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items())[:4])


def _own_by_tags(deployment: Deployment, tags: dict[str, str] | None) -> bool:
    return bool(tags) and all(tags.get(k) == v for k, v in deployment.tags.items())


def _paths(deployment: Deployment) -> dict[tuple[ResourceType, str], str]:
    """(type, physical name) -> the manifest path that names it, for every kind's checked names."""
    return {
        (kind.NAME_CHECK.type, name): path
        for kind in kinds.KINDS
        if kind.NAME_CHECK is not None
        for name, path in kind.named(deployment)
    }


def _fix(name: str) -> str:
    return (
        f"pulumi import it if it is this stack's, rename it with the manifest's namePrefix, "
        f"or delete {name} if unused"
    )


def conflict_checks(
    deployment: Deployment, evidence: Evidence, stack_state: StackState | None = None
) -> list[CheckFinding]:
    """One finding per physical name held by something that is not this stack's."""
    paths = _paths(deployment)
    out: list[CheckFinding] = []
    for seen in evidence.resources:
        path = paths.get((seen.type, seen.name))
        if path is None:  # evidence of a name this deployment no longer has (an older snapshot)
            continue
        rule = RULES[_RULE_OF[seen.type]]
        label = f"{_LABEL[seen.type]} {seen.name}"
        if seen.error:
            out.append(
                _finding(
                    rule, "UNKNOWN", f"{label}: could not tell who owns the name ({seen.error})", path, seen
                )
            )
            continue
        if seen.elsewhere:
            out.append(
                _finding(
                    rule,
                    "FAIL",
                    f"{label}: the name is held by another AWS account (bucket names are global); "
                    "CreateBucket would fail with BucketAlreadyExists (HeadBucket did not answer 404; "
                    "it answers 403 for any name if this identity lacks s3:ListBucket: then it needs "
                    "s3:ListBucket)",
                    path,
                    seen,
                    owner="another AWS account",
                    action="fail",
                    fix="rename it with the manifest's namePrefix",
                )
            )
            continue
        if not seen.exists:
            continue
        if stack_state is not None:
            if stack_state.owns(seen.type, seen.name, seen.arn):
                continue
            evidence_text = f"not in the stack state {stack_state.path}"
        elif _own_by_tags(deployment, seen.tags):
            continue
        else:
            evidence_text = (
                f"not tagged {TAG_PROJECT}={deployment.project}, {TAG_ENVIRONMENT}={deployment.environment}"
            )
        out.append(_name_conflict(rule, seen, label, path, evidence_text, deployment))
    return out


def _name_conflict(
    rule: Rule, seen: Observed, label: str, path: str, evidence_text: str, deployment: Deployment
) -> CheckFinding:
    owner = owner_text(seen.tags)
    fix = _fix(seen.name)
    if seen.type == "topic":
        if seen.tags and seen.tags != deployment.tags:
            message = (
                f"{label} exists ({owner}; {evidence_text}) with other tags: CreateTopic would fail "
                "(a topic with the same name and different tags)"
            )
            return _finding(rule, "FAIL", message, path, seen, owner=owner, action="fail", fix=fix)
        message = (
            f"{label} exists ({owner}; {evidence_text}): CreateTopic returns it and the stack adopts "
            "a topic another stack may use"
        )
        return _finding(rule, "WARN", message, path, seen, owner=owner, action="adopt", fix=fix)
    if seen.type == "alarm":
        message = (
            f"{label} exists ({owner}; {evidence_text}): PutMetricAlarm would silently overwrite "
            "another stack's alarm"
        )
        return _finding(rule, "FAIL", message, path, seen, owner=owner, action="overwrite", fix=fix)
    message = f"{label} exists ({owner}; {evidence_text}): the create would fail with {_ERROR_OF[seen.type]}"
    return _finding(rule, "FAIL", message, path, seen, owner=owner, action="fail", fix=fix)


def _finding(
    rule: Rule,
    status: Literal["WARN", "FAIL", "UNKNOWN"],
    message: str,
    path: str,
    seen: Observed | None = None,
    *,
    owner: str | None = None,
    action: Action | None = None,
    fix: str = "",
    names: tuple[str, ...] = (),
) -> CheckFinding:
    return CheckFinding(
        kind=rule.kind,
        id=rule.id,
        title=rule.title,
        status=status,
        message=message,
        resources=(path,) if path else (),
        names=names or ((seen.arn or seen.name,) if seen else ()),
        owner=owner,
        action=action,
        fix=fix,
    )


def endpoint_zone_checks(deployment: Deployment, evidence: Evidence) -> list[CheckFinding]:
    """Interface endpoints whose service is not offered in every zone the VPC's subnets use."""
    rule = RULES["TAP-A001"]
    interface = [e for e in deployment.endpoints if e.type == "interface"]
    if not interface:
        return []
    planned = set(deployment.vpc.azs)
    out = []
    for e in interface:
        service = endpoint_service_name(deployment.region, e.service)
        if evidence.endpoint_error:
            out.append(
                _finding(
                    rule,
                    "UNKNOWN",
                    f"{service}: zones not read ({evidence.endpoint_error})",
                    e.path,
                    names=(e.name, service),
                )
            )
            continue
        offered = evidence.endpoint_zones.get(service)
        if offered is None and service not in (evidence.endpoint_services_read or ()):
            out.append(_zones_not_in_snapshot(rule, e, service))
            continue
        if offered is None:
            message = f"{service} is not offered in {deployment.region}: CreateVpcEndpoint would fail"
            out.append(
                _finding(
                    rule,
                    "FAIL",
                    message,
                    e.path,
                    names=(e.name, service),
                    action="fail",
                    fix="drop the endpoint, or use a NAT gateway",
                )
            )
            continue
        missing = sorted(planned - set(offered))
        if missing:
            message = (
                f"{service} is not offered in {', '.join(missing)}: CreateVpcEndpoint would fail for "
                f"subnets there; zones that would work: {', '.join(offered)}"
            )
            out.append(
                _finding(
                    rule,
                    "FAIL",
                    message,
                    e.path,
                    names=(e.name, service),
                    action="fail",
                    fix=f"place the VPC's subnets in zones among {', '.join(offered)}",
                )
            )
    return out


def _zones_not_in_snapshot(rule: Rule, e: EndpointPlan, service: str) -> CheckFinding:
    """An interface endpoint whose service the evidence never asked about: a snapshot taken before
    its zones were read (for the interface fallback of a gateway endpoint) or for another manifest.
    Unknown, not "not offered": it fails closed, and says how to get the evidence."""
    return _finding(
        rule,
        "UNKNOWN",
        f"{service}: the snapshot holds no evidence of the zones where it is offered (taken before "
        "tap-preflight read them for this endpoint, e.g. for the interface fallback of a gateway "
        "endpoint); take the snapshot again",
        e.path,
        names=(e.name, service),
        fix="take the snapshot again with this version of tap-preflight (`tap-preflight snapshot`)",
    )


def runtime_checks(deployment: Deployment, evidence: Evidence | None, today: date) -> list[CheckFinding]:
    """A runtime past its deprecation date: WARN with the dates; FAIL once Lambda blocks the operation
    the deploy needs (create for a new function, update for one that exists)."""
    rule = RULES["TAP-A002"]
    existing = {o.name for o in (evidence.resources if evidence else ()) if o.type == "function" and o.exists}
    out = []
    for f in deployment.functions:
        runtime = catalog.RUNTIME_BY_ID.get(f.runtime)
        if runtime is None or runtime.deprecation is None or today < runtime.deprecation:
            continue
        update = f.name in existing
        blocked_on = runtime.block_update if update else runtime.block_create
        operation = "updates" if update else "creates"
        dates = (
            f"deprecated {runtime.deprecation}, creates blocked from {runtime.block_create}, "
            f"updates blocked from {runtime.block_update} ({catalog.RUNTIMES_SOURCE})"
        )
        blocked = blocked_on is not None and today >= blocked_on
        status: Literal["WARN", "FAIL"] = "FAIL" if blocked else "WARN"
        verb = (
            f"Lambda refuses {operation} of it" if blocked else "Lambda will refuse creates and then updates"
        )
        message = f"function {f.name} uses {f.runtime}: {dates}; {verb}"
        out.append(
            _finding(
                rule,
                status,
                message,
                f.path,
                names=(f.name,),
                action="fail" if blocked else None,
                fix=f"move to {runtime.replacement} (lambda.runtime in the manifest)",
            )
        )
    return out


def checks_for(
    deployment: Deployment,
    evidence: Evidence | None,
    *,
    stack_state: StackState | None = None,
    today: date | None = None,
) -> tuple[CheckFinding, ...]:
    """Every non-quota finding for `deployment`, in rule order. No evidence (a snapshot taken before
    these checks existed): one UNKNOWN, since names could not be checked (fail closed)."""
    today = today or date.today()
    found = runtime_checks(deployment, evidence, today)
    if evidence is None:
        message = "the account state holds no evidence of who owns the stack's names (an older snapshot?)"
        fix = "take the snapshot again with this version of tap-preflight"
        found.append(_finding(RULES["TAP-C000"], "UNKNOWN", message, "", fix=fix))
    else:
        found += conflict_checks(deployment, evidence, stack_state)
        found += endpoint_zone_checks(deployment, evidence)
    return tuple(sorted(found, key=lambda c: c.id))


# --- placing the VPC where its endpoint services are offered ---------------------------------------


def offered_zones(
    account_azs: tuple[str, ...], deployment: Deployment, evidence: Evidence | None
) -> tuple[str, ...]:
    """The account's zones (in its order) where every planned interface endpoint service is offered."""
    services = {
        endpoint_service_name(deployment.region, e.service)
        for e in deployment.endpoints
        if e.type == "interface"
    }
    if evidence is None or evidence.endpoint_error or not services:
        return account_azs
    offered = [set(evidence.endpoint_zones.get(s, ())) for s in services]
    return tuple(z for z in account_azs if all(z in zones for zones in offered))


def zone_placement(
    account_azs: tuple[str, ...], requested: Deployment, evidence: Evidence | None, line: int | None = None
) -> tuple[tuple[str, ...], Adaptation | None]:
    """Zones for the VPC: the account's, unless a planned endpoint service is missing from some of the
    requested ones and enough other zones offer them all; then those, with the adaptation that says so.
    Too few such zones: the account's (TAP-A001 then fails, naming the zones that would work)."""
    usable = offered_zones(account_azs, requested, evidence)
    wanted = len(requested.vpc.azs)
    if set(requested.vpc.azs) <= set(usable) or len(usable) < wanted:
        return account_azs, None
    chosen = usable[:wanted]
    services = sorted({e.service for e in requested.endpoints if e.type == "interface"})
    adaptation = Adaptation(
        id="zones-for-endpoint-services",
        title="Place the VPC in zones that offer its endpoint services",
        quota_code=None,
        quota_name=None,
        reason=(
            f"interface endpoint service(s) {', '.join(services)} are not offered in "
            f"{', '.join(sorted(set(requested.vpc.azs) - set(usable)))} (DescribeVpcEndpointServices)"
        ),
        changes=(Change(path="vpc.azs", before=list(requested.vpc.azs), after=list(chosen), line=line),),
        impact=Impact(
            cost="none: the same number of zones",
            security="none",
            performance="none: zones of the same region",
        ),
    )
    return chosen + tuple(z for z in usable if z not in chosen), adaptation
