"""The gate under a hostile account: throttling and errors do not change the verdict; what cannot be
read blocks the gate (exit 3) and names the call and the permission."""

from __future__ import annotations

import json

from preflight.sandbox import FaultConfig
from tests.conftest import MANIFEST


def _check(cli, sb, *extra: str, attempts: str | None = None):
    env = {"AWS_ENDPOINT_URL": sb.endpoint_url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
    if attempts:
        env["AWS_MAX_ATTEMPTS"] = attempts
    if attempts == "1":
        env["AWS_RETRY_MODE"] = "standard"  # adaptive mode would pace the doomed calls it throttles
    return cli("check", MANIFEST, "--env", "prod", *extra, env=env)


def _findings(output: str) -> list[tuple]:
    report = json.loads(output)
    return [(f["quota_code"], f["scope"], f["limit"], f["usage"], f["status"]) for f in report["findings"]]


def test_throttling_and_errors_do_not_change_the_verdict(cli, sandbox) -> None:
    sb = sandbox("seed-account")
    calm = _check(cli, sb, "--format", "json")
    calm_calls = sb.call_log.total()
    sb.call_log.reset()
    sb.set_faults(FaultConfig(throttle_rate=0.3, error_rate=0.05, seed=11))
    # Up to 12 attempts with backoff: more than the default --timeout on a loaded machine. The deadline
    # has its own tests (tests/e2e/test_timeouts.py); this one is about the verdict.
    stormy = _check(cli, sb, "--format", "json", "--timeout", "600", attempts="12")
    assert calm.exit_code == stormy.exit_code == 1
    assert _findings(stormy.output) == _findings(calm.output)
    # The faults really happened, about 35 % of the answers, and each faulted call was tried again.
    faults = sb.call_log.faults()
    faulted = sum(faults.values())
    assert set(faults) == {"throttle", "error"}
    assert 0.2 * calm_calls <= faulted <= 0.5 * (calm_calls + faulted)
    assert sb.call_log.total() == calm_calls + faulted


def test_every_answer_a_fault_exits_3(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_faults(FaultConfig(throttle_rate=0.5, error_rate=0.5, seed=1))
    result = _check(cli, sb, attempts="1")
    assert result.exit_code == 3, result.output
    assert "sts:GetCallerIdentity" in result.output


def test_access_denied_on_a_usage_call_names_the_permission_and_exits_3(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_faults(FaultConfig(deny=frozenset({"lambda:GetAccountSettings"})))
    result = _check(cli, sb, "--format", "json")
    assert result.exit_code == 3, result.output
    finding = next(f for f in json.loads(result.output)["findings"] if f["quota_code"] == "L-B99A9384")
    assert finding["status"] == "UNKNOWN"
    assert (
        "lambda:GetAccountSettings failed: access denied (needs lambda:GetAccountSettings)"
        in finding["message"]
    )
    allowed = _check(cli, sb, "--allow-unknown")
    assert allowed.exit_code == 0


def test_access_denied_on_s3_names_the_iam_action(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_faults(FaultConfig(deny=frozenset({"s3:ListBuckets"})))
    result = _check(cli, sb, "--format", "json")
    finding = next(f for f in json.loads(result.output)["findings"] if f["quota_code"] == "L-DC2B2D3D")
    assert finding["status"] == "UNKNOWN" and "s3:ListAllMyBuckets" in finding["message"]
    assert result.exit_code == 3


def test_access_denied_on_service_quotas_falls_back_to_the_service_api(cli, sandbox) -> None:
    sb = sandbox("new-account")
    sb.set_faults(
        FaultConfig(
            deny=frozenset({"service-quotas:ListServiceQuotas", "service-quotas:ListAWSDefaultServiceQuotas"})
        )
    )
    result = _check(cli, sb, "--format", "json")
    findings = {f["quota_code"]: f for f in json.loads(result.output)["findings"]}
    assert findings["L-B99A9384"]["limit_source"] == "service-api" and findings["L-B99A9384"]["limit"] == 10
    assert findings["L-FE177D64"]["limit_source"] == "service-api"  # IAM GetAccountSummary
    assert findings["L-1B52E74A"]["status"] == "UNKNOWN"  # no service API knows this one: fail closed
    assert "servicequotas:ListServiceQuotas" in findings["L-1B52E74A"]["message"]
    assert result.exit_code == 1  # the concurrency FAIL is known whatever else is not


def test_identity_denied_cannot_evaluate(cli, sandbox) -> None:
    sb = sandbox("fresh-account")
    sb.set_faults(FaultConfig(deny=frozenset({"sts:GetCallerIdentity"})))
    result = _check(cli, sb)
    assert result.exit_code == 3
    assert "access denied (needs sts:GetCallerIdentity)" in result.output
