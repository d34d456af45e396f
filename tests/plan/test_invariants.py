"""`check` and `plan --adapt` agree, and a plan says every way it differs from the request.

Over the generated accounts x degradation policies of `tests/plan/test_planner.py` (and under `make fuzz`
with its seed), through `run_check` and `run_plan` as the CLI calls them:

1. `plan --adapt` says GO with no adaptation iff `check` says GO on the same manifest and account;
2. the planned deployment equals the requested one iff the plan has no adaptation;
3. every difference between them is named by an adaptation's change, with its impact, and every
   change names a difference.

`differences` below is written from the Deployment model and what the program deploys from it (a
function's endpoint URL variables follow its endpoints), not from `preflight.plan.explain`.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from preflight.account.read import AccountState, Progress
from preflight.commands.run import plan_json, run_check, run_plan
from preflight.conflicts import endpoint_service_name
from preflight.deployment import Deployment
from preflight.gate import GatePolicy
from preflight.manifest import Manifest, load_manifest
from preflight.plan.decisions import rebuild
from preflight.plan.planner import plan_manifest, requested_on
from preflight.program.planfile import load_trusted_plan
from preflight.support.errors import InputError
from tests.conftest import manifest_variant
from tests.plan.test_planner import AZS, BASE, ROOMY, _property_settings, _state, _with_preference, accounts

# The account the planner engineer found: vpc-with-interface-endpoints requested, room for both
# gateways in the regional quota, room for one interface endpoint per VPC. Before the fix the
# requested deployment made every gateway an interface endpoint (NO_GO for check) while plan --adapt
# kept the gateways and said GO with no adaptation.
GATEWAYS_FIT = {
    "preference": ["vpc-with-interface-endpoints"], "gateway_limit": 2, "gateway_used": 0,
    "interface_limit": 1, "eni_limit": 5, "eip_limit": 1, "eip_used": 0, "nat_limit": 1, "vpc_limit": 1,
    "vpc_used": 0, "vpc_optional": False, "lambda_limit": 1000, "lambda_used": 400,
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class GivenAccount:
    """An AccountSource that answers one state (the CLI's sources read AWS, a sandbox or a snapshot)."""

    state: AccountState

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        return self.state


def _manifest(account: dict) -> Manifest:
    manifest = _with_preference(BASE, account["preference"])
    if account.get("vpc_optional"):
        vpc = manifest.doc.vpc.model_copy(update={"optional": True})
        manifest = dataclasses.replace(manifest, doc=manifest.doc.model_copy(update={"vpc": vpc}))
    return manifest


# The rest of the degradation policy, varied around the shipped manifest (the accounts vary the
# networking preference and vpc.optional): which endpoints are required and used, NAT per AZ, public
# subnets, the interface stand-ins' group, how concurrency is shared.
SHIPPED = {"required": (), "unused": (), "nat": "single", "public": True, "interface_group": "endpoints",
           "sharing": "water-fill", "floors": "drop-reservations"}  # fmt: skip


@st.composite
def policies(draw: st.DrawFn) -> dict:
    services = ("s3", "dynamodb", "kinesis-streams")
    return {
        "required": tuple(draw(st.lists(st.sampled_from(("s3", "dynamodb", "kinesis")), unique=True))),
        "unused": tuple(draw(st.lists(st.sampled_from(services), unique=True, max_size=2))),
        "nat": draw(st.sampled_from(("single", "per-az"))),
        "public": draw(st.booleans()),
        "interface_group": draw(st.sampled_from(("endpoints", "lambda"))),
        "sharing": draw(st.sampled_from(("water-fill", "none"))),
        "floors": draw(st.sampled_from(("drop-reservations", "no-go"))),
    }


def _with_policy(manifest: Manifest, policy: dict) -> Manifest:
    doc = manifest.doc
    preference = doc.lambda_.networking.preference
    lam = doc.lambda_
    networking = lam.networking.model_copy(
        update={"nat_gateways": policy["nat"], "interface_security_group": policy["interface_group"]}
    )
    concurrency = lam.concurrency.model_copy(
        update={"sharing": policy["sharing"], "when_floors_do_not_fit": policy["floors"]}
    )
    doc = doc.model_copy(
        update={
            # A NAT route needs public subnets (the manifest refuses vpc-with-nat without them).
            "vpc": doc.vpc.model_copy(
                update={"public_subnets": policy["public"] or "vpc-with-nat" in preference}
            ),
            "lambda_": lam.model_copy(update={"networking": networking, "concurrency": concurrency}),
            "endpoints": [
                ep.model_copy(update={"optional": ep.name not in policy["required"]}) for ep in doc.endpoints
            ],
            "functions": [
                fn.model_copy(update={"uses": [s for s in fn.uses if s not in policy["unused"]]})
                for fn in doc.functions
            ],
        }
    )
    return dataclasses.replace(manifest, doc=doc)


def _account(account: dict) -> AccountState:
    """The generated account, whose zones offer every endpoint service the plan may use as an
    interface endpoint (S3 and DynamoDB included): the zone checks are not what is varied here."""
    state = _state(account)
    zones = dict(state.evidence.endpoint_zones)
    zones.update({endpoint_service_name(state.region, s): AZS for s in ("s3", "dynamodb")})
    return state.model_copy(update={"evidence": state.evidence.model_copy(update={"endpoint_zones": zones})})


def _env(d: Deployment, fn_key: str) -> dict[str, str]:
    """The endpoint URL variables the program gives a function (services it uses without private DNS)."""
    fn = next(f for f in d.functions if f.key == fn_key)
    if not fn.vpc_attached:
        return {}
    return {ep.url_variable: ep.name for ep in d.endpoints if ep.url_variable and ep.service in fn.uses}


def differences(requested: Deployment, planned: Deployment) -> set[str]:
    """Every manifest path at which the planned deployment differs from the requested one."""
    out: set[str] = set()
    if planned.networking != requested.networking:
        out.add("lambda.networking.preference")
    before_fns = {f.key: f for f in requested.functions}
    for g in planned.functions:
        f = before_fns[g.key]
        if f.vpc_attached != g.vpc_attached:
            out.add(f"{f.path}.vpc")
        if f.reserved_concurrency != g.reserved_concurrency:
            out.add(f"{f.path}.reservedConcurrency")
        if f.model_copy(
            update={"vpc_attached": g.vpc_attached, "reserved_concurrency": None}
        ) != g.model_copy(update={"reserved_concurrency": None}):
            out.add(f"{f.path}: something else")
        before, after = _env(requested, f.key), _env(planned, f.key)
        out |= {
            f"{f.path}.environment.{v}" for v in before.keys() | after.keys() if before.get(v) != after.get(v)
        }
    before_eps = {ep.key: ep for ep in requested.endpoints}
    after_eps = {ep.key: ep for ep in planned.endpoints}
    for key, ep in before_eps.items():
        if key not in after_eps:
            out.add(ep.path)
        elif after_eps[key].type != ep.type:
            out.add(f"{ep.path}.type")
        elif after_eps[key] != ep:
            out.add(f"{ep.path}: something else")
    out |= {f"{ep.path}: added" for key, ep in after_eps.items() if key not in before_eps}
    before_sgs = {sg.key: sg for sg in requested.security_groups}
    after_sgs = {sg.key: sg for sg in planned.security_groups}
    out |= {
        sg.path for key, sg in (before_sgs | after_sgs).items() if before_sgs.get(key) != after_sgs.get(key)
    }
    out |= _vpc_differences(requested, planned)
    if planned.role.managed_policies != requested.role.managed_policies:
        out.add("role.managedPolicies")
    # Every other part of the deployment (the data and messaging kinds, alarms, names) never changes.
    handled = {"networking", "vpc", "security_groups", "endpoints", "functions", "role"}
    out |= {
        name
        for name in Deployment.model_fields.keys() - handled
        if getattr(requested, name) != getattr(planned, name)
    }
    return out


def _vpc_differences(requested: Deployment, planned: Deployment) -> set[str]:
    before, after = requested.vpc, planned.vpc
    if before.created != after.created:
        return {"vpc"}
    out = set()
    if before.nat_gateway_azs != after.nat_gateway_azs:
        out.add("vpc.natGateways")
    if before.internet_gateway != after.internet_gateway:
        out.add("vpc.internetGateway")
    if before.azs != after.azs:
        out.add("vpc.azs")
    other = {"nat_gateway_azs": (), "internet_gateway": False, "azs": ()}
    if before.model_copy(update=other) != after.model_copy(update=other):
        out.add("vpc: something else")
    return out


def assert_plan_says_what_it_changes(requested: Deployment, planned: Deployment, adaptations) -> None:
    """Invariants 2 and 3: the changes the adaptations name are exactly the differences."""
    named = {c.path for a in adaptations for c in a.changes}
    assert differences(requested, planned) == named, [a.id for a in adaptations]
    assert (planned == requested) == (not adaptations)
    for a in adaptations:
        assert a.changes and a.reason, a.id
        assert a.impact.cost and a.impact.security and a.impact.performance, a.id


@_property_settings
@given(accounts(), st.one_of(st.just(SHIPPED), policies()))
@example(GATEWAYS_FIT, SHIPPED)
# A stand-in of the request kept as a gateway once an unused endpoint goes; a NAT route given up.
@example(GATEWAYS_FIT | {"gateway_used": 1}, SHIPPED | {"unused": ("dynamodb",)})
@example(ROOMY | {"preference": ["vpc-with-nat", "vpc-with-endpoints"], "eip_limit": 0}, SHIPPED)
def test_check_and_plan_agree_and_a_plan_names_every_change(account: dict, policy: dict) -> None:
    manifest, source = _with_policy(_manifest(account), policy), GivenAccount(_account(account))
    check = run_check(manifest, source, "us-east-1", GatePolicy())
    report, plan_file = run_plan(manifest, source, "us-east-1", GatePolicy())
    event(f"check {check.verdict}, plan {report.verdict}")
    for kind in {a.id.replace("-s3-", "-*-").replace("-dynamodb-", "-*-") for a in report.adaptations or ()}:
        event(f"adaptation {kind}")
    # 1. GO without adaptation from plan --adapt iff check says GO.
    assert (report.verdict == "GO" and not report.adaptations) == (check.verdict == "GO")
    assert report.verdict != "GO" or not report.adaptations
    assert report.verdict != "GO_WITH_ADAPTATIONS" or report.adaptations
    # 2 and 3, against what check evaluated.
    requested = requested_on(manifest, source.state)
    assert_plan_says_what_it_changes(requested, plan_file.deployment, plan_file.adaptations)
    assert plan_file.adaptations == report.adaptations


def test_room_in_the_gateway_quota_keeps_the_gateways_as_requested() -> None:
    """vpc-with-interface-endpoints requested: only what the gateway quota cannot take stands in, in
    the requested deployment too, so check and plan judge the same deployment (the regression)."""
    manifest, source = _manifest(GATEWAYS_FIT), GivenAccount(_account(GATEWAYS_FIT))
    requested = requested_on(manifest, source.state)
    assert {ep.key: ep.type for ep in requested.endpoints} == {
        "s3": "gateway",
        "dynamodb": "gateway",
        "kinesis": "interface",
    }
    assert run_check(manifest, source, "us-east-1", GatePolicy()).verdict == "GO"
    result = plan_manifest(manifest, source.state, GatePolicy())
    assert (result.verdict, result.adaptations, result.adapted) == ("GO", (), requested)
    report, plan_file = run_plan(manifest, source, "us-east-1", GatePolicy())
    assert (report.verdict, plan_file.deployment, plan_file.decisions.interface) == ("GO", requested, ())

    # One gateway slot: DynamoDB keeps it (no private DNS as an interface endpoint), S3 stands in and
    # needs a second interface endpoint (and two more network interfaces) the account does not have:
    # both commands say so.
    one_slot = GATEWAYS_FIT | {"gateway_used": 1}
    manifest, source = _manifest(one_slot), GivenAccount(_account(one_slot))
    requested = requested_on(manifest, source.state)
    assert [ep.key for ep in requested.endpoints if ep.stands_in_for_gateway] == ["s3"]
    check = run_check(manifest, source, "us-east-1", GatePolicy())
    report, plan_file = run_plan(manifest, source, "us-east-1", GatePolicy())
    assert check.verdict == report.verdict == "NO_GO"
    assert [f.quota_code for f in check.findings if f.status == "FAIL"] == ["L-29B6F2EB", "L-DF5E4CA3"]


def _planned(account: dict, policy: dict):
    manifest, state = _with_policy(_manifest(account), policy), _account(account)
    return manifest, requested_on(manifest, state), plan_manifest(manifest, state, GatePolicy())


def test_a_stand_in_the_gateway_quota_takes_once_an_endpoint_is_dropped_is_kept_as_a_gateway() -> None:
    # One gateway slot: the request keeps DynamoDB's gateway (no private DNS as an interface endpoint)
    # and S3 stands in; two interface endpoints do not fit. The adapted plan drops the DynamoDB
    # endpoint nothing uses, and the slot then takes S3's gateway: said, with what it saves.
    account = GATEWAYS_FIT | {"gateway_used": 1}
    _, requested, result = _planned(account, SHIPPED | {"unused": ("dynamodb",)})
    assert [ep.key for ep in requested.endpoints if ep.stands_in_for_gateway] == ["s3"]
    assert result.verdict == "GO_WITH_ADAPTATIONS"
    assert {ep.key: ep.type for ep in result.adapted.endpoints} == {"s3": "gateway", "kinesis": "interface"}
    by_id = {a.id: a for a in result.adaptations}
    assert set(by_id) == {"endpoint-dynamodb-dropped", "endpoint-s3-gateway"}
    kept = by_id["endpoint-s3-gateway"]
    assert [(c.path, c.before, c.after) for c in kept.changes] == [
        ("endpoints[0].type", "interface", "gateway")
    ]
    assert kept.quota_code is None and "regional gateway endpoint quota takes it" in kept.reason
    assert kept.impact.monthly_cost_delta_usd == -14.6  # 2 AZ x $7.30


def test_giving_up_a_requested_nat_route_says_what_it_saves() -> None:
    account = ROOMY | {"preference": ["vpc-with-nat", "vpc-with-endpoints"], "eip_limit": 0}
    _, requested, result = _planned(account, SHIPPED)
    assert result.verdict == "GO_WITH_ADAPTATIONS" and result.adapted.networking == "vpc-with-endpoints"
    (networking,) = result.adaptations
    assert networking.quota_code == "L-0263D0A3"
    assert ("vpc.natGateways", 1, 0) in [(c.path, c.before, c.after) for c in networking.changes]
    assert networking.impact.monthly_cost_delta_usd == -36.5  # $32.85 + $3.65 for its Elastic IP
    assert "no route to the internet" in networking.impact.security
    assert_plan_says_what_it_changes(requested, result.adapted, result.adaptations)


def test_a_go_plan_file_keeps_the_stand_ins_the_account_chose(tmp_path) -> None:
    """A GO plan with vpc-with-interface-endpoints requested records which gateways stood in (the
    account's answer, as its zones are): the program takes it as the request, not as a contradiction."""
    path = manifest_variant(
        tmp_path,
        ("preference: [vpc-with-endpoints, no-vpc]",
         "preference: [vpc-with-interface-endpoints]\n    interfaceSecurityGroup: endpoints"),
    )  # fmt: skip
    account = GATEWAYS_FIT | {"gateway_used": 1, "interface_limit": 2, "eni_limit": 6}
    manifest, source = load_manifest(path, "prod"), GivenAccount(_account(account))
    assert run_check(manifest, source, "us-east-1", GatePolicy()).verdict == "GO"
    report, plan_file = run_plan(manifest, source, "us-east-1", GatePolicy())
    assert (report.verdict, report.adaptations, plan_file.decisions.interface) == ("GO", (), ("s3",))
    saved = tmp_path / "plan.json"
    saved.write_text(plan_json(plan_file))
    trusted = load_trusted_plan(saved, root=tmp_path)
    assert trusted.deployment == plan_file.deployment == requested_on(manifest, source.state)
    # A GO whose decisions are not the request's (a reservation cut) is still refused.
    cut = plan_file.model_copy(
        update={"decisions": plan_file.decisions.model_copy(update={"reservations": {
            **plan_file.decisions.reservations, "ingest": 50}})}
    )  # fmt: skip
    saved.write_text(
        plan_json(cut.model_copy(update={"deployment": rebuild(manifest, "us-east-1", cut.decisions)}))
    )
    with pytest.raises(InputError, match="the plan is inconsistent"):
        load_trusted_plan(saved, root=tmp_path)
