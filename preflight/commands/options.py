"""The options the gate commands share (check, plan, deploy, place, sweep), as the CLI parsed them.

Plain data and the small parsers of their text values: the CLI builds a `GateOptions` from its flags,
and the commands (`preflight.commands.run`) read it. Nothing heavy is imported at start-up (`--help`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from preflight.account.sources import AccountOptions
from preflight.support.errors import InputError

if TYPE_CHECKING:
    from preflight.gate import GatePolicy
    from preflight.support.config import Config

FORMATS = ("table", "json", "markdown", "sarif", "junit", "github")


@dataclass(frozen=True)
class GateOptions:
    """The options every gate command shares; `account` says where the account comes from."""

    environment: str | None = None
    regions: tuple[str, ...] = ()
    account: AccountOptions = field(default_factory=AccountOptions)
    limits: tuple[str, ...] = ()
    warn_threshold: float = 0.8
    allow_unknown: bool = False
    fail_on: tuple[str, ...] = ()
    skips: tuple[str, ...] = ()
    soft_fail: bool = False
    fmt: str = "table"
    output: str | None = None  # None: standard output
    reports: tuple[str, ...] = ()
    stats: bool = False
    wide: bool = False
    stack_state: str | None = None

    def policy(self, config: Config, *, strict: bool = False) -> GatePolicy:
        """The gate's policy: these flags, and the settings file's skips."""
        from preflight.gate import GatePolicy
        from preflight.support.config import active_skips

        return GatePolicy.from_flags(
            self.fail_on,  # type: ignore[arg-type]
            allow_unknown=self.allow_unknown,
            soft_fail=self.soft_fail,
            strict=strict,
            skips=active_skips(config, self.skips),
        )

    def overrides(self) -> dict[str, float]:
        """`--limit CODE=N` values, by quota code."""
        return parse_limits(self.limits)

    def extra_reports(self) -> list[tuple[str, str]]:
        """`--report FORMAT=PATH` values, as (format, path)."""
        return parse_reports(self.reports)

    def outputs(self, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
        """The run's outputs as (option, path): the main report (stdout unless -o), --report, `more`."""
        reports = [(f"--report {fmt}", path) for fmt, path in self.extra_reports()]
        return [("-o", self.output or "-"), *reports, *more]

    def invocation(self, manifest: str, *, adapt: bool = False, save_plan: str | None = None) -> Any:
        """The arguments the next commands after a NO_GO repeat (see preflight.report.nextsteps)."""
        from preflight.report.nextsteps import Invocation

        return Invocation(
            manifest=manifest,
            region_given=bool(self.regions),
            sandbox=self.account.sandbox,
            snapshot=self.account.snapshot,
            profile=self.account.profile,
            role_arn=self.account.role_arn,
            endpoint_url=self.account.endpoint_url,
            limits=self.limits,
            allow_unknown=self.allow_unknown,
            adapt=adapt,
            save_plan=save_plan,
        )


def parse_limits(values: tuple[str, ...]) -> dict[str, float]:
    """`CODE=N` values as {code: N}; InputError naming --limit for a bad one or an unknown code."""
    from preflight.quotas.catalog import BY_CODE
    from preflight.support.flagtypes import parse_limit

    out: dict[str, float] = {}
    for value in values:
        parsed = parse_limit(value)
        if isinstance(parsed, str):
            raise InputError(parsed)
        code, number = parsed
        if code not in BY_CODE:
            raise InputError(f"--limit: {code} is not a quota this tool knows (see the catalog)")
        out[code] = number
    return out


def parse_reports(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """`FORMAT=PATH` values as (format, path); InputError naming --report for a bad one."""
    out = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise InputError(
                f"--report expects FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}, got {value!r}"
            )
        out.append((fmt, path))
    return out
