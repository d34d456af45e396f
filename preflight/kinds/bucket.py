"""An S3 bucket: one against the account's (global) bucket quota; its name is global to a partition."""

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
    StepFailed,
    Strict,
    error_code_is,
    tag_dict,
    tag_list,
)
from preflight.quotas.catalog import S3_BUCKETS, home_region, partition_of

BUCKET = "aws:s3/bucket:Bucket"
LABELS = {BUCKET: "S3 bucket"}
# Bucket names are global: held by another account, CreateBucket fails with BucketAlreadyExists.
NAME_CHECK = NameCheck(
    "bucket",
    "TAP-C005",
    "S3 bucket",
    "BucketAlreadyExists",
    (BUCKET, "aws:s3/bucketV2:BucketV2"),
    title="S3 bucket name taken",
    help="Bucket names are global: CreateBucket fails with BucketAlreadyExists (another account) "
    "or BucketAlreadyOwnedByYou.",
    help_uri=f"{AWS_DOCS}/AmazonS3/latest/API/API_HeadBucket.html",
)


class BucketSpec(Strict):
    """An S3 bucket of the pipeline (its name is global: another account may hold it)."""

    name: Name = Field(description=LOGICAL, examples=["archive"])


class BucketPlan(Frozen):
    path: str
    key: str
    name: str


class Uses(Protocol):
    @property
    def buckets(self) -> tuple[BucketPlan, ...]: ...


def plans(specs: Sequence[BucketSpec], physical: Physical) -> tuple[BucketPlan, ...]:
    return tuple(
        BucketPlan(path=f"buckets[{i}]", key=b.name, name=physical(b.name)) for i, b in enumerate(specs)
    )


PART = Part(
    manifest={
        "buckets": (
            list[BucketSpec],
            Field(default_factory=list, max_length=1000, description="S3 buckets, by name."),
        )
    },
    deployment={"buckets": tuple[BucketPlan, ...]},
    resolve=lambda doc, r: {"buckets": plans(doc.buckets, r.physical)},
)


def needs(d: Uses) -> Needs:
    for bucket in d.buckets:
        yield S3_BUCKETS, "global", 1, bucket.path


def own(a: Account, d: Uses) -> list[str]:
    """The stack's buckets in the account: its names, listed, with its tags (one of its names without
    them is someone else's)."""
    listed = a.bucket_names()
    return [x.name for x in d.buckets if x.name in listed and a.owns(a.bucket_tags(x.name))]


def register(p: Program, d: Uses) -> None:
    p.made["buckets"] = {
        b.name: p.aws.s3.Bucket(b.name, bucket=b.name, tags=p.tags(b.name), opts=p.child) for b in d.buckets
    }


def expected(d: Uses) -> Expected:
    return {BUCKET: [b.name for b in d.buckets]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    """Nothing beyond the census and the tags: a bucket has only its name."""


def create(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    s3 = c("s3")
    params: dict[str, Any] = {"Bucket": i["bucket"]}
    if c.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    s3.create_bucket(**params)
    if i.get("tags"):
        try:
            s3.put_bucket_tagging(Bucket=i["bucket"], Tagging={"TagSet": tag_list(i)})
        except ClientError as exc:
            raise StepFailed("created, but PutBucketTagging failed", exc) from exc
    return i["bucket"], {"arn": f"arn:aws:s3:::{i['bucket']}", "bucket": i["bucket"]}


CREATORS = {BUCKET: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> Named:
    return [(b.name, b.path) for b in d.buckets]


def find(aws: Any, reads: Account, name: str) -> Found:
    """In this account (ListBuckets), held elsewhere (HeadBucket answers but not 404), or free."""
    from preflight.account.aws import AwsCallError, call

    # Bucket names are global to a partition: asked in its home region, as the bucket quota is.
    client = aws.client("s3", home_region(aws.region))
    if name in reads.bucket_names():
        try:
            tags = call(client, "GetBucketTagging", Bucket=name).get("TagSet")
        except AwsCallError as exc:
            if not error_code_is(exc, "NoSuchTagSet"):
                raise
            tags = None
        return Found(exists=True, arn=f"arn:{partition_of(aws.region)}:s3:::{name}", tags=tag_dict(tags))
    try:
        call(client, "HeadBucket", Bucket=name)
    except AwsCallError as exc:
        if error_code_is(exc, "404", "NoSuchBucket", "NotFound"):
            return NOT_FOUND
        if not error_code_is(exc, "403", "AccessDenied", "301", "PermanentRedirect", "400"):
            raise
    # Not ours (not in ListBuckets) yet it answers: another account holds the name.
    return Found(elsewhere=True)
