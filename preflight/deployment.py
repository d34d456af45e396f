"""The desired state of one TAP pipeline deployment, and the plan file that carries it.

`Deployment` is what the manifest asks for (requested) or what the planner settled on (adapted). It is
the one model shared by `check`, `plan`, the plan file and the Pulumi program: the program deploys a
`Deployment` and nothing else. Every item keeps `path`, the manifest path it came from, so reports can
point at the line that created a demand.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, create_model

from preflight import kinds
from preflight.kinds.alarm import AlarmPlan as AlarmPlan
from preflight.kinds.base import TAG_ENVIRONMENT, TAG_PROJECT, Frozen
from preflight.kinds.bucket import BucketPlan as BucketPlan
from preflight.kinds.endpoint import EndpointPlan as EndpointPlan
from preflight.kinds.function import FunctionPlan as FunctionPlan
from preflight.kinds.function import NetworkMode as NetworkMode
from preflight.kinds.role import BASIC_EXECUTION_POLICY as BASIC_EXECUTION_POLICY
from preflight.kinds.role import VPC_ACCESS_POLICY as VPC_ACCESS_POLICY
from preflight.kinds.role import RolePlan as RolePlan
from preflight.kinds.security_group import Rule as Rule
from preflight.kinds.security_group import SecurityGroupPlan as SecurityGroupPlan
from preflight.kinds.stream import StreamPlan as StreamPlan
from preflight.kinds.table import TablePlan as TablePlan
from preflight.kinds.topic import TopicPlan as TopicPlan
from preflight.kinds.vpc import SubnetPlan as SubnetPlan
from preflight.kinds.vpc import VpcPlan as VpcPlan
from preflight.support.bounds import (
    Count,
    FiniteFloat,
    MaxAgeHours,
    QuotaValue,
    ReservedConcurrency,
)

NETWORK_MODES: tuple[NetworkMode, ...] = (
    "vpc-with-endpoints",
    "vpc-with-interface-endpoints",
    "vpc-with-nat",
    "no-vpc",
)
# Modes where endpoints are the functions' only path to their services (no NAT route).
ENDPOINT_ONLY_MODES: frozenset[NetworkMode] = frozenset(
    {"vpc-with-endpoints", "vpc-with-interface-endpoints"}
)
Verdict = Literal["GO", "GO_WITH_ADAPTATIONS", "NO_GO"]


# v3: the deployment holds lists per kind (streams, tables, buckets, topics) and `current` the open
# shards of each of the stack's streams; v2 had one of each.
PLAN_SCHEMA = "tap-preflight/plan/v3"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
# 12 digits; a plan made from a redacted snapshot carries the mask.
AccountId = Annotated[str, Field(pattern=r"^(\d{12}|\*{12})$")]


class DeploymentHead(Frozen):
    """What a deployment says of the stack as a whole, before the kinds' parts."""

    project: str
    environment: str
    region: Region
    networking: NetworkMode


# The head, then every kind's part (`PART.deployment` of each module in `preflight.kinds`).
if TYPE_CHECKING:
    DeploymentFields = DeploymentHead  # a type checker reads the kinds' fields declared on Deployment
else:
    DeploymentFields = create_model("DeploymentFields", __base__=DeploymentHead, **kinds.deployment_fields())


class Deployment(DeploymentFields):
    # (No docstring: it would be the plan file schema's description of the deployment.)
    if TYPE_CHECKING:  # the fields the code outside the kinds reads (tests/kinds/test_registry.py checks)
        vpc: VpcPlan
        security_groups: tuple[SecurityGroupPlan, ...]
        endpoints: tuple[EndpointPlan, ...]
        functions: tuple[FunctionPlan, ...]
        streams: tuple[StreamPlan, ...]
        tables: tuple[TablePlan, ...]
        buckets: tuple[BucketPlan, ...]
        topics: tuple[TopicPlan, ...]
        alarms: tuple[AlarmPlan, ...]
        role: RolePlan
        lambda_security_group: str | None  # physical name of the SG VPC-attached functions use

    @property
    def tags(self) -> dict[str, str]:
        """The tags that identify this stack; `check` recognises an existing deployment by them."""
        return {TAG_PROJECT: self.project, TAG_ENVIRONMENT: self.environment}

    @property
    def vpc_attached(self) -> bool:
        return any(f.vpc_attached for f in self.functions)


class Change(Frozen):
    path: str
    before: object = None
    after: object = None
    line: int | None = None  # manifest line of `path`


class Impact(Frozen):
    cost: str
    monthly_cost_delta_usd: FiniteFloat = 0.0  # an estimate (us-east-1 list prices), negative = saves
    security: str
    performance: str


class Adaptation(Frozen):
    id: str
    title: str
    quota_code: str | None  # the quota that forced it; None for a cascade of another adaptation
    quota_name: str | None
    reason: str
    changes: tuple[Change, ...]
    impact: Impact


class Note(Frozen):
    """Information about a plan that changes nothing: e.g. a resource deployed as requested that serves
    nothing, with what it costs. Unlike an adaptation it does not make the verdict GO_WITH_ADAPTATIONS."""

    id: str
    title: str
    reason: str
    paths: tuple[str, ...]  # manifest paths of the resources concerned
    impact: Impact


class ManifestRef(Frozen):
    path: str  # in a plan: relative to the project root, POSIX style
    name: str
    sha256: str


class IncreaseRequest(Frozen):
    service_code: str
    quota_code: str
    quota_name: str
    current: QuotaValue | None
    required: QuotaValue
    adjustable: bool


class CurrentStack(Frozen):
    """What of this stack is deployed now (read with the account): what a redeploy changes from.

    The program orders a redeploy by it (reservations lowered before others are raised) and the gate
    counts what the change holds on the way (a reshard keeps the old shards open while it adds new).
    """

    # Function physical name -> its reservation now (None: none). Only the stack's existing functions.
    # Counts as the account answers them (a reservation of 0 exists), bounded like every read number.
    reservations: dict[str, Count | None] = Field(default_factory=dict)
    # Stream physical name -> its open shards now. Only the stack's existing streams.
    stream_shards: dict[str, Count] = Field(default_factory=dict)


class Decisions(Frozen):
    """What `plan --adapt` chose; the program rebuilds the deployment from these and the manifest."""

    azs: tuple[str, ...]
    networking: NetworkMode
    endpoints: tuple[str, ...]  # manifest endpoint names kept
    reservations: dict[str, ReservedConcurrency | None]  # manifest function name -> reserved (None: none)
    vpc: bool = True  # False: the VPC is left out (the manifest's vpc.optional, nothing in it)
    # vpc-with-interface-endpoints: the gateway endpoints deployed as interface endpoints (the others
    # stay gateways: those the regional gateway quota still takes).
    interface: tuple[str, ...] = ()


def _timestamp_text(value: object) -> object:
    # A plan's time is ISO 8601 text; a bare number would be read as seconds since 1970.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date and time with a time zone, not a number")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_timestamp_text)]


class Plan(Frozen):
    """The plan file (`plan --save-plan`): what the Pulumi program deploys, and what it must refuse.

    See `preflight.plan.decisions`: the program deploys the manifest plus `decisions`; `deployment` is their
    expansion, kept for review, and must match it exactly.
    """

    schema_: Literal["tap-preflight/plan/v3"] = Field(PLAN_SCHEMA, alias="schema")
    verdict: Verdict
    environment: str
    region: Region
    account_id: AccountId
    manifest: ManifestRef
    created_at: Timestamp
    max_age_hours: MaxAgeHours = 24.0
    tool_version: str
    decisions: Decisions
    adaptations: tuple[Adaptation, ...] = ()
    increase_requests: tuple[IncreaseRequest, ...] = ()
    deployment: Deployment
    current: CurrentStack = Field(default_factory=CurrentStack)  # what the deploy changes from

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)
