"""The golden inputs: reports the real tool produces against the emulated account.

    .venv/bin/python tests/golden/make_inputs.py            # rewrite tests/golden/inputs/*.json
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/formats -q   # then re-render the goldens

Each case is a command, a scenario and (for the UNKNOWN case) the calls the account denies.
`tests/report/formats/test_golden_inputs.py` checks that the stored inputs are still what the tool produces,
so the golden files cannot drift from the product.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from preflight.account.sources import LiveAccount  # noqa: E402
from preflight.commands.run import run_check, run_plan  # noqa: E402
from preflight.gate import GatePolicy  # noqa: E402
from preflight.manifest import load_manifest  # noqa: E402
from preflight.report.report import Report, Stats  # noqa: E402
from preflight.sandbox import FaultConfig, Sandbox, load_scenario  # noqa: E402

INPUTS = Path(__file__).parent / "inputs"
MANIFEST = "manifests/tap-pipeline.yaml"

# name: (command, scenario, operations the account denies)
CASES: dict[str, tuple[str, str, frozenset[str]]] = {
    "check-seed-account-no-go": ("check", "seed-account", frozenset()),
    "check-fresh-account-go": ("check", "fresh-account", frozenset()),
    "check-names-taken-no-go": ("check", "names-taken", frozenset()),
    "plan-seed-account-adapted": ("plan", "seed-account", frozenset()),
    "check-unknown-no-go": (
        "check",
        "fresh-account",
        frozenset({"lambda:GetAccountSettings", "s3:ListBuckets", "sns:ListTopics"}),
    ),
}


def produce(name: str) -> Report:
    """Run the case's command as the CLI does; stats (timings) are dropped so the output is stable."""
    command, scenario, deny = CASES[name]
    manifest = load_manifest(str(ROOT / MANIFEST), "prod")
    manifest = type(manifest)(**{**manifest.__dict__, "path": MANIFEST})  # the path a user would type
    with Sandbox(load_scenario(scenario)) as sandbox:
        sandbox.set_faults(FaultConfig(deny=deny))
        source = LiveAccount(endpoint_url=sandbox.endpoint_url, credentials=("testing", "testing"))
        if command == "plan":
            report, _ = run_plan(manifest, source, "us-east-1", GatePolicy())
        else:
            report = run_check(manifest, source, "us-east-1", GatePolicy())
    return report.model_copy(update={"stats": Stats()})


def main() -> None:
    INPUTS.mkdir(exist_ok=True)
    for name in CASES:
        (INPUTS / f"{name}.json").write_text(produce(name).to_json(), encoding="utf-8", newline="\n")
        print(f"wrote {INPUTS / name}.json")


if __name__ == "__main__":
    main()
