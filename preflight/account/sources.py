"""Where an account comes from: the one module that opens accounts, behind one interface.

Six ways in, one `AccountOptions` (the flags every command that reads an account shares) and one
`open_account`: a live account (boto3's credential chain, `AWS_ENDPOINT_URL` honoured as boto3 does),
a `--profile`, a role assumed first (`--role-arn`), an endpoint (`--endpoint-url`, an emulated account
served elsewhere), the built-in emulated account (`--sandbox SCENARIO`) and a snapshot file
(`--snapshot`, offline). Flags that exclude each other are refused here, once, as bad input (exit 2).

Only `preflight.support.errors` is imported at start-up: the CLI builds its options from this module, and
`--help` must not pay for boto3 or pydantic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from preflight.support.errors import InputError

if TYPE_CHECKING:  # annotations only: the manifest and the account reader pull pydantic and boto3
    from preflight.account.aws import Aws
    from preflight.account.read import AccountState, Progress
    from preflight.manifest import Manifest

PLACEHOLDER_AZS = tuple(f"az-{i}" for i in range(1, 7))  # the stack's names do not depend on the zones
SANDBOX_CREDENTIALS = ("testing", "testing")  # what the emulated account accepts


class AccountSource(Protocol):
    """An account's limits and usage in one region, read for one manifest's stack."""

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState: ...


@dataclass(frozen=True)
class AccountOptions:
    """The account flags, as given: at most one of sandbox, snapshot and endpoint_url."""

    profile: str | None = None
    role_arn: str | None = None
    sandbox: str | None = None
    snapshot: str | None = None
    endpoint_url: str | None = None

    def check(self) -> AccountOptions:
        """Itself, or InputError (exit 2) naming the flags that exclude each other."""
        given = [
            flag
            for flag, value in (
                ("--sandbox", self.sandbox),
                ("--snapshot", self.snapshot),
                ("--endpoint-url", self.endpoint_url),
            )
            if value
        ]
        if len(given) > 1:
            raise InputError(f"{' and '.join(given)} exclude each other: give one account")
        if self.endpoint_url:
            from preflight.account.aws import check_endpoint_url

            check_endpoint_url(self.endpoint_url)
        return self

    def touches_aws(self) -> bool:
        """Whether any flag points at an account to call (what --offline excludes)."""
        return any((self.profile, self.role_arn, self.sandbox, self.endpoint_url, self.snapshot))


@dataclass(frozen=True)
class LiveAccount:
    """An account read through its API: boto3's credential chain, a profile, a role, an endpoint."""

    profile: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None
    credentials: tuple[str, ...] | None = None  # (key, secret[, session token])

    def aws(self, region: str, *, role_arn: str | None = None) -> Aws:
        """Clients for `region` as this account's settings say (`role_arn`: another role first)."""
        from preflight.account.aws import Aws

        return Aws(
            region,
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            role_arn=role_arn or self.role_arn,
            credentials=self.credentials,
        )

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        from preflight.support import collector

        # Making clients parses ~100,000 objects of service models: kept, and frozen after.
        with collector.paused(freeze=True):
            return self._read(manifest, region, overrides, progress)

    def _read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        from concurrent.futures import Future, ThreadPoolExecutor

        from preflight.account.read import read_account
        from preflight.conflicts import Evidence, read_evidence
        from preflight.quotas.usage import Reads, Stack

        aws = self.aws(region)
        names = manifest.requested(region, PLACEHOLDER_AZS)
        stack = Stack.of(names)
        reads = Reads(aws, stack)  # listings both readers need are made once
        # Who owns the stack's names is read alongside the quotas (both only read), from when the
        # quotas' clients exist: making clients takes the GIL, and EC2's reads must not wait for
        # the name checks' clients to be made first.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence") as pool:
            started: list[Future[Evidence]] = []
            state = read_account(
                aws,
                stack,
                overrides=overrides,
                progress=progress,
                reads=reads,
                clients_made=lambda: started.append(pool.submit(read_evidence, aws, names, reads)),
            )
            found = started[0].result()
        return state.model_copy(
            update={
                "evidence": found,
                "api_calls": dict(sorted(aws.stats.counts.items())),
                "elapsed_s": round(aws.stats.elapsed(), 3),
            }
        )


@dataclass(frozen=True)
class SnapshotAccount:
    """An account as a snapshot file recorded it (offline); it must be the manifest's stack and region."""

    path: str

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        from preflight.account.snapshot import load_snapshot

        state = load_snapshot(self.path)
        if state.region != region:
            raise InputError(f"snapshot is for region {state.region}, not {region}", file=self.path)
        if (state.stack.project, state.stack.environment) != (manifest.name, manifest.environment):
            raise InputError(
                f"snapshot was taken for stack {state.stack.project}/{state.stack.environment}, "
                f"not {manifest.name}/{manifest.environment}",
                file=self.path,
            )
        return state.with_overrides(overrides)


@contextlib.contextmanager
def sandbox_account(scenario: str, region: str, role_arn: str | None = None) -> Iterator[LiveAccount]:
    """A LiveAccount pointed at an in-process emulated account running `scenario`."""
    from preflight.sandbox import Sandbox, load_scenario

    loaded = load_scenario(scenario)
    with Sandbox(loaded, region=region) as sandbox:
        yield LiveAccount(
            endpoint_url=sandbox.endpoint_url, credentials=SANDBOX_CREDENTIALS, role_arn=role_arn
        )


@contextlib.contextmanager
def open_account(options: AccountOptions, region: str) -> Iterator[AccountSource]:
    """The account `options` name, open for the block (an emulated one runs until it ends)."""
    options.check()
    if options.snapshot:
        yield SnapshotAccount(options.snapshot)
    elif options.sandbox:
        with sandbox_account(options.sandbox, region, options.role_arn) as source:
            yield source
    else:
        yield LiveAccount(
            profile=options.profile, endpoint_url=options.endpoint_url, role_arn=options.role_arn
        )


@contextlib.contextmanager
def open_live_account(options: AccountOptions, region: str, *, why: str) -> Iterator[LiveAccount]:
    """`open_account` for a command that must call the account (`why` says which, for --snapshot)."""
    with open_account(options, region) as source:
        if not isinstance(source, LiveAccount):
            raise InputError(f"{why}: not with --snapshot (a snapshot holds no API to call)")
        yield source


@contextlib.contextmanager
def open_aws(options: AccountOptions, region: str, *, why: str) -> Iterator[Aws]:
    """Clients for the account `options` name; an AWS call failing in the block makes the account
    unusable (exit 3, the call and the permission named: `AwsAccessError.of_call`)."""
    from preflight.account.aws import AwsCallError
    from preflight.support.errors import AwsAccessError

    with open_live_account(options, region, why=why) as account:
        try:
            yield account.aws(region)
        except AwsCallError as exc:  # AssumeRole failing: the account cannot be used at all
            raise AwsAccessError.of_call(exc) from exc


def enabled_regions(source: AccountSource, home_region: str) -> tuple[str, ...]:
    """The account's enabled regions (EC2 DescribeRegions: opted in or needing no opt-in), sorted."""
    from preflight.account.aws import call

    if not isinstance(source, LiveAccount):
        raise InputError("--all-regions reads the account's regions: not with --snapshot")
    regions = call(source.aws(home_region).client("ec2"), "DescribeRegions")["Regions"]
    return tuple(
        sorted(r["RegionName"] for r in regions if r.get("OptInStatus", "opted-in") != "not-opted-in")
    )
