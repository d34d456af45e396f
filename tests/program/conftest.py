"""Plans for the program's tests: the requested prod plan, and the seed account's adapted plan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preflight import __version__
from preflight.commands.run import plan_manifest_ref
from preflight.deployment import BASIC_EXECUTION_POLICY, Adaptation, Deployment, Impact, Plan
from preflight.manifest import Manifest, load_manifest
from preflight.plan.decisions import decisions_of

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "tap-pipeline.yaml"
AZS = ("us-east-1a", "us-east-1b")
ACCOUNT = "123456789012"


def seed_adapted(requested: Deployment) -> Deployment:
    """The seed account's adapted deployment, as the planner settles it (swap for the planner's own).

    No endpoints, no endpoint or Lambda security group, functions outside the VPC with 10 reserved
    each, only the basic execution policy.
    """
    return requested.model_copy(
        update={
            "networking": "no-vpc",
            "endpoints": (),
            "security_groups": (),
            "functions": tuple(
                f.model_copy(update={"vpc_attached": False, "reserved_concurrency": 10})
                for f in requested.functions
            ),
            "role": requested.role.model_copy(update={"managed_policies": (BASIC_EXECUTION_POLICY,)}),
        }
    )


# Stands for the planner's explanations in hand-made adapted plans (a GO_WITH_ADAPTATIONS lists some).
ADAPTED = Adaptation(
    id="lambda-networking",
    title="Lambda networking: vpc-with-endpoints -> no-vpc",
    quota_code="L-45233B5B",
    quota_name="Gateway VPC endpoints per Region",
    reason="test fixture",
    changes=(),
    impact=Impact(cost="-", security="-", performance="-"),
)


def make_plan(manifest: Manifest, deployment: Deployment, **update: object) -> Plan:
    """A plan (v3) of `deployment`, as `plan --save-plan` writes it (decisions and all)."""
    verdict = update.pop("verdict", "GO")
    plan = Plan(
        verdict=verdict,
        environment=manifest.environment,
        region=deployment.region,
        account_id=ACCOUNT,
        manifest=plan_manifest_ref(manifest),
        created_at=datetime.now(UTC),
        tool_version=__version__,
        decisions=decisions_of(deployment),
        adaptations=(ADAPTED,) if verdict == "GO_WITH_ADAPTATIONS" else (),
        deployment=deployment,
    )
    return plan.model_copy(update=update) if update else plan


def write_plan(path: Path, plan: Plan) -> Path:
    path.write_text(plan.model_dump_json(by_alias=True, indent=2) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest(str(MANIFEST), "prod")


@pytest.fixture(scope="session")
def base_dir(manifest: Manifest) -> Path:
    return manifest.base_dir


@pytest.fixture(scope="session")
def requested(manifest: Manifest) -> Deployment:
    return manifest.requested("us-east-1", AZS)


@pytest.fixture
def requested_plan(manifest: Manifest, requested: Deployment) -> Plan:
    return make_plan(manifest, requested)


@pytest.fixture
def adapted_plan(manifest: Manifest, requested: Deployment) -> Plan:
    return make_plan(manifest, seed_adapted(requested), verdict="GO_WITH_ADAPTATIONS")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pulumi_aws warns about its own deprecated classes when imported: noise, not ours.
    for item in items:
        if "tests/program/" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws"))
