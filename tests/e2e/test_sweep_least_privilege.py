"""Least privilege for `sweep`, proven under IAM enforcement: the sweeping user holds the shipped
sweep policy (`iam-sweep-policy.json`: ListAccounts, AssumeRole on the members' role) beside the
read-only statement (its own account is a target too, read with its own keys); each member's
`OrganizationAccountAccessRole` holds only the read-only statement, and the sandbox evaluates every
call made with the role's temporary keys against it, in the member's account. The verdicts are the
same as without enforcement; without ListAccounts or AssumeRole the sweep names the permission.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from preflight.sandbox import Sandbox, load_scenario
from tests.conftest import MANIFEST, ROOT
from tests.e2e.test_iam_policy import READ_ONLY_SID
from tests.e2e.test_least_privilege import BY_SID, attach_only, document, without_action

SWEEP_POLICY_PATH = ROOT / "preflight" / "data" / "iam-sweep-policy.json"
SWEEP_POLICY = json.loads(SWEEP_POLICY_PATH.read_text())
SWEEP_BY_SID = {s["Sid"]: s for s in SWEEP_POLICY["Statement"]}
LIST_SID = "SweepListsTheOrganizationsAccounts"
ASSUME_SID = "SweepAssumesTheRoleInEachAccount"
ROLE = "OrganizationAccountAccessRole"
USER = "tap-preflight-sweeper"
SMALL_ORG = str(ROOT / "tests" / "data" / "org-small.yaml")


def verdicts(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a sweep judged, target by target (the reason a target was unreadable aside)."""
    return [(t["account_id"], t["region"], t["status"], t["verdict"], t["worst"]) for t in body["targets"]]


class Org:
    """An enforced sandbox holding an organisation scenario, the sweeping user and its keys."""

    def __init__(self, sb: Sandbox, key: dict[str, str]) -> None:
        self.sb = sb
        self.env = {
            **sb.client_env(),
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "COLUMNS": "1000",
        }

    def grant_caller(self, *statements: dict[str, Any]) -> None:
        attach_only(self.sb, USER, document(*statements))

    def grant_members(self, *statements: dict[str, Any]) -> None:
        """Make the statements each member role's only policy: what the organisation's admin deploys
        to every member (a StackSet, say); written through each member's own IAM."""
        from botocore.exceptions import ClientError

        from preflight.sandbox import motoserver
        from preflight.sandbox.state import acting_as

        pages = self.sb.client("organizations").get_paginator("list_accounts").paginate()
        for account_id in [a["Id"] for page in pages for a in page["Accounts"]]:
            with acting_as(account_id):
                iam = motoserver.client("iam", "us-east-1")
                try:
                    names = iam.list_role_policies(RoleName=ROLE)["PolicyNames"]
                except ClientError:
                    continue  # the management account: no role, it is read with the caller's keys
                for name in names:
                    iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
                iam.put_role_policy(
                    RoleName=ROLE,
                    PolicyName="tap-preflight-read-only",
                    PolicyDocument=json.dumps(document(*statements)),
                )


def _sweeper(sb: Sandbox) -> Org:
    iam = sb.client("iam", "us-east-1")  # the management account's root
    iam.create_user(UserName=USER)
    return Org(sb, iam.create_access_key(UserName=USER)["AccessKey"])


def sweep_json(cli: Callable[..., Result], env: dict[str, str], *args: str) -> tuple[Result, dict[str, Any]]:
    result = cli("sweep", MANIFEST, "--env", "prod", "--format", "json", *args, env=env)
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else {})


def test_the_fifty_account_sweep_judges_as_without_enforcement(cli: Callable[..., Result]) -> None:
    sb = Sandbox(load_scenario("organization")).start()
    try:
        _, unenforced = sweep_json(cli, sb.client_env(), "--org")
        sb.enforce_iam = True
        sb.reset(load_scenario("organization"))
        org = _sweeper(sb)
        org.grant_caller(BY_SID[READ_ONLY_SID], *SWEEP_POLICY["Statement"])
        org.grant_members(BY_SID[READ_ONLY_SID])
        result, enforced = sweep_json(cli, org.env, "--org")
        granted = sb.iam.granted()
    finally:
        sb.stop()
    assert len(unenforced["targets"]) == 45 and unenforced["counts"]["UNKNOWN"] == 1
    assert result.exit_code == 1, result.output
    assert verdicts(enforced) == verdicts(unenforced)
    # Enforcement was on the whole way: the caller listed and assumed, and every member's reads
    # were allowed by its role's policy (44 members assumed; the one whose role trusts another
    # principal stays UNKNOWN, refused by its trust policy).
    assert granted["organizations:ListAccounts"] >= 1
    assert granted["sts:AssumeRole"] == 43, granted
    assert granted["lambda:GetAccountSettings"] >= 44
    (denied,) = [t for t in enforced["targets"] if t["status"] == "UNKNOWN"]
    assert "needs sts:AssumeRole)" in denied["detail"], denied


@pytest.fixture(scope="module")
def small() -> Iterator[Org]:
    sb = Sandbox(load_scenario(SMALL_ORG), enforce_iam=True).start()
    try:
        yield _sweeper(sb)
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def small_unenforced(small: Org) -> dict[str, Any]:
    """The small organisation's sweep as the management account's root sees it, roles unlimited."""
    from click.testing import CliRunner

    from cli import main

    small.grant_members({"Effect": "Allow", "Action": "*", "Resource": "*"})
    args = ["sweep", MANIFEST, "--env", "prod", "--format", "json", "--org"]
    result = CliRunner().invoke(main, args, env=small.sb.client_env())
    return json.loads(result.stdout)


def test_the_shipped_policies_are_enough(
    cli: Callable[..., Result], small: Org, small_unenforced: dict[str, Any]
) -> None:
    small.grant_caller(BY_SID[READ_ONLY_SID], *SWEEP_POLICY["Statement"])
    small.grant_members(BY_SID[READ_ONLY_SID])
    result, body = sweep_json(cli, small.env, "--org")
    assert result.exit_code == 1, result.output
    assert verdicts(body) == verdicts(small_unenforced)
    assert body["counts"] == {"GO": 3, "NO_GO": 1, "UNKNOWN": 1}


def test_without_list_accounts_the_sweep_fails_naming_it(cli: Callable[..., Result], small: Org) -> None:
    small.grant_caller(BY_SID[READ_ONLY_SID], SWEEP_BY_SID[ASSUME_SID])
    small.grant_members(BY_SID[READ_ONLY_SID])
    result, _ = sweep_json(cli, small.env, "--org")
    assert result.exit_code == 3, result.output
    assert "needs organizations:ListAccounts)" in result.output, result.output


def test_without_assume_role_every_member_is_unknown_naming_it(
    cli: Callable[..., Result], small: Org, small_unenforced: dict[str, Any]
) -> None:
    small.grant_caller(BY_SID[READ_ONLY_SID], SWEEP_BY_SID[LIST_SID])
    small.grant_members(BY_SID[READ_ONLY_SID])
    result, body = sweep_json(cli, small.env, "--org")
    assert result.exit_code == 3, result.output
    own = small.sb.account_id
    members = [t for t in body["targets"] if t["account_id"] != own]
    assert len(members) == 4
    for target in members:
        assert target["status"] == "UNKNOWN" and "needs sts:AssumeRole)" in target["detail"], target
    # The caller's own account is read with its own keys: unchanged.
    mine = [v for v in verdicts(body) if v[0] == own]
    assert mine == [v for v in verdicts(small_unenforced) if v[0] == own] and mine[0][2] == "GO"


def test_assume_role_is_limited_to_the_named_role(cli: Callable[..., Result], small: Org) -> None:
    small.grant_caller(BY_SID[READ_ONLY_SID], *SWEEP_POLICY["Statement"])
    small.grant_members(BY_SID[READ_ONLY_SID])
    result, body = sweep_json(cli, small.env, "--org", "--role-name", "SomeOtherRole")
    assert result.exit_code == 3, result.output
    member = next(t for t in body["targets"] if t["account_id"] != small.sb.account_id)
    assert "needs sts:AssumeRole)" in member["detail"], member


def test_the_member_role_s_policy_is_what_is_evaluated(
    cli: Callable[..., Result], small: Org, tmp_path: Path
) -> None:
    small.grant_caller(BY_SID[READ_ONLY_SID], *SWEEP_POLICY["Statement"])
    small.grant_members(without_action(READ_ONLY_SID, "lambda:GetAccountSettings"))
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("400000000001 dev-001\n")
    out = tmp_path / "reports"
    result, body = sweep_json(cli, small.env, "--accounts", str(accounts), "--out-dir", str(out))
    (target,) = body["targets"]
    assert target["status"] == "UNKNOWN", result.output
    report = (out / "400000000001-us-east-1.json").read_text()
    assert "needs lambda:GetAccountSettings)" in report, report


def test_a_caller_without_the_read_only_statement_cannot_read_its_own_account(
    cli: Callable[..., Result], small: Org, small_unenforced: dict[str, Any]
) -> None:
    small.grant_caller(*SWEEP_POLICY["Statement"])
    small.grant_members(BY_SID[READ_ONLY_SID])
    _, body = sweep_json(cli, small.env, "--org")
    own = small.sb.account_id
    by_id = {t["account_id"]: t for t in body["targets"]}
    assert by_id[own]["status"] != "GO"
    others = [v for v in verdicts(body) if v[0] != own]
    assert others == [v for v in verdicts(small_unenforced) if v[0] != own]


def test_the_sweep_policy_holds_exactly_what_the_sweep_calls_and_is_documented() -> None:
    from preflight.commands.sweep import DEFAULT_ROLE

    assert {sid: s["Action"] for sid, s in SWEEP_BY_SID.items()} == {
        LIST_SID: ["organizations:ListAccounts"],
        ASSUME_SID: ["sts:AssumeRole"],
    }
    assert SWEEP_BY_SID[LIST_SID]["Resource"] == "*"  # ListAccounts has no resource type
    assert SWEEP_BY_SID[ASSUME_SID]["Resource"] == f"arn:aws:iam::*:role/{DEFAULT_ROLE}"
    readme = (ROOT / "README.md").read_text()
    assert "iam-sweep-policy.json" in readme and LIST_SID in readme and ASSUME_SID in readme
