"""Service Quotas, answered from the sandbox's own quota table (quotas.py) and its applied values.

moto only knows the `vpc` defaults; here every service code of quotas.py is served. A quota that
was never raised (no applied value) is absent from ListServiceQuotas and GetServiceQuota answers
NoSuchResourceException, as AWS often does. IAM and S3 quotas are global: answered in the partition's
home region only (us-east-1 for aws).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from preflight.sandbox.protocol import Call, Response, error_response, json_response
from preflight.sandbox.quotas import QUOTAS, SERVICE_CODES, home_region
from preflight.sandbox.quotas import AwsQuota as Quota
from preflight.sandbox.state import QuotaRequest, SandboxState, current_account, is_global, lookup

SERVICE_NAMES = {
    "vpc": "Amazon Virtual Private Cloud (Amazon VPC)",
    "ec2": "Amazon Elastic Compute Cloud (Amazon EC2)",
    "lambda": "AWS Lambda",
    "kinesis": "Amazon Kinesis Data Streams",
    "dynamodb": "Amazon DynamoDB",
    "s3": "Amazon Simple Storage Service (Amazon S3)",
    "sns": "Amazon Simple Notification Service (Amazon SNS)",
    "iam": "AWS Identity and Access Management (IAM)",
}

DEFAULT_PAGE = 100


class _Error(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_such(
    message: str = "The request failed because the specified service or quota does not exist.",
) -> _Error:
    return _Error("NoSuchResourceException", message)


def _service_name(code: str) -> str:
    return SERVICE_NAMES.get(code, code)


def _arn(q: Quota, region: str, account: str) -> str:
    return f"arn:aws:servicequotas:{region}:{account}:{q.service_code}/{q.quota_code}"


def _quota_record(q: Quota, value: float, region: str, *, default: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ServiceCode": q.service_code,
        "ServiceName": _service_name(q.service_code),
        # AWS leaves the account out of a default quota's ARN.
        "QuotaArn": _arn(q, region, "" if default else current_account()),
        "QuotaCode": q.quota_code,
        "QuotaName": q.name,
        "Value": float(value),
        "Unit": q.unit,
        "Adjustable": q.adjustable,
        "GlobalQuota": is_global(q),
        "QuotaAppliedAtLevel": "ACCOUNT",
    }
    if q.help:
        record["Description"] = q.help[:350]
    return record


def _request_record(r: QuotaRequest) -> dict[str, Any]:
    q = r.quota
    return {
        "Id": r.id,
        "CaseId": r.case_id,
        "ServiceCode": q.service_code,
        "ServiceName": _service_name(q.service_code),
        "QuotaCode": q.quota_code,
        "QuotaName": q.name,
        "DesiredValue": float(r.desired),
        "Status": r.status,
        "Created": r.created,
        "LastUpdated": r.created,
        "Requester": f'{{"accountId":"{r.account}","callerArn":"arn:aws:iam::{r.account}:root"}}',
        "QuotaArn": _arn(q, r.region, r.account),
        "GlobalQuota": is_global(q),
        "Unit": q.unit,
        "QuotaRequestedAtLevel": "ACCOUNT",
    }


def _str_param(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _Error("IllegalArgumentException", f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise _Error("IllegalArgumentException", f"{name} must be a string.")
    return value


def _check_service(code: str) -> None:
    if code not in SERVICE_CODES:
        raise _no_such("The request failed because the specified service does not exist.")


def _quota(body: dict[str, Any], region: str) -> Quota:
    service = _str_param(body, "ServiceCode", True) or ""
    code = _str_param(body, "QuotaCode", True) or ""
    _check_service(service)
    try:
        q = lookup(service, code)
    except KeyError:
        raise _no_such("The request failed because the specified quota does not exist.") from None
    if is_global(q) and region != home_region(region):
        raise _no_such("The request failed because the specified quota does not exist in this Region.")
    return q


def _page(body: dict[str, Any], items: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    size = body.get("MaxResults", DEFAULT_PAGE)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        raise _Error("IllegalArgumentException", "MaxResults must be between 1 and 100.")
    start = 0
    token = body.get("NextToken")
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("offset:"))
        except ValueError:
            raise _Error("InvalidPaginationTokenException", "Invalid pagination token.") from None
        if not 0 <= start <= len(items):
            raise _Error("InvalidPaginationTokenException", "Invalid pagination token.")
    out: dict[str, Any] = {key: list(items[start : start + size])}
    if start + size < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return out


def _list_service_quotas(state: SandboxState, call: Call) -> dict[str, Any]:
    body = call.json
    service = _str_param(body, "ServiceCode", True) or ""
    _check_service(service)
    only = _str_param(body, "QuotaCode")
    # Global quotas are stored under us-east-1 only, so other regions list none of them.
    items = [
        _quota_record(q, value, call.region, default=False)
        for q, value in state.applied_in(call.region, service)
        if only is None or q.quota_code == only
    ]
    return _page(body, items, "Quotas")


def _get_service_quota(state: SandboxState, call: Call) -> dict[str, Any]:
    q = _quota(call.json, call.region)
    value = state.applied(q, call.region)
    if value is None:
        raise _no_such("The request failed because the specified quota has no applied value.")
    return {"Quota": _quota_record(q, value, call.region, default=False)}


def _list_defaults(state: SandboxState, call: Call) -> dict[str, Any]:
    body = call.json
    service = _str_param(body, "ServiceCode", True) or ""
    _check_service(service)
    items = [
        _quota_record(q, q.default_for(call.region), call.region, default=True)
        for q in sorted(QUOTAS, key=lambda q: q.quota_code)
        if q.service_code == service and not (is_global(q) and call.region != home_region(call.region))
    ]
    return _page(body, items, "Quotas")


def _get_default(state: SandboxState, call: Call) -> dict[str, Any]:
    q = _quota(call.json, call.region)
    return {"Quota": _quota_record(q, q.default_for(call.region), call.region, default=True)}


def _request_increase(state: SandboxState, call: Call) -> dict[str, Any]:
    body = call.json
    q = _quota(body, call.region)
    desired = body.get("DesiredValue")
    if not isinstance(desired, int | float) or isinstance(desired, bool) or desired < 0:
        raise _Error("IllegalArgumentException", "DesiredValue must be a non-negative number.")
    if not q.adjustable:
        raise _Error("IllegalArgumentException", f"The quota {q.quota_code} is not adjustable.")
    with state.lock:
        current = state.limit(q.quota_code, call.region)
        if desired <= current:
            raise _Error(
                "IllegalArgumentException",
                f"The desired value {desired:g} must be greater than the current value {current:g}.",
            )
        request = QuotaRequest(q, call.region, float(desired))
        state.add_request(request)
        # Approved at once: the what-if is "raise the quota, run again".
        state.set_applied(q.service_code, q.quota_code, float(desired), call.region)
    return {"RequestedQuota": _request_record(request)}


def _history(state: SandboxState, call: Call, by_quota: bool) -> dict[str, Any]:
    body = call.json
    status = _str_param(body, "Status")
    if by_quota:
        q: Quota | None = _quota(body, call.region)
        service = q.service_code if q else None
    else:
        q = None
        service = _str_param(body, "ServiceCode")
        if service is not None:
            _check_service(service)
    with state.lock:
        requests = [r for r in state.requests if r.account == current_account()]
    items = [
        _request_record(r)
        for r in reversed(requests)  # newest first
        if r.region == call.region
        and (service is None or r.quota.service_code == service)
        and (q is None or r.quota.quota_code == q.quota_code)
        and (status is None or r.status == status)
    ]
    return _page(body, items, "RequestedQuotas")


def _get_request(state: SandboxState, call: Call) -> dict[str, Any]:
    rid = _str_param(call.json, "RequestId", True)
    with state.lock:
        for r in state.requests:
            if r.id == rid and r.account == current_account():
                return {"RequestedQuota": _request_record(r)}
    raise _no_such("The request failed because the specified quota request does not exist.")


def _list_services(state: SandboxState, call: Call) -> dict[str, Any]:
    items = [{"ServiceCode": c, "ServiceName": _service_name(c)} for c in sorted(SERVICE_CODES)]
    return _page(call.json, items, "Services")


HANDLERS: dict[str, Callable[[SandboxState, Call], dict[str, Any]]] = {
    "ListServiceQuotas": _list_service_quotas,
    "GetServiceQuota": _get_service_quota,
    "ListAWSDefaultServiceQuotas": _list_defaults,
    "GetAWSDefaultServiceQuota": _get_default,
    "RequestServiceQuotaIncrease": _request_increase,
    "ListRequestedServiceQuotaChangeHistory": lambda s, c: _history(s, c, by_quota=False),
    "ListRequestedServiceQuotaChangeHistoryByQuota": lambda s, c: _history(s, c, by_quota=True),
    "GetRequestedServiceQuotaChange": _get_request,
    "ListServices": _list_services,
}


def handle(state: SandboxState, call: Call) -> Response | None:
    """Answer a Service Quotas call, or None for an operation left to moto."""
    handler = HANDLERS.get(call.operation)
    if handler is None:
        return None
    try:
        return json_response(handler(state, call))
    except _Error as err:
        return error_response("json", 400, err.code, err.message)
