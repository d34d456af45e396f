"""The quota catalog, the least-privilege policy and the emulated account agree on every quota.

A quota is one declaration (`preflight.quotas.catalog`): adding one is that entry plus its counter.
These tests catch the rest of what an addition must bring along: the IAM actions its limit and usage
reads need in the shipped policy, a client group its counter can run in, and the sandbox's own table
serving it with the same code, service and default (the sandbox keeps its own table on purpose: a
rehearsal must be able to disagree with the gate, so agreement is checked here, not imported).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from preflight.account.aws import iam_action
from preflight.account.read import CLIENT_ORDER
from preflight.quotas import catalog
from preflight.quotas.usage import COUNTERS
from preflight.sandbox import quotas as sandbox_quotas
from tests.e2e.test_iam_policy import IMPLIED, POLICY_PATH, READ_ONLY_SID

QUOTAS = {q.key: q for q in catalog.QUOTAS}


@pytest.fixture(scope="module")
def read_only_actions() -> set[str]:
    policy = json.loads(POLICY_PATH.read_text())
    [statement] = [s for s in policy["Statement"] if s["Sid"] == READ_ONLY_SID]
    return {a.lower() for a in statement["Action"]}


def _needed(service: str, operation: str) -> set[str]:
    action = iam_action(service, operation)
    return {action, *(implied for implied, by in IMPLIED.items() if by == action)}


@pytest.mark.parametrize("key", QUOTAS)
def test_the_policy_allows_every_read_of_the_quota(key: str, read_only_actions: set[str]) -> None:
    q = QUOTAS[key]
    needed = {"servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas"}
    if q.service_limit is not None:
        needed |= _needed(q.service_limit.service, q.service_limit.operation)
    for operation in q.usage.operations:
        needed |= _needed(q.usage.client, operation)
    missing = sorted(a for a in needed if a.lower() not in read_only_actions)
    assert missing == [], f"{q.quota_code}: the read-only statement lacks {missing}"


@pytest.mark.parametrize("key", QUOTAS)
def test_the_quota_has_a_counter_a_client_group_and_a_shown_source(key: str) -> None:
    q = QUOTAS[key]
    assert q.quota_code in COUNTERS, f"no counter registered for {q.quota_code} (@counts)"
    assert q.usage.client in CLIENT_ORDER, f"account.read_account makes no {q.usage.client} client"
    assert q.usage.operations and q.usage.shown.startswith(f"{q.usage.client}:")
    if q.service_limit is not None:
        assert q.service_limit.service in CLIENT_ORDER
        assert q.service_limit.label.startswith(f"{q.service_limit.service}.{q.service_limit.operation}.")


def test_declarations_name_quotas_that_exist() -> None:
    for q in catalog.QUOTAS:
        if q.raised_with is not None:
            raised = catalog.raised_for(q)
            assert raised.quota_code == q.raised_with and raised is not q
            assert raised.service_code == q.service_code and raised.raised_with is None
    assert len(catalog.BY_CODE) == len(catalog.BY_KEY) == len(catalog.QUOTAS)


@pytest.mark.parametrize("key", QUOTAS)
def test_the_sandbox_serves_the_quota_as_the_catalog_declares_it(key: str) -> None:
    q = QUOTAS[key]
    served = sandbox_quotas.BY_CODE.get(q.quota_code)
    assert served is not None, f"the sandbox does not serve {q.quota_code}"
    mine: dict[str, Any] = {
        "service": q.service_code,
        "key": q.key,
        "name": q.name,
        "default": q.default,
        "by region": q.default_by_region,
        "unit": q.unit,
        "adjustable": q.adjustable,
        "global service": q.service_code in catalog.GLOBAL_SERVICE_CODES,
        # Whatever the catalog reads from the service's own API, the sandbox must answer there.
        "service reported": q.service_limit is not None,
    }
    theirs: dict[str, Any] = {
        "service": served.service_code,
        "key": served.key,
        "name": served.name,
        "default": served.default,
        "by region": served.default_by_region,
        "unit": served.unit,
        "adjustable": served.adjustable,
        "global service": served.is_global,
        "service reported": served.service_reported,
    }
    assert mine == theirs


def test_the_sandbox_serves_no_quota_the_catalog_lacks() -> None:
    assert set(sandbox_quotas.BY_CODE) == set(catalog.BY_CODE)
    assert sandbox_quotas.SERVICE_REPORTED == {q.quota_code for q in catalog.QUOTAS if q.service_limit}


def test_reserve_and_increase_follow_the_declaration() -> None:
    """The Lambda floor: min(100, limit) kept back; the increase that fits leaves it on top."""
    q = catalog.LAMBDA_CONCURRENCY
    assert q.reserve is not None
    assert [q.reserve_of(limit) for limit in (10, 50, 1000)] == [10, 50, 100]
    assert q.limit_for(950) == 1050
    plain = catalog.VPCS
    assert plain.reserve_of(5) == 0 and plain.limit_for(7) == 7
