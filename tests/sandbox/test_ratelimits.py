"""Lambda's documented control-plane API rates in the emulated account, and ListFunctions' paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from preflight.sandbox import Sandbox
from preflight.sandbox.ratelimits import LambdaRates

from .helpers import code_of, error_of, raw_client, status_of
from .test_lambda import make_functions


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_get_function_allows_100_a_second_and_the_rest_15_together() -> None:
    clock = Clock()
    rates = LambdaRates(clock)
    assert all(rates.admit("lambda", "GetFunction", "us-east-1") for _ in range(500))  # not started yet
    rates.start()
    assert sum(rates.admit("lambda", "GetFunction", "us-east-1") for _ in range(150)) == 100
    # The remainder of the control plane shares one rate, apart from GetFunction's.
    other = ["ListFunctions", "GetAccountSettings", "ListTags", "GetFunctionConcurrency"] * 10
    assert sum(rates.admit("lambda", op, "us-east-1") for op in other) == 15
    assert sum(rates.admit("lambda", "GetPolicy", "us-east-1") for _ in range(20)) == 15
    # Per Region; other services and invocations are not rated here.
    assert rates.admit("lambda", "ListFunctions", "eu-west-1")
    assert all(rates.admit("lambda", "Invoke", "us-east-1") for _ in range(50))
    assert all(rates.admit("ec2", "DescribeVpcs", "us-east-1") for _ in range(50))
    clock.now += 0.5  # half a second refills half of each rate
    assert sum(rates.admit("lambda", "GetFunction", "us-east-1") for _ in range(100)) == 50
    assert sum(rates.admit("lambda", "ListTags", "us-east-1") for _ in range(100)) == 7


def test_a_burst_of_get_function_past_the_rate_is_throttled_as_lambda_does(fresh: Sandbox) -> None:
    make_functions(fresh, ["one"])  # setup clients retry: a create may wait for the rate
    lam = raw_client(fresh, "lambda")
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: _get(lam), range(160)))
    throttled = [a for a in answers if a is not None]
    assert throttled, "160 GetFunction calls at once all passed a rate of 100 a second"
    assert {(code_of(e), status_of(e)) for e in throttled} == {("TooManyRequestsException", 429)}
    assert len(throttled) < 160 - 50  # within the rate, calls are answered


def _get(lam: Any) -> ClientError | None:
    try:
        lam.get_function(FunctionName="one")
    except ClientError as exc:
        return exc
    return None


def test_list_functions_pages_50_at_a_time(fresh: Sandbox) -> None:
    names = [f"fn{i:03d}" for i in range(120)]
    make_functions(fresh, names)
    lam = fresh.client("lambda")
    first = lam.list_functions(MaxItems=1000)
    assert len(first["Functions"]) == 50 and "NextMarker" in first
    seen = [
        f["FunctionName"]
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
    ]
    assert sorted(seen) == names
    bad = error_of(lambda: raw_client(fresh, "lambda").list_functions(Marker="nonsense!"))
    assert code_of(bad) == "InvalidParameterValueException"
