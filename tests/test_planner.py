"""`plan --adapt`: the least-degraded plan that fits, found in one run, and explained."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.concurrency import water_fill
from preflight.evaluate import evaluate
from preflight.gate import GatePolicy
from preflight.manifest import Manifest, load_manifest
from preflight.model import BASIC_EXECUTION_POLICY, NETWORK_MODES, VPC_ACCESS_POLICY, Plan
from preflight.planner import plan, realize, required_endpoints
from tests.conftest import MANIFEST, manifest_variant, synthetic_state

NAT_POLICY = (
    "preference: [vpc-with-endpoints, no-vpc]",
    "preference: [vpc-with-endpoints, vpc-with-nat, no-vpc]",
)


def _plan_cli(cli, tmp_path, manifest: str, scenario: str, *extra: str) -> tuple[int, dict, Plan]:
    plan_path = tmp_path / "plan.json"
    result = cli("plan", "--adapt", manifest, "--env", "prod", "--sandbox", scenario, "--format", "json",
                 "--save-plan", str(plan_path), *extra)  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output), Plan.model_validate_json(plan_path.read_text())


def test_seed_account_gets_the_seeds_fix_in_one_run(cli, tmp_path) -> None:
    code, report, plan_file = _plan_cli(cli, tmp_path, MANIFEST, "seed-account")
    assert code == 0 and report["verdict"] == plan_file.verdict == "GO_WITH_ADAPTATIONS"
    d = plan_file.deployment
    assert d.endpoints == () and d.security_groups == ()  # no endpoints, no endpoint (or Lambda) group
    assert d.networking == "no-vpc" and not any(f.vpc_attached for f in d.functions)
    assert d.role.managed_policies == (BASIC_EXECUTION_POLICY,)
    assert [f.reserved_concurrency for f in d.functions] == [10] * 5
    requested = load_manifest(MANIFEST, "prod").requested("us-east-1", d.vpc.azs)
    assert d.alarms == requested.alarms and d.topic == requested.topic  # alarms unchanged
    assert not [f for f in report["findings"] if f["status"] == "FAIL"]
    ids = {a["id"] for a in report["adaptations"]}
    expected_ids = {
        "lambda-networking",
        "endpoint-s3-dropped",
        "endpoint-dynamodb-dropped",
        "endpoint-kinesis-dropped",
        "security-group-endpoints-dropped",
        "role-execution-policy",
        "concurrency-shared",
    }
    assert expected_ids <= ids
    by_id = {a["id"]: a for a in report["adaptations"]}
    assert by_id["lambda-networking"]["quota_code"] == "L-1B52E74A"
    assert by_id["concurrency-shared"]["quota_code"] == "L-B99A9384"
    change = by_id["concurrency-shared"]["changes"][0]
    assert (change["path"], change["before"], change["after"]) == (
        "functions[0].reservedConcurrency",
        100,
        10,
    )
    assert change["line"] and by_id["endpoint-kinesis-dropped"]["impact"]["monthly_cost_delta_usd"] < 0
    assert all(a["impact"]["cost"] and a["impact"]["security"] and a["impact"]["performance"]
               for a in report["adaptations"])  # fmt: skip
    # What would make the requested plan fit, as `check` says.
    assert {r["quota_code"]: r["required"] for r in report["increase_requests"]} == {
        "L-1B52E74A": 22,
        "L-B99A9384": 1450,
    }
    assert (
        plan_file.manifest.sha256 == report["manifest"]["sha256"] and plan_file.account_id == "123456789012"
    )


def test_strict_makes_adaptations_fail_the_gate(cli, tmp_path) -> None:
    code, _, _ = _plan_cli(cli, tmp_path, MANIFEST, "seed-account", "--strict")
    assert code == 1


def test_fresh_account_needs_no_change(cli, tmp_path) -> None:
    code, report, plan_file = _plan_cli(cli, tmp_path, MANIFEST, "fresh-account")
    assert code == 0 and report["verdict"] == "GO" and report["adaptations"] == []
    assert len(plan_file.deployment.endpoints) == 3 and all(
        f.vpc_attached for f in plan_file.deployment.functions
    )


def test_nat_route_when_allowed_and_room(cli, tmp_path) -> None:
    manifest = manifest_variant(tmp_path, NAT_POLICY)
    code, report, plan_file = _plan_cli(cli, tmp_path, manifest, "seed-account")
    d = plan_file.deployment
    assert code == 0 and report["verdict"] == "GO_WITH_ADAPTATIONS"
    assert d.networking == "vpc-with-nat" and all(f.vpc_attached for f in d.functions)
    assert d.vpc.nat_gateway_azs == d.vpc.azs[:1] and d.vpc.internet_gateway
    assert d.role.managed_policies == (VPC_ACCESS_POLICY,)
    # The gateway endpoints still do not fit; the interface endpoint does, and stays with its group.
    assert [ep.key for ep in d.endpoints] == ["kinesis"]
    assert {sg.key for sg in d.security_groups} == {"endpoints", "lambda"}
    demand = {(f["quota_code"], f["scope"]): f["demand"] for f in report["findings"]}
    assert demand[("L-0263D0A3", "region")] == 1  # the NAT's Elastic IP
    assert demand[("L-FE5A380F", f"az:{d.vpc.azs[0]}")] == 1
    assert demand[("L-A4707A72", "region")] == 1
    by_id = {a["id"]: a for a in report["adaptations"]}
    assert by_id["lambda-networking"]["impact"]["monthly_cost_delta_usd"] > 30
    assert by_id["endpoint-s3-dropped"]["quota_code"] == "L-1B52E74A"


def test_nat_route_without_room_for_an_eip_falls_back_out_of_the_vpc(cli, tmp_path) -> None:
    manifest = manifest_variant(tmp_path, NAT_POLICY)
    code, _, plan_file = _plan_cli(cli, tmp_path, manifest, "seed-account", "--limit", "L-0263D0A3=1")
    assert code == 0 and plan_file.deployment.networking == "no-vpc"


def test_concurrency_limit_of_10_plans_no_reservation(cli, tmp_path) -> None:
    code, report, plan_file = _plan_cli(cli, tmp_path, MANIFEST, "new-account")
    assert code == 0
    assert all(f.reserved_concurrency is None for f in plan_file.deployment.functions)
    assert "reservations-dropped" in {a["id"] for a in report["adaptations"]}
    # Dropping reservations is enough: the endpoints fit, so the networking stays as requested.
    assert plan_file.deployment.networking == "vpc-with-endpoints"


def test_required_resource_over_quota_is_no_go_with_the_increase(cli, tmp_path) -> None:
    # The default VPC already uses the only VPC this limit allows; a VPC is never optional.
    code, report, _ = _plan_cli(cli, tmp_path, MANIFEST, "fresh-account", "--limit", "L-F678F1CE=1")
    assert code == 1 and report["verdict"] == "NO_GO"
    assert {r["quota_code"]: r["required"] for r in report["increase_requests"]} == {"L-F678F1CE": 2}
    assert [f["quota_code"] for f in report["findings"] if f["status"] == "FAIL"] == ["L-F678F1CE"]


def test_no_go_when_the_policy_forbids_dropping_reservations(tmp_path) -> None:
    manifest = load_manifest(
        manifest_variant(tmp_path, ("whenFloorsDoNotFit: drop-reservations", "whenFloorsDoNotFit: no-go")),
        "prod",
    )
    state = synthetic_state(limits={"L-B99A9384": 10})
    result = plan(manifest, state, GatePolicy())
    assert result.verdict == "NO_GO"
    assert {r.quota_code for r in result.increase_requests} == {"L-B99A9384"}


def test_result_does_not_depend_on_manifest_order(tmp_path) -> None:
    doc = yaml.safe_load(open(MANIFEST))
    state = synthetic_state(
        limits={"L-B99A9384": 1000, "L-1B52E74A": 21},
        usage={"L-B99A9384": {"region": 830}, "L-1B52E74A": {"region": 20}},
    )
    outcomes = set()
    rng = random.Random(7)
    for _ in range(4):
        for key in ("functions", "endpoints", "alarms", "securityGroups"):
            rng.shuffle(doc[key])
        path = manifest_variant(tmp_path, text=yaml.safe_dump(doc))
        result = plan(load_manifest(path, "prod"), state, GatePolicy())
        d = result.adapted
        outcomes.add((
            result.verdict,
            d.networking,
            frozenset(ep.key for ep in d.endpoints),
            frozenset((f.key, f.reserved_concurrency, f.vpc_attached) for f in d.functions),
            frozenset(a.id for a in result.adaptations),
        ))  # fmt: skip
    assert len(outcomes) == 1
    ((verdict, networking, endpoints, functions, _),) = outcomes
    # One gateway slot left, two needed: out of the VPC; 70 reservable, shared by five equal functions.
    assert verdict == "GO_WITH_ADAPTATIONS" and networking == "no-vpc"
    assert {r for _, r, _ in functions} == {14} and endpoints == frozenset()


# --- properties over generated accounts ---------------------------------------------------------

BASE = load_manifest(MANIFEST, "prod")


def _with_preference(manifest: Manifest, preference: list[str]) -> Manifest:
    lam = manifest.doc.lambda_
    networking = lam.networking.model_copy(update={"preference": preference})
    doc = manifest.doc.model_copy(update={"lambda_": lam.model_copy(update={"networking": networking})})
    return dataclasses.replace(manifest, doc=doc)


def _degradation(manifest: Manifest, requested, d) -> tuple:
    rank = manifest.doc.lambda_.networking.preference.index(d.networking)
    dropped = len({ep.key for ep in requested.endpoints} - {ep.key for ep in d.endpoints})
    return rank, dropped


# Every order of allowed networking modes (a manifest may not start from no-vpc and fall back to a VPC).
PREFERENCES = [
    list(p) for r in (1, 2, 3) for p in itertools.permutations(NETWORK_MODES, r) if p[0] != "no-vpc" or r == 1
]
accounts = st.fixed_dictionaries({
    "preference": st.sampled_from(PREFERENCES),
    "gateway_limit": st.integers(0, 22), "gateway_used": st.integers(0, 22),
    "interface_limit": st.integers(0, 2), "eni_limit": st.integers(0, 12),
    "eip_limit": st.integers(0, 3), "eip_used": st.integers(0, 3),
    "nat_limit": st.integers(0, 2), "vpc_limit": st.integers(1, 3), "vpc_used": st.integers(0, 2),
    "lambda_limit": st.sampled_from([10, 50, 200, 1000]), "lambda_used": st.integers(0, 900),
})  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts)
def test_every_go_plan_fits_and_nothing_less_degraded_would(account: dict) -> None:
    manifest = _with_preference(BASE, account["preference"])
    state = synthetic_state(
        limits={"L-1B52E74A": account["gateway_limit"], "L-29B6F2EB": account["interface_limit"],
                "L-DF5E4CA3": account["eni_limit"], "L-0263D0A3": account["eip_limit"],
                "L-FE5A380F": account["nat_limit"], "L-F678F1CE": account["vpc_limit"],
                "L-B99A9384": account["lambda_limit"]},
        usage={"L-1B52E74A": {"region": account["gateway_used"]},
               "L-0263D0A3": {"region": account["eip_used"]},
               "L-F678F1CE": {"region": account["vpc_used"]},
               "L-B99A9384": {"region": min(account["lambda_used"], max(account["lambda_limit"] - 100, 0))}},
    )  # fmt: skip
    result = plan(manifest, state, GatePolicy())
    fits = lambda d: not any(f.status == "FAIL" for f in evaluate(d, state))  # noqa: E731
    if result.verdict != "NO_GO":
        assert fits(result.adapted)
    # Brute force over every allowed plan: networking choice x endpoints kept (with the same shared
    # concurrency, which no other choice affects).
    shared = {f.key: f.reserved_concurrency for f in result.adapted.functions}
    functions = tuple(
        f.model_copy(update={"reserved_concurrency": shared[f.key]}) for f in result.requested.functions
    )
    base = result.requested.model_copy(update={"functions": functions})
    keys = [ep.key for ep in base.endpoints]
    best = None
    for mode in manifest.doc.lambda_.networking.preference:
        needed = required_endpoints(base, manifest, mode)
        optional = [k for k in keys if k not in needed] if mode != "no-vpc" else []
        for n in range(len(optional) + 1):
            for extra in itertools.combinations(optional, n):
                candidate = realize(base, manifest, mode, needed | frozenset(extra))
                if fits(candidate):
                    key = _degradation(manifest, base, candidate)
                    best = key if best is None else min(best, key)
    if best is None:
        assert result.verdict == "NO_GO"
    else:
        assert result.verdict != "NO_GO"
        assert _degradation(manifest, base, result.adapted) == best


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 200), st.integers(1, 20), st.integers(1, 5)), min_size=1, max_size=12),
    st.integers(0, 1500),
)
def test_water_fill_respects_floors_requests_and_budget(functions: list, budget: int) -> None:
    requests = {f"f{i}": max(r, fl) for i, (r, fl, _) in enumerate(functions)}
    floors = {f"f{i}": fl for i, (_, fl, _) in enumerate(functions)}
    weights = {f"f{i}": float(w) for i, (_, _, w) in enumerate(functions)}
    if sum(floors.values()) > budget:
        return  # the caller drops reservations first; water_fill requires the floors to fit
    shares = water_fill(requests, floors, weights, budget)
    assert all(floors[k] <= shares[k] <= requests[k] for k in requests)
    assert sum(shares.values()) == min(sum(requests.values()), budget)  # nothing reservable is wasted
    reordered = water_fill(dict(reversed(requests.items())), floors, weights, budget)
    assert reordered == shares


def test_no_go_does_not_list_changes_that_would_not_help(tmp_path) -> None:
    # Concurrency cannot be shared (the policy forbids dropping reservations) and nothing else is
    # wrong: leaving the VPC would not help, so the NO_GO plan keeps the requested networking.
    manifest = load_manifest(
        manifest_variant(tmp_path, ("whenFloorsDoNotFit: drop-reservations", "whenFloorsDoNotFit: no-go")),
        "prod",
    )
    result = plan(manifest, synthetic_state(limits={"L-B99A9384": 10}), GatePolicy())
    assert result.verdict == "NO_GO"
    assert result.adapted.networking == "vpc-with-endpoints"
    assert {a.id for a in result.adaptations} == set()
    assert [f.quota_code for f in result.findings if f.status == "FAIL"] == ["L-B99A9384"]
