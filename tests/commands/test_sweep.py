"""`sweep`: every account of an organisation, every region, checked by `check`'s own code.

The organisation is the sandbox's (`organization`: 50 accounts, varied states and usage, one whose
role denies the management account); the sweep's verdict for every account must be what a direct
`check` of that account says with the assumed role's credentials.
"""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import MANIFEST, ROOT

# The management account and 4 active members: 3 GO, 1 NO_GO, 1 denied (and 1 suspended member).
SMALL_ORG = str(ROOT / "tests" / "data" / "org-small.yaml")
GO_ORG = str(ROOT / "tests" / "data" / "org-go.yaml")  # 4 targets: 3 GO, 1 denied
ROLE = "OrganizationAccountAccessRole"


def _sweep_json(cli, *args: str) -> tuple[int, dict]:
    result = cli("sweep", MANIFEST, "--env", "prod", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


# --- the 50-account organisation: every verdict is a direct check's -------------------------------


def test_every_account_is_judged_as_a_direct_check_judges_it(sandbox) -> None:
    import boto3

    from preflight.account.sources import LiveAccount
    from preflight.commands.run import run_check
    from preflight.commands.sweep import STATUS_OF_EXIT, sweep, worst_of
    from preflight.gate import GatePolicy, exit_code
    from preflight.manifest import load_manifest
    from preflight.report.report import Stats
    from preflight.support.errors import AwsAccessError

    sb = sandbox("organization")
    base = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    manifest = load_manifest(MANIFEST, "prod")
    policy = GatePolicy.from_flags()
    result, reports = sweep(manifest, base, policy, regions=("us-east-1",), role_name=ROLE)

    org = boto3.client(
        "organizations",
        region_name="us-east-1",
        endpoint_url=sb.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    listed = [a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    assert len(listed) == 50
    active = sorted(a["Id"] for a in listed if a["State"] == "ACTIVE")
    assert [t.account_id for t in result.targets] == active  # every ACTIVE account, in id order
    assert sorted(a.state for a in result.skipped) == ["CLOSED", *["PENDING_CLOSURE"] * 2, *["SUSPENDED"] * 2]

    def direct(account_id: str):
        source = (
            base
            if account_id == sb.account_id
            else replace(base, role_arn=f"arn:aws:iam::{account_id}:role/{ROLE}")
        )
        try:
            return run_check(manifest, source, "us-east-1", policy)
        except AwsAccessError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=8) as pool:
        checks = list(pool.map(direct, active))
    for target, report, checked in zip(result.targets, reports, checks, strict=True):
        if isinstance(checked, AwsAccessError):  # check exits 3: the sweep says UNKNOWN, and why
            assert (target.status, target.verdict) == ("UNKNOWN", None), target
            assert "sts:AssumeRole" in target.detail and "sts:AssumeRole" in str(checked)
            assert report.checks[0].id == "TAP-S001" and report.checks[0].status == "UNKNOWN"
            continue
        assert target.status == STATUS_OF_EXIT[exit_code(checked, policy)], target
        assert target.verdict == checked.verdict and target.worst == worst_of(checked)
        assert report.model_copy(update={"stats": Stats()}) == checked.model_copy(update={"stats": Stats()})
    statuses = [t.status for t in result.targets]
    assert statuses.count("GO") == 36 and statuses.count("NO_GO") == 8 and statuses.count("UNKNOWN") == 1
    assert {t.worst.status for t in result.targets if t.worst} == {"OK", "WARN", "FAIL"}
    assert result.verdict == "NO_GO"


# --- shards ----------------------------------------------------------------------------------------


def test_shards_are_disjoint_deterministic_and_together_the_whole() -> None:
    from preflight.commands.sweep import shard_of, targets_of
    from preflight.report.results import Account

    accounts = [Account(id=f"{n:012d}") for n in random.Random(7).sample(range(10**11, 10**12), 23)]
    regions = ("us-east-1", "eu-west-1", "ap-south-1")
    whole = targets_of(accounts, regions)
    assert [t.key for t in whole] == sorted(t.key for t in whole)
    for count in (1, 2, 3, 5, 8, 69, 100):
        shards = [shard_of(whole, (i, count)) for i in range(1, count + 1)]
        keys = [t.key for shard in shards for t in shard]
        assert sorted(keys) == [t.key for t in whole] and len(set(keys)) == len(keys)
        assert max(map(len, shards)) - min(map(len, shards)) <= 1  # balanced
        shuffled = targets_of(random.Random(count).sample(accounts, len(accounts)), regions[::-1])
        assert [shard_of(shuffled, (i, count)) for i in range(1, count + 1)] == shards


def test_cli_shards_cover_the_sweep_once(cli) -> None:
    code, whole = _sweep_json(cli, "--org", "--sandbox", SMALL_ORG)
    assert code == 1 and len(whole["targets"]) == 5
    seen = []
    for i in (1, 2, 3):
        _, part = _sweep_json(cli, "--org", "--sandbox", SMALL_ORG, "--shard", f"{i}/3")
        assert part["shard"] == f"{i}/3"
        seen += part["targets"]
    assert sorted(seen, key=lambda t: t["account_id"]) == whole["targets"], (seen, whole["targets"])


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1/0", "a/b", "1", "-1/2"])
def test_a_bad_shard_is_input(cli, shard: str) -> None:
    result = cli("sweep", MANIFEST, "--org", "--sandbox", SMALL_ORG, "--shard", shard)
    assert result.exit_code == 2 and "--shard expects I/N" in result.stderr


# --- unreadable targets, exit codes ----------------------------------------------------------------


def test_a_denied_account_is_unknown_and_the_sweep_goes_on(cli) -> None:
    code, body = _sweep_json(cli, "--org", "--sandbox", GO_ORG)
    by_name = {t["account_name"]: t for t in body["targets"]}
    assert code == 3 and body["verdict"] == "UNKNOWN"
    assert by_name["locked-001"]["status"] == "UNKNOWN" and by_name["locked-001"]["verdict"] is None
    assert "AssumeRole" in by_name["locked-001"]["detail"]
    assert [by_name[n]["status"] for n in ("master", "dev-001", "dev-002")] == ["GO"] * 3


def test_allow_unknown_lets_an_unreadable_target_pass_and_says_so(cli) -> None:
    result = cli("sweep", MANIFEST, "--env", "prod", "--org", "--sandbox", GO_ORG, "--allow-unknown")
    assert result.exit_code == 0
    assert "UNKNOWN" in result.stdout and "Override --allow-unknown" in result.stdout


def test_a_no_go_outranks_an_unknown_and_soft_fail_exits_0(cli) -> None:
    code, body = _sweep_json(cli, "--org", "--sandbox", SMALL_ORG)
    assert code == 1 and body["counts"] == {"GO": 3, "NO_GO": 1, "UNKNOWN": 1}
    assert [a["state"] for a in body["skipped"]] == ["SUSPENDED"]
    code, _ = _sweep_json(cli, "--org", "--sandbox", SMALL_ORG, "--soft-fail")
    assert code == 0


# --- accounts from a file --------------------------------------------------------------------------


def test_accounts_from_a_file(cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# the two to check\n400000000003 stream\n\n400000000001  dev one  # comment\n")
    code, body = _sweep_json(cli, "--accounts", str(accounts), "--sandbox", SMALL_ORG)
    assert code == 1
    assert [(t["account_id"], t["account_name"], t["status"]) for t in body["targets"]] == [
        ("400000000001", "dev one", "GO"),
        ("400000000003", "stream", "NO_GO"),
    ]


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ("400000000001\n12345\n", 2, "not an AWS account id"),
        ("400000000001\n# fine\n400000000001 again\n", 3, "listed twice (first on line 1)"),
        ("arn:aws:iam::400000000001:root\n", 1, "not an AWS account id"),
        ("\n# nothing\n", None, "lists no account"),
        (b"400000000001\n\xff\xfe\n", 2, "not UTF-8"),
    ],
)
def test_a_bad_accounts_file_is_input_at_its_line(cli, tmp_path: Path, content, line, says) -> None:
    path = tmp_path / "accounts.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("sweep", MANIFEST, "--accounts", str(path), "--sandbox", SMALL_ORG)
    where = f"{path}:{line}" if line else str(path)
    assert result.exit_code == 2 and where in result.stderr and says in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "give --org"),
        (("--org", "--accounts", "x.txt"), "give --org"),
        (("--org", "--role-arn", "arn:aws:iam::1:role/r"), "--role-name"),
        (("--org", "--snapshot", "s.json"), "--snapshot"),
        (("--org", "--role-name", "bad name"), "--role-name"),
        (("--org", "--concurrency", "0"), "--concurrency"),
        (("--org", "--regions", "us-east-1,nowhere"), "nowhere"),
    ],
)
def test_flags_that_do_not_fit_a_sweep_are_input(cli, args: tuple[str, ...], says: str) -> None:
    result = cli("sweep", MANIFEST, "--sandbox", SMALL_ORG, *args)
    assert result.exit_code == 2 and says in result.stderr, result.stderr


# --- every format, one report per target -----------------------------------------------------------


def test_every_format_and_a_report_per_target(cli, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = cli(
        "sweep", MANIFEST, "--env", "prod", "--org", "--sandbox", SMALL_ORG,
        "--out-dir", str(out),
        "--report", f"sarif={tmp_path / 's.sarif'}",
        "--report", f"junit={tmp_path / 'j.xml'}",
        "--report", f"github={tmp_path / 'g.txt'}",
        "--report", f"markdown={tmp_path / 'm.md'}",
        "--report", f"json={tmp_path / 'r.json'}",
    )  # fmt: skip
    assert result.exit_code == 1
    ids = ["123456789012", "400000000001", "400000000002", "400000000003", "400000000004"]
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"{i}-us-east-1.json" for i in ids]
    for i in ids:
        report = json.loads((out / f"{i}-us-east-1.json").read_text())
        assert report["schema"] == "tap-preflight/report/v1" and report["account_id"] == i
    denied = json.loads((out / "400000000004-us-east-1.json").read_text())
    assert denied["checks"][0]["id"] == "TAP-S001" and denied["checks"][0]["status"] == "UNKNOWN"

    sarif = json.loads((tmp_path / "s.sarif").read_text())
    categories = [run["automationDetails"]["id"] for run in sarif["runs"]]
    assert len(categories) == 5 == len(set(categories))
    junit = ET.fromstring((tmp_path / "j.xml").read_text())
    assert len(junit.findall("testsuite")) == 5 and int(junit.get("errors", "0")) >= 1
    github = (tmp_path / "g.txt").read_text()
    assert github.count("::group::") == 5 and "::error" in github
    markdown = (tmp_path / "m.md").read_text()
    assert "### tap-preflight sweep" in markdown and "❔ UNKNOWN" in markdown and "❌ NO_GO" in markdown
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["schema"] == "tap-preflight/sweep/v1" and len(summary["targets"]) == 5
    table = result.stdout
    assert "400000000003  stream-001" in table and "Overall: NO_GO" in table


def test_the_out_dir_must_be_a_directory(cli, tmp_path: Path) -> None:
    taken = tmp_path / "file"
    taken.write_text("x")
    result = cli("sweep", MANIFEST, "--org", "--sandbox", GO_ORG, "--out-dir", str(taken))
    assert result.exit_code == 2 and str(taken) in result.stderr


# --- listing the organisation ----------------------------------------------------------------------


def test_listing_needs_an_organisation(cli) -> None:
    result = cli("sweep", MANIFEST, "--org", "--sandbox", "fresh-account")
    assert result.exit_code == 3
    assert "cannot list the organisation's accounts" in result.stderr and "--accounts FILE" in result.stderr


def test_the_listing_reads_state_not_status() -> None:
    from preflight.commands.sweep import list_organization

    pages = [
        {
            "Accounts": [
                {"Id": "000000000002", "Name": "b", "Status": "ACTIVE", "State": "CLOSED"},
                {"Id": "000000000001", "Name": "a", "Status": "SUSPENDED"},  # no State: Status read
            ],
            "NextToken": "t1",
        },
        {"Accounts": [], "NextToken": "t2"},  # an empty page with a token: keep going (the API says so)
        {"Accounts": [{"Id": "000000000003", "State": "PENDING_CLOSURE"}]},
    ]
    calls = []

    class Client:
        class meta:
            class service_model:
                service_name = "organizations"

        def list_accounts(self, **kwargs):
            calls.append(kwargs)
            return pages[len(calls) - 1]

    class FakeAws:
        def client(self, name):
            return Client()

    accounts = list_organization(FakeAws())
    assert [(a.id, a.state) for a in accounts] == [
        ("000000000001", "SUSPENDED"),
        ("000000000002", "CLOSED"),
        ("000000000003", "PENDING_CLOSURE"),
    ]
    assert [c.get("NextToken") for c in calls] == [None, "t1", "t2"]
    assert all(c["MaxResults"] == 20 for c in calls)


# --- in a terminal -----------------------------------------------------------------------------------


def test_progress_and_table_in_an_80_column_terminal() -> None:
    from tests.e2e.test_terminal import SCRIPT, assert_readable, run_in_terminal

    if not SCRIPT.exists():
        pytest.fail("needs .venv/bin/tap-preflight (make .venv/.installed)")
    run = run_in_terminal(
        "sweep", MANIFEST, "--env", "prod", "--org", "--sandbox", SMALL_ORG, width=80, color=False
    )
    assert run.code == 1
    assert_readable(run, color=False)  # no traceback, no line wider than 80 columns
    lines = run.text.splitlines()
    assert "sweep: 5 target(s), 5 at a time" in lines
    assert "sweep: 5/5 done, 2 failing, 0 left" in "\n".join(lines)
    rows = [line for line in lines if line.startswith("4000000000")]
    assert len(rows) == 4
    # The denied row's reason wraps within its column (under "worst quota / why"), whole.
    column = next(line for line in lines if line.startswith("account ")).index("worst quota")
    reason = " ".join(line.strip() for line in lines[lines.index(rows[-1]) :][:5] if line.strip())
    assert "cannot assume OrganizationAccountAccessRole" in reason and "access denied" in reason
    assert any(line.startswith(" " * column) and line.strip() for line in lines)
    assert any(line.startswith("5 target(s): 3 GO, 1 NO_GO, 1 UNKNOWN") for line in lines)


def test_no_progress_when_stderr_is_not_a_terminal(cli) -> None:
    result = cli("sweep", MANIFEST, "--env", "prod", "--org", "--sandbox", GO_ORG)
    assert "sweep:" not in result.stderr and result.exit_code == 3


def test_an_empty_shard_is_go_with_empty_documents(cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("400000000001\tdev\n")  # a tab between id and name is fine too
    result = cli(
        "sweep", MANIFEST, "--env", "prod", "--accounts", str(accounts), "--sandbox", SMALL_ORG,
        "--shard", "2/2", "--format", "sarif", "--report", f"junit={tmp_path / 'j.xml'}",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["runs"] == []
    assert ET.fromstring((tmp_path / "j.xml").read_text()).get("tests") == "0"


def test_each_region_of_an_account_is_its_own_target(cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("400000000003 stream\n")  # other stacks hold its concurrency in us-east-1 only
    code, body = _sweep_json(
        cli, "--accounts", str(accounts), "--sandbox", SMALL_ORG, "--regions", "us-east-1,eu-west-1"
    )
    assert code == 1 and body["regions"] == ["us-east-1", "eu-west-1"]
    assert [(t["region"], t["status"]) for t in body["targets"]] == [
        ("eu-west-1", "GO"),
        ("us-east-1", "NO_GO"),
    ]


def test_fail_on_warn_fails_the_busy_accounts_in_every_view(cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("300000000031 batch\n")  # 800 of 1000 concurrent executions after the deploy
    args = ("--accounts", str(accounts), "--sandbox", "organization")
    code, body = _sweep_json(cli, *args)
    assert code == 0 and body["targets"][0]["worst"]["status"] == "WARN"
    code, body = _sweep_json(cli, *args, "--fail-on", "warn", "--report", f"junit={tmp_path / 'j.xml'}")
    assert code == 1 and body["targets"][0]["status"] == "NO_GO"
    assert int(ET.fromstring((tmp_path / "j.xml").read_text()).get("failures", "0")) >= 1


def test_each_account_s_role_is_assumed_once_for_all_its_regions(cli, sandbox) -> None:
    sb = sandbox(SMALL_ORG)
    regions = "us-east-1,eu-west-1,us-west-2"
    result = cli(
        "sweep",
        MANIFEST,
        "--env",
        "prod",
        "--org",
        "--regions",
        regions,
        "--format",
        "json",
        env=sb.client_env(),
    )
    body = json.loads(result.stdout)
    assert result.exit_code == 1 and len(body["targets"]) == 5 * 3
    # 4 members (3 assumed, 1 refused by its role's trust policy), each asked once, not per region.
    assert sb.call_log.counts()["sts:AssumeRole"] == 4
    locked = [t for t in body["targets"] if t["account_name"] == "locked-001"]
    assert len(locked) == 3 and all("AssumeRole" in t["detail"] for t in locked), locked
    stream = {t["region"]: t["status"] for t in body["targets"] if t["account_name"] == "stream-001"}
    assert stream == {"us-east-1": "NO_GO", "eu-west-1": "GO", "us-west-2": "GO"}
