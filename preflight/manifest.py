"""The manifest: what the pipeline wants, per environment, and what may be degraded to fit an account.

`load_manifest(path, env)` reads the YAML (safely, with a line map), applies the environment profile,
validates it with the models below (unknown keys are errors) and returns a `Manifest`. Every error
names the file, the line and the field path.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from preflight import privatelink
from preflight.bounds import (
    AlarmPeriodS,
    AlarmThreshold,
    EvaluationPeriods,
    MemoryMb,
    Port,
    ReservedConcurrency,
    RetentionHours,
    Shards,
    TimeoutS,
    Weight,
)
from preflight.errors import InputError
from preflight.fileio import input_name
from preflight.model import (
    BASIC_EXECUTION_POLICY,
    ENDPOINT_ONLY_MODES,
    VPC_ACCESS_POLICY,
    AlarmPlan,
    BucketPlan,
    Deployment,
    EndpointPlan,
    FunctionPlan,
    NetworkMode,
    RolePlan,
    Rule,
    SecurityGroupPlan,
    StreamPlan,
    SubnetPlan,
    TablePlan,
    TopicPlan,
    VpcPlan,
)
from preflight.project import manifest_dir, project_root, source_problem
from preflight.yamlio import (
    LineMap,
    PathKey,
    collect,
    parse_yaml,
    pydantic_errors_to_input_error,
    read_text_file,
    suggest,
)

Name = str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# Logical names: the physical name adds namePrefix and the environment (`pipeline-ingest-prod`).
_LOGICAL = "Logical name; the AWS name adds namePrefix and the environment (pipeline-<name>-<env>)."
_SERVICES = "s3, dynamodb or kinesis-streams"


class RuleSpec(Strict):
    """One security group rule."""

    protocol: str = Field(
        "tcp", description="IP protocol: tcp, udp, icmp or -1 (all).", examples=["tcp", "-1"]
    )
    from_port: Port = Field(
        0,
        alias="fromPort",
        ge=-1,
        le=65535,
        description="First port of the range (-1 or 0 with protocol -1: all ports).",
        examples=[443],
    )
    to_port: Port = Field(
        0, alias="toPort", ge=-1, le=65535, description="Last port of the range, inclusive.", examples=[443]
    )
    cidr: str = Field(
        "0.0.0.0/0", description="IPv4 or IPv6 range the rule allows.", examples=["10.0.0.0/16"]
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        ipaddress.ip_network(value, strict=False)
        return value


class VpcSpec(Strict):
    """The stack's VPC: one private subnet per availability zone, plus public ones if asked."""

    name: Name = Field("vpc", description=_LOGICAL)
    cidr: str = Field(
        "10.0.0.0/16",
        description="IPv4 range of the VPC, /16 to /24; subnets are carved from it.",
        examples=["10.0.0.0/16"],
    )
    az_count: int = Field(
        2,
        alias="azCount",
        ge=1,
        le=6,
        description="Availability zones to span (subnets per kind).",
        examples=[2],
    )
    public_subnets: bool = Field(
        True,
        alias="publicSubnets",
        description="Create public subnets and an internet gateway (needed by vpc-with-nat).",
    )
    optional: bool = Field(
        False,
        description=(
            "plan --adapt may leave the VPC out (with its subnets, route tables and internet gateway) "
            "when no function stays in it and no endpoint needs it, which also frees the VPC and "
            "internet gateway quota they would hold. A deployment that fits as requested keeps it."
        ),
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)
        if net.version != 4 or not 16 <= net.prefixlen <= 24:
            raise ValueError("must be an IPv4 CIDR between /16 and /24")
        return value


class EndpointSpec(Strict):
    """A VPC endpoint the functions reach an AWS service through (counts against the VPC endpoint quotas)."""

    name: Name = Field(description=_LOGICAL, examples=["s3"])
    service: Literal["s3", "dynamodb", "kinesis-streams"] = Field(
        description=f"AWS service the endpoint serves: {_SERVICES}."
    )
    type: Literal["gateway", "interface"] = Field(
        description="gateway (s3, dynamodb only) or interface (an ENI per zone; needs securityGroup)."
    )
    optional: bool = Field(
        True,
        description="plan --adapt may drop it when the account has no room (functions then leave the VPC).",
    )
    security_group: Name | None = Field(
        None,
        alias="securityGroup",
        description="Name of an entry of securityGroups attached to an interface endpoint.",
        examples=["endpoints"],
    )

    @model_validator(mode="after")
    def _type_matches(self) -> EndpointSpec:
        if self.type == "gateway" and self.service not in ("s3", "dynamodb"):
            raise ValueError(f"{self.service} has no gateway endpoint; use type: interface")
        if self.type == "interface" and not self.security_group:
            raise ValueError("an interface endpoint needs a securityGroup")
        return self


class SecurityGroupSpec(Strict):
    """A security group of the stack's VPC."""

    name: Name = Field(description=_LOGICAL, examples=["lambda"])
    description: str = Field(
        "", description="The group's description in AWS (default: derived from its name)."
    )
    ingress: list[RuleSpec] = Field(
        default_factory=list, max_length=1000, description="Inbound rules (none: nothing may connect in)."
    )
    egress: list[RuleSpec] = Field(default_factory=list, max_length=1000, description="Outbound rules.")


class NetworkingPolicy(Strict):
    """Where the functions run, best first, and what plan --adapt may fall back to."""

    # First entry is what the manifest requests; the rest are allowed fallbacks, best first.
    preference: list[NetworkMode] = Field(
        default_factory=lambda: ["vpc-with-endpoints", "no-vpc"],
        min_length=1,
        description=(
            "Networking modes allowed, best first: vpc-with-endpoints, vpc-with-interface-endpoints "
            "(S3/DynamoDB through interface endpoints instead of gateway endpoints: about $7.30/month per "
            "AZ each, per-VPC quota instead of the regional gateway quota), vpc-with-nat, no-vpc. "
            "The first is what check evaluates; plan --adapt tries the others in order."
        ),
        examples=[["vpc-with-endpoints", "no-vpc"]],
    )
    security_group: Name = Field(
        "lambda",
        alias="securityGroup",
        description="Name of the securityGroups entry attached to VPC-attached functions.",
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        "single",
        alias="natGateways",
        description="With vpc-with-nat: one NAT gateway (cheaper) or one per availability zone (resilient).",
    )
    interface_security_group: Name | None = Field(
        None,
        alias="interfaceSecurityGroup",
        description=(
            "With vpc-with-interface-endpoints: name of the securityGroups entry attached to the S3 and "
            "DynamoDB interface endpoints that replace the gateway endpoints (it must allow HTTPS from "
            "the functions)."
        ),
        examples=["endpoints"],
    )

    @field_validator("preference")
    @classmethod
    def _unique(cls, value: list[NetworkMode]) -> list[NetworkMode]:
        if len(set(value)) != len(value):
            raise ValueError("each networking mode may appear once")
        return value


class ConcurrencyPolicy(Strict):
    """How reserved concurrency is shared when the account cannot reserve what the functions ask."""

    # water-fill: share what the account can still reserve, weights and floors respected.
    sharing: Literal["water-fill", "none"] = Field(
        "water-fill",
        description=(
            "water-fill: share what the account can still reserve by weight, each floor kept; "
            "none: each function gets its full request or no reservation."
        ),
    )
    when_floors_do_not_fit: Literal["drop-reservations", "no-go"] = Field(
        "drop-reservations",
        alias="whenFloorsDoNotFit",
        description=(
            "When even the floors (minReservedConcurrency) do not fit: drop reservations, lowest weight "
            "first (drop-reservations), or give NO_GO (no-go)."
        ),
    )


class LambdaSpec(Strict):
    """Settings shared by every function."""

    runtime: str = Field(
        "python3.11", description="Lambda runtime of every function.", examples=["python3.11"]
    )
    networking: NetworkingPolicy = Field(
        default_factory=NetworkingPolicy, description="Where the functions run, and the allowed fallbacks."
    )
    concurrency: ConcurrencyPolicy = Field(
        default_factory=ConcurrencyPolicy, description="How reserved concurrency is shared when short."
    )


class FunctionSpec(Strict):
    """A Lambda function of the pipeline."""

    name: Name = Field(description=_LOGICAL, examples=["ingest"])
    source: str = Field(
        description="Handler source file, relative to the manifest's folder.",
        examples=["../handlers/ingest.py"],
    )
    handler: str = Field(
        "index.handler", description="Entry point, module.function.", examples=["ingest.handler"]
    )
    memory_mb: MemoryMb = Field(
        512, alias="memoryMb", ge=128, le=10240, description="Memory, in MB (128 to 10240).", examples=[1024]
    )
    timeout_s: TimeoutS = Field(
        60, alias="timeoutS", ge=1, le=900, description="Timeout, in seconds (1 to 900).", examples=[60]
    )
    # None: no reservation. 0 is refused: it would throttle the function completely.
    reserved_concurrency: ReservedConcurrency | None = Field(
        None,
        alias="reservedConcurrency",
        ge=1,
        le=100_000,
        description=(
            "Concurrent executions reserved for this function (taken from the account's pool, which keeps "
            "100 unreserved). Omit for none; 0 is refused (it would stop the function)."
        ),
        examples=[100],
    )
    min_reserved_concurrency: ReservedConcurrency = Field(
        1,
        alias="minReservedConcurrency",
        ge=1,
        le=100_000,
        description="The least reservation plan --adapt may give it (its floor), in concurrent executions.",
        examples=[5],
    )
    reservation_required: bool = Field(
        False,
        alias="reservationRequired",
        description="Never drop this reservation to make the others fit (NO_GO instead).",
    )
    weight: Weight = Field(
        1.0,
        gt=0,
        le=1000,
        description="Relative share of the reservable pool (water-fill); lowest weights are dropped first.",
        examples=[1.0],
    )
    uses: list[Literal["s3", "dynamodb", "kinesis-streams"]] = Field(
        default_factory=list,
        description=f"AWS services it calls ({_SERVICES}); in the VPC each needs an endpoint or a NAT.",
        examples=[["kinesis-streams", "dynamodb"]],
    )

    @model_validator(mode="after")
    def _floor_below_request(self) -> FunctionSpec:
        if (
            self.reserved_concurrency is not None
            and self.min_reserved_concurrency > self.reserved_concurrency
        ):
            raise ValueError("minReservedConcurrency must not exceed reservedConcurrency")
        return self


class StreamSpec(Strict):
    """A Kinesis data stream of the pipeline."""

    name: Name = Field(description=_LOGICAL, examples=["events"])
    shards: Shards = Field(
        1,
        ge=1,
        le=10_000,
        description="Shards of the stream (counts against the account's shard quota).",
        examples=[4],
    )
    retention_hours: RetentionHours = Field(
        24,
        alias="retentionHours",
        ge=24,
        le=8760,
        description="Record retention, in hours (24 to 8760).",
        examples=[24],
    )


class TableSpec(Strict):
    """A DynamoDB table of the pipeline."""

    name: Name = Field(description=_LOGICAL, examples=["state"])
    hash_key: str = Field("pk", alias="hashKey", description="Partition key attribute (a string).")
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = Field(
        "PAY_PER_REQUEST",
        alias="billingMode",
        description="On-demand (PAY_PER_REQUEST) or PROVISIONED capacity.",
    )


class BucketSpec(Strict):
    """An S3 bucket of the pipeline (its name is global: another account may hold it)."""

    name: Name = Field(description=_LOGICAL, examples=["archive"])


class TopicSpec(Strict):
    """An SNS topic alarms notify."""

    name: Name = Field(description=_LOGICAL, examples=["alarms"])


class AlarmSpec(Strict):
    """A CloudWatch alarm, notifying the topic."""

    name: Name = Field(description=_LOGICAL, examples=["ingest-errors"])
    namespace: str = Field(description="CloudWatch namespace of the metric.", examples=["AWS/Lambda"])
    metric: str = Field(description="Metric name.", examples=["Errors"])
    function: Name | None = Field(
        None, description="Name of a function of this manifest: the metric's FunctionName dimension."
    )
    stream: Name | None = Field(
        None,
        description="Name of a stream of this manifest (streams[].name): the metric's StreamName dimension.",
        examples=["events"],
    )
    statistic: Literal["Sum", "Average", "Maximum", "Minimum", "SampleCount"] = Field(
        "Sum", description="Statistic compared with the threshold."
    )
    threshold: AlarmThreshold = Field(
        description="Value the statistic is compared with, in the metric's unit.", examples=[1]
    )
    period_s: AlarmPeriodS = Field(
        60,
        alias="periodS",
        ge=10,
        le=86400,
        description="Period of the statistic, in seconds.",
        examples=[60],
    )
    evaluation_periods: EvaluationPeriods = Field(
        1,
        alias="evaluationPeriods",
        ge=1,
        le=100,
        description="Periods that must breach before the alarm fires.",
    )
    comparison: Literal[
        "GreaterThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
    ] = Field(
        "GreaterThanOrEqualToThreshold", description="How the statistic is compared with the threshold."
    )
    topic: Name = Field(
        description="Name of a topic of this manifest (topics[].name), notified on alarm.",
        examples=["alarms"],
    )

    @field_validator("stream", mode="before")
    @classmethod
    def _stream_is_named(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(
                "an alarm names the stream it watches since manifest version 2: "
                "write stream: <the name of a streams entry> (e.g. stream: events)"
            )
        return value

    @model_validator(mode="after")
    def _one_dimension(self) -> AlarmSpec:
        if self.function and self.stream:
            raise ValueError("an alarm watches a function or a stream, not both")
        return self


class RoleSpec(Strict):
    """The functions' execution role."""

    name: Name = Field("lambda", description=_LOGICAL)
    # The execution policy (basic or VPC access) follows the Lambda networking; these come on top.
    extra_managed_policies: list[str] = Field(
        default_factory=list,
        alias="extraManagedPolicies",
        max_length=20,
        description="Managed policy ARNs attached on top of the execution policy (which follows networking).",
        examples=[["arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"]],
    )


class ManifestDoc(Strict):
    """What the TAP pipeline wants, per environment, and what plan --adapt may degrade to fit an account."""

    version: Literal[2] = Field(
        description=(
            "Manifest format version: 2 (lists per resource kind: streams, tables, buckets, topics). "
            "Version 1 (one stream, table, bucket, topic) is refused with what to write instead."
        ),
        examples=[2],
    )
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,40}$",
        description="Project name (lowercase, digits, -): tags every resource (tap:project).",
        examples=["tap-pipeline"],
    )
    name_prefix: str = Field(
        "pipeline",
        alias="namePrefix",
        pattern=r"^[a-z][a-z0-9-]{0,20}$",
        description="Prefix of every AWS resource name.",
        examples=["pipeline"],
    )
    region: str = Field(
        "us-east-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
        description="AWS region to deploy to (--region overrides).",
        examples=["us-east-1"],
    )
    default_environment: str = Field(
        "prod",
        alias="defaultEnvironment",
        description="Environment profile used without --env.",
        examples=["prod"],
    )
    vpc: VpcSpec = Field(default_factory=VpcSpec, description="The stack's VPC.")
    security_groups: list[SecurityGroupSpec] = Field(
        default_factory=list, alias="securityGroups", description="Security groups of the VPC, by name."
    )
    endpoints: list[EndpointSpec] = Field(
        default_factory=list, max_length=1000, description="VPC endpoints for the functions' AWS services."
    )
    lambda_: LambdaSpec = Field(
        default_factory=LambdaSpec,
        alias="lambda",
        description="Settings and policies shared by the functions.",
    )
    functions: list[FunctionSpec] = Field(
        min_length=1, max_length=5000, description="The pipeline's Lambda functions (at least one)."
    )
    streams: list[StreamSpec] = Field(
        default_factory=list, max_length=1000, description="Kinesis data streams, by name."
    )
    tables: list[TableSpec] = Field(
        default_factory=list, max_length=1000, description="DynamoDB tables, by name."
    )
    buckets: list[BucketSpec] = Field(
        default_factory=list, max_length=1000, description="S3 buckets, by name."
    )
    topics: list[TopicSpec] = Field(
        default_factory=list, max_length=1000, description="SNS topics alarms notify, by name."
    )
    alarms: list[AlarmSpec] = Field(
        default_factory=list, max_length=5000, description="CloudWatch alarms, each created once."
    )
    role: RoleSpec = Field(default_factory=RoleSpec, description="The IAM role the functions run as.")
    environments: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Environment profiles (--env NAME): overrides deep-merged into the fields above. Lists of "
            'named items are overridden by name; "*" applies to every item.'
        ),
        examples=[
            {"test": {"streams": {"events": {"shards": 2}}, "functions": {"*": {"reservedConcurrency": 10}}}}
        ],
    )


@dataclass(frozen=True)
class Manifest:
    path: str
    sha256: str
    environment: str
    doc: ManifestDoc
    linemap: LineMap

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def base_dir(self) -> Path:
        return manifest_dir(self.path)

    @property
    def project_root(self) -> Path:
        """The project the manifest belongs to (`preflight.project`): its sources stay inside it."""
        return project_root(self.base_dir)

    def line_of(self, path: str) -> int | None:
        return self.linemap.line_of(_parse_path(path))

    def requested(self, region: str, azs: tuple[str, ...]) -> Deployment:
        """The deployment exactly as the manifest asks for it, placed in `region` on `azs`."""
        return resolve(self, region, azs)


# --- loading -------------------------------------------------------------------------------------

_NAMED_LISTS = (
    "functions",
    "endpoints",
    "alarms",
    "securityGroups",
    "streams",
    "tables",
    "buckets",
    "topics",
)


def _merge(
    base: Any, override: Any, path: PathKey, base_lines: LineMap, over_lines: LineMap, over_path: PathKey
) -> Any:
    """Deep-merge an environment profile into the manifest, keeping line numbers of what it set."""
    base_lines.lines[path] = over_lines.line_of(over_path) or base_lines.lines.get(path, 0)
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value, (*path, key), base_lines, over_lines, (*over_path, key))
        return out
    if isinstance(base, list) and isinstance(override, dict) and path and path[-1] in _NAMED_LISTS:
        # Named lists are overridden by name; "*" applies to every item.
        names = [item.get("name") for item in base if isinstance(item, dict)]
        for key in override:
            if key != "*" and key not in names:
                raise over_lines.error(
                    (*over_path, key),
                    f"no {path[-1]} entry named {key!r} to override"
                    + suggest(str(key), [str(n) for n in names], "the names are"),
                )
        out_list = []
        for i, item in enumerate(base):
            merged = item
            for key in ("*", item.get("name") if isinstance(item, dict) else None):
                if key in override:
                    merged = _merge(
                        merged, override[key], (*path, i), base_lines, over_lines, (*over_path, key)
                    )
            out_list.append(merged)
        return out_list
    base_lines.origins[path] = over_path  # errors in this value point at the override
    return copy.deepcopy(override)


# --- the format version ----------------------------------------------------------------------------

MANIFEST_VERSION = 2
# Version 1 had one of each of these (with these default names); version 2 lists them by name.
_VERSION_1_KINDS = {
    "stream": ("streams", "events"),
    "table": ("tables", "state"),
    "bucket": ("buckets", "archive"),
    "topic": ("topics", "alarms"),
}


def _check_version(data: dict[Any, Any], envs: dict[Any, Any], linemap: LineMap) -> None:
    """One error for a manifest in an older shape, naming what to write instead (before validation,
    which would bury it among a dozen unknown keys)."""
    for key, (plural, default) in _VERSION_1_KINDS.items():
        if key in data:
            item = _flow({"name": default, **(data[key] if isinstance(data[key], dict) else {})})
            raise linemap.error(
                (key,),
                f"`{key}:` is the version-1 shape; version 2 lists each kind by name: write "
                f"`version: {MANIFEST_VERSION}` and `{plural}: [{item}]`",
            )
        for env, profile in envs.items():
            if isinstance(profile, dict) and key in profile:
                sizing = _flow(profile[key]) if isinstance(profile[key], dict) else "{...}"
                raise linemap.error(
                    ("environments", env, key),
                    f"`{key}:` is the version-1 shape; override a {key} by name, as functions are: "
                    f"`{plural}: {{{default}: {sizing}}}` (with the name of its {plural} entry)",
                )
    if "version" not in data:
        raise InputError(
            f"no `version`: this is the version-1 shape; write `version: {MANIFEST_VERSION}` at the top, "
            "and streams, tables, buckets and topics as lists of named items",
            file=linemap.file,
            line=1,
            path="version",
        )
    version = data["version"]
    if version != MANIFEST_VERSION:
        raise linemap.error(
            ("version",),
            f"manifest version {version!r} is not supported: this tap-preflight reads version "
            f"{MANIFEST_VERSION}",
        )


def _flow(mapping: dict[Any, Any]) -> str:
    """A mapping as one line of YAML flow style, for a message."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


def load_manifest(path: str, environment: str | None = None) -> Manifest:
    text = read_text_file(path, "manifest")  # read once: `-` (stdin) cannot be read twice
    data, linemap = parse_yaml(text, input_name(path), "manifest")
    if not isinstance(data, dict):
        raise InputError("manifest must be a mapping at the top level", file=path, line=1)
    envs = data.get("environments") or {}
    if not isinstance(envs, dict):
        raise linemap.error(("environments",), "must be a mapping of environment name to overrides")
    _check_version(data, envs, linemap)
    env = environment or data.get("defaultEnvironment") or "prod"
    if envs and env not in envs:
        defined = sorted(map(str, envs))
        raise InputError(
            f"environment {env!r} is not defined (defined: {', '.join(defined)})"
            + suggest(str(env), defined, ""),
            file=path,
            line=linemap.line_of(("environments",)),
            path="environments",
        )
    profile = envs.get(env) or {}
    if not isinstance(profile, dict):
        raise linemap.error(("environments", env), "an environment profile must be a mapping")
    if "environments" in profile:
        raise linemap.error(("environments", env, "environments"), "profiles cannot nest")
    try:
        merged = _merge(
            {k: v for k, v in data.items() if k != "environments"},
            profile,
            (),
            linemap,
            linemap,
            ("environments", env),
        )
    except (TypeError, AttributeError) as exc:
        raise linemap.error(("environments", env), f"cannot apply profile: {exc}") from exc
    merged["environments"] = envs
    try:
        doc = ManifestDoc.model_validate(merged)
    except ValidationError as exc:
        raise pydantic_errors_to_input_error(exc, linemap, model=ManifestDoc) from exc
    _check_references(doc, linemap)
    _check_sources(doc, linemap, manifest_dir(path))
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Manifest(path=path, sha256=sha, environment=env, doc=doc, linemap=linemap)


def _check_references(doc: ManifestDoc, linemap: LineMap) -> None:
    """Names that must be unique and references that must resolve: every problem at once."""
    problems = [
        *_duplicate_names(doc, linemap),
        *_group_references(doc, linemap),
        *_networking_problems(doc, linemap),
        *_alarm_references(doc, linemap),
    ]
    if problems:
        raise collect(problems)


def _duplicate_names(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    for field_name, items in (
        ("functions", doc.functions),
        ("endpoints", doc.endpoints),
        ("alarms", doc.alarms),
        ("securityGroups", doc.security_groups),
        ("streams", doc.streams),
        ("tables", doc.tables),
        ("buckets", doc.buckets),
        ("topics", doc.topics),
    ):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                yield linemap.error((field_name, i, "name"), f"duplicate name {item.name!r}")
            seen.add(item.name)


def _unknown(linemap: LineMap, path: PathKey, what: str, name: str, names: list[str]) -> InputError:
    return linemap.error(path, f"no {what} named {name!r}" + suggest(name, names))


def _group_references(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    sg_names = [sg.name for sg in doc.security_groups]
    for i, ep in enumerate(doc.endpoints):
        if ep.security_group and ep.security_group not in sg_names:
            yield _unknown(
                linemap, ("endpoints", i, "securityGroup"), "security group", ep.security_group, sg_names
            )
    networking = doc.lambda_.networking
    if "vpc-with-interface-endpoints" in networking.preference:
        if not networking.interface_security_group:
            yield linemap.error(
                ("lambda", "networking", "preference"),
                "vpc-with-interface-endpoints needs lambda.networking.interfaceSecurityGroup (the group "
                "of the interface endpoints that replace the gateway endpoints)",
            )
        elif networking.interface_security_group not in sg_names:
            yield _unknown(
                linemap,
                ("lambda", "networking", "interfaceSecurityGroup"),
                "security group",
                networking.interface_security_group,
                sg_names,
            )
    if set(VPC_MODES) & set(networking.preference) and networking.security_group not in sg_names:
        yield _unknown(
            linemap,
            ("lambda", "networking", "securityGroup"),
            "security group",
            networking.security_group,
            sg_names,
        )


VPC_MODES: tuple[NetworkMode, ...] = ("vpc-with-endpoints", "vpc-with-interface-endpoints", "vpc-with-nat")


def _networking_problems(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    networking = doc.lambda_.networking
    if "vpc-with-nat" in networking.preference and not doc.vpc.public_subnets:
        yield linemap.error(("vpc", "publicSubnets"), "vpc-with-nat needs public subnets for the NAT gateway")
    endpoint_only = [m for m in networking.preference if m in ENDPOINT_ONLY_MODES]
    if not endpoint_only:
        return
    services = {ep.service for ep in doc.endpoints}
    for i, fn in enumerate(doc.functions):
        missing = sorted(set(fn.uses) - services)
        if missing:
            yield linemap.error(
                ("functions", i, "uses"),
                f"{endpoint_only[0]} needs an endpoint for {', '.join(missing)}; add it to endpoints",
            )


def _alarm_references(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    fn_names = [f.name for f in doc.functions]
    topic_names = [t.name for t in doc.topics]
    stream_names = [s.name for s in doc.streams]
    for i, alarm in enumerate(doc.alarms):
        if alarm.topic not in topic_names:
            yield _unknown(linemap, ("alarms", i, "topic"), "topic", alarm.topic, topic_names)
        if alarm.function and alarm.function not in fn_names:
            yield _unknown(linemap, ("alarms", i, "function"), "function", alarm.function, fn_names)
        if alarm.stream and alarm.stream not in stream_names:
            yield _unknown(linemap, ("alarms", i, "stream"), "stream", alarm.stream, stream_names)


def _check_sources(doc: ManifestDoc, linemap: LineMap, base_dir: Path) -> None:
    """Every function source is a file inside the project (no absolute path, no escape, no symlink out)."""
    root = project_root(base_dir)
    for i, fn in enumerate(doc.functions):
        problem = source_problem(root, base_dir, fn.source)
        if problem:
            raise linemap.error(("functions", i, "source"), problem)


def _parse_path(path: str) -> PathKey:
    out: list[str | int] = []
    for part in path.replace("]", "").split("."):
        head, *indexes = part.split("[")
        if head:
            out.append(head)
        out.extend(int(i) for i in indexes)
    return tuple(out)


# --- resolving into a Deployment -----------------------------------------------------------------


def physical_name(manifest: Manifest, logical: str) -> str:
    """Every name carries the prefix and the environment suffix: ``pipeline-ingest-prod``."""
    return f"{manifest.doc.name_prefix}-{logical}-{manifest.environment}"


def _subnets(vpc: VpcSpec, azs: tuple[str, ...], prefix: str) -> tuple[SubnetPlan, ...]:
    net = ipaddress.ip_network(vpc.cidr)
    blocks = net.subnets(new_prefix=min(net.prefixlen + 4, 28))
    out = []
    for i, az in enumerate(azs):
        if vpc.public_subnets:
            out.append(
                SubnetPlan(name=f"{prefix}-public-{i + 1}", cidr=str(next(blocks)), az=az, kind="public")
            )
        out.append(
            SubnetPlan(name=f"{prefix}-private-{i + 1}", cidr=str(next(blocks)), az=az, kind="private")
        )
    return tuple(out)


def _rules(rules: list[RuleSpec]) -> tuple[Rule, ...]:
    return tuple(
        Rule(protocol=r.protocol, from_port=r.from_port, to_port=r.to_port, cidr=r.cidr) for r in rules
    )


def _code_size(manifest: Manifest, index: int, source: str) -> int:
    path = manifest.base_dir / source
    if not path.is_file():
        raise manifest.linemap.error(("functions", index, "source"), f"handler source {source!r} not found")
    return path.stat().st_size


def resolve(manifest: Manifest, region: str, azs: tuple[str, ...]) -> Deployment:
    """The deployment exactly as the manifest asks for it (its first networking mode) on `azs`."""
    doc = manifest.doc
    if len(azs) < doc.vpc.az_count:
        raise manifest.linemap.error(
            ("vpc", "azCount"),
            f"region {region} has {len(azs)} availability zones, fewer than {doc.vpc.az_count}",
        )
    mode = doc.lambda_.networking.preference[0]
    attached = mode != "no-vpc"
    deployment = Deployment(
        project=manifest.name,
        environment=manifest.environment,
        region=region,
        networking=mode,
        vpc=_vpc_plan(manifest, mode, tuple(azs[: doc.vpc.az_count])),
        security_groups=security_group_plans(manifest),
        endpoints=endpoint_plans(manifest),
        functions=_function_plans(manifest, attached),
        streams=tuple(
            StreamPlan(
                path=f"streams[{i}]",
                key=s.name,
                name=physical_name(manifest, s.name),
                shards=s.shards,
                retention_hours=s.retention_hours,
            )
            for i, s in enumerate(doc.streams)
        ),
        tables=tuple(
            TablePlan(
                path=f"tables[{i}]",
                key=t.name,
                name=physical_name(manifest, t.name),
                hash_key=t.hash_key,
                billing_mode=t.billing_mode,
            )
            for i, t in enumerate(doc.tables)
        ),
        buckets=tuple(
            BucketPlan(path=f"buckets[{i}]", key=b.name, name=physical_name(manifest, b.name))
            for i, b in enumerate(doc.buckets)
        ),
        topics=tuple(
            TopicPlan(path=f"topics[{i}]", key=t.name, name=physical_name(manifest, t.name))
            for i, t in enumerate(doc.topics)
        ),
        alarms=_alarm_plans(manifest),
        role=RolePlan(
            name=physical_name(manifest, doc.role.name),
            managed_policies=execution_policies(mode, doc.role.extra_managed_policies),
        ),
        lambda_security_group=physical_name(manifest, doc.lambda_.networking.security_group),
    )
    if mode == "vpc-with-interface-endpoints":
        deployment = deployment.model_copy(
            update={"endpoints": tuple(interface_fallback(manifest, ep) for ep in deployment.endpoints)}
        )
    return prune(deployment)


def _vpc_plan(manifest: Manifest, mode: NetworkMode, azs: tuple[str, ...]) -> VpcPlan:
    vpc = manifest.doc.vpc
    nat_azs = nat_gateway_azs(mode, manifest.doc.lambda_.networking.nat_gateways, azs)
    name = physical_name(manifest, vpc.name)
    return VpcPlan(
        name=name,
        cidr=vpc.cidr,
        azs=azs,
        subnets=_subnets(vpc, azs, name),
        internet_gateway=vpc.public_subnets,
        nat_gateway_azs=nat_azs,
    )


def _function_plans(manifest: Manifest, attached: bool) -> tuple[FunctionPlan, ...]:
    return tuple(
        FunctionPlan(
            path=f"functions[{i}]",
            key=fn.name,
            name=physical_name(manifest, fn.name),
            source=fn.source,
            handler=fn.handler,
            runtime=manifest.doc.lambda_.runtime,
            memory_mb=fn.memory_mb,
            timeout_s=fn.timeout_s,
            code_size=_code_size(manifest, i, fn.source),
            reserved_concurrency=fn.reserved_concurrency,
            vpc_attached=attached,
            uses=tuple(fn.uses),
        )
        for i, fn in enumerate(manifest.doc.functions)
    )


def _alarm_plans(manifest: Manifest) -> tuple[AlarmPlan, ...]:
    name = lambda logical: physical_name(manifest, logical)  # noqa: E731
    return tuple(
        AlarmPlan(
            path=f"alarms[{i}]",
            key=a.name,
            name=name(a.name),
            namespace=a.namespace,
            metric=a.metric,
            dimensions=(
                {"FunctionName": name(a.function)}
                if a.function
                else {"StreamName": name(a.stream)}
                if a.stream
                else {}
            ),
            statistic=a.statistic,
            threshold=a.threshold,
            period_s=a.period_s,
            evaluation_periods=a.evaluation_periods,
            comparison=a.comparison,
            topic=name(a.topic),
        )
        for i, a in enumerate(manifest.doc.alarms)
    )


def nat_gateway_azs(
    mode: NetworkMode, nat_gateways: Literal["single", "per-az"], azs: tuple[str, ...]
) -> tuple[str, ...]:
    """The zones that get a NAT gateway: none without a NAT route, else the first or every one."""
    if mode != "vpc-with-nat":
        return ()
    return azs if nat_gateways == "per-az" else azs[:1]


def execution_policies(mode: NetworkMode, extra: Iterable[str]) -> tuple[str, ...]:
    """The role's managed policies: the execution policy follows the networking, the manifest's extras
    come on top."""
    return (BASIC_EXECUTION_POLICY if mode == "no-vpc" else VPC_ACCESS_POLICY, *extra)


def endpoint_plans(manifest: Manifest) -> tuple[EndpointPlan, ...]:
    """Every endpoint as the manifest declares it (the networking may replace gateways, see below)."""
    return tuple(
        EndpointPlan(
            path=f"endpoints[{i}]",
            key=ep.name,
            name=physical_name(manifest, f"{ep.name}-endpoint"),
            service=ep.service,
            type=ep.type,
            security_group=physical_name(manifest, ep.security_group) if ep.security_group else None,
        )
        for i, ep in enumerate(manifest.doc.endpoints)
    )


def security_group_plans(manifest: Manifest) -> tuple[SecurityGroupPlan, ...]:
    """Every security group of the manifest (`prune` keeps those a deployment uses)."""
    return tuple(
        SecurityGroupPlan(
            path=f"securityGroups[{i}]",
            key=sg.name,
            name=physical_name(manifest, sg.name),
            description=sg.description or f"{sg.name} ({manifest.name} {manifest.environment})",
            ingress=_rules(sg.ingress),
            egress=_rules(sg.egress),
        )
        for i, sg in enumerate(manifest.doc.security_groups)
    )


def endpoint_for_mode(
    manifest: Manifest, ep: EndpointPlan, mode: NetworkMode, interface: frozenset[str] | None = None
) -> EndpointPlan:
    """The endpoint as `mode` deploys it: as the manifest declares it, or its interface stand-in (with
    vpc-with-interface-endpoints: each gateway endpoint in `interface`; None: every one)."""
    spec = next(e for e in manifest.doc.endpoints if e.name == ep.key)
    declared = ep.model_copy(
        update={
            "type": spec.type,
            "security_group": physical_name(manifest, spec.security_group) if spec.security_group else None,
            "private_dns": True,
            "url_variable": None,
            "stands_in_for_gateway": False,
        }
    )
    stand_in = mode == "vpc-with-interface-endpoints" and (interface is None or ep.key in interface)
    return interface_fallback(manifest, declared) if stand_in else declared


def interface_fallback(manifest: Manifest, ep: EndpointPlan) -> EndpointPlan:
    """The interface endpoint that stands in for a gateway endpoint (vpc-with-interface-endpoints):
    same service and name, the manifest's interface group, and the service's DNS as it is offered."""
    if ep.type != "gateway":
        return ep
    group = manifest.doc.lambda_.networking.interface_security_group
    return ep.model_copy(
        update={
            "type": "interface",
            "security_group": physical_name(manifest, group) if group else None,
            "private_dns": privatelink.private_dns(ep.service),
            "url_variable": privatelink.url_variable(ep.service),
            "stands_in_for_gateway": True,
        }
    )


def prune(deployment: Deployment) -> Deployment:
    """Drop what nothing needs: the Lambda SG when no function is in the VPC, an endpoint SG with no endpoint.

    This is the cascade rule shared by `resolve` and the planner, so both derive the same shape.
    """
    used: set[str] = {ep.security_group for ep in deployment.endpoints if ep.security_group}
    if deployment.vpc_attached and deployment.lambda_security_group:
        used.add(deployment.lambda_security_group)
    groups = tuple(sg for sg in deployment.security_groups if sg.name in used)
    return deployment.model_copy(update={"security_groups": groups})


SCHEMA_ID = "urn:tap-preflight:manifest:v2"


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, for editors: every property described, none titled by its field name."""
    schema = ManifestDoc.model_json_schema(by_alias=True)
    for model in (schema, *schema.get("$defs", {}).values()):
        for prop in model.get("properties", {}).values():
            # pydantic's titles ("Reservedconcurrency") would hide the description in an editor's hover.
            prop.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "tap-preflight manifest",
    }
