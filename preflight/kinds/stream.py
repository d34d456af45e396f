"""A Kinesis data stream: its shards count against the region's shard quota; a redeploy reshards it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import Field

from preflight.kinds.base import (
    AWS_DOCS,
    LOGICAL,
    NOT_FOUND,
    Account,
    Checker,
    Created,
    Expected,
    Found,
    Frozen,
    Inventory,
    Name,
    NameCheck,
    Named,
    Needs,
    Part,
    Peak,
    Physical,
    Program,
    Read,
    Refusal,
    StepFailed,
    Strict,
    not_found,
    owned,
    stack_tags,
    tag_dict,
)
from preflight.quotas.catalog import KINESIS_SHARDS
from preflight.redeploy import reshard
from preflight.support.bounds import RetentionHours, Shards

STREAM = "aws:kinesis/stream:Stream"
LABELS = {STREAM: "Kinesis stream"}
NAME_CHECK = NameCheck(
    "stream",
    "TAP-C003",
    "Kinesis stream",
    "ResourceInUseException",
    (STREAM,),
    title="Kinesis stream name taken",
    help="CreateStream fails with ResourceInUseException.",
    help_uri=f"{AWS_DOCS}/kinesis/latest/APIReference/API_CreateStream.html",
)


class StreamSpec(Strict):
    """A Kinesis data stream of the pipeline."""

    name: Name = Field(description=LOGICAL, examples=["events"])
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


class StreamPlan(Frozen):
    path: str
    key: str
    name: str
    shards: Shards
    retention_hours: RetentionHours = 24


class Uses(Protocol):
    @property
    def streams(self) -> tuple[StreamPlan, ...]: ...


def plans(specs: Sequence[StreamSpec], physical: Physical) -> tuple[StreamPlan, ...]:
    return tuple(
        StreamPlan(
            path=f"streams[{i}]",
            key=s.name,
            name=physical(s.name),
            shards=s.shards,
            retention_hours=s.retention_hours,
        )
        for i, s in enumerate(specs)
    )


PART = Part(
    manifest={
        "streams": (
            list[StreamSpec],
            Field(default_factory=list, max_length=1000, description="Kinesis data streams, by name."),
        )
    },
    deployment={"streams": tuple[StreamPlan, ...]},
    resolve=lambda doc, r: {"streams": plans(doc.streams, r.physical)},
)


def needs(d: Uses) -> Needs:
    for stream in d.streams:
        yield KINESIS_SHARDS, "region", stream.shards, f"{stream.path}.shards"


def redeploy_peaks(d: Uses, current: Any) -> list[Peak]:
    """A reshard holds the current shards and the target ones at once (UpdateShardCount)."""
    changes = [reshard(current.stream_shards.get(s.name), s.shards) for s in d.streams]
    resharding = [c for c in changes if c is not None]
    if not resharding:
        return []
    peak = sum(c.peak if c else s.shards for c, s in zip(changes, d.streams, strict=True))
    note = "; ".join(
        f"resharding {c.current} -> {c.target}: the {c.current} open shards "
        f"stay open while UpdateShardCount makes the {c.target} new ones"
        for c in resharding
    )
    return [(KINESIS_SHARDS, "region", peak, note)]


def redeploy_refusals(d: Uses, current: Any) -> list[Refusal]:
    """Each stream one UpdateShardCount cannot take to its target: at most double or half a call.

    The way out is a reshard in steps before the deploy, or a target within reach.
    """
    out = []
    for stream in d.streams:
        change = reshard(current.stream_shards.get(stream.name), stream.shards)
        if change is None or change.one_call:
            continue
        reach = 2 * change.current if change.target > change.current else -(-change.current // 2)
        steps = " -> ".join(str(n) for n in [change.current, *change.steps()])
        message = (
            f"does not fit: UpdateShardCount can at most double or halve a stream per call; "
            f"{change.current} -> {change.target} needs {len(change.steps())} calls ({steps}): "
            f"reshard in steps before the deploy, or ask for at most {reach}"
        )
        scope = f"stream:{stream.name}"
        path = f"{stream.path}.shards"
        out.append(Refusal(KINESIS_SHARDS, scope, reach, change.current, change.target, path, message))
    return out


def own_reads(a: Account, d: Uses) -> list[Read]:
    return [("kinesis", "the stack's streams", lambda: own_shards(a, d))]


def own_shards(a: Account, d: Uses) -> dict[str, int]:
    """Open shards of each of the stack's streams that exist and carry the stack's tags."""
    out: dict[str, int] = {}
    for s in d.streams:
        summary = a.stream_summary(s.name)  # shared with the name checks
        # A stream of that name without the stack's tags is someone else's.
        if summary is not None and a.owns(a.stream_tags(s.name)):
            out[s.name] = int(summary.get("OpenShardCount", 0))
    return out


def register(p: Program, d: Uses) -> None:
    p.made["streams"] = {
        s.name: p.aws.kinesis.Stream(
            s.name,
            name=s.name,
            shard_count=s.shards,
            retention_period=s.retention_hours,
            tags=p.tags(s.name),
            opts=p.child,
        )
        for s in d.streams
    }


def expected(d: Uses) -> Expected:
    return {STREAM: [s.name for s in d.streams]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    for s in d.streams:
        stream = inv.one(STREAM, s.name)
        if stream:
            label, inputs = f"stream {s.name}", stream["inputs"]
            check.eq(label, "shardCount", inputs.get("shardCount"), s.shards)
            check.eq(label, "retentionPeriod", inputs.get("retentionPeriod"), s.retention_hours)


def create(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    kinesis = c("kinesis")
    kinesis.create_stream(StreamName=i["name"], ShardCount=int(i.get("shardCount") or 1))
    try:
        if i.get("tags"):
            kinesis.add_tags_to_stream(StreamName=i["name"], Tags={k: str(v) for k, v in i["tags"].items()})
        retention = int(i.get("retentionPeriod") or 24)
        if retention > 24:
            kinesis.increase_stream_retention_period(StreamName=i["name"], RetentionPeriodHours=retention)
        summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
    except ClientError as exc:
        raise StepFailed("created, but configuring it failed", exc) from exc
    return summary["StreamARN"], {"arn": summary["StreamARN"], "name": i["name"]}


CREATORS = {STREAM: create}


def update(c: Any, i: dict[str, Any]) -> Created | None:
    """The stack's stream `name`, resharded to the planned count; None when it is not the stack's."""
    from botocore.exceptions import ClientError

    kinesis = c("kinesis")
    try:
        tags = kinesis.list_tags_for_stream(StreamName=i["name"])["Tags"]
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    if not owned(tags, stack_tags(i)):
        return None
    target = int(i.get("shardCount") or 1)
    try:
        summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
        # One call to the target, as the provider makes it: AWS refuses more than doubling or halving.
        if int(summary["OpenShardCount"]) != target:
            kinesis.update_shard_count(
                StreamName=i["name"], TargetShardCount=target, ScalingType="UNIFORM_SCALING"
            )
            summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
    except ClientError as exc:
        raise StepFailed(f"update: UpdateShardCount({target}) failed", exc) from exc
    return summary["StreamARN"], {"arn": summary["StreamARN"], "name": i["name"]}


UPDATERS = {STREAM: update}


def delete_removed(c: Any, stack: dict[str, str], kept: set[str]) -> list[dict[str, Any]]:
    """Delete the stack's streams (by its tags) that the plan no longer has."""
    kinesis = c("kinesis")
    deleted: list[dict[str, Any]] = []
    for name in kinesis.list_streams().get("StreamNames", []):
        if name not in kept and owned(kinesis.list_tags_for_stream(StreamName=name)["Tags"], stack):
            kinesis.delete_stream(StreamName=name)
            deleted.append({"type": STREAM, "name": name})
    return deleted


def named(d: Uses) -> Named:
    return [(s.name, s.path) for s in d.streams]


def find(aws: Any, reads: Account, name: str) -> Found:
    summary = reads.stream_summary(name)
    if summary is None:
        return NOT_FOUND
    tags = reads.stream_tags(name)  # the same read the usage counter makes
    return Found(exists=True, arn=summary.get("StreamARN"), tags=tag_dict(tags))
