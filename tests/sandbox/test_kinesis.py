"""Kinesis DescribeLimits computed from the streams that exist and the applied shard quota."""

from __future__ import annotations

from preflight.sandbox import Sandbox


def test_describe_limits_counts_open_shards_of_provisioned_streams(fresh: Sandbox) -> None:
    kinesis = fresh.client("kinesis")
    before = kinesis.describe_limits()
    assert (before["ShardLimit"], before["OpenShardCount"]) == (20000, 0)
    assert (before["OnDemandStreamCount"], before["OnDemandStreamCountLimit"]) == (0, 50)
    kinesis.create_stream(StreamName="a", ShardCount=3)
    kinesis.create_stream(StreamName="b", ShardCount=5)
    kinesis.create_stream(StreamName="c", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    after = kinesis.describe_limits()
    assert after["OpenShardCount"] == 8
    assert after["OnDemandStreamCount"] == 1
    kinesis.delete_stream(StreamName="b")
    assert kinesis.describe_limits()["OpenShardCount"] == 3


def test_shard_limit_is_the_applied_quota_and_regional(fresh: Sandbox) -> None:
    fresh.set_applied_quota("kinesis", "L-0918CF54", 200)
    assert fresh.client("kinesis").describe_limits()["ShardLimit"] == 200
    assert (
        fresh.client("kinesis", "eu-central-1").describe_limits()["ShardLimit"] == 500
    )  # catalog default there
    west = fresh.client("kinesis", "us-west-2")
    west.create_stream(StreamName="w", ShardCount=2)
    assert west.describe_limits()["OpenShardCount"] == 2
    assert fresh.client("kinesis").describe_limits()["OpenShardCount"] == 0
