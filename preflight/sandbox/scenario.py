"""Scenarios: YAML files describing an account's applied quotas and the resources other stacks own.

The format is documented in SCENARIOS.md beside this file. Loading validates everything (unknown
keys included) and reports the first problem with file, line and field.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from preflight.sandbox.quotas import BY_CODE, BY_KEY
from preflight.sandbox.state import SERVICE_REPORTED
from preflight.support.bounds import MemoryMb, QuotaValue, Shards
from preflight.support.errors import InputError
from preflight.support.sourcefile import (
    LineMap,
    format_path,
    load_yaml_file,
    pydantic_errors_to_input_error,
    suggest,
)

SCENARIO_DIR = Path(__file__).with_name("scenarios")
SCENARIO_NAMES: tuple[str, ...] = (
    "fresh-account",
    "seed-account",
    "new-account",
    "busy-account",
    "name-conflicts",
    "names-taken",
    "endpoint-zones",
    "low-kinesis",
    "neighbour-vpc",
    "redeploy",
    "large-account",
    "organization",
)

MAX_COUNT = 200  # per entry; keeps a sandbox start fast
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,55}$")

Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


class _Model(BaseModel):
    # YAML keys are camelCase; Python code may use either spelling.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


def _region(value: str | None) -> str | None:
    if value is not None and not REGION_RE.match(value):
        raise ValueError(f"{value!r} is not an AWS region name (like us-east-1)")
    return value


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError("names use letters, digits, '.', '_' and '-' (at most 56 characters)")
    return value


class QuotaSetting(_Model):
    """An applied quota value (as if AWS had granted an increase, or set a lower one)."""

    code: str  # a quota code (L-...) or a key (e.g. gateway-endpoints, see quotas.py)
    service: str | None = None  # optional; must be the quota's service code when given
    value: QuotaValue
    region: str | None = None
    # False: the service enforces the value and its own API reports it (Kinesis DescribeLimits, IAM
    # GetAccountSummary, ...), but Service Quotas lists no applied value, as on older accounts.
    listed: bool = True

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value in BY_CODE:
            return value
        if value in BY_KEY:
            return BY_KEY[value].code
        raise ValueError(f"{value!r} is not a quota code or key the emulated account knows")

    _check_region = field_validator("region")(_region)


class Subnet(_Model):
    az: str  # a zone letter ("a") or a full zone name ("us-east-1a")
    cidr: str | None = None  # default: the next free /24 of the VPC's CIDR

    @field_validator("az")
    @classmethod
    def _az(cls, value: str) -> str:
        if not re.match(r"^([a-z]{2}(-gov)?-[a-z]+-\d)?[a-z]$", value):
            raise ValueError(f"{value!r} is not a zone letter (a) or zone name (us-east-1a)")
        return value


class NatGateways(_Model):
    subnet: Annotated[int, Field(ge=0)] = 0  # index into the VPC's subnets
    count: Count = 1


class NetworkInterfaces(_Model):
    subnet: Annotated[int, Field(ge=0)] = 0  # index into the VPC's subnets
    count: Count = 1


class Endpoints(_Model):
    service: str  # the part after com.amazonaws.<region>. (s3, dynamodb, kinesis-streams, ...)
    count: Count = 1

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9.-]*$", value):
            raise ValueError(f"{value!r} is not an endpoint service suffix like s3 or kinesis-streams")
        return value


class Vpc(_Model):
    name: str
    count: Count = 1
    cidr: str | None = None  # default: 10.N.0.0/16, a different N per VPC
    region: str | None = None
    subnets: list[Subnet] = []
    internet_gateway: bool = False
    nat_gateways: list[NatGateways] = []  # each one also allocates an Elastic IP
    gateway_endpoints: list[Endpoints] = []
    interface_endpoints: list[Endpoints] = []  # placed in all of the VPC's subnets
    network_interfaces: list[NetworkInterfaces] = []  # plain ENIs, untagged
    # Extra tags on the VPC itself (not on what is inside it): a VPC tagged as a stack's
    # (tap:project / tap:environment) is that stack's, the rest of the entry its neighbours.
    tags: dict[str, str] = {}

    _check_region = field_validator("region")(_region)
    _check_name = field_validator("name")(_name)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is not None:
            net = ipaddress.ip_network(value, strict=True)  # ValueError names the problem
            if net.version != 4 or not 16 <= net.prefixlen <= 28:
                raise ValueError("a VPC CIDR is an IPv4 block from /16 to /28")
        return value


class ElasticIps(_Model):
    count: Count = 1
    region: str | None = None

    _check_region = field_validator("region")(_region)


class Function(_Model):
    name: str
    count: Count = 1
    # None: no reservation. 0 is legal in AWS (it throttles the function): another stack may hold it.
    reserved_concurrency: Annotated[int, Field(strict=True, ge=0, le=100_000)] | None = None
    memory_mb: MemoryMb = 128
    runtime: str = "python3.12"
    region: str | None = None
    tags: dict[str, str] = {}  # e.g. a stack's tap:project / tap:environment: then it is that stack's

    _check_region = field_validator("region")(_region)
    _check_name = field_validator("name")(_name)


Tags = Annotated[dict[str, str], Field(max_length=50)]


class Stream(_Model):
    name: str
    count: Count = 1
    tags: Tags = {}  # none by default: an untagged resource is nobody's in particular
    shards: Shards = 1
    mode: Literal["provisioned", "on-demand"] = "provisioned"
    region: str | None = None

    _check_region = field_validator("region")(_region)
    _check_name = field_validator("name")(_name)


class Named(_Model):
    """Tables, buckets and topics: a name, how many, where."""

    name: str
    count: Count = 1
    region: str | None = None
    tags: Tags = {}

    _check_region = field_validator("region")(_region)
    _check_name = field_validator("name")(_name)


class Bucket(Named):
    other_account: bool = False  # owned by another account of the sandbox: the name is taken globally


class Alarm(Named):
    """A CloudWatch metric alarm another stack owns (on a Lambda Errors metric)."""


class EndpointService(_Model):
    """An interface endpoint service offered only in some zones (the rest refuse its subnets)."""

    service: str  # the part after com.amazonaws.<region>. (kinesis-streams, ...)
    zones: list[str] = Field(min_length=1)  # zone letters (a) or names (us-east-1a)
    region: str | None = None

    _check_region = field_validator("region")(_region)

    @field_validator("zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        for zone in value:
            Subnet._az(zone)
        return value


class Role(_Model):
    name: str
    count: Count = 1
    tags: Tags = {}
    managed_policies: Annotated[int, Field(ge=0, le=20)] = 0  # customer managed policies attached to each

    _check_name = field_validator("name")(_name)


class Bulk(_Model):
    """Many resources of other stacks at once (a large account), written straight into moto's state
    where moto is shaped as expected (an accelerator), else made through the API (minutes for
    thousands). Checked against the quotas all the same."""

    buckets: Annotated[int, Field(ge=0, le=50_000)] = 0
    network_interfaces: Annotated[int, Field(ge=0, le=20_000)] = 0  # in a VPC of their own
    security_groups: Annotated[int, Field(ge=0, le=20_000)] = 0  # in that VPC too
    functions: Annotated[int, Field(ge=0, le=10_000)] = 0


AccountState = Literal["PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"]
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")


class AccountGroup(_Model):
    """Member accounts of the organisation alike: their state, whether the role admits the
    management account, their applied quotas and what other stacks use in them."""

    count: Annotated[int, Field(ge=1, le=1000)] = 1
    name: str = "member"  # accounts are named name-001, name-002, ... (the group's first index)
    state: AccountState = "ACTIVE"
    # The role trusts another account only: AssumeRole from the management account is AccessDenied.
    deny_access: bool = False
    quotas: list[QuotaSetting] = []
    reserved_concurrency: Annotated[int, Field(ge=0, le=100_000)] = 0  # held by one function of another stack
    vpcs: Annotated[int, Field(ge=0, le=100)] = 0  # other stacks' VPCs, beside the default one

    _check_name = field_validator("name")(_name)


class Organization(_Model):
    """An AWS Organization whose management account is the sandbox's own (123456789012)."""

    role_name: str = "OrganizationAccountAccessRole"  # what CreateAccount makes in each member
    first_account_id: str = "300000000001"  # members are numbered from it, in the order listed
    accounts: list[AccountGroup] = []

    _check_role = field_validator("role_name")(_name)

    @field_validator("first_account_id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        if not ACCOUNT_ID_RE.match(value):
            raise ValueError(f"{value!r} is not a 12-digit account id")
        return value


class Scenario(_Model):
    name: str = ""  # default: the file name without .yaml
    description: str = ""
    default_vpc: bool = True  # keep the default VPC AWS (and moto) give every region
    quotas: list[QuotaSetting] = []
    vpcs: list[Vpc] = []
    elastic_ips: list[ElasticIps] = []
    functions: list[Function] = []
    streams: list[Stream] = []
    tables: list[Named] = []
    buckets: list[Bucket] = []
    topics: list[Named] = []
    roles: list[Role] = []
    alarms: list[Alarm] = []
    endpoint_services: list[EndpointService] = []
    bulk: Bulk = Bulk()
    # The account's enabled regions, as EC2 DescribeRegions lists them; empty: every region moto knows
    # that needs no opt-in.
    enabled_regions: list[str] = []
    organization: Organization | None = None  # the account is an organisation's management account

    @field_validator("enabled_regions")
    @classmethod
    def _enabled_regions(cls, value: list[str]) -> list[str]:
        for region in value:
            _region(region)
        return value

    _source: str | None = PrivateAttr(default=None)
    _linemap: LineMap | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this scenario was read from, if any."""
        return self._source

    def error(self, path: tuple[str | int, ...], message: str) -> InputError:
        """An InputError located at `path` (YAML keys) in the scenario's file when there is one."""
        if self._linemap is not None:
            return self._linemap.error(path, message)
        return InputError(message, file=self._source, path=format_path(path))


def expand(name: str, count: int) -> list[str]:
    """`count` copies of a named resource: the name itself, or name-1 .. name-N."""
    return [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]


def subnet_cidrs(vpc_cidr: str, subnets: list[Subnet]) -> list[str]:
    """Each subnet's CIDR: the given one, or the next /24 (or smaller) block of the VPC's CIDR."""
    net = ipaddress.ip_network(vpc_cidr)
    taken = {s.cidr for s in subnets if s.cidr}
    bits = max(1, (len(subnets) - 1).bit_length())
    prefix = min(28, max(24, net.prefixlen + bits))
    free = (str(block) for block in net.subnets(new_prefix=prefix) if str(block) not in taken)
    return [s.cidr or next(free) for s in subnets]


def _check(scenario: Scenario) -> None:
    """Rules across fields, located in the file."""
    for i, vpc in enumerate(scenario.vpcs):
        _check_vpc(scenario, i, vpc)
    _check_names(scenario)
    _check_quotas(scenario)


def _check_vpc(scenario: Scenario, i: int, vpc: Vpc) -> None:
    """A VPC's subnet indexes, CIDRs and zones."""
    for key, items in (("natGateways", vpc.nat_gateways), ("networkInterfaces", vpc.network_interfaces)):
        for j, item in enumerate(items):
            if item.subnet >= len(vpc.subnets):
                raise scenario.error(
                    ("vpcs", i, key, j, "subnet"),
                    f"subnet index {item.subnet} is out of range: the VPC has {len(vpc.subnets)} subnet(s)",
                )
    if vpc.cidr is not None and vpc.subnets:
        net = ipaddress.ip_network(vpc.cidr)
        for j, subnet in enumerate(vpc.subnets):
            if subnet.cidr is None:
                continue
            try:
                inside = ipaddress.ip_network(subnet.cidr).subnet_of(net)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                inside = False
            if not inside:
                raise scenario.error(
                    ("vpcs", i, "subnets", j, "cidr"), f"{subnet.cidr} is not inside the VPC's {vpc.cidr}"
                )
    if vpc.cidr is not None and len(vpc.subnets) > 1:
        try:
            subnet_cidrs(vpc.cidr, vpc.subnets)
        except StopIteration:
            raise scenario.error(
                ("vpcs", i, "subnets"), f"{vpc.cidr} is too small for that many subnets"
            ) from None
    for j, subnet in enumerate(vpc.subnets):
        if len(subnet.az) > 1 and vpc.region is not None and not subnet.az.startswith(vpc.region):
            raise scenario.error(("vpcs", i, "subnets", j, "az"), f"{subnet.az} is not in {vpc.region}")


def _check_names(scenario: Scenario) -> None:
    """No name twice in one kind (and region); bucket names as S3 allows them."""
    kinds: dict[str, list[Any]] = {
        "vpcs": scenario.vpcs,
        "functions": scenario.functions,
        "streams": scenario.streams,
        "tables": scenario.tables,
        "buckets": scenario.buckets,
        "topics": scenario.topics,
        "roles": scenario.roles,
    }
    for kind, items in kinds.items():
        seen: set[tuple[str | None, str]] = set()
        for i, item in enumerate(items):
            where = None if kind in ("buckets", "roles") else getattr(item, "region", None)
            for name in expand(item.name, item.count):
                if (where, name) in seen:
                    raise scenario.error((kind, i, "name"), f"the name {name!r} is used twice")
                seen.add((where, name))
                if kind == "buckets" and not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name):
                    raise scenario.error(
                        (kind, i, "name"), f"{name!r} is not a valid bucket name (lowercase)"
                    )


def _check_quotas(scenario: Scenario) -> None:
    """An unlisted value needs a service API that reports it; a service code must be the quota's."""
    for i, setting in enumerate(scenario.quotas):
        q = BY_CODE[setting.code]
        if not setting.listed and setting.code not in SERVICE_REPORTED:
            raise scenario.error(
                ("quotas", i, "listed"),
                f"{setting.code} has no service API that reports its limit: Service Quotas must list it",
            )
        if setting.service is not None and setting.service != q.service_code:
            raise scenario.error(
                ("quotas", i, "service"), f"{setting.code} belongs to service code {q.service_code!r}"
            )


def parse_scenario(data: Any, linemap: LineMap, source: str | None = None) -> Scenario:
    if not isinstance(data, dict):
        raise linemap.error((), "a scenario is a mapping (name:, quotas:, vpcs:, ...)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise pydantic_errors_to_input_error(exc, linemap, model=Scenario) from None
    scenario._source = source
    scenario._linemap = linemap
    if not scenario.name and source:
        scenario.name = Path(source).stem
    _check(scenario)
    return scenario


def scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A shipped scenario's file, or the path given."""
    text = os.fspath(name_or_path)
    if text in SCENARIO_NAMES:
        return SCENARIO_DIR / f"{text}.yaml"
    if text == "-":  # standard input, as for every input file
        return Path(text)
    path = Path(text)
    if not path.exists() and os.sep not in text and not text.endswith((".yaml", ".yml")):
        raise InputError(
            f"unknown scenario {text!r}: use one of {', '.join(SCENARIO_NAMES)} or a YAML file path"
            + suggest(text, list(SCENARIO_NAMES))
        )
    return path


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """A shipped scenario by name (``seed-account``) or a scenario file; InputError on bad files."""
    path = scenario_path(name_or_path)
    data, linemap = load_yaml_file(path, "scenario")
    return parse_scenario(data, linemap, str(path))
