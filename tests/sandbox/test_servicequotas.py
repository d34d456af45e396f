"""Service Quotas in the emulated account: defaults, applied values, pagination, global quotas, requests."""

from __future__ import annotations

import pytest

from preflight.quotas.catalog import QUOTAS, SERVICE_CODES
from preflight.sandbox import Sandbox

from .helpers import code_of, error_of, status_of


def test_defaults_cover_every_catalog_quota(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    for code in SERVICE_CODES:
        listed = {
            q["QuotaCode"]: q
            for page in sq.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode=code)
            for q in page["Quotas"]
        }
        expected = {q.quota_code: q for q in QUOTAS if q.service_code == code}
        assert set(listed) == set(expected)
        for quota_code, q in expected.items():
            assert listed[quota_code]["Value"] == q.default_for("us-east-1")
            assert listed[quota_code]["QuotaName"] == q.name
            one = sq.get_aws_default_service_quota(ServiceCode=code, QuotaCode=quota_code)["Quota"]
            assert one["Value"] == q.default_for("us-east-1")
            assert one["Adjustable"] is q.adjustable


def test_defaults_follow_the_region(fresh: Sandbox) -> None:
    east = fresh.client("service-quotas", "us-east-1")
    frankfurt = fresh.client("service-quotas", "eu-central-1")
    assert (
        east.get_aws_default_service_quota(ServiceCode="kinesis", QuotaCode="L-0918CF54")["Quota"]["Value"]
        == 20000
    )
    assert (
        frankfurt.get_aws_default_service_quota(ServiceCode="kinesis", QuotaCode="L-0918CF54")["Quota"][
            "Value"
        ]
        == 1000
    )
    arn = frankfurt.get_aws_default_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"][
        "QuotaArn"
    ]
    assert arn == "arn:aws:servicequotas:eu-central-1::vpc/L-F678F1CE"


def test_a_quota_never_raised_is_not_applied(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    assert sq.list_service_quotas(ServiceCode="vpc")["Quotas"] == []
    err = error_of(lambda: sq.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE"))
    assert code_of(err) == "NoSuchResourceException"
    assert status_of(err) == 400


def test_applied_values_are_per_region(fresh: Sandbox) -> None:
    fresh.set_applied_quota("vpc", "L-F678F1CE", 12)
    fresh.set_applied_quota("lambda", "L-B99A9384", 3000, region="eu-west-1")
    east = fresh.client("service-quotas")
    west = fresh.client("service-quotas", "eu-west-1")
    quota = east.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]
    assert quota["Value"] == 12.0
    assert quota["QuotaArn"] == "arn:aws:servicequotas:us-east-1:123456789012:vpc/L-F678F1CE"
    assert [q["QuotaCode"] for q in east.list_service_quotas(ServiceCode="vpc")["Quotas"]] == ["L-F678F1CE"]
    assert west.list_service_quotas(ServiceCode="vpc")["Quotas"] == []
    assert west.get_service_quota(ServiceCode="lambda", QuotaCode="L-B99A9384")["Quota"]["Value"] == 3000
    assert east.list_service_quotas(ServiceCode="lambda")["Quotas"] == []
    only = east.list_service_quotas(ServiceCode="vpc", QuotaCode="L-1B52E74A")["Quotas"]
    assert only == []


def test_global_quotas_answer_in_us_east_1_only(fresh: Sandbox) -> None:
    fresh.set_applied_quota("iam", "L-FE177D64", 1500, region="eu-west-1")  # stored in us-east-1 anyway
    fresh.set_applied_quota("s3", "L-DC2B2D3D", 20000)
    east = fresh.client("service-quotas", "us-east-1")
    west = fresh.client("service-quotas", "eu-west-1")
    role_quota = east.get_service_quota(ServiceCode="iam", QuotaCode="L-FE177D64")["Quota"]
    assert role_quota["Value"] == 1500
    assert role_quota["GlobalQuota"] is True
    assert len(east.list_service_quotas(ServiceCode="s3")["Quotas"]) == 1
    for code, quota in (("iam", "L-FE177D64"), ("s3", "L-DC2B2D3D")):
        assert west.list_service_quotas(ServiceCode=code)["Quotas"] == []
        assert west.list_aws_default_service_quotas(ServiceCode=code)["Quotas"] == []
        for call in (west.get_service_quota, west.get_aws_default_service_quota):
            err = error_of(lambda call=call, code=code, quota=quota: call(ServiceCode=code, QuotaCode=quota))
            assert code_of(err) == "NoSuchResourceException"
        err = error_of(
            lambda code=code, quota=quota: west.request_service_quota_increase(
                ServiceCode=code, QuotaCode=quota, DesiredValue=1e6
            )
        )
        assert code_of(err) == "NoSuchResourceException"


def test_pagination_honours_max_results(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    expected = sorted(q.quota_code for q in QUOTAS if q.service_code == "vpc")
    seen: list[str] = []
    token = None
    while True:
        kwargs = {"ServiceCode": "vpc", "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = sq.list_aws_default_service_quotas(**kwargs)
        assert len(page["Quotas"]) <= 3
        seen += [q["QuotaCode"] for q in page["Quotas"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == expected
    pages = list(
        sq.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode="vpc", MaxResults=1)
    )
    assert len(pages) == len(expected)
    whole = sq.list_aws_default_service_quotas(ServiceCode="vpc", MaxResults=100)
    assert "NextToken" not in whole


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ServiceCode": "vpc", "MaxResults": 101}, "IllegalArgumentException"),
        ({"ServiceCode": "vpc", "NextToken": "not-a-token"}, "InvalidPaginationTokenException"),
        ({"ServiceCode": "no-such-service"}, "NoSuchResourceException"),
    ],
)
def test_bad_list_requests(fresh: Sandbox, params: dict[str, object], code: str) -> None:
    sq = fresh.client("service-quotas")
    assert code_of(error_of(lambda: sq.list_aws_default_service_quotas(**params))) == code


def test_unknown_quota_and_service_codes(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    for service, quota in (("vpc", "L-00000000"), ("ec2", "L-F678F1CE"), ("nosuch", "L-F678F1CE")):
        err = error_of(
            lambda s=service, q=quota: sq.get_aws_default_service_quota(ServiceCode=s, QuotaCode=q)
        )
        assert code_of(err) == "NoSuchResourceException"


def test_increase_is_approved_at_once_and_listed(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    made = sq.request_service_quota_increase(ServiceCode="vpc", QuotaCode="L-F678F1CE", DesiredValue=10)
    request = made["RequestedQuota"]
    assert request["Status"] == "APPROVED"
    assert request["DesiredValue"] == 10
    assert request["Id"] and request["CaseId"] and request["Created"]
    assert sq.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]["Value"] == 10

    sq.request_service_quota_increase(ServiceCode="lambda", QuotaCode="L-B99A9384", DesiredValue=2000)
    history = sq.list_requested_service_quota_change_history()["RequestedQuotas"]
    assert [r["QuotaCode"] for r in history] == ["L-B99A9384", "L-F678F1CE"]  # newest first
    vpc_only = sq.list_requested_service_quota_change_history(ServiceCode="vpc")["RequestedQuotas"]
    assert [r["Id"] for r in vpc_only] == [request["Id"]]
    by_quota = sq.list_requested_service_quota_change_history_by_quota(
        ServiceCode="vpc", QuotaCode="L-F678F1CE"
    )
    assert [r["Id"] for r in by_quota["RequestedQuotas"]] == [request["Id"]]
    pending = sq.list_requested_service_quota_change_history_by_quota(
        ServiceCode="vpc", QuotaCode="L-F678F1CE", Status="PENDING"
    )
    assert pending["RequestedQuotas"] == []
    assert (
        sq.get_requested_service_quota_change(RequestId=request["Id"])["RequestedQuota"]["Id"]
        == request["Id"]
    )
    assert (
        fresh.client("service-quotas", "eu-west-1").list_requested_service_quota_change_history()[
            "RequestedQuotas"
        ]
        == []
    )
    # The lambda service API follows the approved value too.
    assert fresh.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 2000


def test_increase_must_raise_the_value(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    err = error_of(
        lambda: sq.request_service_quota_increase(ServiceCode="vpc", QuotaCode="L-F678F1CE", DesiredValue=5)
    )
    assert code_of(err) == "IllegalArgumentException"
    missing = error_of(lambda: sq.get_requested_service_quota_change(RequestId="0123456789abcdef"))
    assert code_of(missing) == "NoSuchResourceException"


def test_seed_gateway_endpoint_fits_after_raising_the_quota(seed: Sandbox) -> None:
    """Issue 3 acceptance: raise L-1B52E74A, the same endpoint creation succeeds, history lists it."""
    ec2 = seed.client("ec2")
    sq = seed.client("service-quotas")
    vpc_id = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]

    def create_endpoint() -> dict[str, object]:
        return ec2.create_vpc_endpoint(
            VpcId=vpc_id, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway"
        )

    assert code_of(error_of(create_endpoint)) == "VpcEndpointLimitExceeded"
    made = sq.request_service_quota_increase(ServiceCode="vpc", QuotaCode="L-1B52E74A", DesiredValue=25)
    assert create_endpoint()["VpcEndpoint"]["VpcEndpointId"].startswith("vpce-")
    history = sq.list_requested_service_quota_change_history_by_quota(
        ServiceCode="vpc", QuotaCode="L-1B52E74A"
    )
    assert [(r["Id"], r["Status"]) for r in history["RequestedQuotas"]] == [
        (made["RequestedQuota"]["Id"], "APPROVED")
    ]


def test_service_apis_follow_applied_quotas(fresh: Sandbox) -> None:
    """Step 3 of the limit chain (the service's own API) agrees with Service Quotas."""
    fresh.set_applied_quota("iam", "L-FE177D64", 1500)
    fresh.set_applied_quota("iam", "L-0DA4ABF3", 20)
    summary = fresh.client("iam").get_account_summary()["SummaryMap"]
    assert (summary["RolesQuota"], summary["AttachedPoliciesPerRoleQuota"]) == (1500, 20)
    fresh.set_applied_quota("lambda", "L-2ACBD22F", 100 * 1024**3)
    assert fresh.client("lambda").get_account_settings()["AccountLimit"]["TotalCodeSize"] == 100 * 1024**3
