"""Writes the hand-crafted reports under tests/golden/inputs/ that the golden-file tests render.

    .venv/bin/python tests/golden/make_inputs.py
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/formats -q   # then re-render the goldens

They follow the shipped manifest (manifests/tap-pipeline.yaml, its resource paths and lines) and the
accounts of issue 2: the seed's account (20 gateway endpoints in use, 850 of 1000 concurrency reserved)
and a fresh one. Status, headroom and message follow the rules of `preflight.evaluate`, computed here
rather than imported so the fixtures stay put while the evaluator evolves. Reports produced by the real
tool may replace these files: the tests render every *.json in inputs/.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from preflight import catalog
from preflight.model import (
    BASIC_EXECUTION_POLICY,
    VPC_ACCESS_POLICY,
    Adaptation,
    Change,
    Impact,
    IncreaseRequest,
    ManifestRef,
)
from preflight.report import Finding, Report, Stats

INPUTS = Path(__file__).parent / "inputs"
WARN_THRESHOLD = 0.8

MANIFEST = ManifestRef(
    path="manifests/tap-pipeline.yaml",
    name="tap-pipeline",
    sha256=hashlib.sha256(b"tap-pipeline manifest, golden fixture").hexdigest(),
)

# Lines of manifests/tap-pipeline.yaml where each resource path starts.
LINES = {
    "vpc": 16,
    "vpc.azCount": 19,
    "vpc.publicSubnets": 20,
    "securityGroups[0]": 23,
    "securityGroups[0].ingress": 25,
    "securityGroups[0].egress": 27,
    "securityGroups[1]": 29,
    "securityGroups[1].egress": 31,
    "endpoints[0]": 35,
    "endpoints[1]": 39,
    "endpoints[2]": 43,
    "lambda.networking": 51,
    "stream.shards": 103,
    "table": 106,
    "bucket": 111,
    "topic": 114,
    "role": 132,
    "role.extraManagedPolicies": 134,
}
FUNCTION_LINES = (60, 68, 76, 84, 92)  # `- name:` of each function; reservedConcurrency is 5 lines down
LINES.update({f"functions[{i}]": line for i, line in enumerate(FUNCTION_LINES)})
LINES.update({f"functions[{i}].reservedConcurrency": line + 5 for i, line in enumerate(FUNCTION_LINES)})
LINES.update({f"functions[{i}].source": line + 1 for i, line in enumerate(FUNCTION_LINES)})
HANDLER_BYTES = (394, 400, 394, 400, 396)  # handlers/*.py, in manifest order


def _n(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def finding(
    code: str,
    scope: str,
    usage: float | None,
    demand: float,
    resources: tuple[str, ...],
    *,
    limit: float | None = None,
    source: str = "default",
    unknown: str = "",
    with_lines: bool = True,
) -> Finding:
    """One finding as `preflight.evaluate` would make it (limit defaults to the catalog's default)."""
    q = catalog.quota(code)
    if limit is None and not unknown:
        limit = q.default
    base = dict(
        service_code=q.service_code,
        quota_code=code,
        quota_name=q.name,
        scope=scope,
        limit=limit,
        limit_source="unknown" if limit is None else source,
        usage=usage,
        demand=demand,
        resources=resources,
        lines=tuple(LINES[r] for r in resources if r in LINES) if with_lines else (),
    )
    if limit is None or usage is None:
        return Finding(**base, headroom_after=None, utilization_after=None, status="UNKNOWN", message=unknown)
    reserve = catalog.lambda_unreserved_floor(limit) if code == "L-B99A9384" else 0
    headroom = limit - reserve - usage - demand
    utilization = (usage + demand + reserve) / limit
    status = "FAIL" if headroom < 0 else "WARN" if utilization >= WARN_THRESHOLD else "OK"
    free = max(limit - reserve - usage, 0)
    if code == "L-B99A9384":
        text = (
            f"reserving {_n(demand)} with {_n(usage)} already reserved by other functions; at most "
            f"{_n(free)} can be reserved (limit {_n(limit)} keeps {_n(reserve)} unreserved)"
        )
    else:
        text = f"needs {_n(demand)}, {_n(free)} of {_n(limit)} free ({_n(usage)} in use)"
    return Finding(
        **base,
        headroom_after=headroom,
        utilization_after=round(utilization, 4),
        status=status,
        message=f"does not fit: {text}" if status == "FAIL" else text,
    )


def _functions(suffix: str = "") -> tuple[str, ...]:
    return tuple(f"functions[{i}]{suffix}" for i in range(5))


def requested_findings(env: str, *, seed: bool) -> list[Finding]:
    """The shipped manifest as requested (VPC with endpoints), against the seed's or a fresh account."""
    vpc, sg_endpoints, sg_lambda, role = (
        f"pipeline-{x}-{env}" for x in ("vpc", "endpoints", "lambda", "lambda")
    )
    return [
        finding("L-F678F1CE", "region", 3 if seed else 1, 1, ("vpc",)),
        finding("L-A4707A72", "region", 2 if seed else 1, 1, ("vpc.publicSubnets",)),
        finding("L-407747CB", f"vpc:{vpc}", 0, 4, ("vpc.azCount",)),
        finding(
            "L-E79EC296",
            "region",
            41 if seed else 1,
            3,
            ("vpc", "securityGroups[0]", "securityGroups[1]"),
        ),
        finding("L-0EA8095F", f"sg:{sg_endpoints}:egress", 0, 1, ("securityGroups[0].egress",)),
        finding("L-0EA8095F", f"sg:{sg_endpoints}:ingress", 0, 1, ("securityGroups[0].ingress",)),
        finding("L-0EA8095F", f"sg:{sg_lambda}:egress", 0, 1, ("securityGroups[1].egress",)),
        finding("L-1B52E74A", "region", 20 if seed else 0, 2, ("endpoints[0]", "endpoints[1]")),
        finding("L-29B6F2EB", f"vpc:{vpc}", 0, 1, ("endpoints[2]",)),
        finding("L-DF5E4CA3", "region", 57 if seed else 0, 4, ("endpoints[2]", "functions[0]")),
        finding(
            "L-B99A9384",
            "region",
            850 if seed else 0,
            500,
            _functions(".reservedConcurrency"),
            limit=1000,
            source="service-api",
        ),
        finding("L-9FEE3D26", f"vpc:{vpc}", 0, 2, ("functions[0]",)),
        finding(
            "L-2ACBD22F",
            "region",
            1_288_490_189 if seed else 0,
            sum(HANDLER_BYTES),
            _functions(".source"),
            source="service-api",
        ),
        finding("L-0918CF54", "region", 12 if seed else 0, 4, ("stream.shards",), limit=20000),
        finding("L-F98FE922", "region", 37 if seed else 0, 1, ("table",)),
        finding("L-DC2B2D3D", "global", 212 if seed else 0, 1, ("bucket",)),
        finding("L-61103206", "region", 18 if seed else 0, 1, ("topic",)),
        finding("L-FE177D64", "global", 184 if seed else 2, 1, ("role",), source="service-api"),
        finding("L-0DA4ABF3", f"role:{role}", 0, 1, ("role.extraManagedPolicies",)),
    ]


SEED_INCREASES = (
    IncreaseRequest(
        service_code="vpc",
        quota_code="L-1B52E74A",
        quota_name="Gateway VPC endpoints per Region",
        current=20,
        required=22,
        adjustable=True,
    ),
    IncreaseRequest(
        service_code="lambda",
        quota_code="L-B99A9384",
        quota_name="Concurrent executions",
        current=1000,
        required=1450,
        adjustable=True,
    ),
)


def seed_no_go() -> Report:
    return Report(
        command="check",
        verdict="NO_GO",
        region="us-east-1",
        account_id="111122223333",
        environment="prod",
        manifest=MANIFEST,
        findings=tuple(requested_findings("prod", seed=True)),
        increase_requests=SEED_INCREASES,
        stats=Stats(
            api_calls={"ec2.DescribeVpcEndpoints": 1, "lambda.GetAccountSettings": 1}, elapsed_s=0.412
        ),
    )


def fresh_go() -> Report:
    return Report(
        command="check",
        verdict="GO",
        region="us-east-1",
        account_id="444455556666",
        environment="prod",
        manifest=MANIFEST,
        findings=tuple(requested_findings("prod", seed=False)),
    )


def seed_plan_adapted() -> Report:
    """`plan --adapt` on the seed's account: the adapted plan's findings, the requested plan's increases."""
    vpc, role = "pipeline-vpc-prod", "pipeline-lambda-prod"
    findings = (
        finding("L-F678F1CE", "region", 3, 1, ("vpc",)),
        finding("L-A4707A72", "region", 2, 1, ("vpc.publicSubnets",)),
        finding("L-407747CB", f"vpc:{vpc}", 0, 4, ("vpc.azCount",)),
        finding("L-E79EC296", "region", 41, 1, ("vpc",)),
        finding(
            "L-B99A9384",
            "region",
            850,
            50,
            _functions(".reservedConcurrency"),
            limit=1000,
            source="service-api",
        ),
        finding(
            "L-2ACBD22F",
            "region",
            1_288_490_189,
            sum(HANDLER_BYTES),
            _functions(".source"),
            source="service-api",
        ),
        finding("L-0918CF54", "region", 12, 4, ("stream.shards",), limit=20000),
        finding("L-F98FE922", "region", 37, 1, ("table",)),
        finding("L-DC2B2D3D", "global", 212, 1, ("bucket",)),
        finding("L-61103206", "region", 18, 1, ("topic",)),
        finding("L-FE177D64", "global", 184, 1, ("role",), source="service-api"),
        finding("L-0DA4ABF3", f"role:{role}", 0, 1, ("role.extraManagedPolicies",)),
    )
    adaptations = (
        Adaptation(
            id="drop-gateway-endpoints",
            title="Drop the S3 and DynamoDB gateway endpoints",
            quota_code="L-1B52E74A",
            quota_name="Gateway VPC endpoints per Region",
            reason="20 of 20 gateway endpoints are in use and the manifest marks both endpoints optional",
            changes=(
                Change(path="endpoints[0]", before="s3 (gateway)", after=None, line=35),
                Change(path="endpoints[1]", before="dynamodb (gateway)", after=None, line=39),
            ),
            impact=Impact(
                cost="none: gateway endpoints are free",
                security="S3 and DynamoDB calls leave the VPC for the public endpoints (TLS and IAM apply)",
                performance="negligible",
            ),
        ),
        Adaptation(
            id="lambda-out-of-vpc",
            title="Run the functions outside the VPC",
            quota_code=None,
            quota_name=None,
            reason=(
                "without the gateway endpoints the VPC-attached functions cannot reach S3 or DynamoDB; "
                "the networking preference allows no-vpc, a NAT route is not allowed"
            ),
            changes=(
                Change(path="lambda.networking", before="vpc-with-endpoints", after="no-vpc", line=51),
                Change(path="endpoints[2]", before="kinesis-streams (interface)", after=None, line=43),
                Change(path="securityGroups[0]", before="endpoints", after=None, line=23),
                Change(path="securityGroups[1]", before="lambda", after=None, line=29),
            ),
            impact=Impact(
                cost="saves the Kinesis interface endpoint in 2 AZs",
                monthly_cost_delta_usd=-14.6,
                security="functions no longer run in private subnets; they call AWS over public endpoints",
                performance="no VPC ENI set-up on cold start",
            ),
        ),
        Adaptation(
            id="role-basic-execution",
            title="Attach the basic execution policy instead of the VPC access policy",
            quota_code=None,
            quota_name=None,
            reason="functions outside the VPC need no network-interface permissions",
            changes=(
                Change(
                    path="role.managedPolicies",
                    before=[VPC_ACCESS_POLICY],
                    after=[BASIC_EXECUTION_POLICY],
                    line=132,
                ),
            ),
            impact=Impact(
                cost="none",
                security="narrower: no ec2:CreateNetworkInterface or DeleteNetworkInterface",
                performance="none",
            ),
        ),
        Adaptation(
            id="share-reserved-concurrency",
            title="Share the concurrency the account can still reserve",
            quota_code="L-B99A9384",
            quota_name="Concurrent executions",
            reason=(
                "850 of 1000 is reserved by other functions and 100 must stay unreserved: 50 left for "
                "5 functions (water-fill, at least 5 each)"
            ),
            changes=tuple(
                Change(
                    path=f"functions[{i}].reservedConcurrency",
                    before=100,
                    after=10,
                    line=LINES[f"functions[{i}].reservedConcurrency"],
                )
                for i in range(5)
            ),
            impact=Impact(
                cost="none",
                security="none",
                performance="each function is throttled above 10 concurrent executions",
            ),
        ),
    )
    return Report(
        command="plan",
        verdict="GO_WITH_ADAPTATIONS",
        region="us-east-1",
        account_id="111122223333",
        environment="prod",
        manifest=MANIFEST,
        findings=findings,
        increase_requests=SEED_INCREASES,
        adaptations=adaptations,
    )


def unknown_no_go() -> Report:
    """A role that may not read Kinesis limits or network interfaces: the gate fails closed."""
    vpc, role = "pipeline-vpc-dev", "pipeline-lambda-dev"
    findings = (
        finding("L-F678F1CE", "region", 4, 1, ("vpc",)),
        finding("L-407747CB", f"vpc:{vpc}", 0, 2, ("vpc.azCount",)),
        finding("L-1B52E74A", "region", 3, 2, ("endpoints[0]", "endpoints[1]")),
        finding(
            "L-DF5E4CA3",
            "region",
            None,
            2,
            ("endpoints[2]", "functions[0]"),
            limit=5000,
            unknown=(
                "usage unknown: ec2:DescribeNetworkInterfaces denied (UnauthorizedOperation); "
                "grant it to the gate's role"
            ),
        ),
        finding(
            "L-B99A9384",
            "region",
            120,
            25,
            _functions(".reservedConcurrency"),
            limit=1000,
            source="service-api",
        ),
        finding(
            "L-9FEE3D26",
            f"vpc:{vpc}",
            None,
            1,
            ("functions[0]",),
            limit=250,
            unknown="usage unknown: ec2:DescribeNetworkInterfaces denied (UnauthorizedOperation)",
            with_lines=False,
        ),
        finding(
            "L-0918CF54",
            "region",
            0,
            1,
            ("stream.shards",),
            unknown=(
                "limit unknown: kinesis:DescribeLimits, servicequotas:ListServiceQuotas and "
                "servicequotas:ListAWSDefaultServiceQuotas were denied (AccessDenied)"
            ),
        ),
        finding("L-FE177D64", "global", 900, 1, ("role",), source="service-api"),
        finding("L-0DA4ABF3", f"role:{role}", 0, 1, ("role.extraManagedPolicies",)),
    )
    return Report(
        command="check",
        verdict="NO_GO",
        region="eu-west-1",
        account_id="777788889999",
        environment="dev",
        manifest=MANIFEST,
        findings=findings,
    )


REPORTS = {
    "check-seed-account-no-go": seed_no_go,
    "check-fresh-account-go": fresh_go,
    "plan-seed-account-adapted": seed_plan_adapted,
    "check-unknown-no-go": unknown_no_go,
}


def main() -> None:
    INPUTS.mkdir(parents=True, exist_ok=True)
    for stem, build in REPORTS.items():
        (INPUTS / f"{stem}.json").write_text(build().to_json(), encoding="utf-8", newline="\n")
        print(f"wrote {INPUTS / stem}.json")


if __name__ == "__main__":
    main()
