"""Several accounts in one sandbox: whose call it is, who may assume a role, and an organisation.

moto keeps one set of backends per account and maps the keys an STS AssumeRole hands out to the
role's account, so a client holding them acts in that account. The sandbox follows the same map
(`caller_account`), so its own answers (Service Quotas, Lambda settings, enforcement) are that
account's too. AWS lets a caller assume a role in another account only when the role exists and its
trust policy names the caller; moto lets anyone assume anything, so `sts_assume_role` enforces it.

An organisation (a scenario's `organization:`) is made with Organizations' API in-process
(CreateOrganization, CreateAccount: hundreds of accounts in a second or two). moto numbers new
accounts at random and cannot set their state or join time; the scenario's ids are fixed so tests
and files can name them. So the layer keeps the members (SandboxState.org_members) and speaks for
them: an Organizations call goes to moto under moto's ids (`organizations_request`) and its answer
comes back under the scenario's, with each member's state and join time (`organizations_answer`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from preflight.sandbox import motoserver
from preflight.sandbox.protocol import Call, Response, error_response
from preflight.sandbox.state import ACCOUNT_ID, OrgMember, SandboxState, acting_as, current_account

if TYPE_CHECKING:
    from preflight.sandbox.scenario import AccountGroup, Organization, Scenario
    from preflight.sandbox.target import ProvisionTarget

ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[^:]*/)?([\w+=,.@-]+)$")
ACCESS_KEY_RE = re.compile(r"Credential=([^/,\s]+)/")
UNTRUSTED_PRINCIPAL = "999999999999"  # who a denying account's role trusts instead
LAMBDA_ROLE = "sandbox-other-stack-lambda"
UNRESERVED_FLOOR = 100  # AWS keeps 100 concurrent executions unreserved
DAY = 86_400.0


def caller_account(call: Call, state: SandboxState) -> str:
    """The account a request acts in, found as moto finds it: MOTO_ACCOUNT_ID, the x-moto-account-id
    header, else the account whose keys signed it (the sandbox's own for keys it never issued)."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    if call.headers.get("x-moto-account-id"):
        return call.headers["x-moto-account-id"]
    match = ACCESS_KEY_RE.search(call.headers.get("authorization", ""))
    if not match:
        return ACCOUNT_ID
    return state.account_of_key(match.group(1))


_ACCESS_KEY_XML = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")


def remember_issued_key(state: SandboxState, call: Call, answer: Response) -> Response:
    """AssumeRole's keys act in the role's account, CreateAccessKey's in the caller's (as moto maps them)."""
    found = _ACCESS_KEY_XML.search(answer.body)
    if found is not None:
        role = ROLE_ARN_RE.match(call.params.get("RoleArn", "")) if call.operation == "AssumeRole" else None
        state.remember_key(found.group(1).decode(), role.group(1) if role else current_account())
    return answer


# --- STS AssumeRole across accounts -------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names_caller(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _listed(principal.get("AWS", [])):
        text = str(value)
        if text in ("*", caller) or re.match(rf"^arn:aws[a-z-]*:(iam|sts)::{caller}:", text):
            return True
    return False


def _allows_assume(action: Any) -> bool:
    return any(a in ("*", "sts:*", "sts:AssumeRole") for a in _listed(action))


def trusts(policy_document: str, caller: str) -> bool:
    """Whether a role's trust policy lets `caller` (an account id) assume it: an Allow naming it and
    no Deny naming it (the policy language's rule)."""
    try:
        policy = json.loads(policy_document)
    except (TypeError, ValueError):
        return False
    statements = _listed(policy.get("Statement", [])) if isinstance(policy, dict) else []
    allowed = False
    for st in statements:
        if not isinstance(st, dict) or not _allows_assume(st.get("Action")):
            continue
        if _names_caller(st.get("Principal"), caller):
            if st.get("Effect") == "Deny":
                return False
            allowed = allowed or st.get("Effect") == "Allow"
    return allowed


def sts_assume_role(state: SandboxState, call: Call) -> Response | None:
    """Another account's role: it must exist and trust the caller, else AccessDenied (AWS's answer).
    A role of the caller's own account is left to moto (as lenient as before: tests rely on it)."""
    role_arn = call.params.get("RoleArn", "")
    match = ROLE_ARN_RE.match(role_arn)
    caller = current_account()
    if not match or match.group(1) == caller:
        return None
    target, name = match.groups()
    with acting_as(target):  # the role as its own account's IAM reports it
        try:
            role = motoserver.client("iam", "us-east-1").get_role(RoleName=name)["Role"]
        except ClientError:
            role = None
    if role is not None and trusts(_policy_text(role.get("AssumeRolePolicyDocument")), caller):
        return None
    return error_response(
        "query",
        403,
        "AccessDenied",
        f"User: arn:aws:iam::{caller}:user/sandbox is not authorized to perform: sts:AssumeRole "
        f"on resource: {role_arn}",
    )


def organizations_list_accounts(state: SandboxState, call: Call) -> Response | None:
    """ListAccounts answers the management account only (moto answers anyone, with nothing): an
    account outside any organisation gets AWSOrganizationsNotInUseException, a member AccessDenied
    (the sandbox has no delegated administrators)."""
    caller = current_account()
    if _member_of(state, caller) is not None:
        return error_response(
            "json", 400, "AccessDeniedException", "You don't have permissions to access this resource."
        )
    try:
        org = motoserver.client("organizations", "us-east-1").describe_organization()["Organization"]
    except ClientError:  # AWSOrganizationsNotInUseException: in no organisation
        return error_response(
            "json",
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    if org.get("MasterAccountId") == caller:
        return None
    return error_response(
        "json", 400, "AccessDeniedException", "You don't have permissions to access this resource."
    )


def _policy_text(document: Any) -> str:
    """IAM hands a policy document URL-encoded; botocore decodes it into a dict."""
    if isinstance(document, str):
        return unquote(document)
    return json.dumps(document)


def allow_assume_from(account_id: str, role_name: str, trusted: str = ACCOUNT_ID) -> None:
    """Make `role_name` in `account_id` trusting `trusted` (what an admin would set up), through
    IAM's API in that account; a role of that name already there stays as it is."""
    with acting_as(account_id):
        iam = motoserver.client("iam", "us-east-1")
        try:
            iam.get_role(RoleName=role_name)
        except ClientError:
            iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_trust_policy(trusted))


def _trust_policy(account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


# --- the organisation ----------------------------------------------------------------------------


def member_ids(org: Organization) -> Iterator[tuple[int, AccountGroup, str, str]]:
    """(group index, group, account id, account name) of every member, in the scenario's order."""
    number = int(org.first_account_id)
    for index, group in enumerate(org.accounts):
        for i in range(1, group.count + 1):
            yield index, group, f"{number:012d}", f"{group.name}-{i:03d}"
            number += 1


def apply_organization(scenario: Scenario, sandbox: ProvisionTarget) -> None:
    """The scenario's organisation through Organizations' API (CreateOrganization, CreateAccount),
    each member recorded by the layer under the scenario's id, and set up as its group says."""
    org = scenario.organization
    assert org is not None
    members = list(member_ids(org))
    ids = [account_id for _, _, account_id, _ in members]
    if members and (len(ids[-1]) > 12 or int(org.first_account_id) <= int(ACCOUNT_ID) <= int(ids[-1])):
        raise scenario.error(
            ("organization", "firstAccountId"),
            f"members {ids[0]}..{ids[-1]} must be 12-digit ids other than this account's ({ACCOUNT_ID})",
        )
    with acting_as(ACCOUNT_ID):
        organizations = motoserver.client("organizations", sandbox.region)
        organizations.create_organization(FeatureSet="ALL")
        moto_ids = [
            organizations.create_account(
                AccountName=name, Email=f"{name}@example.com", RoleName=org.role_name
            )["CreateAccountStatus"]["AccountId"]
            for _, _, _, name in members
        ]
    # Distinct join times, a day apart in the scenario's order (ListAccounts pages by them).
    joined = time.time() - (len(members) + 1) * DAY
    sandbox.state.org_members[ACCOUNT_ID] = OrgMember(ACCOUNT_ID, joined, "ACTIVE", "ACTIVE")
    for n, ((index, group, account_id, _), moto_id) in enumerate(
        zip(members, moto_ids, strict=True), start=1
    ):
        # Status (retired by AWS, still sent) knows no CLOSED or PENDING_ACTIVATION.
        status = {"ACTIVE": "ACTIVE", "PENDING_CLOSURE": "PENDING_CLOSURE"}.get(group.state, "SUSPENDED")
        sandbox.state.org_members[account_id] = OrgMember(moto_id, joined + n * DAY, group.state, status)
        _member_role(account_id, org.role_name)
        _provision_member(scenario, sandbox, ("organization", "accounts", index), group, account_id)


def _member_role(account_id: str, role_name: str) -> None:
    """The role CreateAccount makes in a new member, trusting the management account, made in the
    member under the scenario's id (moto made its own in the account it numbered)."""
    with acting_as(account_id), contextlib.suppress(ClientError):  # EntityAlreadyExists: it stays
        motoserver.client("iam", "us-east-1").create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=_trust_policy(ACCOUNT_ID),
            Description="",
            MaxSessionDuration=3600,
        )


# --- Organizations' answers: the scenario's ids, states and join times ---------------------------------


def _member_of(state: SandboxState, account_id: str) -> OrgMember | None:
    member = state.org_members.get(account_id)
    return member if member is not None and account_id != ACCOUNT_ID else None


def organizations_request(state: SandboxState, call: Call, environ: dict[str, Any]) -> None:
    """An Organizations call goes to moto under moto's ids: a member's call acts as the account moto
    numbered (x-moto-account-id, moto's documented header), and ids it names are moto's."""
    if not state.org_members:
        return
    member = _member_of(state, current_account())
    if member is not None:
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = member.moto_id
    body = call.body.decode("utf-8", "replace")
    for account_id, named in state.org_members.items():
        body = body.replace(account_id, named.moto_id) if account_id != named.moto_id else body
    if body.encode() != call.body:
        data = body.encode()
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))


def organizations_answer(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto's answer under the scenario's ids, with each member's state and join time."""
    if not state.org_members:
        return answer
    text = answer.body.decode("utf-8", "replace")
    by_moto_id = {m.moto_id: (account_id, m) for account_id, m in state.org_members.items()}
    for moto_id, (account_id, _) in by_moto_id.items():
        text = text.replace(moto_id, account_id) if moto_id != account_id else text
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        return answer
    _set_members(payload, state)
    body = text.encode() if payload is None else json.dumps(payload).encode()
    headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
    return Response(answer.status, headers, body)


def _set_members(node: Any, state: SandboxState) -> None:
    """Every account description in an answer gets its member's State, Status and JoinedTimestamp."""
    if isinstance(node, list):
        for item in node:
            _set_members(item, state)
    elif isinstance(node, dict):
        member = state.org_members.get(str(node.get("Id", "")))
        if member is not None and "JoinedTimestamp" in node:
            node.update(JoinedTimestamp=member.joined, State=member.state, Status=member.status)
        for value in node.values():
            _set_members(value, state)


def _provision_member(
    scenario: Scenario,
    sandbox: ProvisionTarget,
    where: tuple[str | int, ...],
    group: AccountGroup,
    account_id: str,
) -> None:
    if group.deny_access:
        role_name = scenario.organization.role_name  # type: ignore[union-attr]
        with acting_as(account_id):
            motoserver.client("iam", "us-east-1").update_assume_role_policy(
                RoleName=role_name, PolicyDocument=_trust_policy(UNTRUSTED_PRINCIPAL)
            )
    region = sandbox.region
    with acting_as(account_id):
        for i, setting in enumerate(group.quotas):
            try:
                sandbox.state.set_applied(
                    setting.service or _service_of(setting.code),
                    setting.code,
                    setting.value,
                    setting.region or region,
                    listed=setting.listed,
                )
            except (KeyError, ValueError) as exc:
                raise scenario.error((*where, "quotas", i), str(exc)) from None
        if group.reserved_concurrency:
            limit = sandbox.state.limit("L-B99A9384", region)
            if group.reserved_concurrency > limit - UNRESERVED_FLOOR:
                raise scenario.error(
                    (*where, "reservedConcurrency"),
                    f"{group.reserved_concurrency} leaves less than {UNRESERVED_FLOOR} of the account's "
                    f"{int(limit)} concurrent executions unreserved",
                )
            _reserve(sandbox.state, account_id, region, group.reserved_concurrency)
        if group.vpcs:
            limit = sandbox.state.limit("L-F678F1CE", region)
            if group.vpcs + 1 > limit:  # the default VPC counts too
                message = f"{group.vpcs} VPCs and the default one pass the quota of {int(limit)}"
                raise scenario.error((*where, "vpcs"), message)
            _vpcs(account_id, region, group.vpcs)


def _service_of(code: str) -> str:
    from preflight.sandbox.quotas import BY_CODE

    return BY_CODE[code].service_code


def _reserve(state: SandboxState, account_id: str, region: str, concurrency: int) -> None:
    """One function of another stack holding `concurrency` reserved executions (the member's APIs)."""
    from preflight.sandbox.target import ASSUME_LAMBDA, code_zip

    with acting_as(account_id):
        iam = motoserver.client("iam", "us-east-1")
        try:
            iam.get_role(RoleName=LAMBDA_ROLE)
        except ClientError:
            iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=ASSUME_LAMBDA)
        lam = motoserver.client("lambda", region)
        lam.create_function(
            FunctionName="other-stack-worker",
            Runtime="python3.12",
            Role=f"arn:aws:iam::{account_id}:role/{LAMBDA_ROLE}",
            Handler="index.handler",
            Code={"ZipFile": code_zip()},
            Tags={"preflight:sandbox": "other-stack"},
        )
        lam.put_function_concurrency(
            FunctionName="other-stack-worker", ReservedConcurrentExecutions=concurrency
        )
        state.reserve(region, "other-stack-worker", concurrency)  # the account's sum (see rules.py)


def _vpcs(account_id: str, region: str, count: int) -> None:
    with acting_as(account_id):
        ec2 = motoserver.client("ec2", region)
        for i in range(count):
            tags = [
                {"Key": "Name", "Value": f"other-stack-{i + 1}"},
                {"Key": "preflight:sandbox", "Value": "other-stack"},
            ]
            ec2.create_vpc(
                CidrBlock=f"10.{i + 1}.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
            )
