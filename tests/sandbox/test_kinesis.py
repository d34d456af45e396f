"""Kinesis DescribeLimits computed from the streams that exist and the applied shard quota."""

from __future__ import annotations

from preflight.sandbox import Sandbox

from .helpers import code_of, error_of, raw_client, status_of


def test_describe_limits_counts_open_shards_of_provisioned_streams(fresh: Sandbox) -> None:
    kinesis = raw_client(fresh, "kinesis")
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
        fresh.client("kinesis", "eu-central-1").describe_limits()["ShardLimit"] == 1000
    )  # the published default there
    west = fresh.client("kinesis", "us-west-2")
    west.create_stream(StreamName="w", ShardCount=2)
    assert west.describe_limits()["OpenShardCount"] == 2
    assert fresh.client("kinesis").describe_limits()["OpenShardCount"] == 0


def test_an_unlisted_limit_is_enforced_and_reported_but_not_in_service_quotas(fresh: Sandbox) -> None:
    fresh.set_applied_quota("kinesis", "L-0918CF54", 10, listed=False)
    kinesis = raw_client(fresh, "kinesis")
    assert kinesis.describe_limits()["ShardLimit"] == 10
    sq = fresh.client("service-quotas")
    assert sq.list_service_quotas(ServiceCode="kinesis")["Quotas"] == []
    default = sq.get_aws_default_service_quota(ServiceCode="kinesis", QuotaCode="L-0918CF54")["Quota"]
    assert default["Value"] == 20000
    kinesis.create_stream(StreamName="a", ShardCount=8)
    err = error_of(lambda: kinesis.create_stream(StreamName="b", ShardCount=3))
    assert (code_of(err), status_of(err)) == ("LimitExceededException", 400)
    message = err.response["Error"]["Message"]
    assert "Current shard count for the account: 8. Limit: 10." in message
    assert "additional shards that would have resulted from this request: 3" in message
    kinesis.create_stream(StreamName="c", ShardCount=2)  # exactly full still fits
    assert kinesis.describe_limits()["OpenShardCount"] == 10


def test_on_demand_streams_do_not_take_shards(fresh: Sandbox) -> None:
    fresh.set_applied_quota("kinesis", "L-0918CF54", 1)
    kinesis = raw_client(fresh, "kinesis")
    kinesis.create_stream(StreamName="a", ShardCount=1)
    kinesis.create_stream(StreamName="b", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert code_of(error_of(lambda: kinesis.create_stream(StreamName="c", ShardCount=1))) == (
        "LimitExceededException"
    )


def test_update_shard_count_doubles_or_halves_and_holds_both_while_it_runs(fresh: Sandbox) -> None:
    fresh.set_applied_quota("kinesis", "L-0918CF54", 7)
    kinesis = raw_client(fresh, "kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=2)

    def update(target: int) -> None:
        kinesis.update_shard_count(StreamName="s", TargetShardCount=target, ScalingType="UNIFORM_SCALING")

    err = error_of(lambda: update(5))  # more than double
    assert (
        code_of(err) == "LimitExceededException"
        and "at most double or half" in err.response["Error"]["Message"]
    )
    update(4)  # 2 open + 4 new = 6 of 7 while it runs
    assert kinesis.describe_limits()["OpenShardCount"] == 4
    err = error_of(lambda: update(1))  # below half
    assert code_of(err) == "LimitExceededException"
    err = error_of(lambda: update(8))  # double, but 4 open + 8 new = 12 > 7
    assert "Current shard count for the account: 4. Limit: 7." in err.response["Error"]["Message"]
    update(2)
    assert kinesis.describe_limits()["OpenShardCount"] == 2
