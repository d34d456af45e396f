"""`sweep`: the gate in every account of an organisation, every region asked for.

The accounts come from AWS Organizations (`ListAccounts`, from the management account or a delegated
administrator; only accounts whose `State` is ACTIVE: `Status` is being retired) or from a file. Each
account × region (a target) is checked by `run_check`, the code `check` runs, with the account's
`--role-name` assumed once per account, its credentials serving all the account's regions (the
caller's own account is read with the caller's credentials). Targets run a
bounded number at a time; each target has its own clients, so botocore's adaptive retries pace each
account and region at its own API rates. A target that cannot be read (AssumeRole denied, a read that
fails) is UNKNOWN and the sweep goes on; UNKNOWN blocks the overall verdict as everywhere else.

`--shard I/N` keeps the targets whose position in the (account id, region) order is I-1 modulo N: the
shards of one sweep are disjoint and their union is the whole, whatever runner takes which.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, TextIO

from preflight.errors import AwsAccessError, ExitCode, InputError, PreflightError
from preflight.gate import GatePolicy, exit_code, overrides_of
from preflight.model import Frozen
from preflight.quotas.catalog import partition_of
from preflight.report import CheckFinding, Finding, Override, Report

SWEEP_SCHEMA = "tap-preflight/sweep/v1"
DEFAULT_ROLE = "OrganizationAccountAccessRole"  # what Organizations' CreateAccount makes in a member
DEFAULT_WORKERS = 8
MAX_WORKERS = 64
LIST_PAGE_SIZE = 20  # ListAccounts' MaxResults: 1 to 20
MAX_PAGES = 10_000  # a listing that never ends is the endpoint's bug, not an organisation
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
UNREADABLE_ID = "TAP-S001"  # the check id a target that could not be read carries in CI formats

TargetStatus = Literal["GO", "NO_GO", "UNKNOWN"]
STATUS_OF_EXIT: dict[int, TargetStatus] = {
    ExitCode.GO: "GO",
    ExitCode.NO_GO: "NO_GO",
    ExitCode.ENVIRONMENT: "UNKNOWN",
}
SEVERITY = {"FAIL": 0, "UNKNOWN": 1, "WARN": 2, "SUPPRESSED": 3, "OK": 4}


class Account(Frozen):
    id: str
    name: str = ""
    state: str = "ACTIVE"  # Organizations' account State; from a file: taken as ACTIVE


class Worst(Frozen):
    """The finding closest to failing in a target: worst status, then highest utilization."""

    id: str  # quota code or check id
    name: str
    status: str
    after: float | None = None  # usage + demand
    limit: float | None = None

    def text(self) -> str:
        status = "" if self.status == "OK" else f"{self.status} "
        if self.after is None or self.limit is None:
            return f"{status}{self.id} {self.name}"
        return f"{status}{self.id} {_num(self.after)}/{_num(self.limit)} {self.name}"


class TargetResult(Frozen):
    account_id: str
    account_name: str = ""
    region: str
    status: TargetStatus
    verdict: str | None  # the check's verdict; None when the target could not be read
    worst: Worst | None = None
    detail: str = ""  # why it could not be read


class SweepResult(Frozen):
    schema_: str = SWEEP_SCHEMA
    verdict: TargetStatus
    role_name: str
    regions: tuple[str, ...]
    shard: str | None = None
    targets: tuple[TargetResult, ...]
    skipped: tuple[Account, ...] = ()  # accounts not ACTIVE
    overrides: tuple[Override, ...] = ()  # flags that change verdicts or the exit code on purpose
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {"GO": 0, "NO_GO": 0, "UNKNOWN": 0}
        for t in self.targets:
            out[t.status] += 1
        return out

    def to_json(self) -> str:
        body = self.model_dump(mode="json")
        return json.dumps({"schema": body.pop("schema_"), **body, "counts": self.counts()}, indent=2) + "\n"


@dataclass(frozen=True)
class Target:
    account: Account
    region: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.account.id, self.region)


# --- inputs ----------------------------------------------------------------------------------------


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`I/N` (1 <= I <= N) as (I, N); InputError naming --shard otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(f"--shard expects I/N with 1 <= I <= N (like 2/4), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def check_role_name(name: str) -> str:
    if not ROLE_NAME_RE.match(name):
        raise InputError(f"--role-name {name!r} is not an IAM role name (letters, digits, +=,.@_-, 1-64)")
    return name


def check_workers(n: int) -> int:
    if not 1 <= n <= MAX_WORKERS:
        raise InputError(f"--concurrency must be 1 to {MAX_WORKERS}, got {n}")
    return n


def read_accounts_file(path: str) -> tuple[Account, ...]:
    """Accounts, one a line: a 12-digit id, optionally a name after it; `#` starts a comment.
    InputError at file:line for anything else, a repeated id, or no account at all."""
    from preflight.fileio import input_name, read_input

    name = input_name(path)
    raw = read_input(path, "accounts file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", file=name, line=line) from None
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        account_id, *rest_of_line = content.split(None, 1)
        rest = rest_of_line[0] if rest_of_line else ""
        if not ACCOUNT_ID_RE.match(account_id):
            shown = account_id if len(account_id) <= 40 else account_id[:40] + "..."
            raise InputError(
                f"{shown!r} is not an AWS account id (12 digits, then an optional name)",
                file=name,
                line=number,
            )
        if account_id in seen:
            raise InputError(
                f"account {account_id} is listed twice (first on line {seen[account_id]})",
                file=name,
                line=number,
            )
        seen[account_id] = number
        accounts.append(Account(id=account_id, name=rest.strip()))
    if not accounts:
        raise InputError("lists no account (one 12-digit id a line)", file=name)
    return tuple(accounts)


# --- the organisation ------------------------------------------------------------------------------


# The retired Status, read only when an answer has no State (an older endpoint): it knows no CLOSED.
_STATE_FROM_STATUS = {"ACTIVE": "ACTIVE", "SUSPENDED": "SUSPENDED", "PENDING_CLOSURE": "PENDING_CLOSURE"}


def list_organization(aws: Any) -> tuple[Account, ...]:
    """Every account of the organisation (ListAccounts, to the last page), sorted by id."""
    from preflight.aws import AwsCallError, call

    client = aws.client("organizations")
    accounts: list[Account] = []
    token: str | None = None
    seen_tokens: set[str] = set()
    try:
        for _ in range(MAX_PAGES):
            page = call(
                client, "ListAccounts", MaxResults=LIST_PAGE_SIZE, **({"NextToken": token} if token else {})
            )
            for item in page.get("Accounts", []):
                state = item.get("State") or _STATE_FROM_STATUS.get(item.get("Status", ""), "UNKNOWN")
                accounts.append(Account(id=item["Id"], name=item.get("Name", ""), state=state))
            # An empty page may still have a NextToken (the API says so): follow it to the end.
            token = page.get("NextToken")
            if not token:
                break
            if token in seen_tokens:
                raise AwsAccessError("organizations:ListAccounts returned the same NextToken twice")
            seen_tokens.add(token)
    except AwsCallError as exc:
        raise AwsAccessError(
            f"cannot list the organisation's accounts: {exc} (run from the management account or a "
            "delegated administrator, or give the accounts with --accounts FILE)",
            operation="organizations:ListAccounts",
            permission=exc.permission,
        ) from exc
    return tuple(sorted({a.id: a for a in accounts}.values(), key=lambda a: a.id))


def caller_account(aws: Any) -> str:
    """The account whose credentials run the sweep: read with them, no role to assume."""
    from preflight.aws import AwsCallError, call

    try:
        return str(call(aws.client("sts"), "GetCallerIdentity")["Account"])
    except AwsCallError as exc:
        raise AwsAccessError(f"cannot tell which account the credentials are for: {exc}") from exc


# --- targets ---------------------------------------------------------------------------------------


def targets_of(accounts: Iterable[Account], regions: Sequence[str]) -> list[Target]:
    """Every account × region, in (account id, region) order: the order shards are cut from."""
    return sorted((Target(a, r) for a in accounts for r in dict.fromkeys(regions)), key=lambda t: t.key)


def shard_of(targets: Sequence[Target], shard: tuple[int, int] | None) -> list[Target]:
    """Shard I of N: every N-th target from the (I-1)-th. Disjoint, and together the whole."""
    if shard is None:
        return list(targets)
    index, count = shard
    return [t for position, t in enumerate(targets) if position % count == index - 1]


def role_arn(account_id: str, role_name: str, region: str) -> str:
    return f"arn:{partition_of(region)}:iam::{account_id}:role/{role_name}"


def source_for(base: Any, target: Target, role_name: str, caller: str) -> Any:
    """The account source `check --role-arn` would use for this target (none for the caller's own)."""
    if target.account.id == caller:
        return base
    return replace(base, role_arn=role_arn(target.account.id, role_name, target.region))


class RoleSessions:
    """One AssumeRole per account: the role's temporary credentials serve every region of that
    account (STS is asked once, not once per region; a session lasts an hour, past the sweep's
    default --timeout). A refusal is remembered too: every region of that account says it."""

    def __init__(self, base: Any, role_name: str, caller: str) -> None:
        self.base = base
        self.role_name = role_name
        self.caller = caller
        self._lock = threading.Lock()
        self._held: dict[str, tuple[threading.Lock, list[Any]]] = {}

    def source(self, target: Target) -> Any:
        """The account source for the target; AwsAccessError when its role cannot be assumed."""
        if target.account.id == self.caller:
            return self.base
        arn = role_arn(target.account.id, self.role_name, target.region)
        with self._lock:
            lock, held = self._held.setdefault(arn, (threading.Lock(), []))
        with lock:  # the account's other regions wait for its one AssumeRole
            if not held:
                held.append(self._assume(arn, target.region))
        found = held[0]
        if isinstance(found, PreflightError):
            raise copy.copy(found)  # one instance per raise: threads do not share a traceback
        return replace(self.base, profile=None, role_arn=None, credentials=found)

    def _assume(self, arn: str, region: str) -> tuple[str, ...] | PreflightError:
        from preflight.aws import Aws

        try:
            aws = Aws(
                region,
                profile=self.base.profile,
                endpoint_url=self.base.endpoint_url,
                role_arn=arn,
                credentials=self.base.credentials,
            )
        except PreflightError as exc:
            return exc
        return aws.session_credentials()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def worst_of(report: Report) -> Worst | None:
    def key(f: Finding | CheckFinding) -> tuple[int, float]:
        utilization = f.utilization_after if isinstance(f, Finding) else None
        return (SEVERITY.get(f.status, 9), -(utilization or 0.0))

    items: list[Finding | CheckFinding] = [*report.findings, *report.checks]
    if not items:
        return None
    f = min(items, key=key)
    if isinstance(f, CheckFinding):
        return Worst(id=f.id, name=f.title, status=f.status)
    after = None if f.usage is None else f.usage + f.demand
    return Worst(id=f.quota_code, name=f.quota_name, status=f.status, after=after, limit=f.limit)


def evaluated(target: Target, report: Report, policy: GatePolicy) -> TargetResult:
    """A target's row from its check report: its status is what `check`'s exit code says."""
    return TargetResult(
        account_id=target.account.id,
        account_name=target.account.name,
        region=target.region,
        status=STATUS_OF_EXIT.get(exit_code(report, replace(policy, soft_fail=False)), "UNKNOWN"),
        verdict=report.verdict,
        worst=worst_of(report),
    )


def unreadable(target: Target, error: PreflightError) -> TargetResult:
    return TargetResult(
        account_id=target.account.id,
        account_name=target.account.name,
        region=target.region,
        status="UNKNOWN",
        verdict=None,
        detail=" ".join(str(error).split()),
    )


def unreadable_report(manifest: Any, result: TargetResult) -> Report:
    """What a target that could not be read is in the CI formats: one UNKNOWN check saying why."""
    from preflight.commands import manifest_ref

    return Report(
        verdict="NO_GO",
        region=result.region,
        account_id=result.account_id,
        environment=manifest.environment,
        manifest=manifest_ref(manifest),
        findings=(),
        checks=(
            CheckFinding(
                kind="availability",
                id=UNREADABLE_ID,
                title="account could not be read",
                status="UNKNOWN",
                message=f"account {result.account_id} in {result.region} could not be read: {result.detail}",
                resources=(),
                names=(result.account_id,),
                fix="let the sweep's credentials assume the role in this account, or leave it out "
                "(--accounts FILE)",
            ),
        ),
    )


# --- running ---------------------------------------------------------------------------------------


class Progress:
    """Targets done, failing and left, on stderr, on a terminal only: a short line at each tenth and
    at the end (no carriage-return redraws, which a CI log with a tty keeps as one ever-growing line)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.failing = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._shown_tenth = 0
        self.active = _isatty(self.stream) and total > 0

    def start(self, workers: int) -> None:
        if self.active:
            self._write(f"sweep: {self.total} target(s), {min(workers, self.total)} at a time")

    def advance(self, result: TargetResult) -> None:
        with self._lock:
            self.done += 1
            self.failing += result.status != "GO"
            tenth = self.done * 10 // self.total
            if not self.active or (tenth == self._shown_tenth and self.done != self.total):
                return
            self._shown_tenth = tenth
            left, seconds = self.total - self.done, time.monotonic() - self.started
            self._write(
                f"sweep: {self.done}/{self.total} done, {self.failing} failing, {left} left ({seconds:.1f} s)"
            )

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_target(
    manifest: Any, source: Any, target: Target, policy: GatePolicy, **check_args: Any
) -> tuple[TargetResult, Report | None]:
    """One target checked as `check` checks it; a failure to read it is this target's UNKNOWN only."""
    from preflight.commands import run_check

    try:
        report = run_check(manifest, source, target.region, policy, **check_args)
    except InputError:
        raise  # the same manifest and flags everywhere: bad input is the run's, exit 2
    except PreflightError as exc:  # denied, unreachable, past the deadline: this target only
        return unreadable(target, exc), None
    return evaluated(target, report, policy), report


def run_sweep(
    manifest: Any,
    base: Any,
    targets: Sequence[Target],
    policy: GatePolicy,
    *,
    role_name: str,
    caller: str,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    **check_args: Any,
) -> list[tuple[TargetResult, Report | None]]:
    """Every target, `workers` at a time; results in the targets' order."""

    sessions = RoleSessions(base, role_name, caller)

    def one(target: Target) -> tuple[TargetResult, Report | None]:
        try:
            source = sessions.source(target)
        except InputError:
            raise
        except PreflightError as exc:  # the role could not be assumed: this account's targets only
            outcome: tuple[TargetResult, Report | None] = (unreadable(target, exc), None)
        else:
            outcome = run_target(manifest, source, target, policy, **check_args)
        if progress is not None:
            progress.advance(outcome[0])
        return outcome

    if progress is not None:
        progress.start(workers)
    if workers <= 1 or len(targets) <= 1:
        return [one(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(workers, len(targets)), thread_name_prefix="sweep") as pool:
        return list(pool.map(one, targets))


def overall(results: Iterable[TargetResult]) -> TargetStatus:
    statuses = {r.status for r in results}
    for status in ("NO_GO", "UNKNOWN"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "GO"


def sweep_exit_code(result: SweepResult, policy: GatePolicy) -> ExitCode:
    """1 when a target is NO_GO (a known verdict outranks an unknown one); 3 when a target could not
    be evaluated (--allow-unknown: a target that could not be read passes, shown as UNKNOWN); else 0.
    --soft-fail: 0."""
    if policy.soft_fail:
        return ExitCode.GO
    statuses = {t.status for t in result.targets if not (policy.allow_unknown and t.verdict is None)}
    if "NO_GO" in statuses:
        return ExitCode.NO_GO
    if "UNKNOWN" in statuses:
        return ExitCode.ENVIRONMENT
    return ExitCode.GO


# --- rendering -------------------------------------------------------------------------------------


ROLE_ARN_PREFIX = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/")


def _rows(result: SweepResult) -> list[tuple[str, str, str, str, str]]:
    # The row names the account: the role's name says the rest (the JSON keeps the whole ARN).
    return [
        (
            t.account_id,
            t.account_name,
            t.region,
            t.status,
            t.worst.text() if t.worst else ROLE_ARN_PREFIX.sub("", t.detail),
        )
        for t in result.targets
    ]


def _summary(result: SweepResult) -> str:
    counts = result.counts()
    shard = f" (shard {result.shard})" if result.shard else ""
    line = (
        f"{len(result.targets)} target(s){shard}: {counts['GO']} GO, {counts['NO_GO']} NO_GO, "
        f"{counts['UNKNOWN']} UNKNOWN. Overall: {result.verdict}."
    )
    if result.skipped:
        by_state: dict[str, int] = {}
        for a in result.skipped:
            by_state[a.state] = by_state.get(a.state, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
        line += f" Skipped {len(result.skipped)} account(s) not ACTIVE ({states})."
    for o in result.overrides:
        line += f"\nOverride {o.flag}: {o.detail}."
    return line


MIN_LAST_COLUMN = 24  # narrower than this, the last column wraps under the row instead of beside it


def render_sweep_table(result: SweepResult, width: int | None = None) -> str:
    """One row per target. On a terminal every line fits its width: the name gives way first, then
    the last column (the worst quota, or why the target could not be read) wraps within its column."""
    import textwrap

    from preflight.terminal import fit

    header = ("account", "name", "region", "verdict", "worst quota / why")
    rows = [header, *_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    if width is not None:
        fixed = widths[0] + widths[2] + widths[3] + 4 * 2
        beside = width - fixed - MIN_LAST_COLUMN  # what the name may take with the last column beside it
        # Too narrow for that: the last column goes under the row and the name keeps what is left.
        widths[1] = min(widths[1], beside) if beside >= 8 else max(4, min(widths[1], width - fixed - 2))
    start = sum(widths) + 4 * 2
    indent = start if width is None or width - start >= MIN_LAST_COLUMN else 4
    lines = []
    for r in rows:
        cells = "  ".join(_cut(c, w).ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  "
        if width is None or len(cells) + len(r[4]) <= width:
            lines.append((cells + r[4]).rstrip())
            continue
        first_width = width - len(cells) if indent == start else 0
        words = textwrap.wrap(r[4], width=max(1, first_width), break_long_words=True) if first_width else []
        lines.append((cells + (words[0] if words else "")).rstrip())
        rest = r[4][len(words[0]) :].strip() if words else r[4]
        lines += [" " * indent + part for part in textwrap.wrap(rest, width=width - indent)]
    return "\n".join(lines) + "\n" + fit(_summary(result) + "\n", width)


def _cut(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


def render_sweep_markdown(result: SweepResult) -> str:
    from preflight.ci import truncate_markdown
    from preflight.formats.markdown import code, table_lines, text

    icon = {"GO": "✅", "NO_GO": "❌", "UNKNOWN": "❔"}
    rows = [
        [code(a, cell=True), text(n), code(r, cell=True), f"{icon[s]} {s}", text(w)]
        for a, n, r, s, w in _rows(result)
    ]
    out = [
        "### tap-preflight sweep",
        "",
        *table_lines(("account", "name", "region", "verdict", "worst quota / why"), rows),
    ]
    return truncate_markdown(
        "\n".join([*out, "", text(_summary(result))]) + "\n",
        where="the JSON (`--format json`) or `--out-dir`",
    )


def render_sweep(
    result: SweepResult,
    reports: list[Report],
    fmt: str,
    *,
    width: int | None = None,
    policy: GatePolicy | None = None,
) -> str:
    """The sweep in `fmt`: table, json and markdown are the summary; SARIF, JUnit and GitHub
    annotations carry every target's own report (an unreadable target as one UNKNOWN check)."""
    if fmt in ("sarif", "junit", "github") and not reports:  # an empty shard: a valid, empty document
        return _empty(fmt, result)
    match fmt:
        case "json":
            return result.to_json()
        case "markdown":
            return render_sweep_markdown(result)
        case "table":
            return render_sweep_table(result, width)
        case "sarif":
            return _sarif(reports)
        case "junit":
            return _junit(reports, policy)
        case "github":
            return _github(reports, result)
        case _:
            raise InputError(f"unknown format {fmt!r}")


def _empty(fmt: str, result: SweepResult) -> str:
    if fmt == "sarif":
        from preflight.formats.sarif import SCHEMA_URI

        return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": []}, indent=2) + "\n"
    if fmt == "junit":
        return '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="tap-preflight sweep" tests="0" />\n'
    return _summary(result) + "\n"


def _sarif(reports: list[Report]) -> str:
    from preflight.formats import render

    logs = [json.loads(render(r, "sarif")) for r in reports]
    runs = []
    for report, log in zip(reports, logs, strict=True):
        for run in log["runs"]:
            # One category per account and region: code scanning refuses two runs with one category.
            run["automationDetails"] = {
                "id": f"tap-preflight/{report.environment or 'default'}/{report.account_id}/{report.region}/"
            }
            runs.append(run)
    return json.dumps({**logs[0], "runs": runs}, indent=2) + "\n"


def _junit(reports: list[Report], policy: GatePolicy | None) -> str:
    import xml.etree.ElementTree as ET

    from preflight.formats import render

    # JUnit fails WARNs as the gate's policy does (--fail-on warn), as check's JUnit does.
    roots = [ET.fromstring(render(r, "junit", policy=policy)) for r in reports]
    merged = roots[0]
    for root in roots[1:]:
        merged.extend(list(root))
    for attr in ("tests", "failures", "errors", "skipped"):
        merged.set(attr, str(sum(int(r.get(attr, "0")) for r in roots)))
    for report, suite in zip(reports, merged.iter("testsuite"), strict=False):
        suite.set("name", f"{suite.get('name', 'tap-preflight')} account {report.account_id}")
    ET.indent(merged)
    return ET.tostring(merged, encoding="unicode", xml_declaration=True) + "\n"


def _github(reports: list[Report], result: SweepResult) -> str:
    from preflight.formats import render

    parts = []
    for report in reports:
        parts.append(f"::group::{report.account_id} {report.region}\n")
        parts.append(render(report, "github"))
        parts.append("::endgroup::\n")
    return "".join(parts) + _summary(result) + "\n"


def report_file_name(account_id: str, region: str) -> str:
    return f"{account_id}-{region}.json"


def write_reports(out_dir: str, reports: Iterable[Report]) -> list[str]:
    """One JSON report per target in `out_dir` (made if missing), each written complete or not at all."""
    from preflight.fileio import write_output

    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError("--out-dir must be a directory", file=out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out-dir cannot be made: {exc.strerror or exc}", file=out_dir) from None
    written = []
    for report in reports:
        path = os.path.join(out_dir, report_file_name(report.account_id, report.region))
        write_output(path, report.to_json())
        written.append(path)
    return written


def sweep(
    manifest: Any,
    base: Any,
    policy: GatePolicy,
    *,
    regions: Sequence[str],
    role_name: str,
    accounts: Sequence[Account] | None = None,
    shard: tuple[int, int] | None = None,
    workers: int = DEFAULT_WORKERS,
    progress_stream: TextIO | None = None,
    **check_args: Any,
) -> tuple[SweepResult, list[Report]]:
    """The whole sweep: accounts (the organisation's unless given), targets, this shard's checks.
    Returns the summary and one report per target (unreadable targets as `unreadable_report`)."""
    from preflight.aws import Aws

    started = time.monotonic()
    aws = Aws(regions[0], profile=base.profile, endpoint_url=base.endpoint_url, credentials=base.credentials)
    listed = accounts if accounts is not None else list_organization(aws)
    # An account whose state could not be told is checked (fail closed): only a known state skips.
    active = [a for a in listed if a.state in ("ACTIVE", "UNKNOWN")]
    skipped = tuple(a for a in listed if a.state not in ("ACTIVE", "UNKNOWN"))
    if not active:
        raise AwsAccessError("no ACTIVE account to sweep" + (f" ({len(skipped)} skipped)" if skipped else ""))
    caller = caller_account(aws)
    chosen = shard_of(targets_of(active, regions), shard)
    progress = Progress(len(chosen), progress_stream)
    outcomes = run_sweep(
        manifest,
        base,
        chosen,
        policy,
        role_name=role_name,
        caller=caller,
        workers=workers,
        progress=progress,
        **check_args,
    )
    results = tuple(r for r, _ in outcomes)
    result = SweepResult(
        verdict=overall(results),
        role_name=role_name,
        regions=tuple(dict.fromkeys(regions)),
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
        targets=results,
        skipped=skipped,
        overrides=_overrides(policy, check_args.get("overrides") or {}),
        elapsed_s=round(time.monotonic() - started, 3),
    )
    reports = [report or unreadable_report(manifest, r) for r, report in outcomes]
    return result, reports


def _overrides(policy: GatePolicy, limits: dict[str, float]) -> tuple[Override, ...]:
    out = []
    for o in overrides_of(policy, limits):
        if o.flag == "--allow-unknown":  # in a sweep it covers the targets that could not be read too
            o = Override(flag=o.flag, detail=o.detail + ", nor do targets that could not be read")
        out.append(o)
    return tuple(out)


def check_flags(*, snapshot: str | None, stack_state: str | None, role_arn: str | None) -> None:
    """Flags of the other gate commands that mean nothing for a sweep: refused, not ignored."""
    if snapshot:
        raise InputError("--snapshot holds one account: sweep reads every account live (or --sandbox)")
    if stack_state:
        raise InputError("--stack-state is one stack's state: sweep checks many accounts; leave it out")
    if role_arn:
        raise InputError(
            "--role-arn: sweep assumes --role-name in each account; run it with the management "
            "or delegated administrator account's credentials (--profile)"
        )
