"""Several accounts in one emulator: an organisation, AssumeRole across accounts, each account its own."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from preflight.sandbox import Sandbox, load_scenario
from preflight.sandbox.organization import trusts
from preflight.support.errors import InputError
from tests.sandbox.helpers import code_of, error_of

ROLE = "OrganizationAccountAccessRole"
DEV, STREAM, LEGACY, LOCKED = "300000000001", "300000000036", "300000000042", "300000000044"


@pytest.fixture
def org() -> Iterator[Sandbox]:
    with Sandbox("organization") as sb:
        yield sb


def as_member(sb: Sandbox, account_id: str, service: str, role: str = ROLE) -> Any:
    creds = sb.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=sb.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_the_organisation_lists_50_accounts_with_their_state_in_pages_of_20(org: Sandbox) -> None:
    pages = list(
        org.client("organizations").get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20})
    )
    accounts = [a for page in pages for a in page["Accounts"]]
    assert len(pages) == 3 and len(accounts) == 50 == len({a["Id"] for a in accounts})
    assert Counter(a["State"] for a in accounts) == {
        "ACTIVE": 45,
        "SUSPENDED": 2,
        "PENDING_CLOSURE": 2,
        "CLOSED": 1,
    }
    closed = next(a for a in accounts if a["State"] == "CLOSED")
    assert closed["Status"] == "SUSPENDED"  # the retired field knows no CLOSED


def test_only_the_management_account_lists_the_organisation(org: Sandbox) -> None:
    err = error_of(lambda: as_member(org, DEV, "organizations").list_accounts())
    assert code_of(err) == "AccessDeniedException"


def test_an_account_outside_any_organisation_cannot_list_one(fresh: Sandbox) -> None:
    err = error_of(lambda: fresh.client("organizations").list_accounts())
    assert code_of(err) == "AWSOrganizationsNotInUseException"


def test_each_member_is_its_own_account(org: Sandbox) -> None:
    assert as_member(org, DEV, "sts").get_caller_identity()["Account"] == DEV
    # Lambda concurrency reserved by another stack in the stream accounts only.
    unreserved = {
        a: as_member(org, a, "lambda").get_account_settings()["AccountLimit"] for a in (DEV, STREAM)
    }
    assert unreserved[DEV]["UnreservedConcurrentExecutions"] == 1000
    assert unreserved[STREAM]["UnreservedConcurrentExecutions"] == 550
    # An applied quota of one account is not another's.
    legacy = as_member(org, LEGACY, "service-quotas").get_service_quota(
        ServiceCode="vpc", QuotaCode="L-1B52E74A"
    )
    assert legacy["Quota"]["Value"] == 1 and LEGACY in legacy["Quota"]["QuotaArn"]
    err = error_of(
        lambda: org.client("service-quotas").get_service_quota(ServiceCode="vpc", QuotaCode="L-1B52E74A")
    )
    assert code_of(err) == "NoSuchResourceException"
    # The VPCs of one account are not another's.
    assert len(as_member(org, "300000000040", "ec2").describe_vpcs()["Vpcs"]) == 5
    assert len(as_member(org, DEV, "ec2").describe_vpcs()["Vpcs"]) == 1


def test_assume_role_across_accounts_needs_a_role_that_trusts_the_caller(org: Sandbox) -> None:
    sts = org.client("sts")
    denied = error_of(lambda: as_member(org, LOCKED, "sts"))
    assert code_of(denied) == "AccessDenied" and f"arn:aws:iam::{LOCKED}:role/{ROLE}" in str(denied)
    missing = error_of(lambda: as_member(org, DEV, "sts", role="no-such-role"))
    assert code_of(missing) == "AccessDenied"
    # A role of the caller's own account is left to moto, as lenient as before.
    own = sts.assume_role(RoleArn=f"arn:aws:iam::{org.account_id}:role/anything", RoleSessionName="test")
    assert own["Credentials"]["AccessKeyId"]


def st(effect: str, principal: Any, action: Any = "sts:AssumeRole") -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action}


@pytest.mark.parametrize(
    ("statements", "trusted"),
    [
        ([st("Allow", {"AWS": "arn:aws:iam::111111111111:root"})], True),
        ([st("Allow", {"AWS": ["222222222222", "111111111111"]}, ["sts:*"])], True),
        ([st("Allow", "*", "*")], True),
        ([st("Allow", {"AWS": "arn:aws:iam::222222222222:root"})], False),
        ([st("Allow", {"Service": "lambda.amazonaws.com"})], False),
        ([st("Allow", {"AWS": "111111111111"}, "s3:GetObject")], False),
        ([st("Allow", "*"), st("Deny", {"AWS": "arn:aws:iam::111111111111:user/x"})], False),
    ],
)
def test_trust_policies(statements: list[dict[str, Any]], trusted: bool) -> None:
    assert trusts(json.dumps({"Version": "2012-10-17", "Statement": statements}), "111111111111") is trusted
    assert trusts("not json", "111111111111") is False


@pytest.mark.parametrize(
    ("organization", "line", "says"),
    [
        ("  firstAccountId: '12'\n", 3, "12-digit"),
        ("  firstAccountId: '123456789010'\n  accounts:\n    - {count: 5}\n", 3, "other than this account's"),
        ("  firstAccountId: '999999999999'\n  accounts:\n    - {count: 2}\n", 3, "12-digit ids"),
        ("  accounts:\n    - {count: 2, state: GONE}\n", 4, "state"),
        ("  accounts:\n    - {count: 1, reservedConcurrency: 950}\n", 4, "unreserved"),
        ("  accounts:\n    - {count: 1, vpcs: 5}\n", 4, "VPCs"),
    ],
)
def test_bad_organisations_are_input_at_their_line(
    tmp_path: Path, organization: str, line: int, says: str
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(f"name: bad\norganization:\n{organization}")
    with pytest.raises(InputError) as caught:
        with Sandbox(load_scenario(path)):
            pass
    assert f"{path}:{line}" in str(caught.value) and says in str(caught.value), str(caught.value)
