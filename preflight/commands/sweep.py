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
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

from preflight.gate import GatePolicy, exit_code, overrides_of
from preflight.quotas.catalog import partition_of
from preflight.report.report import CheckFinding, Finding, Override, Report
from preflight.report.results import Account, SweepResult, SweepRun, TargetResult, TargetStatus, Worst
from preflight.support.errors import AwsAccessError, ExitCode, InputError, PreflightError

if TYPE_CHECKING:
    from preflight.commands.options import GateOptions
    from preflight.support.config import Config

DEFAULT_ROLE = "OrganizationAccountAccessRole"  # what Organizations' CreateAccount makes in a member
DEFAULT_WORKERS = 8
MAX_WORKERS = 64
LIST_PAGE_SIZE = 20  # ListAccounts' MaxResults: 1 to 20
MAX_PAGES = 10_000  # a listing that never ends is the endpoint's bug, not an organisation
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
UNREADABLE_ID = "TAP-S001"  # the check id a target that could not be read carries in CI formats

STATUS_OF_EXIT: dict[int, TargetStatus] = {
    ExitCode.GO: "GO",
    ExitCode.NO_GO: "NO_GO",
    ExitCode.ENVIRONMENT: "UNKNOWN",
}
SEVERITY = {"FAIL": 0, "UNKNOWN": 1, "WARN": 2, "SUPPRESSED": 3, "OK": 4}


@dataclass(frozen=True)
class SweepRequest:
    """What `sweep` adds to the gate's options: whose accounts, which role, which shard, where to."""

    org: bool
    accounts_file: str | None
    role_name: str = "OrganizationAccountAccessRole"
    region_list: str | None = None  # --regions a,b
    shard: str | None = None  # I/N
    out_dir: str | None = None
    concurrency: int = 8


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
    from preflight.support.fileio import input_name, read_input

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
    from preflight.account.aws import AwsCallError, call

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
    from preflight.account.aws import AwsCallError, call

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
        try:
            aws = self.base.aws(region, role_arn=arn)
        except PreflightError as exc:
            return exc
        return aws.session_credentials()


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
    from preflight.commands.run import manifest_ref

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
    from preflight.commands.run import run_check

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


def report_file_name(account_id: str, region: str) -> str:
    return f"{account_id}-{region}.json"


def write_reports(out_dir: str, reports: Iterable[Report]) -> list[str]:
    """One JSON report per target in `out_dir` (made if missing), each written complete or not at all."""
    from preflight.support.fileio import write_output

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
    started = time.monotonic()
    aws = base.aws(regions[0])
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


# --- the command ---------------------------------------------------------------------------------------


def run_sweep_command(manifest: str, opts: GateOptions, config: Config, request: SweepRequest) -> SweepRun:
    """`sweep`: every flag and input checked, then every target of this shard checked; the reports
    written to --out-dir."""
    from preflight.account.sources import open_live_account
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region
    from preflight.support.fileio import check_outputs

    if request.org == bool(request.accounts_file):
        raise InputError("give --org (the organisation's accounts) or --accounts FILE, one of the two")
    check_flags(snapshot=opts.account.snapshot, stack_state=opts.stack_state, role_arn=opts.account.role_arn)
    policy = opts.policy(config)
    overrides = opts.overrides()
    shard = parse_shard(request.shard)
    check_role_name(request.role_name)
    check_workers(request.concurrency)
    account = opts.account.check()
    check_outputs(opts.outputs(), (manifest, request.accounts_file, account.sandbox))
    extra = [r.strip() for r in (request.region_list or "").split(",") if r.strip()]
    for region in (*opts.regions, *extra):
        check_region(region)
    accounts = read_accounts_file(request.accounts_file) if request.accounts_file else None
    loaded = load_manifest(manifest, opts.environment)
    regions = tuple(dict.fromkeys((*opts.regions, *extra))) or (loaded.doc.region,)
    with open_live_account(account, regions[0], why="sweep reads every account live") as base:
        result, reports = sweep(
            loaded,
            base,
            policy,
            regions=regions,
            role_name=request.role_name,
            accounts=accounts,
            shard=shard,
            workers=request.concurrency,
            overrides=overrides,
            warn_threshold=opts.warn_threshold,
        )
    if request.out_dir:
        write_reports(request.out_dir, reports)
    return SweepRun(result, tuple(reports), policy)
