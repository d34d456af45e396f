"""A CloudWatch alarm on a function's or a stream's metric, notifying a topic; created once, with its action.

No quota: alarms are not counted here. What the seed's deploy got wrong (an alarm created twice, the
second without its action) is what `verify-program` checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator, model_validator

from preflight.kinds.base import (
    AWS_DOCS,
    LOGICAL,
    NOT_FOUND,
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
    Physical,
    Program,
    Strict,
    tag_dict,
    tag_list,
)
from preflight.kinds.topic import TOPIC
from preflight.support.bounds import AlarmPeriodS, AlarmThreshold, EvaluationPeriods

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LABELS = {METRIC_ALARM: "CloudWatch alarm"}
# PutMetricAlarm on an existing name silently replaces that alarm.
NAME_CHECK = NameCheck(
    "alarm",
    "TAP-C007",
    "CloudWatch alarm",
    None,
    (METRIC_ALARM,),
    title="CloudWatch alarm name held by another stack",
    help="PutMetricAlarm on an existing name silently replaces that alarm.",
    help_uri=f"{AWS_DOCS}/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
)


class AlarmSpec(Strict):
    """A CloudWatch alarm, notifying a topic."""

    name: Name = Field(description=LOGICAL, examples=["ingest-errors"])
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


class AlarmPlan(Frozen):
    path: str
    key: str
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str = "Sum"
    threshold: AlarmThreshold
    period_s: AlarmPeriodS = 60
    evaluation_periods: EvaluationPeriods = 1
    comparison: str = "GreaterThanOrEqualToThreshold"
    topic: str  # physical name of the SNS topic notified


class Uses(Protocol):
    @property
    def alarms(self) -> tuple[AlarmPlan, ...]: ...


def plans(specs: Sequence[AlarmSpec], physical: Physical) -> tuple[AlarmPlan, ...]:
    return tuple(
        AlarmPlan(
            path=f"alarms[{i}]",
            key=a.name,
            name=physical(a.name),
            namespace=a.namespace,
            metric=a.metric,
            dimensions=(
                {"FunctionName": physical(a.function)}
                if a.function
                else {"StreamName": physical(a.stream)}
                if a.stream
                else {}
            ),
            statistic=a.statistic,
            threshold=a.threshold,
            period_s=a.period_s,
            evaluation_periods=a.evaluation_periods,
            comparison=a.comparison,
            topic=physical(a.topic),
        )
        for i, a in enumerate(specs)
    )


PART = Part(
    manifest={
        "alarms": (
            list[AlarmSpec],
            Field(default_factory=list, max_length=5000, description="CloudWatch alarms, each created once."),
        )
    },
    deployment={"alarms": tuple[AlarmPlan, ...]},
    resolve=lambda doc, r: {"alarms": plans(doc.alarms, r.physical)},
)


def needs(d: Uses) -> Needs:
    yield from ()


def register(p: Program, d: Uses) -> None:
    topics = p.made["topics"]
    # Each alarm once, with its action set at creation: never a second MetricAlarm of the same name.
    p.made["alarms"] = [
        p.aws.cloudwatch.MetricAlarm(
            a.name,
            name=a.name,
            namespace=a.namespace,
            metric_name=a.metric,
            dimensions=dict(a.dimensions),
            statistic=a.statistic,
            threshold=a.threshold,
            period=a.period_s,
            evaluation_periods=a.evaluation_periods,
            comparison_operator=a.comparison,
            alarm_actions=[topics[a.topic].arn],
            tags=p.tags(a.name),
            opts=p.child,
        )
        for a in d.alarms
    ]


def expected(d: Uses) -> Expected:
    return {METRIC_ALARM: [a.name for a in d.alarms]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    """Alarms: created once (the census), each with its action, at creation."""
    for alarm in d.alarms:
        r = inv.one(METRIC_ALARM, alarm.name)
        if not r:
            continue
        label, inputs = f"alarm {alarm.name}", r["inputs"]
        if not inputs.get("alarmActions"):
            check.add(f"{label} has no alarmActions: it would notify nobody")
        else:
            check.eq(label, "alarmActions", inputs.get("alarmActions"), [inv.arn_of(TOPIC, alarm.topic)])
        check.eq(label, "namespace", inputs.get("namespace"), alarm.namespace)
        check.eq(label, "metricName", inputs.get("metricName"), alarm.metric)
        check.eq(label, "dimensions", inputs.get("dimensions") or {}, alarm.dimensions)
        check.eq(label, "threshold", inputs.get("threshold"), alarm.threshold)
        check.eq(label, "comparisonOperator", inputs.get("comparisonOperator"), alarm.comparison)
    planned = {a.name for a in d.alarms}
    for r in inv.records:
        named = r["inputs"].get("name") or (r["inputs"].get("tags") or {}).get("Name")
        if r["type"] == METRIC_ALARM and named not in planned and not r["inputs"].get("alarmActions"):
            check.add(f"alarm {r['name']} has no alarmActions")


def create(c: Any, i: dict[str, Any]) -> Created:
    cloudwatch = c("cloudwatch")
    params: dict[str, Any] = {
        "AlarmName": i["name"],
        "Namespace": i["namespace"],
        "MetricName": i["metricName"],
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()],
        "Statistic": i.get("statistic") or "Sum",
        "Threshold": float(i["threshold"]),
        "Period": int(i.get("period") or 60),
        "EvaluationPeriods": int(i["evaluationPeriods"]),
        "ComparisonOperator": i["comparisonOperator"],
        "AlarmActions": list(i.get("alarmActions") or []),
        "Tags": tag_list(i),
    }
    cloudwatch.put_metric_alarm(**params)
    alarms = cloudwatch.describe_alarms(AlarmNames=[i["name"]])["MetricAlarms"]
    arn = alarms[0]["AlarmArn"] if alarms else ""
    return i["name"], {"arn": arn, "name": i["name"]}


CREATORS = {METRIC_ALARM: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> Named:
    return [(a.name, a.path) for a in d.alarms]


def find_all(aws: Any, reads: Any, names: list[str]) -> list[Found]:
    """All the alarms' names at once: DescribeAlarms takes up to 100 names a call."""
    from preflight.account.aws import call

    client = aws.client("cloudwatch")
    arns: dict[str, str] = {}
    for start in range(0, len(names), 100):
        answer = call(
            client, "DescribeAlarms", AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"]
        )
        arns.update({a["AlarmName"]: a["AlarmArn"] for a in answer.get("MetricAlarms", [])})

    def found(arn: str | None) -> Found:
        if arn is None:
            return NOT_FOUND
        tags = call(client, "ListTagsForResource", ResourceARN=arn).get("Tags")
        return Found(exists=True, arn=arn, tags=tag_dict(tags))

    return [found(arns.get(name)) for name in names]
