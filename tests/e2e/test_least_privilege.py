"""Least privilege, proven: the shipped policy's read-only statement is all that `check`,
`plan --adapt`, `snapshot`, `place` and a `request-increases` dry run need, run as an IAM user that
holds only it, in an emulated account that enforces IAM (moto's calls and the sandbox's own Service
Quotas, Lambda and Kinesis answers alike). Removing any one action (or the statement) makes a
command fail naming that permission. `request-increases --submit` needs the submit statements on
top, and nothing else.

One enforced sandbox for the module; the user's inline policy is replaced per case.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from preflight.sandbox import Sandbox, load_scenario
from preflight.sandbox.iam_enforce import NO_PERMISSION_NEEDED, SERVICE_QUOTAS_ROLE_PATH, action_of
from tests.conftest import MANIFEST, many_functions_manifest
from tests.e2e.test_iam_policy import OWN_ROLE, OWN_TAG_LIST, POLICY_PATH, READ_ONLY_SID, deployed_stack_names

SUBMIT_SID = "OnlyForRequestIncreasesSubmit"
SERVICE_LINKED_ROLE_SID = "OnlyForRequestIncreasesSubmitServiceLinkedRole"
USER = "tap-preflight-gate"
REGIONS = ("us-east-1", "us-west-2")  # what DescribeRegions answers: `place --all-regions` plans both

DENIED = re.compile(r"needs [a-z0-9-]+:[A-Za-z]+\)")  # how the tool names a refused permission
SHIPPED = json.loads(POLICY_PATH.read_text())
BY_SID = {s["Sid"]: s for s in SHIPPED["Statement"]}
READ_ONLY_ACTIONS = list(BY_SID[READ_ONLY_SID]["Action"])


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": SHIPPED["Version"], "Statement": list(statements)}


def without_action(sid: str, action: str) -> dict[str, Any]:
    statement = dict(BY_SID[sid])
    statement["Action"] = [a for a in statement["Action"] if a != action]
    return statement


class Account:
    """The enforced sandbox, the user and its keys; `grant` replaces the user's only policy."""

    def __init__(self, sb: Sandbox, key: dict[str, str]) -> None:
        self.sb = sb
        self.env = {
            **sb.client_env(),
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "COLUMNS": "1000",  # whole lines: the denied permission is at the end of a finding's line
        }

    def grant(self, policy: dict[str, Any]) -> None:
        attach_only(self.sb, USER, policy)


def attach_only(sb: Sandbox, user: str, policy: dict[str, Any]) -> None:
    """Make `policy` the user's only one: a customer managed policy, as the README says to attach it
    (an inline user policy is capped at 2,048 characters)."""
    iam = sb.client("iam", "us-east-1")  # the sandbox's own key: the account's root
    for attached in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=user, PolicyArn=attached["PolicyArn"])
        iam.delete_policy(PolicyArn=attached["PolicyArn"])
    made = iam.create_policy(PolicyName=f"{user}-{uuid.uuid4().hex[:8]}", PolicyDocument=json.dumps(policy))
    iam.attach_user_policy(UserName=user, PolicyArn=made["Policy"]["Arn"])


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    sb = Sandbox(load_scenario("seed-account"), enforce_iam=True).start()
    try:
        sb.state.enabled_regions = REGIONS
        # The stack's role, security group and named resources exist and carry its tags: the gate then
        # also reads their tags and the role's policies. Its bucket does not (it is another's name in
        # `--env test` too): HeadBucket asks whether that name is taken.
        iam = sb.client("iam", "us-east-1")
        iam.create_role(
            RoleName=OWN_ROLE,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}),
            Tags=OWN_TAG_LIST,
        )
        sb.client("ec2").create_security_group(
            GroupName=OWN_ROLE,
            Description="lambda",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": OWN_TAG_LIST}],
        )
        deployed_stack_names(sb)
        iam.create_user(UserName=USER)
        key = iam.create_access_key(UserName=USER)["AccessKey"]
        yield Account(sb, key)
    finally:
        sb.stop()


def gate_commands(tmp: Path) -> list[list[str]]:
    return [
        ["check", MANIFEST, "--env", "prod", "--format", "json", "-o", str(tmp / "report.json")],
        ["check", MANIFEST, "--env", "test"],  # its names are free: is the bucket name another's?
        ["plan", "--adapt", MANIFEST, "--env", "prod", "--save-plan", str(tmp / "plan.json")],
        ["snapshot", MANIFEST, "--env", "prod", "-o", str(tmp / "account.json")],
        ["request-increases", "--plan", str(tmp / "plan.json")],  # the dry run: what --submit would file
        ["place", MANIFEST, "--env", "prod", "--all-regions"],
        # Past 20 functions the gate lists the account's functions rather than look each one up.
        ["check", many_functions_manifest(tmp / "many", 21), "--env", "prod", "--format", "json"],
    ]


def denial(result: Result, tmp: Path) -> str | None:
    """What tells that a call was refused: the command's output and the files it wrote (a snapshot
    records an unreadable quota, a report a limit read from the default because the service's own
    answer was refused); None when the command had all it needed (a verdict: 0 GO, 1 NO_GO)."""
    written = "\n".join(p.read_text() for p in sorted(tmp.glob("*.json")))
    seen = f"{result.output}\n{written}"
    if result.exit_code not in (0, 1) or DENIED.search(seen):
        return seen
    return None


def first_failure(cli: Callable[..., Result], account: Account, tmp: Path) -> tuple[str, str] | None:
    """(command, what it said) of the first gate command that was refused something; None if none."""
    for args in gate_commands(tmp):
        refused = denial(cli(*args, env=account.env), tmp)
        if refused is not None:
            return args[0], refused
    return None


def test_every_command_succeeds_with_only_the_read_only_statement(
    cli: Callable[..., Result], account: Account, tmp_path: Path
) -> None:
    account.grant(document(BY_SID[READ_ONLY_SID]))
    account.sb.call_log.reset()
    failed = first_failure(cli, account, tmp_path)
    assert failed is None, f"`{failed[0]}` was refused a call with only the read-only statement:\n{failed[1]}"
    # The other way round: every action of the statement is one a command called (or implies).
    called = {action_of(*key.split(":", 1)) for key in account.sb.call_log.counts()}
    called |= {"lambda:ListTags"} if "lambda:GetFunction" in called else set()
    assert sorted(called - NO_PERMISSION_NEEDED - set(READ_ONLY_ACTIONS)) == []
    assert sorted(set(READ_ONLY_ACTIONS) - called) == [], "least privilege: actions no command needs"
    assert account.sb.call_log.mutating_calls() == []


def test_enforcement_is_on_an_unknown_key_and_a_wrong_secret_are_refused(
    cli: Callable[..., Result], account: Account
) -> None:
    account.grant(document(BY_SID[READ_ONLY_SID]))
    forged = {**account.env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    result = cli("check", MANIFEST, env=forged)
    assert result.exit_code == 3 and "SignatureDoesNotMatch" in result.output, result.output
    unknown = {**account.env, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}
    result = cli("check", MANIFEST, env=unknown)
    assert result.exit_code == 3, result.output


def test_an_inline_deny_beside_the_policy_wins(cli: Callable[..., Result], account: Account) -> None:
    account.grant(document(BY_SID[READ_ONLY_SID]))
    iam = account.sb.client("iam", "us-east-1")
    deny = {"Effect": "Deny", "Action": "lambda:GetAccount*", "Resource": "*"}
    iam.put_user_policy(UserName=USER, PolicyName="deny", PolicyDocument=json.dumps(document(deny)))
    try:
        result = cli("check", MANIFEST, env=account.env)
    finally:
        iam.delete_user_policy(UserName=USER, PolicyName="deny")
    assert result.exit_code != 0 and "needs lambda:GetAccountSettings)" in result.output, result.output


@pytest.mark.parametrize("action", READ_ONLY_ACTIONS)
def test_removing_one_read_only_action_fails_a_command_naming_it(
    cli: Callable[..., Result], account: Account, tmp_path: Path, action: str
) -> None:
    account.grant(document(without_action(READ_ONLY_SID, action), BY_SID[SUBMIT_SID]))
    failed = first_failure(cli, account, tmp_path)
    assert failed is not None, f"without {action} every command still succeeds: the policy need not hold it"
    command, said = failed
    assert f"needs {action})" in said, f"`{command}` failed without {action} but does not name it:\n{said}"


def test_removing_the_read_only_statement_fails_naming_its_permissions(
    cli: Callable[..., Result], account: Account, tmp_path: Path
) -> None:
    account.grant(document(BY_SID[SUBMIT_SID], BY_SID[SERVICE_LINKED_ROLE_SID]))
    failed = first_failure(cli, account, tmp_path)
    assert failed is not None
    named = [a for a in READ_ONLY_ACTIONS if f"needs {a})" in failed[1]]
    assert named, failed[1]


# --- request-increases --submit ------------------------------------------------------------------


@pytest.fixture
def unfiled(account: Account, tmp_path: Path, cli: Callable[..., Result]) -> Iterator[Path]:
    """A report whose increases are not filed yet, and an account without Service Quotas' role;
    the quotas are put back afterwards (the emulated account approves a request at once)."""
    report = tmp_path / "report.json"
    root = account.sb.client_env()
    assert (
        cli("check", MANIFEST, "--env", "prod", "--format", "json", "-o", str(report), env=root).exit_code
        == 1
    )
    increases = json.loads(report.read_text())["increase_requests"]
    assert increases, "the seed account needs increases"
    delete_service_quotas_role(account.sb)
    yield report
    for inc in increases:
        account.sb.set_applied_quota(inc["service_code"], inc["quota_code"], inc["current"])
    delete_service_quotas_role(account.sb)


def service_quotas_roles(sb: Sandbox) -> list[str]:
    roles = sb.client("iam", "us-east-1").list_roles(PathPrefix=SERVICE_QUOTAS_ROLE_PATH)["Roles"]
    return [r["RoleName"] for r in roles]


def delete_service_quotas_role(sb: Sandbox) -> None:
    for name in service_quotas_roles(sb):
        sb.client("iam", "us-east-1").delete_role(RoleName=name)


def submit(cli: Callable[..., Result], account: Account, report: Path) -> Result:
    return cli(
        "request-increases", "--from-report", str(report), "--submit", "--format", "json", env=account.env
    )


def filed(result: Result) -> list[str]:
    payload = json.loads(result.stdout)
    return [o["quota_code"] for o in payload["outcomes"] if o["status"] == "filed"]


@pytest.mark.parametrize(
    ("removed", "permission"),
    [
        (SUBMIT_SID, "servicequotas:RequestServiceQuotaIncrease"),
        (SERVICE_LINKED_ROLE_SID, "iam:CreateServiceLinkedRole"),  # an account's first request
    ],
)
def test_submit_without_one_submit_statement_fails_naming_its_permission(
    cli: Callable[..., Result], account: Account, unfiled: Path, removed: str, permission: str
) -> None:
    kept = [s for s in SHIPPED["Statement"] if s["Sid"] != removed]
    account.grant(document(*kept))
    result = submit(cli, account, unfiled)
    assert result.exit_code == 3, result.output
    assert f"needs {permission})" in result.output, result.output
    assert service_quotas_roles(account.sb) == []


def test_submit_needs_the_read_only_and_submit_statements_and_nothing_else(
    cli: Callable[..., Result], account: Account, unfiled: Path
) -> None:
    account.grant(SHIPPED)  # the shipped policy as it is: no other permission
    result = submit(cli, account, unfiled)
    assert result.exit_code == 0, result.output
    assert len(filed(result)) == len(json.loads(unfiled.read_text())["increase_requests"])
    assert service_quotas_roles(account.sb), "AWS creates its service-linked role on the first request"


def test_once_the_role_exists_submit_adds_only_request_service_quota_increase(
    cli: Callable[..., Result], account: Account, unfiled: Path
) -> None:
    account.sb.client("iam", "us-east-1").create_service_linked_role(
        AWSServiceName="servicequotas.amazonaws.com"
    )
    account.grant(document(BY_SID[READ_ONLY_SID], BY_SID[SUBMIT_SID]))
    result = submit(cli, account, unfiled)
    assert result.exit_code == 0, result.output
    assert filed(result)
    account.grant(document(BY_SID[READ_ONLY_SID]))  # and without it, the same filing is refused
    for inc in json.loads(unfiled.read_text())["increase_requests"]:
        account.sb.set_applied_quota(inc["service_code"], inc["quota_code"], inc["current"])
    refused = submit(cli, account, unfiled)
    assert refused.exit_code == 3 and "needs servicequotas:RequestServiceQuotaIncrease)" in refused.output
