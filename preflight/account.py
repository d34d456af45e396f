"""Reading an account: every limit (with its source) and every usage count the catalog needs.

The limit of a quota is read along a chain (../shared/DOMAIN.md): the applied value from Service
Quotas, else the service's own API (what it enforces for this account, which can be below the
published default: Kinesis shards on older accounts), else AWS's published default for the region;
the limit is unknown when nothing answered. Where the service API is the source of truth (Lambda
concurrency) it is read first. `--limit CODE=N` overrides win over everything.

All reads are independent and run concurrently on a bounded pool; reads that several counters share
happen once (`usage.Reads`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from preflight.bounds import Count, ElapsedS, QuotaValue
from preflight.conflicts import Evidence
from preflight.deadline import DeadlineExceeded
from preflight.errors import AwsAccessError
from preflight.model import CurrentStack
from preflight.quotas import catalog
from preflight.quotas.catalog import QUOTAS, home_region

if TYPE_CHECKING:  # botocore is imported by a live read only: a snapshot is read without it
    from preflight.aws import Aws
    from preflight.quotas.usage import Reads, Stack

LimitSource = Literal["applied", "default", "service-api", "override", "unknown"]
SNAPSHOT_SCHEMA = "tap-preflight/snapshot/v1"
MAX_WORKERS = 128  # above the tasks of a run (about 80 with 20 functions): none waits for a worker

_UNIT_FACTORS = {
    "Bytes": 1,
    "Kilobytes": 1024,
    "Megabytes": 1024**2,
    "Gigabytes": 1024**3,
    "Terabytes": 1024**4,
}


class LimitReading(BaseModel):
    # defer_build: the schema is built at first use, not at import (a command uses few models)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    value: QuotaValue | None
    source: LimitSource
    detail: str = ""  # why it is unknown, or which fallbacks were used


class UsageReading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    scopes: dict[str, QuotaValue] | None  # None: could not be counted
    error: str | None = None


class StackRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    project: str
    environment: str


class AccountState(BaseModel):
    """What `check` and `plan` know about the account. Also the snapshot file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    schema_: Literal["tap-preflight/snapshot/v1"] = Field(SNAPSHOT_SCHEMA, alias="schema")
    region: str
    account_id: str
    taken_at: datetime
    stack: StackRef  # usage leaves this stack's own resources out
    azs: tuple[str, ...]
    limits: dict[str, LimitReading]
    usage: dict[str, UsageReading]
    current: CurrentStack = Field(default_factory=CurrentStack)  # what of the stack is deployed now
    api_calls: dict[str, Count] = Field(default_factory=dict)
    elapsed_s: ElapsedS = 0.0
    evidence: Evidence | None = None  # who owns the stack's names, where services are offered

    def limit(self, code: str) -> LimitReading:
        return self.limits.get(code) or LimitReading(value=None, source="unknown", detail="not read")

    def usage_in(self, code: str, scope: str) -> float | None:
        """Usage by others in `scope`; None when it could not be counted.

        A scope the counter did not report is a new resource of this stack (its VPC, its groups): 0.
        """
        reading = self.usage.get(code)
        if reading is None or reading.scopes is None:
            return None
        if scope in ("region", "global"):
            return reading.scopes.get(scope)
        return reading.scopes.get(scope, 0.0)

    def with_overrides(self, overrides: dict[str, float]) -> AccountState:
        if not overrides:
            return self
        limits = dict(self.limits)
        for code, value in overrides.items():
            limits[code] = LimitReading(value=value, source="override", detail="--limit")
        return self.model_copy(update={"limits": limits})


Progress = Callable[[str], None]


def read_account(
    aws: Aws,
    stack: Stack,
    *,
    overrides: dict[str, float] | None = None,
    progress: Progress | None = None,
    reads: Reads | None = None,  # shared with other readers of the same run (the name checks)
    clients_made: Callable[[], None] | None = None,  # called once every client of the reads exists
) -> AccountState:
    from preflight.aws import AwsCallError, call, paginate
    from preflight.quotas.usage import COUNTERS, Reads

    reads = reads or Reads(aws, stack)
    region = aws.region
    home = home_region(region)  # where the partition's global quotas are read
    applied: dict[str, dict[str, float]] = {}
    defaults: dict[str, dict[str, float]] = {}
    applied_errors: dict[str, str] = {}
    default_errors: dict[str, str] = {}
    service_api: dict[str, float] = {}
    service_api_errors: dict[str, str] = {}
    usage: dict[str, UsageReading] = {}
    account: dict[str, Any] = {}

    def sq_client(service_code: str) -> Any:
        return aws.client("service-quotas", home if service_code in global_codes else region)

    def read_applied(service_code: str) -> None:
        try:
            found = paginate(sq_client(service_code), "ListServiceQuotas", "Quotas", ServiceCode=service_code)
            applied[service_code] = {q["QuotaCode"]: _value(q) for q in found if q.get("Value") is not None}
        except AwsCallError as exc:
            applied_errors[service_code] = str(exc)
            applied[service_code] = {}

    def read_defaults(service_code: str) -> None:
        # Read alongside the applied values rather than after them: one round of paging, not two.
        try:
            found = paginate(
                sq_client(service_code), "ListAWSDefaultServiceQuotas", "Quotas", ServiceCode=service_code
            )
            defaults[service_code] = {q["QuotaCode"]: _value(q) for q in found if q.get("Value") is not None}
        except AwsCallError as exc:
            default_errors[service_code] = str(exc)

    def read_service_api(api: str) -> None:
        try:
            match api:
                case "lambda":
                    limit = reads.lambda_settings()["AccountLimit"]
                    service_api["L-B99A9384"] = limit["ConcurrentExecutions"]
                    service_api["L-2ACBD22F"] = limit["TotalCodeSize"]
                case "kinesis":
                    service_api["L-0918CF54"] = reads.kinesis_limits()["ShardLimit"]
                case "iam":
                    summary = reads.iam_summary()
                    service_api["L-FE177D64"] = summary["RolesQuota"]
                    service_api["L-0DA4ABF3"] = summary["AttachedPoliciesPerRoleQuota"]
                case "ec2":
                    answer = call(
                        aws.client("ec2"), "DescribeAccountAttributes", AttributeNames=["vpc-max-elastic-ips"]
                    )
                    for attr in answer.get("AccountAttributes", []):
                        if attr["AttributeName"] == "vpc-max-elastic-ips":
                            service_api["L-0263D0A3"] = float(attr["AttributeValues"][0]["AttributeValue"])
        except AwsCallError as exc:
            for q in QUOTAS:
                if q.service_api and q.service_api.startswith(f"{api}."):
                    service_api_errors[q.quota_code] = str(exc)

    def count(quota: catalog.Quota) -> None:
        try:
            usage[quota.quota_code] = UsageReading(scopes=COUNTERS[quota.counter](reads))
        except AwsCallError as exc:
            usage[quota.quota_code] = UsageReading(scopes=None, error=str(exc))

    def identity() -> None:
        account["id"] = call(aws.client("sts"), "GetCallerIdentity")["Account"]

    def zones() -> None:
        answer = call(
            aws.client("ec2"),
            "DescribeAvailabilityZones",
            Filters=[{"Name": "state", "Values": ["available"]}],
        )
        account["azs"] = tuple(
            sorted(
                z["ZoneName"]
                for z in answer["AvailabilityZones"]
                if z.get("ZoneType", "availability-zone") == "availability-zone"
            )
        )

    def prefetch(read: Callable[[], Any]) -> None:
        # Whoever needs the result gets its failure too (a counter's quota becomes UNKNOWN).
        with contextlib.suppress(Exception):
            read()

    # Every read that depends on nothing is a task of its own, started at once: no task holds a
    # worker for another's pagination, and the pool has a worker for every task, so no read of one
    # service queues behind another's. Counters follow their service's reads; those that need a
    # read's answer (the stack's VPC, an ownership check) wait for that read only.
    # Only this thread creates clients (botocore sessions are not thread-safe); each group is
    # submitted as soon as its client exists, so network waits overlap with creating the next.
    global_codes = {q.service_code for q in QUOTAS if q.is_global}
    sq_tasks: list[tuple[str, Callable[[], None]]] = []
    for code in catalog.SERVICE_CODES:
        sq_tasks += [
            (f"{code} applied quotas", lambda code=code: read_applied(code)),
            (f"{code} default quotas", lambda code=code: read_defaults(code)),
        ]
    # Clients in order of what waits on them: identity (a small model), the 16 Service Quotas
    # listings (a small one), then EC2 (the largest model, most reads and the reads that need
    # another's answer), then the rest.
    groups: list[tuple[tuple[tuple[str, str], ...], list[tuple[str, Callable[[], None]]]]] = [
        ((("sts", region),), [("account identity", identity)]),
        ((("service-quotas", region), ("service-quotas", home)), sq_tasks),
    ]
    by_service: dict[str, list[tuple[str, Callable[[], None]]]] = {}
    for service, label, read in reads.independent():
        by_service.setdefault(service, []).append((label, lambda read=read: prefetch(read)))
    by_service["ec2"] += [("availability zones", zones), ("ec2 limits", lambda: read_service_api("ec2"))]
    by_service["lambda"] += [("lambda limits", lambda: read_service_api("lambda"))]
    by_service["kinesis"] += [("kinesis limits", lambda: read_service_api("kinesis"))]
    by_service["iam"] += [("iam limits", lambda: read_service_api("iam"))]
    for q in QUOTAS:
        by_service.setdefault(_usage_service(q), []).append((f"usage of {q.name}", lambda q=q: count(q)))
    for service in ("ec2", "lambda", "kinesis", "iam", "s3", "sns", "dynamodb"):
        where = home if service in global_codes else region
        groups.append((((service, where),), by_service.pop(service)))
    assert not by_service, f"usage read from a service with no client group: {sorted(by_service)}"

    workers = min(MAX_WORKERS, sum(len(tasks) for _, tasks in groups))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read") as pool:
        futures = {}
        for clients, tasks in groups:
            for service, where in clients:
                aws.client(service, where)
            futures.update({pool.submit(fn): label for label, fn in tasks})
        if clients_made:
            clients_made()
        for future in as_completed(futures):
            if progress:
                progress(futures[future])
    # Identity and zones are needed for anything at all: without them the account cannot be evaluated.
    # Checked in this order, so the message does not depend on which thread failed first.
    by_label = {label: future for future, label in futures.items()}
    for label in ("account identity", "availability zones"):
        exc = by_label[label].exception()
        if isinstance(exc, AwsCallError):
            raise AwsAccessError.of_call(exc)
    # The run's deadline passed: one error naming every call that did not answer in time.
    late = [exc for exc in (f.exception() for f in futures) if isinstance(exc, DeadlineExceeded)]
    if late:
        raise DeadlineExceeded(late[0].seconds, [name for exc in late for name in exc.waiting])
    # Anything else that escaped a task (no credentials, unreachable endpoint, a bug) ends the run.
    for future in futures:
        if future.exception() is not None:
            raise future.exception()  # type: ignore[misc]

    sq_errors = {
        code: "; ".join(e for e in (applied_errors.get(code), default_errors.get(code)) if e)
        for code in catalog.SERVICE_CODES
        if code in applied_errors or code in default_errors
    }
    limits = {
        q.quota_code: _resolve_limit(q, region, applied, defaults, sq_errors, service_api, service_api_errors)
        for q in QUOTAS
    }
    state = AccountState(
        region=region,
        current=_current_stack(reads),
        account_id=account["id"],
        taken_at=datetime.now(UTC),
        stack=StackRef(project=stack.project, environment=stack.environment),
        azs=account["azs"],
        limits=limits,
        usage=usage,
        api_calls=dict(sorted(aws.stats.counts.items())),
        elapsed_s=round(aws.stats.elapsed(), 3),
    )
    return state.with_overrides(overrides or {})


def _current_stack(reads: Reads) -> CurrentStack:
    """What of the stack exists now, from the reads the counters made (a failed read: not known, and
    the quota it belongs to is UNKNOWN already)."""
    from preflight.aws import AwsCallError

    reservations: dict[str, int | None] = {}
    shards: int | None = None
    with contextlib.suppress(AwsCallError):
        reservations = reads.own_reservations()
    with contextlib.suppress(AwsCallError):
        shards = reads.own_stream_shards()
    return CurrentStack(reservations=reservations, stream_shards=shards)


def _usage_service(q: catalog.Quota) -> str:
    """The client a quota's usage counter reads with: the prefix of its `usage_from`."""
    return q.usage_from.split(":", 1)[0]


def _value(quota: dict[str, Any]) -> float:
    return float(quota["Value"]) * _UNIT_FACTORS.get(quota.get("Unit", "None"), 1)


def _resolve_limit(
    q: catalog.Quota,
    region: str,
    applied: dict[str, dict[str, float]],
    defaults: dict[str, dict[str, float]],
    sq_errors: dict[str, str],
    service_api: dict[str, float],
    service_api_errors: dict[str, str],
) -> LimitReading:
    code = q.quota_code
    if q.service_api_first and code in service_api:
        return LimitReading(value=service_api[code], source="service-api", detail=q.service_api or "")
    if code in applied.get(q.service_code, {}):
        return LimitReading(value=applied[q.service_code][code], source="applied")
    published = defaults.get(q.service_code, {}).get(code)
    if code in service_api:
        # The service answers what it enforces for this account; the published default does not win.
        detail = q.service_api or ""
        if published is not None and service_api[code] < published:
            detail += f" (below AWS's published default of {q.format(published)})"
        return LimitReading(value=service_api[code], source="service-api", detail=detail)
    # The default stands in only for a value never applied: when the applied values could not be read,
    # an applied value may exist (above or below it), so the limit is unknown (fail closed).
    if published is not None and q.service_code not in sq_errors:
        detail = "never raised: AWS default"
        if code in service_api_errors:  # say so: the service might have answered a lower limit
            detail += f"; the service's own limit could not be read ({service_api_errors[code]})"
        return LimitReading(value=published, source="default", detail=detail)
    why = [e for e in (sq_errors.get(q.service_code), service_api_errors.get(code)) if e]
    detail = "; ".join(why) or f"Service Quotas has no {code} for {q.service_code} in {region}"
    return LimitReading(value=None, source="unknown", detail=detail)
