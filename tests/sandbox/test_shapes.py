"""Every operation the sandbox adds answers in botocore's output shape (issue 3, first acceptance item).

The walk runs over the raw wire JSON (so a field botocore's parser would silently drop or coerce
still counts) and over the parsed result (so XML answers are checked too).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from botocore.model import Shape

from preflight.quotas.catalog import QUOTAS
from preflight.sandbox import Sandbox

from .helpers import code_of, error_of


def walk(shape: Shape, value: Any, path: str, problems: list[str], *, raw: bool) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required field missing")
        for name, item in value.items():
            if name == "ResponseMetadata" and not path:
                continue
            member = shape.members.get(name)
            if member is None:
                problems.append(f"{path}.{name}: not in the model")
            else:
                walk(member, item, f"{path}.{name}", problems, raw=raw)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            walk(shape.member, item, f"{path}[{i}]", problems, raw=raw)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for k, item in value.items():
            walk(shape.value, item, f"{path}[{k}]", problems, raw=raw)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
            return
        if getattr(shape, "enum", None) and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.enum}")
        if ("min" in meta and len(value) < meta["min"]) or ("max" in meta and len(value) > meta["max"]):
            problems.append(f"{path}: length {len(value)} outside {meta.get('min')}..{meta.get('max')}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
            return
        if ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"]):
            problems.append(f"{path}: {value} outside {meta.get('min')}..{meta.get('max')}")
    elif kind in ("double", "float"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r}")
    elif kind == "timestamp":
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if raw
            else isinstance(value, dt.datetime)
        )
        if not ok:
            problems.append(f"{path}: expected a timestamp, got {value!r}")


class Recorder:
    """Keeps the raw body of each answer a client receives."""

    def __init__(self, client: Any) -> None:
        self.bodies: dict[str, bytes] = {}
        client.meta.events.register("after-call", self._after)

    def _after(self, http_response: Any, model: Any, **_: Any) -> None:
        self.bodies[model.name] = http_response.content


def check(client: Any, recorder: Recorder, operation: str, **params: Any) -> dict[str, Any]:
    """Call `operation` and walk both its raw JSON (if JSON) and its parsed result against the model."""
    op_model = client.meta.service_model.operation_model(operation)
    method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower().replace("a_w_s", "aws"))
    parsed = method(**params)
    problems: list[str] = []
    walk(op_model.output_shape, parsed, "", problems, raw=False)
    protocol = client.meta.service_model.protocol
    if protocol in ("json", "rest-json"):
        body = recorder.bodies[operation]
        walk(op_model.output_shape, json.loads(body) if body else {}, "", problems, raw=True)
    assert not problems, f"{operation}: " + "; ".join(problems)
    return parsed


def test_service_quotas_operations_match_the_model(fresh: Sandbox) -> None:
    sq = fresh.client("service-quotas")
    rec = Recorder(sq)
    fresh.set_applied_quota("vpc", "L-F678F1CE", 10)
    fresh.set_applied_quota("iam", "L-FE177D64", 2000)
    for code in sorted({q.service_code for q in QUOTAS}):
        check(sq, rec, "ListAWSDefaultServiceQuotas", ServiceCode=code)
        check(sq, rec, "ListServiceQuotas", ServiceCode=code)
    for q in QUOTAS:
        check(sq, rec, "GetAWSDefaultServiceQuota", ServiceCode=q.service_code, QuotaCode=q.quota_code)
    check(sq, rec, "GetServiceQuota", ServiceCode="vpc", QuotaCode="L-F678F1CE")
    check(sq, rec, "GetServiceQuota", ServiceCode="iam", QuotaCode="L-FE177D64")
    page = check(sq, rec, "ListAWSDefaultServiceQuotas", ServiceCode="vpc", MaxResults=2)
    assert "NextToken" in page
    made = check(
        sq, rec, "RequestServiceQuotaIncrease", ServiceCode="vpc", QuotaCode="L-1B52E74A", DesiredValue=40
    )
    check(sq, rec, "ListRequestedServiceQuotaChangeHistory")
    check(sq, rec, "ListRequestedServiceQuotaChangeHistory", ServiceCode="vpc", Status="APPROVED")
    check(sq, rec, "ListRequestedServiceQuotaChangeHistoryByQuota", ServiceCode="vpc", QuotaCode="L-1B52E74A")
    check(sq, rec, "GetRequestedServiceQuotaChange", RequestId=made["RequestedQuota"]["Id"])
    check(sq, rec, "ListServices")


def test_lambda_kinesis_ec2_operations_match_the_model(seed: Sandbox) -> None:
    lam = seed.client("lambda")
    rec = Recorder(lam)
    settings = check(lam, rec, "GetAccountSettings")
    assert settings["AccountUsage"]["FunctionCount"] == 10
    check(lam, rec, "PutFunctionConcurrency", FunctionName="orders-api", ReservedConcurrentExecutions=20)
    check(lam, rec, "GetFunctionConcurrency", FunctionName="orders-api")
    lam.delete_function_concurrency(FunctionName="orders-api")
    unreserved = check(lam, rec, "GetFunctionConcurrency", FunctionName="orders-api")
    assert "ReservedConcurrentExecutions" not in unreserved

    kinesis = seed.client("kinesis")
    assert check(kinesis, Recorder(kinesis), "DescribeLimits")["OpenShardCount"] == 4

    ec2 = seed.client("ec2")
    attrs = check(ec2, Recorder(ec2), "DescribeAccountAttributes")
    names = {a["AttributeName"] for a in attrs["AccountAttributes"]}
    assert "vpc-max-elastic-ips" in names
    one = check(ec2, Recorder(ec2), "DescribeAccountAttributes", AttributeNames=["vpc-max-elastic-ips"])
    assert [a["AttributeName"] for a in one["AccountAttributes"]] == ["vpc-max-elastic-ips"]


ERROR_CASES = [
    ("service-quotas", "GetServiceQuota", {"ServiceCode": "vpc", "QuotaCode": "L-F678F1CE"}),
    ("service-quotas", "ListServiceQuotas", {"ServiceCode": "nope"}),
    ("service-quotas", "ListAWSDefaultServiceQuotas", {"ServiceCode": "vpc", "NextToken": "garbage!"}),
    ("service-quotas", "ListAWSDefaultServiceQuotas", {"ServiceCode": "vpc", "MaxResults": 101}),
    (
        "service-quotas",
        "RequestServiceQuotaIncrease",
        {"ServiceCode": "vpc", "QuotaCode": "L-F678F1CE", "DesiredValue": 1},
    ),
    ("service-quotas", "GetRequestedServiceQuotaChange", {"RequestId": "0123456789"}),
    ("lambda", "PutFunctionConcurrency", {"FunctionName": "orders-api", "ReservedConcurrentExecutions": 900}),
    ("lambda", "GetFunctionConcurrency", {"FunctionName": "no-such-function"}),
    ("ec2", "CreateVpcEndpoint", {"VpcId": "VPC", "ServiceName": "com.amazonaws.us-east-1.s3"}),
]


def test_errors_are_ones_the_model_declares(seed: Sandbox) -> None:
    """The error codes added are ones botocore's model declares (EC2 declares none: checked by name)."""
    vpc_id = seed.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    for service, operation, params in ERROR_CASES:
        client = seed.client(service)
        op_model = client.meta.service_model.operation_model(operation)
        declared = {e.name for e in op_model.error_shapes} or {"VpcEndpointLimitExceeded"}
        method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower().replace("a_w_s", "aws"))
        args = {k: (vpc_id if v == "VPC" else v) for k, v in params.items()}
        err = error_of(lambda method=method, args=args: method(**args))
        assert code_of(err) in declared, (operation, code_of(err))
