"""The limit chain on its own (no account): applied, then the service's own API, then the published
default, and unknown when nothing answered. The service's answer comes first where it is authoritative
(Lambda concurrency), and the default never stands in when the applied values could not be read."""

from __future__ import annotations

from preflight.quotas import catalog
from preflight.quotas.limits import LimitReads

REGION = "us-east-1"
SHARDS = catalog.KINESIS_SHARDS  # the service reports it, not authoritatively
LAMBDA = catalog.LAMBDA_CONCURRENCY  # the service reports it, authoritatively
VPCS = catalog.VPCS  # Service Quotas only


def answered(**kwargs: object) -> LimitReads:
    reads = LimitReads()
    for name, value in kwargs.items():
        setattr(reads, name, value)
    return reads


def test_applied_wins_over_the_service_and_the_default() -> None:
    reads = answered(applied={"kinesis": {SHARDS.quota_code: 600.0}}, service={SHARDS.quota_code: 500.0})
    limit = reads.resolve_one(SHARDS, REGION)
    assert (limit.value, limit.source) == (600.0, "applied")


def test_the_service_answer_comes_before_the_default_and_says_when_it_is_lower() -> None:
    reads = answered(
        applied={"kinesis": {}},
        defaults={"kinesis": {SHARDS.quota_code: 20000.0}},
        service={SHARDS.quota_code: 500.0},
    )
    limit = reads.resolve_one(SHARDS, REGION)
    assert (limit.value, limit.source) == (500.0, "service-api")
    assert limit.detail == "kinesis.DescribeLimits.ShardLimit (below AWS's published default of 20000)"


def test_an_authoritative_service_answer_wins_even_over_an_applied_value() -> None:
    reads = answered(applied={"lambda": {LAMBDA.quota_code: 3000.0}}, service={LAMBDA.quota_code: 10.0})
    limit = reads.resolve_one(LAMBDA, REGION)
    assert (limit.value, limit.source, limit.detail) == (
        10.0,
        "service-api",
        "lambda.GetAccountSettings.ConcurrentExecutions",
    )


def test_the_default_stands_in_for_a_value_never_raised_and_says_what_the_service_did() -> None:
    reads = answered(
        applied={"kinesis": {}},
        defaults={"kinesis": {SHARDS.quota_code: 20000.0}},
        service_errors={SHARDS.quota_code: "kinesis:DescribeLimits failed: access denied"},
    )
    limit = reads.resolve_one(SHARDS, REGION)
    assert (limit.value, limit.source) == (20000.0, "default")
    assert "own limit could not be read (kinesis:DescribeLimits failed: access denied)" in limit.detail


def test_no_default_when_the_applied_values_could_not_be_read() -> None:
    """An applied value may exist below the default: unknown, never the default (fail closed)."""
    reads = answered(
        defaults={"vpc": {VPCS.quota_code: 5.0}},
        applied_errors={"vpc": "service-quotas:ListServiceQuotas failed: access denied"},
    )
    limit = reads.resolve_one(VPCS, REGION)
    assert (limit.value, limit.source) == (None, "unknown")
    assert "access denied" in limit.detail


def test_nothing_answered_is_unknown_and_says_so() -> None:
    limit = LimitReads().resolve_one(VPCS, REGION)
    assert (limit.value, limit.source) == (None, "unknown")
    assert limit.detail == f"Service Quotas has no {VPCS.quota_code} for vpc in {REGION}"


def test_every_quota_is_resolved_in_catalog_order() -> None:
    assert list(LimitReads().resolve(REGION)) == [q.quota_code for q in catalog.QUOTAS]


def test_each_service_limit_reads_its_value_from_the_answer() -> None:
    answers = [
        (catalog.LAMBDA_CONCURRENCY, {"AccountLimit": {"ConcurrentExecutions": 50, "TotalCodeSize": 1}}),
        (catalog.IAM_ROLES, {"SummaryMap": {"RolesQuota": 1000}}),
        (
            catalog.ELASTIC_IPS,
            {
                "AccountAttributes": [
                    {"AttributeName": "vpc-max-elastic-ips", "AttributeValues": [{"AttributeValue": "7"}]}
                ]
            },
        ),
    ]
    values = {q.key: q.service_limit.value(answer) for q, answer in answers if q.service_limit}
    assert values == {"lambda-concurrency": 50.0, "iam-roles": 1000.0, "elastic-ips": 7.0}
    assert catalog.ELASTIC_IPS.service_limit is not None
    assert catalog.ELASTIC_IPS.service_limit.value({"AccountAttributes": []}) is None  # not said: no answer
