"""The gate's clients read timestamps without dateutil, into the instants botocore's parser gives."""

from __future__ import annotations

import botocore.utils
import pytest

from preflight.account.aws import _timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-30T01:00:00.000Z",
        "2026-11-30T01:00:00Z",
        "2026-11-30T01:00:00.123456Z",
        "2026-11-30T01:00:00+02:00",
        "2026-11-30T01:00:00.000+0000",
        "2026-11-30T01:00:00",  # no zone: botocore's own reading
        "Mon, 30 Nov 2026 01:00:00 GMT",
        "1700000000",
        1700000000,
        1700000000.5,
    ],
)
def test_the_same_instant_as_botocores_parser(value: object) -> None:
    ours, theirs = _timestamp(value), botocore.utils.parse_timestamp(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)


def test_a_bucket_listing_through_the_gates_client_has_aware_dates(sandbox) -> None:
    from preflight.account.aws import Aws

    sb = sandbox("fresh-account")
    sb.client("s3").create_bucket(Bucket="a-bucket")
    aws = Aws("us-east-1", endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    (bucket,) = aws.client("s3").list_buckets()["Buckets"]
    assert bucket["CreationDate"].tzinfo is not None
