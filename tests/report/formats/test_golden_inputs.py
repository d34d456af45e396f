"""The golden inputs are what the real tool produces against the emulated account today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def _make_inputs():
    spec = importlib.util.spec_from_file_location("make_inputs", GOLDEN / "make_inputs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_INPUTS = _make_inputs()


@pytest.mark.parametrize("name", sorted(MAKE_INPUTS.CASES))
def test_stored_input_is_what_the_tool_produces(name: str) -> None:
    stored = (GOLDEN / "inputs" / f"{name}.json").read_text(encoding="utf-8")
    assert MAKE_INPUTS.produce(name).to_json() == stored, (
        f"{name}.json is stale: run tests/golden/make_inputs.py, "
        "then UPDATE_GOLDEN=1 pytest tests/report/formats"
    )
