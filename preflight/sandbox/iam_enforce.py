"""IAM enforcement for one emulated account: who signed a call, and whether their policies allow it.

Off by default: `Sandbox(enforce_iam=True)` turns it on for that instance only (the demo, the other
tests and `sandbox serve` run without it). When on, every signed call the sandbox receives, whether
moto or the sandbox itself (Service Quotas, Lambda account settings, Kinesis limits, ...) answers it,
goes through `IamEnforcer.deny` first:

- Authentication: the access key must be the sandbox's own (the account's root: everything allowed,
  as for AWS's root user; scenario setup and `rehearse` use it), an active access key of an IAM
  user in the calling account's IAM (made with CreateUser/CreateAccessKey like on AWS), or the
  temporary key of an unexpired STS AssumeRole session, which also needs its session token
  (X-Amz-Security-Token) to be the one STS issued with it; the SigV4 signature in the
  Authorization header must match the request as received (presigned URLs are refused).
- Authorisation: a user's inline and attached policies, and those of its groups; a role session's
  role's inline and attached policies (in the role's account), and its session policy if it was
  given one (the intersection, as AWS does). Evaluated by `evaluate` below (identity policies, the
  session policy, and for AssumeRole the role's trust policy; no SCPs or boundaries).
- `sts:AssumeRole` is asked for on the role's ARN, and the role's trust policy must name the caller
  (its account, its root, or its own ARN) and not deny it. A trust policy naming the caller's own
  ARN in the caller's account suffices alone (a resource policy naming the principal, in one
  account); otherwise the caller's identity policies must allow it too (IAM's policy evaluation
  logic, cross-account and account principals).
- Every call's own action is asked for on resource "*" (matched only by a statement's "*").
- Permissions AWS documents beyond a call's own action: `lambda:CreateFunction` and
  `UpdateFunctionConfiguration` with a role need `iam:PassRole` on it (`iam:PassedToService`
  lambda.amazonaws.com); tags on create need the tagging action (`_TAG_ON_CREATE`); Service Quotas
  creates its service-linked role on an account's first increase request, which needs the caller's
  `iam:CreateServiceLinkedRole` (then the role exists); `GetFunction` answers the tags only to a
  caller allowed `lambda:ListTags`.

Why not moto's own IAM emulation (`INITIAL_NO_AUTH_ACTION_COUNT`): it switches the whole process,
not one sandbox; it never sees the calls the sandbox answers itself; it verifies the signature after
the sandbox rewrote some request bodies (EC2 filters), so those would fail; and its evaluator (moto
documents it as "very basic") matches actions case-sensitively, has no `?`, and turns an Allow whose
Condition does not hold into an explicit Deny. Its policy classes are not a documented API either.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from preflight.sandbox.protocol import Call, Response, error_response

Effect = Literal["Allow", "Deny", "ImplicitDeny"]

SERVICE_QUOTAS_PRINCIPAL = "servicequotas.amazonaws.com"
SERVICE_QUOTAS_ROLE = "AWSServiceRoleForServiceQuotas"
SERVICE_QUOTAS_ROLE_PATH = f"/aws-service-role/{SERVICE_QUOTAS_PRINCIPAL}/"

# IAM's action prefix where it is not botocore's service name, and operations whose action has
# another name (HeadBucket has none of its own; ListBuckets is s3:ListAllMyBuckets).
_PREFIX = {"service-quotas": "servicequotas"}
_ACTION_NAMES = {("s3", "ListBuckets"): "s3:ListAllMyBuckets", ("s3", "HeadBucket"): "s3:ListBucket"}
# Tagging a resource while creating it needs the tagging action too (EC2 user guide, "Grant
# permission to tag resources during creation"; IAM, "Tagging IAM roles"; SNS CreateTopic's Tags).
# (service, operation or "*", the parameter prefix that carries tags) -> the tagging action.
_TAG_ON_CREATE = {
    ("ec2", "*", "TagSpecification."): "ec2:CreateTags",
    ("iam", "CreateRole", "Tags.member."): "iam:TagRole",
    ("sns", "CreateTopic", "Tags.member."): "sns:TagResource",
}
# AWS answers GetCallerIdentity whatever the policies say, even under an explicit Deny.
NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})


def action_of(service: str, operation: str) -> str:
    """The IAM action a call needs, e.g. ("service-quotas", "ListServiceQuotas") -> servicequotas:..."""
    return _ACTION_NAMES.get((service, operation), f"{_PREFIX.get(service, service)}:{operation}")


# --- the evaluator ----------------------------------------------------------------------------------


class UnsupportedPolicy(ValueError):
    """A policy element this evaluator does not understand: the call is denied (fail closed)."""


@dataclass(frozen=True)
class Request:
    """What a statement is matched against: the action, its resource ("*": any/unknown), context keys."""

    action: str
    resource: str = "*"
    context: Mapping[str, str] = field(default_factory=dict)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    # Actions compare case-insensitively, with * and ? wildcards (IAM JSON policy reference, Action).
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    # ARNs compare case-sensitively with * and ?; a call whose resource is "*" (no resource-level
    # permission, or not known here) is matched only by "*".
    return any(p == "*" or (resource != "*" and fnmatch.fnmatchcase(resource, p)) for p in patterns)


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every operator and key must hold (AND); a key's values are alternatives (OR). A missing key
    fails StringEquals/StringLike, as in IAM."""
    for operator, keys in condition.items():
        if operator not in ("StringEquals", "StringLike"):
            raise UnsupportedPolicy(f"condition operator {operator}")
        for key, wanted in keys.items():
            actual = context.get(key)
            if actual is None:
                return False
            if not any(_string_matches(operator, actual, w) for w in _listed(wanted)):
                return False
    return True


def _string_matches(operator: str, actual: str, wanted: str) -> bool:
    return actual == wanted if operator == "StringEquals" else fnmatch.fnmatchcase(actual, wanted)


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether a statement's Action/NotAction, Resource/NotResource and Condition all cover the request."""
    unknown = set(statement) - {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
    if unknown:
        raise UnsupportedPolicy(f"statement element {sorted(unknown)[0]}")
    if "Action" in statement:
        if not _action_matches(_listed(statement["Action"]), request.action):
            return False
    elif not _action_matches_not(statement, request.action):
        return False
    if "Resource" in statement:
        if not _resource_matches(_listed(statement["Resource"]), request.resource):
            return False
    elif "NotResource" in statement:
        if _resource_matches(_listed(statement["NotResource"]), request.resource):
            return False
    else:
        raise UnsupportedPolicy("a statement without Resource or NotResource")
    return _condition_holds(statement.get("Condition") or {}, request.context)


def _action_matches_not(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" not in statement:
        raise UnsupportedPolicy("a statement without Action or NotAction")
    return not _action_matches(_listed(statement["NotAction"]), action)


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def evaluate(documents: Sequence[Mapping[str, Any]], request: Request) -> Effect:
    """IAM's identity-policy logic: an explicit Deny wins, else any Allow allows, else implicit deny."""
    effect: Effect = "ImplicitDeny"
    for document in documents:
        for statement in statements_of(document):
            if not statement_applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            if statement.get("Effect") != "Allow":
                raise UnsupportedPolicy(f"Effect {statement.get('Effect')!r}")
            effect = "Allow"
    return effect


# --- the emulated account's callers -----------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    arn: str
    secret: str
    policies: tuple[Mapping[str, Any], ...] | None  # None: the account's root user
    account_id: str = ""
    session_policy: Mapping[str, Any] | None = None  # an AssumeRole session's own policy
    token: str | None = None  # the session token a temporary key must come with


# AccessKeyId, SecretAccessKey, SessionToken, Expiration, UserName and the session's Arn in an answer.
_ANSWER_FIELDS = re.compile(rb"<(AccessKeyId|SecretAccessKey|SessionToken|Expiration|UserName|Arn)>([^<]*)</")


def _current_account() -> str:
    from preflight.sandbox.state import current_account

    return current_account()


def _iam(account_id: str) -> Any:
    """IAM's API in `account_id`, answered by moto in-process (see motoserver.py)."""
    from preflight.sandbox import motoserver
    from preflight.sandbox.state import acting_as

    class _InAccount:
        def __getattr__(self, operation: str) -> Any:
            def call(**params: Any) -> Any:
                with acting_as(account_id):
                    return getattr(motoserver.client("iam", "us-east-1"), operation)(**params)

            return call

    return _InAccount()


def _document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        return json.loads(unquote(raw) if raw.startswith("%") else raw)
    return raw


def _attached_documents(iam: Any, attached: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The default version of each attached managed policy."""
    found = []
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]
        found.append(_document(document["Document"]))
    return found


def _user_policies(iam: Any, user_name: str) -> tuple[Mapping[str, Any], ...]:
    """Inline and attached policies of the user and of its groups (IAM's public listing calls)."""
    found: list[Mapping[str, Any]] = []
    for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
        found.append(_document(iam.get_user_policy(UserName=user_name, PolicyName=name)["PolicyDocument"]))
    found += _attached_documents(iam, iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"])
    for group in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        group_name = group["GroupName"]
        for name in iam.list_group_policies(GroupName=group_name)["PolicyNames"]:
            document = iam.get_group_policy(GroupName=group_name, PolicyName=name)["PolicyDocument"]
            found.append(_document(document))
        attached = iam.list_attached_group_policies(GroupName=group_name)["AttachedPolicies"]
        found += _attached_documents(iam, attached)
    return tuple(found)


def _role_policies(iam: Any, role_name: str) -> tuple[Mapping[str, Any], ...]:
    """A role's inline and attached policies (IAM's public listing calls)."""
    found = [
        _document(iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"])
        for n in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    ]
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    return (*found, *_attached_documents(iam, attached))


@dataclass(frozen=True)
class IssuedKey:
    """An access key IAM or STS handed out, as their answer said (the secret is shown only there)."""

    account_id: str
    secret: str
    user_name: str = ""  # an IAM user's key
    session_arn: str = ""  # an AssumeRole session's: its ARN, role, token, expiry and policy
    role_arn: str = ""
    token: str | None = None
    expiration: datetime | None = None
    session_policy: Mapping[str, Any] | None = None


def _find_caller(issued: IssuedKey, access_key: str) -> Caller | None:
    """The caller behind a key the account handed out: a user's active key, or a live session."""
    iam = _iam(issued.account_id)
    if issued.user_name:
        try:
            keys = iam.list_access_keys(UserName=issued.user_name)["AccessKeyMetadata"]
            user_arn = iam.get_user(UserName=issued.user_name)["User"]["Arn"]
        except ClientError:  # the user is gone
            return None
        if not any(k["AccessKeyId"] == access_key and k["Status"] == "Active" for k in keys):
            return None
        return Caller(user_arn, issued.secret, _user_policies(iam, issued.user_name), issued.account_id)
    return _find_session(issued, iam)


def _find_session(issued: IssuedKey, iam: Any) -> Caller | None:
    """An AssumeRole session's caller: the role's policies; none if the role is gone (as on AWS, a
    deleted role's sessions can do nothing). None when the session has expired."""
    if issued.expiration is None or issued.expiration <= now():
        return None
    role_name = issued.role_arn.rpartition("/")[2]
    try:
        iam.get_role(RoleName=role_name)
        policies = _role_policies(iam, role_name)
    except ClientError:  # the role is gone
        policies = ()
    return Caller(
        issued.session_arn,
        issued.secret,
        policies,
        issued.account_id,
        session_policy=issued.session_policy,
        token=issued.token,
    )


def now() -> datetime:
    """The time sessions expire against (a test may move it)."""
    return datetime.now(UTC)


# --- AssumeRole's trust policy ---------------------------------------------------------------------

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[^:]*/)?[\w+=,.@-]+$")


def _account_of(role_arn: str) -> str:
    match = _ROLE_ARN.match(role_arn)
    return match.group(1) if match else ""


def trust_of(role_arn: str) -> Mapping[str, Any] | None:
    """The role's trust policy; None when no such role exists."""
    account_id = _account_of(role_arn)
    if not account_id:
        return None
    try:
        role = _iam(account_id).get_role(RoleName=role_arn.rpartition("/")[2])["Role"]
    except ClientError:
        return None
    if role.get("Arn") != role_arn:
        return None
    return _document(role["AssumeRolePolicyDocument"])


def _names(principal: Any, caller: Caller, by_arn: bool) -> bool:
    """Whether a trust statement's Principal names the caller: by its own ARN (a session also by its
    role's ARN) when `by_arn`, else also by its account ("123456789012" or its root)."""
    if principal == "*":
        return not by_arn
    values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    own = {caller.arn, _role_arn_of_session(caller.arn)}
    account = {caller.account_id, f"arn:aws:iam::{caller.account_id}:root", "*"}
    return any(v in own or (not by_arn and v in account) for v in values)


def _role_arn_of_session(arn: str) -> str:
    match = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/", arn)
    return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}" if match else arn


def _trust_effect(trust: Mapping[str, Any], caller: Caller, *, by_arn: bool) -> Effect:
    """The trust policy's answer for sts:AssumeRole by the caller: Deny wins, then Allow."""
    effect: Effect = "ImplicitDeny"
    for statement in statements_of(trust):
        if not _action_matches(_listed(statement.get("Action")), "sts:AssumeRole"):
            continue
        if not _names(statement.get("Principal"), caller, by_arn):
            continue
        if statement.get("Condition"):
            raise UnsupportedPolicy("a trust policy Condition")
        if statement.get("Effect") == "Deny":
            return "Deny"
        effect = "Allow"
    return effect


# --- SigV4 ------------------------------------------------------------------------------------------

_AUTH_FIELDS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")


def _signature_matches(call: Call, environ: Mapping[str, Any], secret: str, access_key: str) -> bool:
    """Recompute the SigV4 signature over the request as received (before any rewrite)."""
    fields = dict(_AUTH_FIELDS.findall(call.headers.get("authorization", "")))
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or "Signature" not in fields:
        return False
    signed = fields.get("SignedHeaders", "").split(";")
    headers = {k: v for k, v in call.headers.items() if k in signed}
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or call.path
    url = f"http://{call.headers.get('host', 'localhost')}{raw_uri}"
    request = AWSRequest(method=call.method, url=url, data=call.body, headers=headers)
    request.context["timestamp"] = call.headers.get("x-amz-date", "")
    signer_class = S3SigV4Auth if scope[3] == "s3" else SigV4Auth
    signer = signer_class(Credentials(access_key, secret), scope[3], scope[2])
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request) == fields["Signature"]


# --- the answers AWS gives ----------------------------------------------------------------------------


def _unknown_key(call: Call) -> Response:
    message = "The security token included in the request is invalid."
    if call.protocol == "ec2":
        return error_response(
            "ec2", 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
        )
    if call.protocol == "rest-xml":
        return error_response(
            "rest-xml",
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    if call.protocol == "query":
        return error_response("query", 403, "InvalidClientTokenId", message)
    return error_response(call.protocol, 403, "UnrecognizedClientException", message)


def _bad_signature(call: Call) -> Response:
    message = "The request signature we calculated does not match the signature you provided."
    if call.protocol == "ec2":
        return error_response(
            "ec2", 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
        )
    return error_response(call.protocol, 403, "SignatureDoesNotMatch", message)


def denied_response(
    call: Call, caller_arn: str, request: Request, effect: Effect, *, by_trust: bool = False
) -> Response:
    """AWS's answer naming the user, the action and why (each protocol's own error code); a role's
    trust policy refusing AssumeRole is named by no reason, as AWS answers it."""
    why = (
        ""
        if by_trust
        else " with an explicit deny in an identity-based policy"
        if effect == "Deny"
        else f" because no identity-based policy allows the {request.action} action"
    )
    message = (
        f"User: {caller_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource}{why}"
    )
    if call.protocol == "ec2":
        return error_response(
            "ec2",
            403,
            "UnauthorizedOperation",
            f"You are not authorized to perform this operation. {message}",
        )
    if call.protocol in ("query", "rest-xml"):
        return error_response(call.protocol, 403, "AccessDenied", message)
    return error_response(call.protocol, 403, "AccessDeniedException", message)


# --- the hook ---------------------------------------------------------------------------------------


class IamEnforcer:
    """The enforcement the sandbox middleware calls for every signed call (see the module docstring)."""

    def __init__(self, account_id: str, root_access_key: str, root_secret: str) -> None:
        self.account_id = account_id
        self.root_access_key = root_access_key
        self.root_secret = root_secret
        self._lock = threading.Lock()
        self._granted: Counter[str] = Counter()
        self._issued: dict[str, IssuedKey] = {}  # keys IAM and STS handed out, from their answers
        self._callers: dict[str, Caller] = {}  # looked up since IAM last changed (see after())

    def granted(self) -> dict[str, int]:
        """The actions allowed to IAM users so far (own actions and those AWS documents beside them)."""
        with self._lock:
            return dict(sorted(self._granted.items()))

    def _caller(self, access_key: str) -> Caller | None:
        """Who holds the key, in the account the call acts in (the key's own: see caller_account)."""
        if access_key == self.root_access_key:
            return Caller(f"arn:aws:iam::{self.account_id}:root", self.root_secret, None, self.account_id)
        with self._lock:
            issued = self._issued.get(access_key)
            known = self._callers.get(access_key)
        if issued is None or issued.account_id != _current_account():
            return None
        if issued.expiration is not None and issued.expiration <= now():
            return None  # an expired session
        if known is None:
            known = _find_caller(issued, access_key)
            if known is not None:
                with self._lock:
                    self._callers[access_key] = known
        return known

    def _remember(self, call: Call, response: Response) -> None:
        """Keep what CreateAccessKey and AssumeRole answered (the secret is shown only then); forget
        the callers looked up when IAM changes (policies, keys, users, roles)."""
        issuing = (call.service, call.operation) in (("iam", "CreateAccessKey"), ("sts", "AssumeRole"))
        found = _ANSWER_FIELDS.findall(response.body) if issuing else []
        fields = {k.decode(): v.decode() for k, v in found}
        if call.service == "iam" and call.operation == "CreateAccessKey" and "AccessKeyId" in fields:
            issued = IssuedKey(_current_account(), fields["SecretAccessKey"], user_name=fields["UserName"])
            with self._lock:
                self._issued[fields["AccessKeyId"]] = issued
        elif call.service == "sts" and call.operation == "AssumeRole" and "AccessKeyId" in fields:
            role_arn = call.params.get("RoleArn", "")
            policy = call.params.get("Policy")
            issued = IssuedKey(
                _account_of(role_arn) or _current_account(),
                fields["SecretAccessKey"],
                session_arn=fields.get("Arn", ""),
                role_arn=role_arn,
                token=fields.get("SessionToken"),
                expiration=datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00")),
                session_policy=_document(policy) if policy else None,
            )
            with self._lock:
                self._issued[fields["AccessKeyId"]] = issued
        if call.service == "iam" and not call.operation.startswith(("Get", "List")):
            with self._lock:
                self._callers.clear()

    def requests_for(self, call: Call) -> list[Request]:
        """Every permission the call needs: its own action, then what AWS documents beside it."""
        needed = [Request(action_of(call.service, call.operation))]
        if call.service == "sts" and call.operation == "AssumeRole":
            needed = [Request("sts:AssumeRole", call.params.get("RoleArn") or "*")]
        for (service, operation, prefix), tagging in _TAG_ON_CREATE.items():
            if call.service == service and operation in ("*", call.operation):
                if call.protocol in ("ec2", "query") and any(k.startswith(prefix) for k in call.params):
                    needed.append(Request(tagging))
        if call.service == "lambda" and call.operation in ("CreateFunction", "UpdateFunctionConfiguration"):
            role = call.json.get("Role")
            if isinstance(role, str) and role:
                needed.append(Request("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}))
        if call.service == "service-quotas" and call.operation == "RequestServiceQuotaIncrease":
            if not self.service_quotas_role_exists():
                needed.append(
                    Request(
                        "iam:CreateServiceLinkedRole",
                        f"arn:aws:iam::{_current_account()}:role{SERVICE_QUOTAS_ROLE_PATH}{SERVICE_QUOTAS_ROLE}",
                        {"iam:AWSServiceName": SERVICE_QUOTAS_PRINCIPAL},
                    )
                )
        return needed

    def deny(self, call: Call, environ: Mapping[str, Any]) -> Response | None:
        """The error answer for a call its caller may not make; None when it may."""
        fields = dict(_AUTH_FIELDS.findall(call.headers.get("authorization", "")))
        access_key = fields.get("Credential", "").split("/")[0]
        caller = self._caller(access_key)
        if caller is None or call.headers.get("x-amz-security-token") != caller.token:
            return _unknown_key(call)  # a session key needs its token, a user's key none (AWS's answer)
        if not _signature_matches(call, environ, caller.secret, access_key):
            return _bad_signature(call)
        if caller.policies is None:
            return None
        for request in self.requests_for(call):
            if request.action in NO_PERMISSION_NEEDED:
                continue
            try:
                effect = self._effect(caller, request)
            except UnsupportedPolicy as exc:
                message = f"The emulated account cannot evaluate this policy: {exc}"
                return error_response(call.protocol, 403, "AccessDenied", message)
            if effect != "Allow":
                by_trust = (
                    request.action == "sts:AssumeRole" and evaluate(caller.policies, request) == "Allow"
                )
                return denied_response(call, caller.arn, request, effect, by_trust=by_trust)
            with self._lock:
                self._granted[request.action] += 1
        return None

    def _effect(self, caller: Caller, request: Request) -> Effect:
        """The identity policies' answer, narrowed by a session policy; for AssumeRole, with the
        role's trust policy (see the module docstring)."""
        assert caller.policies is not None
        effect = evaluate(caller.policies, request)
        if effect == "Allow" and caller.session_policy is not None:
            effect = evaluate([caller.session_policy], request)
        if request.action != "sts:AssumeRole" or effect == "Deny":
            return effect
        trust = trust_of(request.resource)
        if trust is None:  # no such role
            return "ImplicitDeny"
        trusted = _trust_effect(trust, caller, by_arn=False)
        if trusted == "Deny":
            return "Deny"
        same_account = _account_of(request.resource) == caller.account_id
        if same_account and _trust_effect(trust, caller, by_arn=True) == "Allow":
            return "Allow"  # one account: the trust policy naming the caller suffices
        return effect if trusted == "Allow" else "ImplicitDeny"

    def after(self, call: Call, response: Response) -> Response:
        """What AWS does after answering: hide GetFunction's tags from a caller without ListTags,
        create Service Quotas' role on the first increase request."""
        if not 200 <= response.status < 300:
            return response
        self._remember(call, response)
        if call.service == "service-quotas" and call.operation == "RequestServiceQuotaIncrease":
            self._create_service_quotas_role()
        if call.service == "lambda" and call.operation == "GetFunction":
            return self._without_tags_unless_allowed(call, response)
        return response

    def _without_tags_unless_allowed(self, call: Call, response: Response) -> Response:
        fields = dict(_AUTH_FIELDS.findall(call.headers.get("authorization", "")))
        caller = self._caller(fields.get("Credential", "").split("/")[0])
        if caller is None or caller.policies is None:
            return response
        try:
            if self._effect(caller, Request("lambda:ListTags")) == "Allow":
                return response
        except UnsupportedPolicy:
            pass  # not known to be allowed: hide them (fail closed)
        payload = json.loads(response.body)
        payload.pop("Tags", None)
        body = json.dumps(payload).encode()
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        return Response(response.status, [*headers, ("Content-Length", str(len(body)))], body)

    def service_quotas_role_exists(self) -> bool:
        roles = _iam(_current_account()).list_roles(PathPrefix=SERVICE_QUOTAS_ROLE_PATH)["Roles"]
        return any(r.get("Path") == SERVICE_QUOTAS_ROLE_PATH for r in roles)

    def _create_service_quotas_role(self) -> None:
        if self.service_quotas_role_exists():
            return
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": SERVICE_QUOTAS_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        _iam(_current_account()).create_role(
            RoleName=SERVICE_QUOTAS_ROLE,
            AssumeRolePolicyDocument=json.dumps(trust),
            Path=SERVICE_QUOTAS_ROLE_PATH,
            Description="Service Quotas' service-linked role",
        )
