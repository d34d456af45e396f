"""The emulated account's IAM evaluator (preflight/sandbox/iam_enforce.py), rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from preflight.sandbox import Sandbox
from preflight.sandbox.iam_enforce import Request, UnsupportedPolicy, action_of, evaluate


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_allowed_is_an_implicit_deny() -> None:
    assert evaluate([], Request("ec2:DescribeVpcs")) == "ImplicitDeny"
    assert evaluate([policy(allow("ec2:DescribeSubnets"))], Request("ec2:DescribeVpcs")) == "ImplicitDeny"


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert evaluate([policy(allow("EC2:describevpcs"))], Request("ec2:DescribeVpcs")) == "Allow"
    assert evaluate([policy(allow("ec2:Describe*"))], Request("ec2:DescribeVpcs")) == "Allow"
    assert evaluate([policy(allow("ec2:DescribeVpc?"))], Request("ec2:DescribeVpcs")) == "Allow"
    assert (
        evaluate([policy(allow("ec2:DescribeVpc?"))], Request("ec2:DescribeVpcAttribute")) == "ImplicitDeny"
    )
    assert evaluate([policy(allow("ec2:*"))], Request("lambda:GetFunction")) == "ImplicitDeny"


def test_an_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    deny = {"Effect": "Deny", "Action": "lambda:*", "Resource": "*"}
    assert evaluate([policy(allow("*")), policy(deny)], Request("lambda:GetFunction")) == "Deny"
    assert evaluate([policy(allow("*")), policy(deny)], Request("ec2:DescribeVpcs")) == "Allow"


def test_not_action_and_not_resource() -> None:
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert evaluate([policy(everything_but_iam)], Request("ec2:DescribeVpcs")) == "Allow"
    assert evaluate([policy(everything_but_iam)], Request("iam:GetRole")) == "ImplicitDeny"
    not_admin = {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::*:role/admin"}
    assert evaluate([policy(not_admin)], Request("iam:PassRole", "arn:aws:iam::1:role/app")) == "Allow"
    assert (
        evaluate([policy(not_admin)], Request("iam:PassRole", "arn:aws:iam::1:role/admin")) == "ImplicitDeny"
    )


def test_resources_match_case_sensitively_and_an_unknown_resource_only_star() -> None:
    role = "arn:aws:iam::123456789012:role/pipeline-lambda-prod"
    narrow = policy(allow("iam:PassRole", "arn:aws:iam::*:role/pipeline-*"))
    assert evaluate([narrow], Request("iam:PassRole", role)) == "Allow"
    assert evaluate([narrow], Request("iam:PassRole", role.upper())) == "ImplicitDeny"
    assert evaluate([narrow], Request("iam:PassRole")) == "ImplicitDeny"  # "*": not known to be covered


def test_conditions_must_hold_and_a_missing_key_does_not() -> None:
    to_lambda = policy(
        allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
    )
    assert evaluate(
        [to_lambda], Request("iam:PassRole", "*", {"iam:PassedToService": "lambda.amazonaws.com"})
    ) == ("Allow")
    assert evaluate(
        [to_lambda], Request("iam:PassRole", "*", {"iam:PassedToService": "ec2.amazonaws.com"})
    ) == ("ImplicitDeny")
    assert evaluate([to_lambda], Request("iam:PassRole")) == "ImplicitDeny"
    like = policy(allow("iam:PassRole", Condition={"StringLike": {"iam:PassedToService": "*.amazonaws.com"}}))
    assert (
        evaluate([like], Request("iam:PassRole", "*", {"iam:PassedToService": "ec2.amazonaws.com"}))
        == "Allow"
    )


@pytest.mark.parametrize(
    "statement",
    [
        allow("ec2:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        {"Effect": "Allow", "Action": "ec2:*"},  # no Resource
        allow("ec2:*", Principal="*"),
        {"Effect": "Maybe", "Action": "ec2:*", "Resource": "*"},
    ],
)
def test_what_it_cannot_evaluate_it_refuses(statement: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicy):
        evaluate([policy(statement)], Request("ec2:DescribeVpcs"))


def test_action_names() -> None:
    assert action_of("service-quotas", "ListServiceQuotas") == "servicequotas:ListServiceQuotas"
    assert action_of("s3", "HeadBucket") == "s3:ListBucket"
    assert action_of("s3", "ListBuckets") == "s3:ListAllMyBuckets"
    assert action_of("cloudwatch", "DescribeAlarms") == "cloudwatch:DescribeAlarms"


def test_enforcement_is_off_by_default() -> None:
    import boto3

    with Sandbox() as sb:
        assert sb.iam is None
        stranger = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=sb.endpoint_url,
            aws_access_key_id="AKIANOTAUSERANYWHERE",
            aws_secret_access_key="anything",
        )
        assert stranger.get_caller_identity()["Account"] == sb.account_id
        assert sb.client("ec2").describe_vpcs()["Vpcs"]  # no user, no policy: nothing is enforced
