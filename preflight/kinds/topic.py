"""An SNS topic alarms notify: one against the region's topic quota."""

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
    Physical,
    Program,
    Strict,
    tag_dict,
    tag_list,
)
from preflight.quotas.catalog import SNS_TOPICS

TOPIC = "aws:sns/topic:Topic"
LABELS = {TOPIC: "SNS topic"}
# CreateTopic is idempotent: the deploy adopts a topic of that name (and fails when its tags differ).
NAME_CHECK = NameCheck(
    "topic",
    "TAP-C006",
    "SNS topic",
    None,
    (TOPIC,),
    title="SNS topic name taken",
    help="CreateTopic is idempotent: the stack adopts the topic, and fails when its tags differ.",
    help_uri=f"{AWS_DOCS}/sns/latest/api/API_CreateTopic.html",
)


class TopicSpec(Strict):
    """An SNS topic alarms notify."""

    name: Name = Field(description=LOGICAL, examples=["alarms"])


class TopicPlan(Frozen):
    path: str
    key: str
    name: str


class Uses(Protocol):
    @property
    def topics(self) -> tuple[TopicPlan, ...]: ...


def plans(specs: Sequence[TopicSpec], physical: Physical) -> tuple[TopicPlan, ...]:
    return tuple(
        TopicPlan(path=f"topics[{i}]", key=t.name, name=physical(t.name)) for i, t in enumerate(specs)
    )


PART = Part(
    manifest={
        "topics": (
            list[TopicSpec],
            Field(default_factory=list, max_length=1000, description="SNS topics alarms notify, by name."),
        )
    },
    deployment={"topics": tuple[TopicPlan, ...]},
    resolve=lambda doc, r: {"topics": plans(doc.topics, r.physical)},
)


def needs(d: Uses) -> Needs:
    for topic in d.topics:
        yield SNS_TOPICS, "region", 1, topic.path


def own(a: Account, d: Uses) -> list[str]:
    """The ARNs of the stack's topics in the account: its names, listed, with its tags (one of its
    names without them is someone else's)."""
    arns = a.topic_arns()
    out = []
    for t in d.topics:
        arn = next((x for x in arns if x.endswith(f":{t.name}")), None)
        if arn is not None and a.owns(a.topic_tags(arn)):
            out.append(arn)
    return out


def register(p: Program, d: Uses) -> None:
    p.made["topics"] = {
        t.name: p.aws.sns.Topic(t.name, name=t.name, tags=p.tags(t.name), opts=p.child) for t in d.topics
    }


def expected(d: Uses) -> Expected:
    return {TOPIC: [t.name for t in d.topics]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    """Nothing beyond the census and the tags: the alarms check that they notify it."""


def create(c: Any, i: dict[str, Any]) -> Created:
    arn = c("sns").create_topic(Name=i["name"], Tags=tag_list(i))["TopicArn"]
    return arn, {"arn": arn, "name": i["name"]}


CREATORS = {TOPIC: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> Named:
    return [(t.name, t.path) for t in d.topics]


def find(aws: Any, reads: Account, name: str) -> Found:
    from preflight.account.aws import call

    arn = next((a for a in reads.topic_arns() if a.rsplit(":", 1)[-1] == name), None)
    if arn is None:
        return NOT_FOUND
    tags = call(aws.client("sns"), "ListTagsForResource", ResourceArn=arn).get("Tags")
    return Found(exists=True, arn=arn, tags=tag_dict(tags))
