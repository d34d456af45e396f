"""IAM enforcement of STS AssumeRole sessions (preflight/sandbox/iam_enforce.py): the temporary key
needs its session token, the session has its role's permissions (narrowed by a session policy), and
AssumeRole itself needs the caller's permission and the role's trust."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from preflight.sandbox import Sandbox

USER = "caller"
OTHER_ACCOUNT = "210987654321"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(principal: str, effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}


class World:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.iam = sb.client("iam", "us-east-1")  # the account's root
        self.user_arn = self.iam.create_user(UserName=USER)["User"]["Arn"]
        key = self.iam.create_access_key(UserName=USER)["AccessKey"]
        self.keys = (key["AccessKeyId"], key["SecretAccessKey"])

    def client(self, service: str, keys: tuple[str, ...] | None = None) -> Any:
        access, secret, *token = keys or self.keys
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.sb.endpoint_url,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            aws_session_token=token[0] if token else None,
        )

    def user_may(self, *statements: dict[str, Any]) -> None:
        self.iam.put_user_policy(UserName=USER, PolicyName="p", PolicyDocument=policy(*statements))

    def role(self, name: str, trusts: list[dict[str, Any]], *allowed: dict[str, Any]) -> str:
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy(*trusts))
        self.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy(*allowed))
        return f"arn:aws:iam::{self.sb.account_id}:role/{name}"

    def assume(self, role_arn: str, **extra: Any) -> tuple[str, str, str]:
        sts = self.client("sts")
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="session", **extra)["Credentials"]
        return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    sb = Sandbox(enforce_iam=True).start()
    try:
        yield World(sb)
    finally:
        sb.stop()


def code_of(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_a_session_has_its_role_s_permissions_and_no_more(world: World) -> None:
    arn = world.role("reader", [trust(f"arn:aws:iam::{world.sb.account_id}:root")], allow("ec2:DescribeVpcs"))
    world.user_may(allow("sts:AssumeRole", arn))
    session = world.assume(arn)
    ec2 = world.client("ec2", session)
    assert ec2.describe_vpcs()["Vpcs"]
    with pytest.raises(ClientError) as caught:
        ec2.describe_subnets()
    assert caught.value.response["Error"]["Code"] == "UnauthorizedOperation"
    said = str(caught.value)
    assert "assumed-role/reader/session is not authorized to perform: ec2:DescribeSubnets" in said
    identity = world.client("sts", session).get_caller_identity()  # no permission needed
    assert identity["Arn"].endswith(":assumed-role/reader/session")


def test_a_session_key_needs_its_own_token(world: World) -> None:
    arn = world.role("tokened", [trust(f"arn:aws:iam::{world.sb.account_id}:root")], allow("ec2:*"))
    world.user_may(allow("sts:AssumeRole", arn))
    access, secret, token = world.assume(arn)
    assert code_of(world.client("iam", (access, secret)).get_account_summary) == "InvalidClientTokenId"
    wrong = world.client("iam", (access, secret, token[:-4] + "AAAA"))
    assert code_of(wrong.get_account_summary) == "InvalidClientTokenId"
    forged = world.client("ec2", (access, "not-the-secret", token))
    assert code_of(forged.describe_vpcs) == "AuthFailure"


def test_assume_role_needs_the_caller_s_permission_on_that_role(world: World) -> None:
    arn = world.role("narrow", [trust(f"arn:aws:iam::{world.sb.account_id}:root")], allow("ec2:*"))
    world.user_may(allow("sts:AssumeRole", "arn:aws:iam::*:role/some-other-role"))
    with pytest.raises(ClientError) as caught:
        world.assume(arn)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert f"not authorized to perform: sts:AssumeRole on resource: {arn}" in str(caught.value)
    world.user_may(allow("sts:AssumeRole", "arn:aws:iam::*:role/narrow"))
    assert world.assume(arn)


def test_a_trust_policy_naming_the_user_suffices_in_one_account(world: World) -> None:
    named = world.role("names-the-user", [trust(world.user_arn)], allow("ec2:*"))
    by_account = world.role("names-the-account", [trust(world.sb.account_id)], allow("ec2:*"))
    world.user_may(allow("ec2:DescribeVpcs"))  # nothing about sts:AssumeRole
    assert world.assume(named)
    assert code_of(lambda: world.assume(by_account)) == "AccessDenied"


def test_a_trust_policy_deny_wins_and_an_unnamed_caller_is_refused(world: World) -> None:
    denying = world.role(
        "denies-the-user",
        [trust(f"arn:aws:iam::{world.sb.account_id}:root"), trust(world.user_arn, "Deny")],
        allow("ec2:*"),
    )
    stranger = world.role("trusts-another", [trust("arn:aws:iam::999999999999:root")], allow("ec2:*"))
    world.user_may(allow("sts:AssumeRole"))
    assert code_of(lambda: world.assume(denying)) == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        world.assume(stranger)
    said = caught.value.response["Error"]["Message"]
    assert (
        said == f"User: {world.user_arn} is not authorized to perform: sts:AssumeRole on resource: {stranger}"
    )
    missing = f"arn:aws:iam::{world.sb.account_id}:role/no-such-role"
    assert code_of(lambda: world.assume(missing)) == "AccessDenied"


def test_a_session_policy_narrows_the_role(world: World) -> None:
    arn = world.role("wide", [trust(f"arn:aws:iam::{world.sb.account_id}:root")], allow("ec2:Describe*"))
    world.user_may(allow("sts:AssumeRole", arn))
    ec2 = world.client("ec2", world.assume(arn, Policy=policy(allow("ec2:DescribeVpcs"))))
    assert ec2.describe_vpcs()["Vpcs"]
    assert code_of(ec2.describe_subnets) == "UnauthorizedOperation"


def test_a_role_in_another_account_acts_there_with_its_policies(world: World) -> None:
    from preflight.sandbox import motoserver
    from preflight.sandbox.organization import allow_assume_from
    from preflight.sandbox.state import acting_as

    allow_assume_from(OTHER_ACCOUNT, "cross", trusted=world.sb.account_id)
    with acting_as(OTHER_ACCOUNT):  # the member's own IAM, as its admin would set it
        motoserver.client("iam", "us-east-1").put_role_policy(
            RoleName="cross", PolicyName="p", PolicyDocument=policy(allow("iam:GetAccountSummary"))
        )
    arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/cross"
    world.user_may(allow("ec2:DescribeVpcs"))
    assert code_of(lambda: world.assume(arn)) == "AccessDenied"  # across accounts: trust is not enough
    world.user_may(allow("sts:AssumeRole", arn))
    session = world.assume(arn)
    assert world.client("sts", session).get_caller_identity()["Account"] == OTHER_ACCOUNT
    assert world.client("iam", session).get_account_summary()["SummaryMap"]
    assert code_of(world.client("ec2", session).describe_vpcs) == "UnauthorizedOperation"


def test_an_expired_session_is_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta

    from preflight.sandbox import iam_enforce

    arn = world.role("short", [trust(f"arn:aws:iam::{world.sb.account_id}:root")], allow("ec2:*"))
    world.user_may(allow("sts:AssumeRole", arn))
    session = world.assume(arn)
    ec2 = world.client("ec2", session)
    assert ec2.describe_vpcs()["Vpcs"]
    later = datetime.now(UTC) + timedelta(hours=1, seconds=1)  # past the session's hour
    monkeypatch.setattr(iam_enforce, "now", lambda: later)
    assert code_of(ec2.describe_vpcs) == "AuthFailure"
