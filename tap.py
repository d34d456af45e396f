"""Pulumi entry of the TAP pipeline: deploys the plan file given by `tap:planFile` (or TAP_PLAN).

The plan comes from `tap-preflight plan --save-plan`; a NO_GO, stale or foreign plan, or one the
manifest beside this file does not back, is refused before anything is created. See preflight/program/.
"""

from pathlib import Path

from preflight.program.entry import main

main(root=Path(__file__).resolve().parent)
