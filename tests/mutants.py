"""Hand mutations (issue 16): apply one, run the tests that should catch it, restore it.

    .venv/bin/python tests/mutants.py [INDEX ...]

Prints KILLED or SURVIVED per mutation. It edits the source in place while a mutation runs (and puts
it back, also on failure): do not run it while editing, and never commit during a run.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROP = "tests/plan/test_planner.py::test_every_go_plan_fits_and_nothing_less_degraded_would"
GATE = [
    "tests/commands/test_check.py",
    "tests/e2e/test_regions.py",
    "tests/plan/test_planner.py",
    "tests/e2e/test_gate_faults.py",
    "tests/e2e/test_ci_workflow.py",
]
M = [
    (
        "planner: required endpoints are only those both mandatory and used",
        "preflight/plan/policy.py",
        "if not ep.optional or ep.service in used)",
        "if not ep.optional and ep.service in used)",
        [PROP, "tests/plan/test_policy_unit.py"],
    ),
    (
        "planner: an adapted no-vpc plan keeps every endpoint",
        "preflight/plan/planner.py",
        "                    if key in serving_endpoints(self.requested, mode) and key not in needed",
        "                    if key not in needed",
        [PROP],
    ),
    (
        "planner: no notes for resources that serve nothing",
        "preflight/plan/planner.py",
        "    return unused_resource_notes(deployment) + idle_vpc_notes(deployment)",
        "    return idle_vpc_notes(deployment)",
        [PROP],
    ),
    (
        "planner: the role keeps the VPC access policy out of the VPC",
        "preflight/kinds/role.py",
        "(VPC_ACCESS_POLICY if attached else BASIC_EXECUTION_POLICY, *extra)",
        "(VPC_ACCESS_POLICY, *extra)",
        [PROP, "tests/plan/test_decisions_unit.py"],
    ),
    (
        "planner: a NAT route without a NAT gateway",
        "preflight/kinds/vpc.py",
        '    return azs if nat_gateways == "per-az" else azs[:1]',
        "    return ()",
        [PROP, "tests/plan/test_decisions_unit.py"],
    ),
    (
        "planner: a plan that fits as requested is adapted anyway",
        "preflight/plan/planner.py",
        "    if not adapt or not blocking(requested_findings, gate_policy):",
        "    if not adapt:",
        [PROP, "tests/plan/test_planner_unit.py"],
    ),
    (
        "planner: NO_GO shows the first attempt, not the closest",
        "preflight/plan/planner.py",
        "key=lambda ia: (len({f.quota_code for f in ia[1].blocking}), ia[0])",
        "key=lambda ia: ia[0]",
        [PROP, "tests/plan/test_planner_unit.py"],
    ),
    (
        "evaluate: an exact fit is a FAIL",
        "preflight/evaluate.py",
        "    if headroom_after < 0:",
        "    if headroom_after <= 0:",
        [PROP],
    ),
    (
        "evaluate: the Lambda unreserved floor is forgotten",
        "preflight/evaluate.py",
        "    return limit - q.reserve_of(limit) - usage",
        "    return limit - usage",
        [PROP],
    ),
    (
        "evaluate: WARN only above the threshold",
        "preflight/evaluate.py",
        "    elif utilization >= warn_threshold:",
        "    elif utilization > warn_threshold:",
        ["tests/commands/test_check.py::test_warn_starts_at_the_threshold"],
    ),
    (
        "evaluate: the increase for Lambda forgets the floor",
        "preflight/evaluate.py",
        "required = q.limit_for(f.usage + f.demand)",
        "required = f.usage + f.demand",
        ["tests/commands/test_check.py", "tests/plan/test_planner.py"],
    ),
    (
        "gate: UNKNOWN does not block",
        "preflight/gate.py",
        '        if f.status == "FAIL" or (f.status == "UNKNOWN" and not policy.allow_unknown)',
        '        if f.status == "FAIL"',
        [
            "tests/commands/test_check.py::test_unknown_limit_fails_closed_unless_allowed",
            "tests/test_gate_unit.py",
        ],
    ),
    (
        "gate: could-not-evaluate exits 1",
        "preflight/gate.py",
        "        return ExitCode.ENVIRONMENT\n    if report.verdict",
        "        return ExitCode.NO_GO\n    if report.verdict",
        ["tests/commands/test_check.py::test_unknown_limit_fails_closed_unless_allowed"],
    ),
    (
        "gate: --allow-unknown ignored",
        "preflight/gate.py",
        '            chosen.discard("unknown")',
        "            pass",
        ["tests/commands/test_check.py::test_unknown_limit_fails_closed_unless_allowed"],
    ),
    (
        "concurrency: shares do not use the whole budget",
        "preflight/plan/concurrency.py",
        "    while left > 0:",
        "    while left > 1:",
        [PROP],
    ),
    (
        "demand: VPC-attached functions need no ENI",
        "preflight/kinds/function.py",
        "        yield LAMBDA_ENIS_PER_VPC, scope(d.vpc), private, attached[0].path\n"
        '        yield NETWORK_INTERFACES, "region", private, attached[0].path',
        "        pass",
        [PROP],
    ),
    (
        "usage: security-group rules counted as 0",
        "preflight/quotas/usage.py",
        '            counts[f"sg:{name}:{direction}"] += 1',
        "            pass",
        ["tests/quotas/test_usage.py::test_security_group_rules"],
    ),
    (
        "usage: Lambda ENIs of others counted as 0",
        "preflight/quotas/usage.py",
        "    return {r.own_vpc_scope(): len(others)}",
        "    return {r.own_vpc_scope(): 0}",
        ["tests/quotas/test_usage.py::test_lambda_enis_per_vpc"],
    ),
    (
        "sandbox: injected errors not counted as faults",
        "preflight/sandbox/app.py",
        '            self.call_log.record_fault("error")\n',
        "",
        [
            "tests/e2e/test_gate_faults.py::test_throttling_and_errors_do_not_change_the_verdict",
            "tests/sandbox/test_faults.py::test_retries_get_through_30_percent_throttling_and_5_percent_errors",
        ],
    ),
    (
        "sandbox: throttling answered as success (no fault)",
        "preflight/sandbox/faults.py",
        '            return "throttle"',
        "            return None",
        [
            "tests/e2e/test_gate_faults.py::test_throttling_and_errors_do_not_change_the_verdict",
            "tests/sandbox/test_faults.py::test_retries_get_through_30_percent_throttling_and_5_percent_errors",
        ],
    ),
    (
        "junit: bad characters replaced by '?'",
        "preflight/report/formats/junit.py",
        'return _NOT_XML.sub("\\ufffd", value)',
        'return _NOT_XML.sub("?", value)',
        ["tests/report/formats/test_junit.py"],
    ),
    (
        "gate: --strict ignored",
        "preflight/gate.py",
        '    if report.verdict == "GO_WITH_ADAPTATIONS" and policy.strict:',
        "    if False:",
        GATE,
    ),
    (
        "gate: --soft-fail ignored",
        "preflight/gate.py",
        "    if policy.soft_fail:\n        return ExitCode.GO",
        "    if False:\n        return ExitCode.GO",
        GATE,
    ),
    (
        "gate: --fail-on warn ignored",
        "preflight/gate.py",
        '    if "warn" in policy.fail_on and "WARN" in statuses:',
        "    if False:",
        GATE,
    ),
    (
        "gate: several regions: could-not-evaluate outranks NO_GO",
        "preflight/gate.py",
        "    for code in (ExitCode.NO_GO, ExitCode.ENVIRONMENT):",
        "    for code in (ExitCode.ENVIRONMENT, ExitCode.NO_GO):",
        ["tests/e2e/test_regions.py::test_a_known_no_go_outranks_could_not_evaluate"],
    ),
    (
        "evaluate: the smaller of two scopes' increases is kept",
        "preflight/evaluate.py",
        "out[q.quota_code].required >= required",
        "out[q.quota_code].required <= required",
        ["tests/commands/test_check.py::test_an_increase_covers_the_fullest_scope"],
    ),
    (
        "planner: optional endpoints kept in name order, not free ones first",
        "preflight/plan/planner.py",
        'key=lambda e: (e.type != "gateway", e.key)',
        "key=lambda e: e.key",
        [PROP, "tests/plan/test_planner.py", "tests/plan/test_planner_unit.py"],
    ),
    (
        "planner: vpc-with-interface-endpoints requested replaces every gateway, room or not",
        "preflight/plan/planner.py",
        "    stand_ins = _stand_ins(policy, mode, keys, state)",
        "    stand_ins = None",
        ["tests/plan/test_invariants.py", PROP],
    ),
    (
        "explain: a NAT route given up is not said",
        "preflight/plan/explain.py",
        "    if before.nat_gateway_azs != after.nat_gateway_azs:",
        "    if len(before.nat_gateway_azs) < len(after.nat_gateway_azs):",
        ["tests/plan/test_invariants.py"],
    ),
    (
        "explain: a stand-in deployed as its gateway again is not said",
        "preflight/plan/explain.py",
        "    out += _gateway_kept_adaptations(policy, requested, adapted, root)",
        "    out += []",
        ["tests/plan/test_invariants.py"],
    ),
    (
        "program: a GO plan must replace every gateway the mode could",
        "preflight/program/planfile.py",
        '        requested = requested.model_copy(update={"interface": plan.decisions.interface})',
        "        requested = requested",
        ["tests/plan/test_invariants.py"],
    ),
]
only = sys.argv[1:]
for i, (name, path, old, new, tests) in enumerate(M):
    if old is None or (only and str(i) not in only):
        continue
    p = ROOT / path
    text = p.read_text()
    assert text.count(old) == 1, (name, text.count(old))
    p.write_text(text.replace(old, new))
    try:
        r = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        p.write_text(text)
    last = (r.stdout.strip().splitlines() or ["?"])[-1]
    print(f"{'KILLED ' if r.returncode else 'SURVIVED'} {name}: {last}", flush=True)
