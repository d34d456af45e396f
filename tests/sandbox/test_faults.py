"""Fault injection: each service's throttling answer, HTTP 500s, seeded repeatability, latency."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from preflight.sandbox import FaultConfig, Sandbox
from preflight.support.errors import InputError

from .helpers import code_of, error_of, raw_client, status_of

# One read per protocol family the gate talks to.
CALLS: dict[str, Callable[[Any], Any]] = {
    "service-quotas": lambda c: c.list_aws_default_service_quotas(ServiceCode="vpc"),
    "dynamodb": lambda c: c.list_tables(),
    "kinesis": lambda c: c.describe_limits(),
    "lambda": lambda c: c.get_account_settings(),
    "ec2": lambda c: c.describe_vpcs(),
    "iam": lambda c: c.get_account_summary(),
    "sns": lambda c: c.list_topics(),
    "s3": lambda c: c.list_buckets(),
}

THROTTLES = {
    "service-quotas": ("ThrottlingException", 400),
    "dynamodb": ("ThrottlingException", 400),
    "kinesis": ("ThrottlingException", 400),
    "lambda": ("TooManyRequestsException", 429),
    "ec2": ("RequestLimitExceeded", 503),
    "iam": ("Throttling", 400),
    "sns": ("Throttling", 400),
    "s3": ("SlowDown", 503),
}
ERRORS = {
    "service-quotas": "InternalFailure",
    "dynamodb": "InternalFailure",
    "kinesis": "InternalFailure",
    "lambda": "ServiceException",
    "ec2": "InternalError",
    "iam": "InternalFailure",
    "sns": "InternalFailure",
    "s3": "InternalError",
}


def test_faults_are_off_by_default(fresh: Sandbox) -> None:
    for service, call in CALLS.items():
        call(raw_client(fresh, service))
    assert FaultConfig() == FaultConfig(latency_ms=0, throttle_rate=0.0, error_rate=0.0, seed=0)


@pytest.mark.parametrize("service", sorted(CALLS))
def test_each_service_throttles_in_its_own_words(fresh: Sandbox, service: str) -> None:
    fresh.set_faults(FaultConfig(throttle_rate=1.0))
    client = raw_client(fresh, service)
    err = error_of(lambda: CALLS[service](client))
    assert (code_of(err), status_of(err)) == THROTTLES[service]
    fresh.set_faults(FaultConfig(error_rate=1.0))
    err = error_of(lambda: CALLS[service](client))
    assert (code_of(err), status_of(err)) == (ERRORS[service], 500)


@pytest.mark.parametrize("rates", [{"throttle_rate": 1.0}, {"error_rate": 1.0}])
def test_botocore_retries_every_fault(fresh: Sandbox, rates: dict[str, float]) -> None:
    fresh.set_faults(FaultConfig(**rates))
    retry_once = Config(retries={"mode": "standard", "total_max_attempts": 2})
    clients = {service: fresh.client(service, config=retry_once) for service in CALLS}

    def retries(service: str) -> int:
        # botocore retries only what it classifies as throttling or transient: one retry each here.
        err = error_of(lambda: CALLS[service](clients[service]))
        return int(err.response["ResponseMetadata"]["RetryAttempts"])

    with ThreadPoolExecutor(max_workers=len(CALLS)) as pool:  # the backoff sleeps overlap
        assert dict(zip(CALLS, pool.map(retries, CALLS), strict=True)) == dict.fromkeys(CALLS, 1)


def outcomes(sb: Sandbox, n: int) -> list[str]:
    """What each of n sequential calls got, retries off."""
    client = raw_client(sb, "ec2")
    seen = []
    for _ in range(n):
        try:
            client.describe_vpcs()
            seen.append("ok")
        except ClientError as err:
            seen.append(code_of(err))
    return seen


def test_faults_are_seeded_and_repeatable(fresh: Sandbox) -> None:
    config = FaultConfig(throttle_rate=0.3, error_rate=0.05, seed=7)
    fresh.set_faults(config)
    first = outcomes(fresh, 60)
    fresh.set_faults(config)  # setting again restarts the sequence
    assert outcomes(fresh, 60) == first
    assert {"ok", "RequestLimitExceeded"} <= set(first)
    assert 8 <= first.count("RequestLimitExceeded") <= 32  # about 30 % of 60
    fresh.set_faults(FaultConfig(throttle_rate=0.3, error_rate=0.05, seed=8))
    assert outcomes(fresh, 60) != first


def test_same_seed_same_faults_across_sandboxes() -> None:
    config = FaultConfig(throttle_rate=0.3, error_rate=0.1, seed=42)
    runs = []
    for _ in range(2):
        with Sandbox(faults=config) as sb:
            runs.append(outcomes(sb, 40))
    assert runs[0] == runs[1]
    assert "InternalError" in runs[0]


def test_retries_get_through_30_percent_throttling_and_5_percent_errors(seed: Sandbox) -> None:
    # 15 attempts: 0.35**15 makes a call that never gets through a one-in-ten-million event.
    retries = Config(retries={"mode": "standard", "total_max_attempts": 15})
    clients = {service: seed.client(service, config=retries) for service in CALLS}
    jobs = [(service, call) for service, call in CALLS.items()] * 4
    seed.set_faults(FaultConfig())
    calm = {service: call(seed.client(service)) for service, call in CALLS.items()}
    seed.call_log.reset()
    seed.set_faults(FaultConfig(throttle_rate=0.3, error_rate=0.05, seed=3))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: job[1](clients[job[0]]), jobs))
    # Every call got the account's real answer, the same as without faults.
    for (service, _), result in zip(jobs, results, strict=True):
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert _answer(result) == _answer(calm[service]), service
    # Faults were answered (some of each kind), and each faulted attempt was retried once more.
    faults = seed.call_log.faults()
    assert set(faults) == {"throttle", "error"}
    assert seed.call_log.total() == len(jobs) + sum(faults.values())
    assert sum(r["ResponseMetadata"]["RetryAttempts"] for r in results) == sum(faults.values())


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "ResponseMetadata"}


def test_latency_is_added_per_request(fresh: Sandbox) -> None:
    client = fresh.client("ec2")
    client.describe_vpcs()
    fresh.set_faults(FaultConfig(latency_ms=150))
    start = time.monotonic()
    client.describe_vpcs()
    assert time.monotonic() - start >= 0.15


def test_control_calls_and_setup_are_never_faulted() -> None:
    # Setup of a whole scenario works although every AWS answer afterwards is a fault.
    with Sandbox("seed-account", faults=FaultConfig(error_rate=1.0)) as sb:
        with urllib.request.urlopen(f"{sb.endpoint_url}/_sandbox/health", timeout=5) as resp:
            assert json.load(resp) == {"status": "ok"}
        err = error_of(lambda: raw_client(sb, "ec2").describe_vpcs())
        assert code_of(err) == "InternalError"
        assert sb.call_log.counts() == {"ec2:DescribeVpcs": 1}
        sb.set_faults(FaultConfig())
        assert len(raw_client(sb, "ec2").describe_vpcs()["Vpcs"]) == 3


def test_faults_change_over_http(fresh: Sandbox) -> None:
    body = json.dumps({"throttle_rate": 1.0, "seed": 1}).encode()
    request = urllib.request.Request(f"{fresh.endpoint_url}/_sandbox/faults", data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert json.load(resp)["throttle_rate"] == 1.0
    assert (
        code_of(error_of(lambda: raw_client(fresh, "lambda").get_account_settings()))
        == "TooManyRequestsException"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_ms": -1},
        {"throttle_rate": 1.5},
        {"error_rate": -0.1},
        {"throttle_rate": 0.6, "error_rate": 0.6},
        {"throttle_rate": float("nan")},
        {"error_rate": float("nan")},
    ],
)
def test_fault_config_is_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        FaultConfig(**kwargs)
