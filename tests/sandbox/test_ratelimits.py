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


def test_get_function_past_its_rate_is_throttled_as_lambda_does(fresh: Sandbox) -> None:
    make_functions(fresh, ["one"])  # setup clients retry: a create may wait for the rate
    rates = fresh._server.app.rates  # type: ignore[union-attr]
    rates._clock = lambda: 0.0  # time stands still: nothing refills, however slow this machine is
    rates.start()
    lam = raw_client(fresh, "lambda")
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: _get(lam), range(100)))
    assert answers == [None] * 100  # within the rate, every call is answered
    refused = _get(lam)
    assert refused is not None, "the 101st GetFunction within a second passed a rate of 100 a second"
    assert (code_of(refused), status_of(refused)) == ("TooManyRequestsException", 429)
    # Other operations share the control plane's own rate, not GetFunction's.
    assert all(_list(lam) is None for _ in range(15)) and _list(lam) is not None


def _list(lam: Any) -> ClientError | None:
    try:
        lam.list_functions()
    except ClientError as exc:
        return exc
    return None


def _get(lam: Any) -> ClientError | None:
    try:
        lam.get_function(FunctionName="one")
    except ClientError as exc:
        return exc
    return None


def test_list_functions_pages_50_at_a_time(fresh: Sandbox) -> None:
    names = [f"fn{i:03d}" for i in range(120)]
    make_functions(fresh, names)
    rates = fresh._server.app.rates  # type: ignore[union-attr]
    rates._clock = lambda: 0.0  # the 120 creates drained the control plane's 15: start afresh, time
    rates.start()  # standing still, so the 5 listings below fit whatever this machine's speed
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
