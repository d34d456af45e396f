"""The shipped deploy policy (preflight/data/iam-deploy-policy.json) against the calls `rehearse` makes.

`rehearse` creates the program's resources through boto3, one translator per resource type, as an IAM
user that holds only the deploy policy, in an emulated account that enforces IAM (with the permissions
AWS asks beside a call: iam:PassRole for a function's role, the tagging action for tags on create).
Both networking modes that create something different are rehearsed: VPC endpoints (prod, as
requested) and a NAT route (the test environment). The Pulumi AWS provider's own calls (refreshes,
updates, deletes) are not these calls and cannot be observed here: the statement that holds them is
kept by hand and only checked for shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from preflight.deployment import Deployment, Plan
from preflight.manifest import load_manifest
from preflight.program import rehearse as rehearse_module
from preflight.program.rehearse import RehearsalResult, rehearse
from preflight.sandbox import Sandbox, load_scenario
from preflight.sandbox.calllog import is_read_only
from tests.conftest import MANIFEST, ROOT
from tests.e2e.test_least_privilege import attach_only
from tests.program.conftest import AZS, make_plan

DEPLOY_POLICY = json.loads((ROOT / "preflight" / "data" / "iam-deploy-policy.json").read_text())
BY_SID = {s["Sid"]: s for s in DEPLOY_POLICY["Statement"]}
OBSERVED_SIDS = ("DeployCreatesWhatThePlanHolds", "DeployPassesTheFunctionsRoleToLambda")
PROVIDER_SID = "PulumiProviderCallsNotObservedHere"
USER = "tap-preflight-deploy"


def plan_for(environment: str, *, nat: bool = False) -> Plan:
    manifest = load_manifest(MANIFEST, environment)
    d: Deployment = manifest.requested("us-east-1", AZS)
    if nat:
        d = d.model_copy(
            update={
                "networking": "vpc-with-nat",
                "endpoints": (),
                "security_groups": tuple(sg for sg in d.security_groups if sg.key == "lambda"),
                "vpc": d.vpc.model_copy(update={"nat_gateway_azs": (d.vpc.azs[0],)}),
            }
        )
    return make_plan(manifest, d)


class Deployer:
    def __init__(self, sb: Sandbox, key: dict[str, str]) -> None:
        self.sb = sb
        self.key = key

    def grant(self, *statements: dict[str, Any]) -> None:
        attach_only(self.sb, USER, {"Version": DEPLOY_POLICY["Version"], "Statement": list(statements)})

    def rehearse(self, plan: Plan, monkeypatch: pytest.MonkeyPatch) -> RehearsalResult:
        # rehearse signs with the sandbox's own key; here it signs as the deploy user.
        monkeypatch.setattr(rehearse_module, "ACCESS_KEY", self.key["AccessKeyId"])
        monkeypatch.setattr(rehearse_module, "SECRET_KEY", self.key["SecretAccessKey"])
        return rehearse(
            plan, endpoint_url=self.sb.endpoint_url, base_dir=load_manifest(MANIFEST, "prod").base_dir
        )


@pytest.fixture(scope="module")
def deployer() -> Iterator[Deployer]:
    with Sandbox(load_scenario("fresh-account"), enforce_iam=True) as sb:
        iam = sb.client("iam", "us-east-1")
        iam.create_user(UserName=USER)
        yield Deployer(sb, iam.create_access_key(UserName=USER)["AccessKey"])


def actions(sid: str) -> set[str]:
    return set(BY_SID[sid]["Action"])


def test_rehearsals_as_the_deploy_policy_complete_and_use_every_observed_action(
    deployer: Deployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer.grant(*(BY_SID[sid] for sid in OBSERVED_SIDS))  # without the provider's statement
    for plan in (plan_for("prod"), plan_for("test", nat=True)):
        result = deployer.rehearse(plan, monkeypatch)
        assert result.complete, result.render_text()
    granted = set(deployer.sb.iam.granted())
    observed = set().union(*(actions(sid) for sid in OBSERVED_SIDS))
    assert sorted(granted - observed) == [], "rehearse made calls the deploy policy does not hold"
    assert sorted(observed - granted) == [], (
        "least privilege: the observed statements hold actions no call needs"
    )
    assert {"iam:PassRole", "ec2:CreateTags", "iam:TagRole", "sns:TagResource"} <= granted


def test_without_pass_role_the_first_function_fails_naming_it(
    deployer: Deployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer.grant(BY_SID["DeployCreatesWhatThePlanHolds"], BY_SID[PROVIDER_SID])
    result = deployer.rehearse(plan_for("dev"), monkeypatch)
    (failure,) = result.failed
    assert failure["code"] == "AccessDeniedException", failure
    assert "iam:PassRole" in failure["message"], failure


def test_the_provider_statement_is_marked_unobserved_and_the_policy_never_touches_quotas() -> None:
    assert set(BY_SID) == {*OBSERVED_SIDS, PROVIDER_SID}
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "iam-deploy-policy.json" in readme and "cannot be observed" in readme
    every = [a for s in DEPLOY_POLICY["Statement"] for a in s["Action"]]
    assert not [a for a in every if a.startswith("servicequotas:")], (
        "filing increases is not the deploy's job"
    )
    provider_writes = [a for a in actions(PROVIDER_SID) if not is_read_only(a.split(":", 1)[1])]
    assert provider_writes, "the provider updates and deletes what it manages"
