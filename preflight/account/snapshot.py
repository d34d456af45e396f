"""Snapshots: an account's limits and usage recorded once, so `check` and `plan` can run offline.

A snapshot is an `AccountState` as JSON (`schema: tap-preflight/snapshot/v1`): every limit with its
source, every usage count the catalog needs, the account id, the time and the stack it was taken for.
Usage leaves that stack's own resources out (a redeploy must not find itself over quota), so a snapshot
belongs to one manifest and environment; `check --snapshot` refuses it for another stack or region.
It never holds a credential: only what the reads returned, with access key ids scrubbed from error
texts, and with `--redact` the account id masked wherever it appears.

A snapshot can also seed an emulated-account scenario (`scenario_from_snapshot`): applied quotas and
resources owned by "other stacks" that reproduce the recorded usage counts, for what-if runs on a copy
of a real account. Some counts cannot be recreated exactly (see `scenario_notes`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from preflight.account.read import SNAPSHOT_SCHEMA, AccountState
from preflight.quotas import catalog
from preflight.support.errors import InputError
from preflight.support.strictjson import json_line, load_json_object

REDACTED_ACCOUNT = "************"
# AWS access key ids (long-term AKIA, temporary ASIA): never written, even inside an error text.
_ACCESS_KEY_RE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_QUOTA_CODE_RE = re.compile(r"^L-[0-9A-F]{8}$")
_CATALOG_ORDER = {q.quota_code: i for i, q in enumerate(catalog.QUOTAS)}

# Scenario entries hold at most this many copies of a resource (the sandbox's per-entry cap).
SCENARIO_MAX_COUNT = 200
MAX_SHARDS_PER_STREAM = 10_000
RESERVATION_CHUNK = 100  # reserved concurrency per emulated function
SCENARIO_PREFIX = "snap"  # names of the emulated "other stacks'" resources


# --- reading ---------------------------------------------------------------------------------------


def load_snapshot(path: str) -> AccountState:
    """The snapshot in `path`; InputError (exit 2) naming the file for anything unusable."""
    data, text = load_json_object(path, "snapshot")
    schema = data.get("schema")
    if schema is None:
        raise InputError(
            "not a tap-preflight snapshot (no schema field); take one with `tap-preflight snapshot`",
            file=path,
        )
    if schema != SNAPSHOT_SCHEMA:
        raise InputError(_schema_problem(schema), file=path, path="schema")
    try:
        state = AccountState.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        loc = ".".join(str(p) for p in first["loc"])
        line = json_line(text, path, first["loc"])
        raise InputError(f"damaged snapshot: {first['msg']}{more}", file=path, line=line, path=loc) from exc
    _check_values(state, path)
    return state


def _schema_problem(schema: object) -> str:
    if not isinstance(schema, str):
        return f"not a tap-preflight snapshot (schema is {schema!r})"
    if schema.startswith("tap-preflight/snapshot/"):
        version = schema.rsplit("/", 1)[-1]
        return (
            f"snapshot format {version} is not supported by this version of tap-preflight "
            f"(it reads {SNAPSHOT_SCHEMA}); take a new snapshot with `tap-preflight snapshot`"
        )
    if schema.startswith("tap-preflight/"):
        kind = schema.split("/")[1]
        return f"this is a tap-preflight {kind} file, not a snapshot"
    return f"not a tap-preflight snapshot (schema {schema!r})"


def _check_values(state: AccountState, path: str) -> None:
    """What the types allow but no account can produce: a hand-edited or corrupted file."""
    for code, reading in state.limits.items():
        if not _QUOTA_CODE_RE.match(code):
            raise InputError(f"damaged snapshot: {code!r} is not a quota code", file=path, path="limits")
        if reading.value is not None and (reading.value < 0 or not math.isfinite(reading.value)):
            raise InputError(
                f"damaged snapshot: limit {reading.value} is not a count", file=path, path=f"limits.{code}"
            )
    for code, usage in state.usage.items():
        if not _QUOTA_CODE_RE.match(code):
            raise InputError(f"damaged snapshot: {code!r} is not a quota code", file=path, path="usage")
        for scope, value in (usage.scopes or {}).items():
            if value < 0 or not math.isfinite(value):
                raise InputError(
                    f"damaged snapshot: usage {value} is not a count",
                    file=path,
                    path=f"usage.{code}.scopes.{scope}",
                )


# --- taking and writing ------------------------------------------------------------------------------


def snapshot_json(state: AccountState, *, redact: bool = False) -> str:
    """The snapshot file's text: quotas in catalog order (stable diffs), no credential; maybe redacted."""
    data = state.model_dump(mode="json", by_alias=True)
    data["limits"] = _in_catalog_order(data["limits"])
    data["usage"] = _in_catalog_order(data["usage"])
    data = _scrub(data, state.account_id if redact else None)
    return json.dumps(data, indent=2) + "\n"


def redacted(state: AccountState) -> AccountState:
    """The state with the account id masked everywhere (the field, error texts, details)."""
    return AccountState.model_validate(json.loads(snapshot_json(state, redact=True)))


def _in_catalog_order(items: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(items.items(), key=lambda kv: (_CATALOG_ORDER.get(kv[0], len(_CATALOG_ORDER)), kv[0])))


def _scrub(value: Any, account_id: str | None) -> Any:
    if isinstance(value, str):
        value = _ACCESS_KEY_RE.sub("<access key id>", value)
        return value.replace(account_id, REDACTED_ACCOUNT) if account_id else value
    if isinstance(value, dict):
        return {_scrub(k, account_id): _scrub(v, account_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, account_id) for v in value]
    return value


def unknown_quotas(state: AccountState) -> list[str]:
    """Quota codes whose limit or usage could not be read (they will be UNKNOWN in `check`)."""
    out = []
    for q in catalog.QUOTAS:
        usage = state.usage.get(q.quota_code)
        if state.limit(q.quota_code).value is None or usage is None or usage.scopes is None:
            out.append(q.quota_code)
    return out


# --- snapshot -> emulated-account scenario -------------------------------------------------------------


def scenario_from_snapshot(state: AccountState) -> dict[str, Any]:
    """A scenario (the sandbox's YAML format, as a dict) that reproduces the snapshot's limits and usage.

    Limits that differ from the catalog default, or were applied, become applied quotas. Usage becomes
    resources of other stacks: VPCs (with internet gateways, NAT gateways, Elastic IPs, gateway and
    interface endpoints), functions holding the reserved concurrency, a stream with the open shards,
    tables, buckets, topics and roles. `scenario_notes` says what could not be reproduced.
    """
    return _ScenarioBuilder(state).build()[0]


def scenario_notes(state: AccountState) -> list[str]:
    """Where the scenario from `scenario_from_snapshot` differs from the snapshot."""
    return _ScenarioBuilder(state).build()[1]


def scenario_yaml(state: AccountState, *, redact: bool = False) -> str:
    """The scenario as a YAML file, its approximations listed in a comment on top."""
    import yaml

    if redact:
        state = redacted(state)
    scenario, notes = _ScenarioBuilder(state).build()
    head = [
        "# Emulated-account scenario made by `tap-preflight snapshot --as-scenario` from a snapshot of",
        f"# account {state.account_id} in {state.region}, taken {state.taken_at.isoformat()} for stack",
        f"# {state.stack.project}/{state.stack.environment}. Use it with `--sandbox THIS_FILE`.",
    ]
    if notes:
        head.append("# Approximations:")
        head += [f"#   - {note}" for note in notes]
    body = yaml.safe_dump(scenario, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(head) + "\n" + body


def _chunks(name: str, count: int, size: int = SCENARIO_MAX_COUNT) -> Iterator[tuple[str, int]]:
    """(entry name, count) pairs covering `count` copies, each entry within the sandbox's cap."""
    if count <= size:
        if count > 0:
            yield name, count
        return
    for i, start in enumerate(range(0, count, size)):
        yield f"{name}-g{i + 1}", min(size, count - start)


class _ScenarioBuilder:
    def __init__(self, state: AccountState) -> None:
        self.state = state
        self.region = state.region
        self.notes: list[str] = []

    def usage(self, q: catalog.Quota, scope: str = "region") -> int:
        reading = self.state.usage.get(q.quota_code)
        if reading is None or reading.scopes is None:
            self.notes.append(f"{q.name} ({q.quota_code}): usage unknown in the snapshot; none created")
            return 0
        return round(reading.scopes.get(scope, 0))

    def build(self) -> tuple[dict[str, Any], list[str]]:
        s = self.state
        scenario: dict[str, Any] = {
            "name": f"snapshot-{'redacted' if s.account_id == REDACTED_ACCOUNT else s.account_id}-{s.region}",
            "description": (
                f"From a snapshot of account {s.account_id} in {s.region} taken "
                f"{s.taken_at.strftime('%Y-%m-%d %H:%M UTC')} for {s.stack.project}/{s.stack.environment}."
            ),
            "defaultVpc": False,  # every VPC is created explicitly, so the counts match
            "quotas": self.quotas(),
        }
        scenario["vpcs"], nats = self.vpcs()
        eips = self.usage(catalog.ELASTIC_IPS) - nats
        if eips < 0:
            self.notes.append(f"Elastic IPs: {-eips} more than the snapshot (each NAT gateway holds one)")
        scenario["elasticIps"] = [
            {"count": n, "region": self.region} for _, n in _chunks("eip", max(0, eips))
        ]
        scenario["functions"] = self.functions()
        scenario["streams"] = self.streams()
        for kind, q, scope in (
            ("tables", catalog.DYNAMODB_TABLES, "region"),
            ("buckets", catalog.S3_BUCKETS, "global"),
            ("topics", catalog.SNS_TOPICS, "region"),
        ):
            scenario[kind] = [
                {"name": name, "count": n, "region": self.region}
                for name, n in _chunks(f"{SCENARIO_PREFIX}-{kind[:-1]}", self.usage(q, scope))
            ]
        roles = self.usage(catalog.IAM_ROLES, "global")
        if scenario["functions"]:
            roles -= 1  # the sandbox creates one execution role for its functions
            if roles < 0:
                self.notes.append("IAM roles: one more than the snapshot (the functions' execution role)")
        scenario["roles"] = [
            {"name": n, "count": c} for n, c in _chunks(f"{SCENARIO_PREFIX}-role", max(0, roles))
        ]
        self.own_stack_notes()
        if scenario["functions"]:
            code = self.usage(catalog.LAMBDA_CODE_STORAGE)
            self.notes.append(
                f"Lambda code storage: the snapshot had {code} bytes; the emulated functions hold a few "
                "hundred bytes each"
            )
        self.notes.append("account id: the emulated account has its own, not the snapshot's")
        return {k: v for k, v in scenario.items() if v != []}, self.notes

    def quotas(self) -> list[dict[str, Any]]:
        out = []
        for q in catalog.QUOTAS:
            reading = self.state.limits.get(q.quota_code)
            if reading is None or reading.value is None:
                self.notes.append(
                    f"{q.name} ({q.quota_code}): limit unknown in the snapshot; AWS default used"
                )
                continue
            # Applied values and any value the catalog's default does not explain (a lowered default,
            # a service-API answer) become applied quotas; plain defaults are the sandbox's own.
            if reading.source == "applied" or reading.value != q.default_for(self.region):
                value: float | int = int(reading.value) if reading.value.is_integer() else reading.value
                out.append(
                    {"service": q.service_code, "code": q.quota_code, "value": value, "region": self.region}
                )
        return out

    def vpcs(self) -> tuple[list[dict[str, Any]], int]:
        """VPC entries and the number of NAT gateways they create."""
        n_vpcs = self.usage(catalog.VPCS)
        igws = self.usage(catalog.INTERNET_GATEWAYS)
        gateway = self.usage(catalog.GATEWAY_ENDPOINTS)
        nat_by_az = self._nat_by_az()
        nats = sum(nat_by_az.values())
        # Moto gives NAT gateways one ENI each and interface endpoints one per subnet; the rest of the
        # region's network interfaces are made with interface endpoints in the first VPC.
        enis = self.usage(catalog.NETWORK_INTERFACES) - nats
        if enis < 0:
            self.notes.append(f"network interfaces: {-enis} more than the snapshot (one per NAT gateway)")
        needs_host = bool(gateway or nats or enis > 0)
        if needs_host and n_vpcs == 0:
            self.notes.append("VPCs: one more than the snapshot, to hold its endpoints and NAT gateways")
            n_vpcs = 1
        if n_vpcs == 0:
            return [], 0
        if igws > n_vpcs:
            self.notes.append(f"internet gateways: {n_vpcs} (one per VPC), not {igws}")
            igws = n_vpcs
        groups = self.usage(catalog.SECURITY_GROUPS)
        if groups > n_vpcs:
            self.notes.append(f"security groups: only each VPC's default group ({n_vpcs}), not {groups}")

        azs = list(nat_by_az) or [self.state.azs[0] if self.state.azs else "a"]
        host: dict[str, Any] = {
            "name": f"{SCENARIO_PREFIX}-vpc-main",
            "region": self.region,
            "subnets": [{"az": az} for az in azs],
            "internetGateway": igws > 0,
        }
        if nat_by_az:
            host["natGateways"] = [{"subnet": i, "count": n} for i, n in enumerate(nat_by_az.values())]
        if gateway:
            s3 = (gateway + 1) // 2
            host["gatewayEndpoints"] = [
                {"service": service, "count": n}
                for service, total in (("s3", s3), ("dynamodb", gateway - s3))
                for _, n in _chunks(service, total)
            ]
        if enis > 0:
            per_vpc = int(self.state.limit(catalog.INTERFACE_ENDPOINTS_PER_VPC.quota_code).value or 50)
            endpoints = min(per_vpc, enis // len(azs))
            if endpoints * len(azs) != enis:
                self.notes.append(
                    f"network interfaces: {nats + endpoints * len(azs)}, not {nats + enis} "
                    "(made with interface endpoints, one per subnet)"
                )
            if endpoints:
                host["interfaceEndpoints"] = [
                    {"service": "sqs", "count": n} for _, n in _chunks("sqs", endpoints)
                ]
        entries = [host]
        rest_igw = igws - 1 if igws else 0
        for name, n in _chunks(f"{SCENARIO_PREFIX}-vpc-igw", rest_igw):
            entries.append({"name": name, "count": n, "region": self.region, "internetGateway": True})
        for name, n in _chunks(f"{SCENARIO_PREFIX}-vpc", n_vpcs - 1 - rest_igw):
            entries.append({"name": name, "count": n, "region": self.region})
        return entries, nats

    def _nat_by_az(self) -> dict[str, int]:
        q = catalog.NAT_GATEWAYS_PER_AZ
        reading = self.state.usage.get(q.quota_code)
        if reading is None or reading.scopes is None:
            self.notes.append(f"{q.name} ({q.quota_code}): usage unknown in the snapshot; none created")
            return {}
        out: dict[str, int] = {}
        fallback = self.state.azs[0] if self.state.azs else f"{self.region}a"
        for scope, value in sorted(reading.scopes.items()):
            az = scope.removeprefix("az:")
            if az == "unknown" or not az.startswith(self.region):
                az = fallback
            out[az] = out.get(az, 0) + round(value)
        return {az: n for az, n in out.items() if n > 0}

    def functions(self) -> list[dict[str, Any]]:
        reserved = self.usage(catalog.LAMBDA_CONCURRENCY)
        full, rest = divmod(reserved, RESERVATION_CHUNK)
        out = [
            {"name": name, "count": n, "reservedConcurrency": RESERVATION_CHUNK, "region": self.region}
            for name, n in _chunks(f"{SCENARIO_PREFIX}-reserved", full)
        ]
        if rest:
            out.append(
                {
                    "name": f"{SCENARIO_PREFIX}-reserved-rest",
                    "reservedConcurrency": rest,
                    "region": self.region,
                }
            )
        return out

    def streams(self) -> list[dict[str, Any]]:
        shards = self.usage(catalog.KINESIS_SHARDS)
        out = []
        for i, start in enumerate(range(0, shards, MAX_SHARDS_PER_STREAM)):
            out.append(
                {
                    "name": f"{SCENARIO_PREFIX}-stream-{i + 1}",
                    "shards": min(MAX_SHARDS_PER_STREAM, shards - start),
                    "region": self.region,
                }
            )
        return out

    def own_stack_notes(self) -> None:
        """Usage counted inside this stack's own VPC or role: a scenario cannot recreate this stack."""
        for q in (
            catalog.SUBNETS_PER_VPC,
            catalog.INTERFACE_ENDPOINTS_PER_VPC,
            catalog.LAMBDA_ENIS_PER_VPC,
            catalog.MANAGED_POLICIES_PER_ROLE,
        ):
            reading = self.state.usage.get(q.quota_code)
            if reading and reading.scopes and any(v > 0 for v in reading.scopes.values()):
                self.notes.append(
                    f"{q.name} ({q.quota_code}): counted inside this stack's own resources; not reproduced"
                )
