"""Builders for small reports, and the golden inputs, shared by the formatter tests.

Shared as fixtures (and a `golden_input` parameter) rather than imports, so the tests do not depend on
how pytest puts test directories on sys.path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preflight.deployment import Adaptation, Change, Impact, IncreaseRequest, ManifestRef
from preflight.report.report import Finding, Report

TESTS = Path(__file__).resolve().parents[2]
GOLDEN = TESTS / "golden"
GOLDEN_INPUTS = sorted((GOLDEN / "inputs").glob("*.json"))
SARIF_SCHEMA = TESTS / "data" / "sarif-schema-2.1.0.json"


def build_finding(**overrides: Any) -> Finding:
    values: dict[str, Any] = dict(
        service_code="vpc",
        quota_code="L-1B52E74A",
        quota_name="Gateway VPC endpoints per Region",
        scope="region",
        limit=20.0,
        limit_source="default",
        usage=20.0,
        demand=2.0,
        headroom_after=-2.0,
        utilization_after=1.1,
        status="FAIL",
        resources=("endpoints[0]", "endpoints[1]"),
        message="does not fit: needs 2, 0 of 20 free (20 in use)",
        lines=(35, 39),
    )
    values.update(overrides)
    return Finding(**values)


def build_report(*findings: Finding, **overrides: Any) -> Report:
    values: dict[str, Any] = dict(
        command="check",
        verdict="NO_GO" if any(f.status in ("FAIL", "UNKNOWN") for f in findings) else "GO",
        region="us-east-1",
        account_id="111122223333",
        environment="prod",
        manifest=ManifestRef(path="manifests/tap-pipeline.yaml", name="tap-pipeline", sha256="0" * 64),
        findings=findings,
    )
    values.update(overrides)
    return Report(**values)


def one_of_each() -> Report:
    """A FAIL, an UNKNOWN (no line), a WARN and an OK, one adaptation and one increase request."""
    return build_report(
        build_finding(),
        build_finding(
            service_code="kinesis",
            quota_code="L-0918CF54",
            quota_name="Shards per Region",
            limit=None,
            limit_source="unknown",
            usage=0.0,
            demand=4.0,
            headroom_after=None,
            utilization_after=None,
            status="UNKNOWN",
            resources=("streams[0].shards",),
            message="limit unknown: kinesis:DescribeLimits denied",
            lines=(),
        ),
        build_finding(
            quota_code="L-F678F1CE",
            quota_name="VPCs per Region",
            limit=5.0,
            usage=3.0,
            demand=1.0,
            headroom_after=1.0,
            utilization_after=0.8,
            status="WARN",
            resources=("vpc",),
            message="needs 1, 2 of 5 free (3 in use)",
            lines=(16,),
        ),
        build_finding(
            service_code="sns",
            quota_code="L-61103206",
            quota_name="Topics per Account",
            limit=100000.0,
            usage=1.0,
            demand=1.0,
            headroom_after=99998.0,
            utilization_after=0.0,
            status="OK",
            resources=("topic",),
            message="needs 1, 99999 of 100000 free (1 in use)",
            lines=(114,),
        ),
        command="plan",
        verdict="NO_GO",
        adaptations=(
            Adaptation(
                id="drop-gateway-endpoints",
                title="Drop the gateway endpoints",
                quota_code="L-1B52E74A",
                quota_name="Gateway VPC endpoints per Region",
                reason="20 of 20 in use",
                changes=(Change(path="endpoints[0]", before="s3", after=None, line=35),),
                impact=Impact(cost="none", security="public endpoints", performance="negligible"),
            ),
        ),
        increase_requests=(
            IncreaseRequest(
                service_code="vpc",
                quota_code="L-1B52E74A",
                quota_name="Gateway VPC endpoints per Region",
                current=20,
                required=22,
                adjustable=True,
            ),
        ),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every report JSON under tests/golden/inputs/, whoever made it (make_inputs.py or the real tool).
    if "golden_input" in metafunc.fixturenames:
        metafunc.parametrize("golden_input", GOLDEN_INPUTS, ids=[p.stem for p in GOLDEN_INPUTS])


@pytest.fixture(scope="session")
def make_finding() -> Callable[..., Finding]:
    return build_finding


@pytest.fixture(scope="session")
def make_report() -> Callable[..., Report]:
    return build_report


@pytest.fixture(scope="session")
def sample_report() -> Report:
    return one_of_each()


@pytest.fixture(scope="session")
def load_report() -> Callable[[Path], Report]:
    return lambda path: Report.model_validate_json(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    return json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
