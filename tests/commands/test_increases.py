"""`request-increases`: lists what a plan or report asks for, files the missing increases exactly once
with --submit, changes nothing without it, and maps bad files and AWS errors to exit 2 and 3."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from preflight.commands.increases import (
    InForce,
    OpenRequest,
    Requested,
    ServiceQuotas,
    decide,
    desired_value,
    load_requested,
    merge,
    run_increases,
)
from preflight.deployment import IncreaseRequest
from tests.conftest import MANIFEST

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
FILE = "service-quotas:RequestServiceQuotaIncrease"
SEED_INCREASES = {"L-1B52E74A": 22.0, "L-B99A9384": 1450.0}


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A JSON report (`check`) and a plan file (`plan --adapt --save-plan`) of the seed's account."""
    from cli import main

    out = tmp_path_factory.mktemp("seed")
    files = {"report": out / "report.json", "plan": out / "plan.json"}
    runner = CliRunner()
    check = runner.invoke(
        main, ["check", MANIFEST, "--sandbox", "seed-account", "--format", "json", "-o", str(files["report"])]
    )
    assert check.exit_code == 1, check.output  # NO_GO: two quotas do not fit
    plan = runner.invoke(
        main,
        ["plan", "--adapt", MANIFEST, "--sandbox", "seed-account", "--save-plan", str(files["plan"])],
    )
    assert plan.exit_code == 0, plan.output  # GO_WITH_ADAPTATIONS
    return files


def run(cli: Callable[..., Result], sb: Any, *args: str) -> Result:
    return cli("request-increases", *args, "--endpoint-url", sb.endpoint_url, env=ENV)


def outcomes(result: Result) -> dict[str, dict[str, Any]]:
    return {o["quota_code"]: o for o in json.loads(result.stdout)["outcomes"]}


def filed(sb: Any) -> int:
    return sb.call_log.counts().get(FILE, 0)


# --- acceptance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["report", "plan"])
def test_submit_files_exactly_the_missing_increases_once(
    cli: Callable[..., Result], sandbox: Callable[..., Any], seed_files: dict[str, Path], kind: str
) -> None:
    sb = sandbox("seed-account")
    source = (f"--{kind}", str(seed_files[kind]))

    first = run(cli, sb, *source, "--submit", "--format", "json")
    assert first.exit_code == 0, first.output
    assert filed(sb) == 2
    assert {c: o["status"] for c, o in outcomes(first).items()} == {c: "filed" for c in SEED_INCREASES}
    assert {(r.quota.quota_code, r.desired, r.region) for r in sb.state.requests} == {
        (code, value, "us-east-1") for code, value in SEED_INCREASES.items()
    }
    for code, value in SEED_INCREASES.items():
        assert sb.state.limit(code, "us-east-1") == value  # the emulated account approves at once

    second = run(cli, sb, *source, "--submit", "--format", "json")
    assert second.exit_code == 0, second.output
    assert filed(sb) == 2, "a second run files nothing"
    assert {o["status"] for o in outcomes(second).values()} == {"already-raised"}

    # And with the raised quotas the requested deployment now fits.
    env = {**ENV, "AWS_ENDPOINT_URL": sb.endpoint_url}
    assert cli("check", MANIFEST, "--format", "json", env=env).exit_code == 0


def test_without_submit_nothing_changes(
    cli: Callable[..., Result], sandbox: Callable[..., Any], seed_files: dict[str, Path]
) -> None:
    sb = sandbox("seed-account")
    result = run(cli, sb, "--from-report", str(seed_files["report"]))
    assert result.exit_code == 0, result.output
    assert sb.call_log.total() > 0, "a dry run still looks at the account"
    assert sb.call_log.mutating_calls() == []
    assert sb.state.requests == []
    assert "would file" in result.stdout and "L-1B52E74A" in result.stdout and "1450" in result.stdout
    assert "nothing changed in the account" in result.stdout


def test_open_request_is_not_filed_again(
    cli: Callable[..., Result], sandbox: Callable[..., Any], seed_files: dict[str, Path]
) -> None:
    from preflight.quotas.catalog import BY_CODE
    from preflight.sandbox.state import QuotaRequest

    sb = sandbox("seed-account")
    sb.state.add_request(QuotaRequest(BY_CODE["L-1B52E74A"], "us-east-1", 25.0, status="CASE_OPENED"))
    result = run(cli, sb, "--from-report", str(seed_files["report"]), "--submit", "--format", "json")
    assert result.exit_code == 0, result.output
    assert filed(sb) == 1
    found = outcomes(result)
    assert found["L-1B52E74A"]["status"] == "open-request"
    assert "CASE_OPENED" in found["L-1B52E74A"]["detail"]
    assert found["L-B99A9384"]["status"] == "filed"


def test_non_adjustable_quota_needs_a_design_change_and_is_never_filed(
    cli: Callable[..., Result], sandbox: Callable[..., Any], seed_files: dict[str, Path], tmp_path: Path
) -> None:
    report = json.loads(seed_files["report"].read_text())
    for req in report["increase_requests"]:
        if req["quota_code"] == "L-1B52E74A":
            req["adjustable"] = False
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))

    offline = cli("request-increases", "--from-report", str(path), "--offline")
    assert offline.exit_code == 0
    assert "needs a design change" in offline.stdout

    sb = sandbox("seed-account")
    result = run(cli, sb, "--from-report", str(path), "--submit", "--format", "json")
    assert result.exit_code == 0, result.output
    found = outcomes(result)
    assert found["L-1B52E74A"]["status"] == "design-change"
    assert "the deployment must fit in 20" in found["L-1B52E74A"]["detail"]
    assert [r.quota.quota_code for r in sb.state.requests] == ["L-B99A9384"]


def test_global_quotas_are_requested_in_us_east_1(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    sb = sandbox("fresh-account", region="eu-west-1")
    path = tmp_path / "report.json"
    path.write_text(
        _report(
            region="eu-west-1",
            requests=[
                _req("iam", "L-FE177D64", 1000, 1200),
                _req("iam", "L-0DA4ABF3", 10, 12),  # IAM quotas are global whatever their scope
                _req("vpc", "L-1B52E74A", 20, 30),
            ],
        )
    )
    result = run(cli, sb, "--from-report", str(path), "--submit", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {c: o["region"] for c, o in outcomes(result).items()} == {
        "L-FE177D64": "us-east-1",
        "L-0DA4ABF3": "us-east-1",
        "L-1B52E74A": "eu-west-1",
    }
    assert {(r.quota.quota_code, r.region) for r in sb.state.requests} == {
        ("L-FE177D64", "us-east-1"),
        ("L-0DA4ABF3", "us-east-1"),
        ("L-1B52E74A", "eu-west-1"),
    }


def test_report_with_nothing_to_ask(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(_report(requests=[]))
    result = cli("request-increases", "--from-report", str(path), "--offline")
    assert result.exit_code == 0
    assert "fits as it is" in result.stdout


def test_report_is_a_deprecated_alias_of_from_report(
    cli: Callable[..., Result], seed_files: dict[str, Path]
) -> None:
    # `--report` is an output everywhere else; here the input is `--from-report`, the old name still works.
    args = (str(seed_files["report"]), "--offline", "--format", "json")
    old = cli("request-increases", "--report", *args)
    new = cli("request-increases", "--from-report", *args)
    assert old.exit_code == 0 and new.exit_code == 0, old.output + new.output
    assert "--report is deprecated here: use --from-report" in old.stderr
    assert "deprecated" not in new.stderr
    assert old.stdout == new.stdout and json.loads(new.stdout)["outcomes"]


def test_offline_lists_without_any_account(cli: Callable[..., Result], seed_files: dict[str, Path]) -> None:
    result = cli("request-increases", "--plan", str(seed_files["plan"]), "--offline", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "tap-preflight/increases/v1" and not data["submitted"]
    assert {c: (o["status"], o["required"]) for c, o in outcomes(result).items()} == {
        c: ("listed", v) for c, v in SEED_INCREASES.items()
    }


def test_output_file_is_written(
    cli: Callable[..., Result], seed_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "increases.json"
    result = cli(
        "request-increases",
        "--from-report",
        str(seed_files["report"]),
        "--offline",
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["source_kind"] == "report"
    assert [p.name for p in tmp_path.iterdir()] == ["increases.json"]


# --- errors -----------------------------------------------------------------------------------------------


def test_aws_error_exits_3_naming_call_and_permission(
    cli: Callable[..., Result], sandbox: Callable[..., Any], seed_files: dict[str, Path]
) -> None:
    from preflight.sandbox import FaultConfig

    sb = sandbox("seed-account")
    sb.set_faults(FaultConfig(deny=frozenset({FILE})))  # the account refuses the filing itself
    result = run(cli, sb, "--from-report", str(seed_files["report"]), "--submit")
    assert result.exit_code == 3
    assert (
        "service-quotas:RequestServiceQuotaIncrease failed: access denied "
        "(needs servicequotas:RequestServiceQuotaIncrease)"
    ) in result.stderr
    assert "Traceback" not in result.output
    assert sb.call_log.faults() == {"denied": sb.call_log.counts()[FILE]}  # the denial was the account's
    history = sb.client("service-quotas").list_requested_service_quota_change_history()
    assert history["RequestedQuotas"] == []  # nothing was filed


def test_real_client_errors_are_translated() -> None:
    """Through botocore itself: a denied call becomes an error outcome naming call and permission."""
    from botocore.stub import Stubber

    from preflight.account.aws import Aws

    aws = Aws("us-east-1", credentials=("testing", "testing"))
    client = aws.client("service-quotas", "us-east-1")
    sts = aws.client("sts", "us-east-1")
    with Stubber(client) as sq_stub, Stubber(sts) as sts_stub:
        sts_stub.add_response("get_caller_identity", {"Account": "123456789012"})
        sq_stub.add_client_error(
            "list_requested_service_quota_change_history_by_quota",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:iam::123456789012:user/ci is not authorized",
        )
        result = run_increases(_requested([_req("vpc", "L-1B52E74A", 20, 22)]), ServiceQuotas(aws))
    [outcome] = result.outcomes
    assert outcome.status == "error"
    assert outcome.detail == (
        "service-quotas:ListRequestedServiceQuotaChangeHistoryByQuota failed: access denied "
        "(needs servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota)"
    )


def test_no_credentials_exits_3(cli: Callable[..., Result], seed_files: dict[str, Path]) -> None:
    import os

    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = cli("request-increases", "--from-report", str(seed_files["report"]), env=env)
    assert result.exit_code == 3
    assert "no AWS credentials" in result.stderr


def test_file_for_another_account_is_refused(
    cli: Callable[..., Result], sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    sb = sandbox("fresh-account")
    path = tmp_path / "report.json"
    path.write_text(_report(account_id="999999999999", requests=[_req("vpc", "L-1B52E74A", 20, 22)]))
    result = run(cli, sb, "--from-report", str(path), "--submit")
    assert result.exit_code == 2
    assert "made for account 999999999999" in result.stderr and str(path) in result.stderr
    assert sb.state.requests == []


BAD_FILES: dict[str, tuple[str, str, str]] = {
    # name: (option, content, expected message)
    "not JSON": ("--from-report", "schema: yaml\n", "not valid JSON"),
    "truncated": ("--from-report", '{"schema": "tap-preflight/report/v1", "increase_re', "not valid JSON"),
    "empty": ("--plan", "", "not valid JSON"),
    "a report given as plan": (
        "--plan",
        '{"schema": "tap-preflight/report/v1"}',
        "pass it with --from-report",
    ),
    "a plan given as report": ("--from-report", '{"schema": "tap-preflight/plan/v1"}', "pass it with --plan"),
    "a snapshot": ("--from-report", '{"schema": "tap-preflight/snapshot/v1"}', "snapshot file, not a report"),
    "another tool's JSON": (
        "--from-report",
        '{"version": "2.1.0", "runs": []}',
        "not a tap-preflight JSON report",
    ),
    "an old report": (
        "--from-report",
        '{"schema": "tap-preflight/report/v0"}',
        "report format v0 is not supported",
    ),
    "wrong types": (
        "--from-report",
        json.dumps(
            {
                "schema": "tap-preflight/report/v1",
                "region": "us-east-1",
                "account_id": "123456789012",
                "increase_requests": [
                    {
                        "service_code": "vpc",
                        "quota_code": "L-1B52E74A",
                        "quota_name": "Gateway VPC endpoints per Region",
                        "current": 20,
                        "required": "lots",
                        "adjustable": True,
                    }
                ],
            }
        ),
        "damaged report",
    ),
    "missing region": (
        "--plan",
        '{"schema": "tap-preflight/plan/v3", "account_id": "1"}',
        "required field is missing",
    ),
    "a plan of the previous format": (
        "--plan",
        '{"schema": "tap-preflight/plan/v2", "account_id": "1"}',
        "plan format v2 is not supported",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input_file_exits_2_naming_it(cli: Callable[..., Result], tmp_path: Path, name: str) -> None:
    option, content, expected = BAD_FILES[name]
    path = tmp_path / "input.json"
    path.write_text(content)
    result = cli("request-increases", option, str(path), "--offline")
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and expected in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "needs one of --plan FILE or --from-report FILE"),
        (("--plan", "a.json", "--from-report", "b.json"), "needs one of --plan FILE or --from-report FILE"),
        (("--from-report", "r.json", "--offline", "--submit"), "--offline calls no AWS API"),
        (
            ("--from-report", "r.json", "--sandbox", "seed-account", "--endpoint-url", "http://x"),
            "exclude each other",
        ),
        (("--from-report", "absent.json"), "absent.json report not found"),
    ],
)
def test_bad_usage_exits_2(cli: Callable[..., Result], args: tuple[str, ...], expected: str) -> None:
    result = cli("request-increases", *args)
    assert result.exit_code == 2
    assert expected in result.stderr


# --- pure functions --------------------------------------------------------------------------------------


def test_decide() -> None:
    req = _req("vpc", "L-1B52E74A", 20, 22)
    assert decide(req, open_request=None, in_force=None) == "file"
    assert decide(req, open_request=None, in_force=InForce(20, "None", "default")) == "file"
    assert decide(req, open_request=None, in_force=InForce(22, "None", "applied")) == "already-raised"
    opened = OpenRequest(id="r1", status="PENDING", desired=22)
    assert decide(req, open_request=opened, in_force=InForce(30, "None", "applied")) == "open-request"


def test_desired_value_is_in_the_quota_unit_and_rounded_up() -> None:
    assert desired_value(1450, "None") == 1450
    assert desired_value(80 * 1024**3, "Gigabytes") == 80
    assert desired_value(80 * 1024**3 + 1, "Gigabytes") == 81
    assert desired_value(12.2, "None") == 13


def test_merge_keeps_the_largest_request_per_quota() -> None:
    merged = merge([_req("vpc", "L-1B52E74A", 20, 22), _req("vpc", "L-1B52E74A", 20, 30)])
    assert [(r.quota_code, r.required) for r in merged] == [("L-1B52E74A", 30)]


def test_load_requested_reads_both_kinds(seed_files: dict[str, Path]) -> None:
    for kind in ("report", "plan"):
        requested = load_requested(str(seed_files[kind]), kind)  # type: ignore[arg-type]
        assert (requested.region, requested.account_id) == ("us-east-1", "123456789012")
        assert {r.quota_code: r.required for r in requested.requests} == SEED_INCREASES


# --- helpers ---------------------------------------------------------------------------------------------


def _req(
    service: str, code: str, current: float, required: float, adjustable: bool = True
) -> IncreaseRequest:
    from preflight.quotas.catalog import BY_CODE

    return IncreaseRequest(
        service_code=service,
        quota_code=code,
        quota_name=BY_CODE[code].name,
        current=current,
        required=required,
        adjustable=adjustable,
    )


def _requested(requests: list[IncreaseRequest]) -> Requested:
    return Requested(
        path="report.json",
        kind="report",
        region="us-east-1",
        account_id="123456789012",
        environment="prod",
        requests=tuple(requests),
    )


def _report(
    *, region: str = "us-east-1", account_id: str = "123456789012", requests: list[IncreaseRequest]
) -> str:
    """A complete JSON report (reports are read strictly) whose increase requests are `requests`."""
    return json.dumps(
        {
            "schema": "tap-preflight/report/v1",
            "command": "check",
            "verdict": "NO_GO",
            "region": region,
            "account_id": account_id,
            "environment": "prod",
            "manifest": {"path": "manifests/tap-pipeline.yaml", "name": "tap-pipeline", "sha256": "0" * 64},
            "findings": [],
            "increase_requests": [r.model_dump(mode="json") for r in requests],
        }
    )
