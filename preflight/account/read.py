"""Reading an account: every limit (with its source) and every usage count the catalog needs.

The limit of a quota is read along the chain in `preflight.quotas.limits` (applied value, the
service's own API, the published default; unknown when nothing answered); its usage by the counter
`preflight.quotas.usage` registers for it. `--limit CODE=N` overrides win over everything.

All reads are independent and run concurrently on a bounded pool; reads that several counters share
happen once (`usage.Reads`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from preflight.conflicts import Evidence
from preflight.deployment import CurrentStack
from preflight.quotas.catalog import GLOBAL_SERVICE_CODES, QUOTAS, Quota, home_region
from preflight.quotas.limits import LimitReading, LimitReads, Task
from preflight.support.bounds import Count, ElapsedS, QuotaValue
from preflight.support.deadline import DeadlineExceeded
from preflight.support.errors import AwsAccessError

if TYPE_CHECKING:  # botocore is imported by a live read only: a snapshot is read without it
    from preflight.account.aws import Aws
    from preflight.quotas.usage import Reads, Stack

SNAPSHOT_SCHEMA = "tap-preflight/snapshot/v1"
MAX_WORKERS = 128  # above the tasks of a run (about 80 with 20 functions): none waits for a worker
# Clients in order of what waits on them, after identity and Service Quotas: EC2 (the largest model,
# most reads and the reads that need another's answer), then the rest.
CLIENT_ORDER = ("ec2", "lambda", "kinesis", "iam", "s3", "sns", "dynamodb")

# (clients to create first, tasks that use them)
Group = tuple[tuple[tuple[str, str], ...], list[Task]]


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
    from preflight.quotas.usage import Reads

    reads = reads or Reads(aws, stack)
    limits = LimitReads()
    usage: dict[str, UsageReading] = {}
    account: dict[str, Any] = {}
    groups = _task_groups(aws, reads, limits, usage, account)
    futures = _run(aws, groups, progress, clients_made)
    _raise_failures(futures)
    state = AccountState(
        region=aws.region,
        current=_current_stack(reads),
        account_id=account["id"],
        taken_at=datetime.now(UTC),
        stack=StackRef(project=stack.project, environment=stack.environment),
        azs=account["azs"],
        limits=limits.resolve(aws.region),
        usage=usage,
        api_calls=dict(sorted(aws.stats.counts.items())),
        elapsed_s=round(aws.stats.elapsed(), 3),
    )
    return state.with_overrides(overrides or {})


def _task_groups(
    aws: Aws, reads: Reads, limits: LimitReads, usage: dict[str, UsageReading], account: dict[str, Any]
) -> list[Group]:
    """Every read that depends on nothing is a task of its own, started at once: no task holds a
    worker for another's pagination, and the pool has a worker for every task, so no read of one
    service queues behind another's. Counters follow their service's reads; those that need a read's
    answer (the stack's VPC, an ownership check) wait for that read only."""
    region, home = aws.region, home_region(aws.region)
    groups: list[Group] = [
        ((("sts", region),), [("account identity", lambda: _identity(aws, account))]),
        ((("service-quotas", region), ("service-quotas", home)), limits.quota_tasks(aws)),
    ]
    by_service: dict[str, list[Task]] = {}
    for service, label, read in reads.independent():
        by_service.setdefault(service, []).append((label, lambda read=read: _prefetch(read)))
    by_service["ec2"].append(("availability zones", lambda: _zones(aws, account)))
    for service, task in limits.service_tasks(reads):
        by_service.setdefault(service, []).append(task)
    for q in QUOTAS:
        count = (f"usage of {q.name}", lambda q=q: _count(q, reads, usage))
        by_service.setdefault(q.usage.client, []).append(count)
    for service in CLIENT_ORDER:
        where = home if service in GLOBAL_SERVICE_CODES else region
        groups.append((((service, where),), by_service.pop(service)))
    assert not by_service, f"usage read from a service with no client group: {sorted(by_service)}"
    return groups


def _run(
    aws: Aws, groups: list[Group], progress: Progress | None, clients_made: Callable[[], None] | None
) -> dict[Future[None], str]:
    """Run every task; only this thread creates clients (botocore sessions are not thread-safe), and
    each group is submitted as soon as its clients exist, so network waits overlap with creating the
    next."""
    workers = min(MAX_WORKERS, sum(len(tasks) for _, tasks in groups))
    futures: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read") as pool:
        for clients, tasks in groups:
            for service, where in clients:
                aws.client(service, where)
            futures.update({pool.submit(fn): label for label, fn in tasks})
        if clients_made:
            clients_made()
        for future in as_completed(futures):
            if progress:
                progress(futures[future])
    return futures


def _raise_failures(futures: dict[Future[None], str]) -> None:
    from preflight.account.aws import AwsCallError

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


def _identity(aws: Aws, account: dict[str, Any]) -> None:
    from preflight.account.aws import call

    account["id"] = call(aws.client("sts"), "GetCallerIdentity")["Account"]


def _zones(aws: Aws, account: dict[str, Any]) -> None:
    from preflight.account.aws import call

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


def _count(q: Quota, reads: Reads, usage: dict[str, UsageReading]) -> None:
    from preflight.account.aws import AwsCallError
    from preflight.quotas.usage import count

    try:
        usage[q.quota_code] = UsageReading(scopes=count(q, reads))
    except AwsCallError as exc:
        usage[q.quota_code] = UsageReading(scopes=None, error=str(exc))


def _prefetch(read: Callable[[], Any]) -> None:
    # Whoever needs the result gets its failure too (a counter's quota becomes UNKNOWN).
    with contextlib.suppress(Exception):
        read()


def _current_stack(reads: Reads) -> CurrentStack:
    """What of the stack exists now, from the reads the counters made (a failed read: not known, and
    the quota it belongs to is UNKNOWN already)."""
    from preflight.account.aws import AwsCallError
    from preflight.kinds import function, stream

    reservations: dict[str, int | None] = {}
    shards: dict[str, int] = {}
    with contextlib.suppress(AwsCallError):
        reservations = function.own_reservations(reads, reads.stack.deployment)
    with contextlib.suppress(AwsCallError):
        shards = stream.own_shards(reads, reads.stack.deployment)
    return CurrentStack(reservations=reservations, stream_shards=shards)
