"""A DynamoDB table: one against the region's table quota."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

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
    error_code_is,
    tag_dict,
    tag_list,
)
from preflight.quotas.catalog import DYNAMODB_TABLES

TABLE = "aws:dynamodb/table:Table"
LABELS = {TABLE: "DynamoDB table"}
BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]
NAME_CHECK = NameCheck(
    "table",
    "TAP-C004",
    "DynamoDB table",
    "ResourceInUseException",
    (TABLE,),
    title="DynamoDB table name taken",
    help="CreateTable fails with ResourceInUseException.",
    help_uri=f"{AWS_DOCS}/amazondynamodb/latest/APIReference/API_CreateTable.html",
)


class TableSpec(Strict):
    """A DynamoDB table of the pipeline."""

    name: Name = Field(description=LOGICAL, examples=["state"])
    hash_key: str = Field("pk", alias="hashKey", description="Partition key attribute (a string).")
    billing_mode: BillingMode = Field(
        "PAY_PER_REQUEST",
        alias="billingMode",
        description="On-demand (PAY_PER_REQUEST) or PROVISIONED capacity.",
    )


class TablePlan(Frozen):
    path: str
    key: str
    name: str
    hash_key: str = "pk"
    billing_mode: BillingMode = "PAY_PER_REQUEST"


class Uses(Protocol):
    @property
    def tables(self) -> tuple[TablePlan, ...]: ...


def plans(specs: Sequence[TableSpec], physical: Physical) -> tuple[TablePlan, ...]:
    return tuple(
        TablePlan(
            path=f"tables[{i}]",
            key=t.name,
            name=physical(t.name),
            hash_key=t.hash_key,
            billing_mode=t.billing_mode,
        )
        for i, t in enumerate(specs)
    )


PART = Part(
    manifest={
        "tables": (
            list[TableSpec],
            Field(default_factory=list, max_length=1000, description="DynamoDB tables, by name."),
        )
    },
    deployment={"tables": tuple[TablePlan, ...]},
    resolve=lambda doc, r: {"tables": plans(doc.tables, r.physical)},
)


def needs(d: Uses) -> Needs:
    for table in d.tables:
        yield DYNAMODB_TABLES, "region", 1, table.path


def own(a: Account, d: Uses) -> list[str]:
    """The stack's tables in the account: its names, listed, with its tags (one of its names without
    them is someone else's)."""
    listed = a.table_names()
    return [x.name for x in d.tables if x.name in listed and a.owns(a.table_tags(x.name))]


def register(p: Program, d: Uses) -> None:
    p.made["tables"] = {
        t.name: p.aws.dynamodb.Table(
            t.name,
            name=t.name,
            hash_key=t.hash_key,
            attributes=[p.aws.dynamodb.TableAttributeArgs(name=t.hash_key, type="S")],
            billing_mode=t.billing_mode,
            tags=p.tags(t.name),
            opts=p.child,
        )
        for t in d.tables
    }


def expected(d: Uses) -> Expected:
    return {TABLE: [t.name for t in d.tables]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    for t in d.tables:
        table = inv.one(TABLE, t.name)
        if table:
            label, inputs = f"table {t.name}", table["inputs"]
            check.eq(label, "hashKey", inputs.get("hashKey"), t.hash_key)
            check.eq(label, "billingMode", inputs.get("billingMode"), t.billing_mode)


def create(c: Any, i: dict[str, Any]) -> Created:
    attributes = i.get("attributes") or [{"name": i["hashKey"], "type": "S"}]
    params: dict[str, Any] = {
        "TableName": i["name"],
        "KeySchema": [{"AttributeName": i["hashKey"], "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in attributes
        ],
        "BillingMode": i.get("billingMode") or "PROVISIONED",
        "Tags": tag_list(i),
    }
    if params["BillingMode"] == "PROVISIONED":
        params["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(i.get("readCapacity") or 1),
            "WriteCapacityUnits": int(i.get("writeCapacity") or 1),
        }
    table = c("dynamodb").create_table(**params)["TableDescription"]
    return i["name"], {"arn": table["TableArn"], "name": i["name"]}


CREATORS = {TABLE: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> Named:
    return [(t.name, t.path) for t in d.tables]


def find(aws: Any, reads: Account, name: str) -> Found:
    from preflight.account.aws import AwsCallError, call

    client = aws.client("dynamodb")
    try:
        arn = call(client, "DescribeTable", TableName=name)["Table"]["TableArn"]
    except AwsCallError as exc:
        if error_code_is(exc, "ResourceNotFoundException"):
            return NOT_FOUND
        raise
    tags = call(client, "ListTagsOfResource", ResourceArn=arn).get("Tags")
    return Found(exists=True, arn=arn, tags=tag_dict(tags))
