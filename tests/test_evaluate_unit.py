"""`preflight.evaluate`: one finding per quota and scope: the headroom (with the Lambda unreserved
floor), WARN from the threshold, UNKNOWN when the limit or the usage was not read (fail closed), and
the increase that would make a FAIL fit. Asserted through the public functions only."""

from __future__ import annotations

from typing import Any

from preflight.account.read import AccountState, UsageReading
from preflight.demand import Demand
from preflight.deployment import Deployment
from preflight.evaluate import evaluate, evaluate_demand, increase_requests
from preflight.quotas import catalog
from preflight.quotas.limits import LimitReading
from tests.conftest import synthetic_state

LAMBDA = catalog.LAMBDA_CONCURRENCY.quota_code
VPCS = catalog.VPCS.quota_code
NAT = catalog.NAT_GATEWAYS_PER_AZ.quota_code


def state(**kwargs: Any) -> AccountState:
    return synthetic_state(**kwargs)  # type: ignore[return-value]


def finding(code: str, scope: str, amount: float, account: AccountState, warn: float = 0.8):
    return evaluate_demand(Demand(code, scope, amount, ("x",)), account, warn)


def test_the_lambda_floor_of_100_is_kept_out_of_the_headroom() -> None:
    account = state(limits={LAMBDA: 1000}, usage={LAMBDA: {"region": 850}})
    exact = finding(LAMBDA, "region", 50, account)  # 1000 - 100 kept unreserved - 850 = 50
    assert exact.status == "WARN" and exact.headroom_after == 0 and exact.utilization_after == 1.0
    assert "at most 50 can be reserved (limit 1000 keeps 100 unreserved)" in exact.message
    over = finding(LAMBDA, "region", 51, account)
    assert over.status == "FAIL" and over.headroom_after == -1 and over.message.startswith("does not fit")


def test_below_a_limit_of_100_the_whole_limit_stays_unreserved() -> None:
    account = state(limits={LAMBDA: 50})
    f = finding(LAMBDA, "region", 1, account)
    assert f.status == "FAIL" and f.headroom_after == -1  # min(100, 50) = 50 kept: nothing reservable


def test_other_quotas_keep_nothing_back_and_an_exact_fit_is_not_a_fail() -> None:
    account = state(limits={VPCS: 10}, usage={VPCS: {"region": 3}})
    roomy = finding(VPCS, "region", 1, account)
    assert (roomy.status, roomy.headroom_after, roomy.utilization_after) == ("OK", 6, 0.4)
    exact = finding(VPCS, "region", 7, account)
    assert exact.status == "WARN" and exact.headroom_after == 0
    assert finding(VPCS, "region", 8, account).status == "FAIL"


def test_warn_starts_at_the_threshold() -> None:
    account = state(limits={VPCS: 10}, usage={VPCS: {"region": 6}})
    assert finding(VPCS, "region", 1, account).status == "OK"  # 0.7
    assert finding(VPCS, "region", 2, account).status == "WARN"  # 0.8 exactly
    assert finding(VPCS, "region", 2, account, warn=0.81).status == "OK"


def test_a_limit_not_read_is_unknown_never_ok() -> None:
    account = state()
    unread = account.model_copy(
        update={
            "limits": {**account.limits, VPCS: LimitReading(value=None, source="unknown", detail="denied")}
        }
    )
    f = finding(VPCS, "region", 1, unread)
    assert f.status == "UNKNOWN" and f.headroom_after is None and f.message == "limit unknown: denied"


def test_usage_not_counted_is_unknown_with_the_reason() -> None:
    account = state()
    unread = account.model_copy(
        update={"usage": {**account.usage, VPCS: UsageReading(scopes=None, error="DescribeVpcs throttled")}}
    )
    f = finding(VPCS, "region", 1, unread)
    assert f.status == "UNKNOWN" and f.message == "usage unknown: DescribeVpcs throttled"


def test_each_scope_has_its_own_headroom() -> None:
    account = state(limits={NAT: 5}, usage={NAT: {"az:us-east-1a": 5, "az:us-east-1b": 1}})
    assert finding(NAT, "az:us-east-1a", 1, account).status == "FAIL"
    assert finding(NAT, "az:us-east-1b", 1, account).status == "OK"
    assert finding(NAT, "az:us-east-1c", 1, account).usage == 0  # a scope nothing uses: 0 in use


def test_a_deployment_gets_one_finding_per_quota_and_scope(requested: Deployment) -> None:
    account = state(limits={LAMBDA: 1000}, usage={LAMBDA: {"region": 850}})
    findings = evaluate(requested, account, 0.8)
    keys = [(f.quota_code, f.scope) for f in findings]
    assert len(keys) == len(set(keys))
    by_code = {f.quota_code: f for f in findings if f.scope == "region"}
    assert by_code[LAMBDA].status == "FAIL" and by_code[LAMBDA].demand == 500
    assert by_code[VPCS].status == "OK"


def test_the_increase_for_a_fail_is_usage_plus_demand_plus_the_floor() -> None:
    account = state(limits={LAMBDA: 1000, VPCS: 5}, usage={LAMBDA: {"region": 850}, VPCS: {"region": 5}})
    fails = [finding(LAMBDA, "region", 500, account), finding(VPCS, "region", 1, account)]
    required = {r.quota_code: r.required for r in increase_requests(fails)}
    assert required == {LAMBDA: 850 + 500 + 100, VPCS: 6}
    assert list(increase_requests([finding(VPCS, "region", 0, account)])) == []  # nothing fails
