"""The emulated account's rules come from the AWS documentation, never from the gate's own code: a
rehearsal must be able to disagree with the gate, so it cannot agree by construction."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from preflight.quotas import catalog
from preflight.sandbox import quotas

SANDBOX = Path(__file__).resolve().parents[2] / "preflight" / "sandbox"
# The gate's own code: the catalog (limits, defaults, the Lambda floor helper) and what computes verdicts.
GATE_MODULES = (
    "preflight.quotas.catalog",
    "preflight.evaluate",
    "preflight.demand",
    "preflight.quotas.usage",
    "preflight.account.read",
    "preflight.plan",
    "preflight.redeploy",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_sandbox_module_imports_the_gate() -> None:
    modules = sorted(SANDBOX.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        bad = {
            m for m in _imports(path) if m.startswith(GATE_MODULES) or m.endswith("lambda_unreserved_floor")
        }
        assert not bad, f"{path.name} imports the gate's code: {sorted(bad)}"


def test_a_running_sandbox_never_loads_the_gate() -> None:
    """Also what the sandbox's own imports pull in, at run time, through scenarios and enforcement."""
    script = f"""
import sys
from preflight.sandbox import Sandbox
with Sandbox("seed-account") as sb:
    sb.client("lambda").put_function_concurrency(FunctionName="orders-api", ReservedConcurrentExecutions=1)
    sb.client("kinesis").create_stream(StreamName="x", ShardCount=1)
    sb.client("service-quotas").list_aws_default_service_quotas(ServiceCode="kinesis")
    sb.set_applied_quota("", "L-F678F1CE", 9)
loaded = sorted(m for m in sys.modules if m.startswith({GATE_MODULES!r}))
print(loaded)
sys.exit(1 if loaded else 0)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_sandbox_knows_every_quota_the_gate_checks() -> None:
    """Two tables written separately from the same documents agree on codes, services and defaults."""
    for q in catalog.QUOTAS:
        mine = quotas.BY_CODE[q.quota_code]
        assert mine.service_code == q.service_code, q.quota_code
        # IAM quotas are kept per partition even where the gate counts them per role.
        assert mine.is_global == (q.is_global or q.service_code == "iam"), q.quota_code
        for region in ("us-east-1", "eu-central-1", "us-west-2"):
            assert mine.default_for(region) == q.default_for(region), (q.quota_code, region)
