"""tap-preflight's command line: options, wiring and exit codes. All logic lives in `preflight/`.

Only click is imported at start-up, so `--help` and `--version` stay fast (no boto3, no pulumi).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from preflight import __version__, ranges
from preflight.deadline import DEFAULT_TIMEOUT_S
from preflight.errors import ExitCode, InputError
from preflight.exits import GuardedGroup, guarded
from preflight.flagtypes import BoundedFloat

FORMATS = ("table", "json", "markdown", "sarif", "junit", "github")
RESULT_FORMAT_HELP = (
    "table for people; json for machines; markdown, sarif (code scanning), junit (test reports) or "
    "github (workflow annotations) for CI."
)
SANDBOX_HELP = (
    "Run against the built-in emulated account (no AWS account needed) with this scenario: "
    "{scenarios}, or a scenario file."
)


def _scenario_names() -> str:
    """The shipped scenarios, listed from their folder: no YAML read and no sandbox import, so `--help`
    stays fast."""
    from pathlib import Path

    import preflight

    folder = Path(preflight.__file__).parent / "sandbox" / "scenarios"
    return ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "(none installed)"


class ScenarioOption(click.Option):
    """An option whose help lists the shipped scenarios, read when the help is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        return record[0], record[1].replace("{scenarios}", _scenario_names())


class FormatChoice(click.Choice):
    """Every format; `text`, the name verify-program and rehearse used for `table`, is still accepted."""

    def __init__(self) -> None:
        super().__init__(list(FORMATS))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert("table" if value == "text" else value, param, ctx)


# Every command runs under the one handler: its return value is the exit code, and whatever it
# raises becomes one line and exit 2 or 3 (preflight/exits.py); exit 1 is only ever a verdict.
_handle_errors = guarded


def _parse_limits(values: tuple[str, ...]) -> dict[str, float]:
    from preflight.flagtypes import parse_limit
    from preflight.quotas.catalog import BY_CODE

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


def _parse_reports(values: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise InputError(
                f"--report expects FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}, got {value!r}"
            )
        out.append((fmt, path))
    return out


_TIMEOUT = click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="Give up after this long (exit 3, naming the AWS calls that did not answer).",
)


def _timeout_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--timeout`: inputs are read and every AWS call answers by then, or the run ends (exit 3)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, timeout: float, **kwargs: Any) -> Any:
        from preflight.deadline import run_within

        with run_within(timeout):
            return fn(*args, **kwargs)

    return _TIMEOUT(wrapper)


def _gate_outputs(opts: GateOptions, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """The run's outputs as (option, path): the main report (stdout unless -o), --report, `more`."""
    reports = [(f"--report {fmt}", path) for fmt, path in _parse_reports(opts.reports)]
    return [("-o", opts.output or "-"), *reports, *more]


@dataclass(frozen=True)
class GateOptions:
    """The options every gate command (check, plan) shares, gathered by `gate_options`."""

    environment: str | None
    regions: tuple[str, ...]
    profile: str | None
    role_arn: str | None
    sandbox: str | None
    snapshot: str | None
    limits: tuple[str, ...]
    warn_threshold: float
    allow_unknown: bool
    fail_on: tuple[str, ...]
    skips: tuple[str, ...]
    soft_fail: bool
    fmt: str
    output: str | None
    reports: tuple[str, ...]
    stats: bool
    wide: bool
    stack_state: str | None


_GATE_OPTIONS = [
    click.option(
        "--env", "environment", help="Environment profile of the manifest (default: its defaultEnvironment)."
    ),
    click.option(
        "--region",
        "regions",
        multiple=True,
        help="AWS region (default: the manifest's). Repeat for several: one verdict each and an overall one.",
    ),
    click.option(
        "--profile", help="AWS profile from the shared config (boto3's credential chain otherwise)."
    ),
    click.option("--role-arn", help="Assume this role first (another account)."),
    click.option("--sandbox", metavar="SCENARIO", cls=ScenarioOption, help=SANDBOX_HELP),
    click.option("--snapshot", type=click.Path(dir_okay=True), help="Run offline on a snapshot file."),
    click.option("--limit", "limits", multiple=True, metavar="CODE=N", help="Override one quota's limit."),
    click.option(
        "--warn-threshold",
        type=BoundedFloat(ranges.SHARE),
        default=0.8,
        show_default=True,
        help="WARN when utilization after the deploy reaches this share.",
    ),
    click.option(
        "--allow-unknown", is_flag=True, help="Do not fail the gate on quotas that could not be read."
    ),
    click.option(
        "--fail-on",
        multiple=True,
        type=click.Choice(["warn", "fail", "unknown"]),
        help="Also fail the gate on these statuses (fail and unknown always do, unknown unless allowed).",
    ),
    click.option(
        "--skip",
        "skips",
        multiple=True,
        metavar="CODE[:SCOPE]",
        help="Accept a known WARN or UNKNOWN (quota code or check id): shown as SUPPRESSED, never a FAIL. "
        "Repeatable; config `skip` entries add a reason and an expiry.",
    ),
    click.option("--soft-fail", is_flag=True, help="Report everything, exit 0."),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; json (the report contract), markdown (PR comments), sarif (code "
        "scanning), junit (test reports), github (workflow annotations) for machines.",
    ),
    click.option(
        "-o", "--output", type=click.Path(dir_okay=False), help="Write the report here (`-`: stdout)."
    ),
    click.option(
        "--report",
        "reports",
        multiple=True,
        metavar="FORMAT=PATH",
        help="Also write the report in FORMAT to PATH; repeatable.",
    ),
    click.option("--stats", is_flag=True, help="Add API calls per operation and the time spent."),
    click.option(
        "--wide", is_flag=True, help="Table format: the full table (limit, source, in use, deploy, after)."
    ),
    click.option(
        "--stack-state",
        type=click.Path(dir_okay=False),
        help="`pulumi stack export` JSON: the stack owns what it lists (preferred over tags).",
    ),
]


def gate_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the gate options to a command; it receives them as one `opts: GateOptions`."""
    names = [f.name for f in dataclasses.fields(GateOptions)]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = GateOptions(**{name: kwargs.pop(name) for name in names})
        if opts.output == "-":  # `-o -`: standard output, as without -o
            opts = dataclasses.replace(opts, output=None)
        return fn(*args, opts=opts, **kwargs)

    for option in reversed(_GATE_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@contextmanager
def _account_source(
    sandbox: str | None, snapshot: str | None, profile: str | None, role_arn: str | None, region: str
) -> Iterator[Any]:
    from preflight.commands import LiveAccount, SnapshotAccount, sandbox_account

    if sandbox and snapshot:
        raise InputError("--sandbox and --snapshot exclude each other")
    if snapshot:
        yield SnapshotAccount(snapshot)
    elif sandbox:
        with sandbox_account(sandbox, region, role_arn) as source:
            yield source
    else:
        yield LiveAccount(profile=profile, role_arn=role_arn)


@contextmanager
def _progress() -> Iterator[Callable[[str], None] | None]:
    """A progress line on stderr while the account is read: terminal only."""
    from preflight.terminal import progress_line

    with progress_line() as progress:
        yield progress


def _emit(reports: list[Any], opts: GateOptions, invocation: Any = None, *, strict: bool = False) -> None:
    """Write the reports in every format asked for: stdout or -o, plus each --report FORMAT=PATH."""
    import functools

    from preflight.fileio import STDIO, append_summary, write_output
    from preflight.formats import render_many as render_any
    from preflight.gate import GatePolicy

    # The views that show pass or fail (JUnit) follow the gate's policy.
    policy = GatePolicy.from_flags(opts.fail_on, strict=strict)  # type: ignore[arg-type]
    render_many = functools.partial(render_any, policy=policy)
    from preflight.terminal import output_width, use_color

    if not opts.stats:
        reports = [r.model_copy(update={"stats": type(r.stats)()}) for r in reports]
    extra = _parse_reports(opts.reports)
    for extra_fmt, path in extra:
        write_output(path, render_many(reports, extra_fmt, invocation))  # type: ignore[arg-type]
    to_stdout = opts.output in (None, STDIO)
    text = render_many(
        reports,
        opts.fmt,  # type: ignore[arg-type]
        invocation,
        color=to_stdout and use_color(),
        width=output_width() if to_stdout else None,
        wide=opts.wide,
        stats=opts.stats,
    )
    if opts.output:
        write_output(opts.output, text)
    else:
        click.echo(text, nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and (opts.fmt == "github" or any(f == "github" for f, _ in extra)):
        warning = append_summary(summary, render_many(reports, "markdown", invocation))
        if warning:
            click.echo(f"tap-preflight: warning: {warning}", err=True)


def _invocation(
    manifest: str, opts: GateOptions, *, adapt: bool = False, save_plan: str | None = None
) -> Any:
    """The arguments the next commands after a NO_GO repeat (see preflight.nextsteps)."""
    from preflight.nextsteps import Invocation

    return Invocation(
        manifest=manifest,
        region_given=bool(opts.regions),
        sandbox=opts.sandbox,
        snapshot=opts.snapshot,
        profile=opts.profile,
        role_arn=opts.role_arn,
        limits=opts.limits,
        allow_unknown=opts.allow_unknown,
        adapt=adapt,
        save_plan=save_plan,
    )


@click.group(
    cls=GuardedGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  # try it on the emulated account of the seed's story
  tap-preflight check manifests/tap-pipeline.yaml \\
      --env prod --sandbox seed-account
  tap-preflight plan --adapt manifests/tap-pipeline.yaml \\
      --env prod --sandbox seed-account \\
      --save-plan plan.json

Run `tap-preflight COMMAND --help` for a command's options and examples.""",
)
@click.version_option(__version__, prog_name="tap-preflight")
@click.option(
    "--debug", is_flag=True, help="Show the traceback of an internal error (also TAP_PREFLIGHT_DEBUG=1)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Settings file (default: .tap-preflight.toml or pyproject.toml's [tool.tap-preflight], "
    "from here upward). Flags win over it.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, config_path: str | None) -> None:
    """Pre-deploy quota gate for the TAP pipeline.

    \b
    Exit codes:
      0  GO (plan: GO or GO_WITH_ADAPTATIONS, unless --strict)
      1  NO_GO: a quota does not fit
      2  usage or input error (manifest, scenario, snapshot,
         plan, flags)
      3  could not evaluate: no credentials, access denied,
         unreachable, or a quota UNKNOWN
    """
    from preflight.config import load_config

    try:
        config = load_config(config_path)
    except InputError as exc:  # raised by the gate commands that read it: --help still works
        ctx.meta["tap-preflight.config"] = exc
        return
    ctx.default_map = config.default_map()
    ctx.meta["tap-preflight.config"] = config


def _run_gate(
    manifest: str,
    opts: GateOptions,
    run_region: Callable[..., Any],
    *,
    strict: bool = False,
    save_plan: str | None = None,
    all_regions: bool = False,
    map_regions: Callable[..., list[Any]] | None = None,
    stack_state: Any = None,
) -> Any:
    """Load the manifest, read each region's account and run `run_region` on it; one result per region
    (`map_regions(fn, regions)` runs them, in order by default; `all_regions`: the account's enabled ones;
    `stack_state`: deploy's export of the stack, else --stack-state's file)."""
    from preflight.config import Config, active_skips
    from preflight.fileio import check_outputs
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region

    config = click.get_current_context().meta.get("tap-preflight.config", Config())
    if isinstance(config, InputError):
        raise config
    policy = GatePolicy.from_flags(
        opts.fail_on,  # type: ignore[arg-type]
        allow_unknown=opts.allow_unknown,
        soft_fail=opts.soft_fail,
        strict=strict,
        skips=active_skips(config, opts.skips),
    )
    overrides = _parse_limits(opts.limits)
    _parse_reports(opts.reports)  # bad --report values fail before the account is read
    check_outputs(_gate_outputs(opts, ("--save-plan", save_plan)), (manifest, opts.snapshot, opts.sandbox))
    for region in opts.regions:
        check_region(region)
    loaded = load_manifest(manifest, opts.environment)
    if opts.stack_state:
        from preflight.conflicts import load_stack_state

        stack_state = load_stack_state(opts.stack_state)
    regions = tuple(dict.fromkeys(opts.regions)) or (loaded.doc.region,)
    if opts.snapshot and len(regions) > 1:
        raise InputError("a snapshot holds one region: give one --region with --snapshot")
    with (
        _account_source(opts.sandbox, opts.snapshot, opts.profile, opts.role_arn, regions[0]) as source,
        _progress() as progress,
    ):
        if all_regions:
            from preflight.place import enabled_regions

            regions = enabled_regions(source, regions[0])
        results = (map_regions or _in_order)(
            functools.partial(
                _each_region,
                run_region,
                loaded,
                source,
                policy,
                overrides=overrides,
                warn_threshold=opts.warn_threshold,
                progress=progress,
                stack_state=stack_state,
            ),
            regions,
        )
    from preflight.skips import skip_messages

    # Each region's report (plan and deploy give (report, plan) pairs; place may give other results).
    reports = [r[0] if isinstance(r, tuple) else r for r in results]
    reports = [r for r in reports if hasattr(r, "findings")]
    for message in skip_messages(reports, policy.skips):  # a FAIL stays FAIL, and the user hears why
        click.echo(f"tap-preflight: warning: {message}", err=True)
    return results, policy


def _in_order(fn: Callable[[str], Any], regions: tuple[str, ...]) -> list[Any]:
    return [fn(region) for region in regions]


def _each_region(
    run_region: Callable[..., Any], loaded: Any, source: Any, policy: Any, region: str, **kw: Any
) -> Any:
    return run_region(loaded, source, region, policy, **kw)


CHECK_EXAMPLES = """\b
Examples:
  # the seed story's account, emulated: NO_GO, and why
  tap-preflight check manifests/tap-pipeline.yaml \\
      --env prod --sandbox seed-account
  # a live account (boto3's credential chain)
  tap-preflight check manifests/tap-pipeline.yaml \\
      --env prod --profile prod
  # for CI: JSON on stdout, SARIF beside it
  tap-preflight check manifests/tap-pipeline.yaml \\
      --format json --report sarif=report.sarif
  # offline, from a snapshot
  tap-preflight check manifests/tap-pipeline.yaml \\
      --env prod --snapshot account.json
"""


@main.command(epilog=CHECK_EXAMPLES)
@click.argument("manifest", type=click.Path())
@gate_options
@_handle_errors
@_timeout_option
def check(manifest: str, opts: GateOptions) -> ExitCode:
    """Say GO or NO_GO for MANIFEST against the account's quotas and usage."""
    from preflight.gate import exit_code_of_regions
    from preflight.commands import run_check

    reports, policy = _run_gate(manifest, opts, run_check)
    _emit(reports, opts, _invocation(manifest, opts))
    return exit_code_of_regions(reports, policy)


PLAN_EXAMPLES = """\b
Examples:
  # what fits the seed story's account, saved for Pulumi
  tap-preflight plan --adapt manifests/tap-pipeline.yaml \\
      --env prod --sandbox seed-account \\
      --save-plan plan.json
  # the deployment as requested, as a plan file
  tap-preflight plan manifests/tap-pipeline.yaml \\
      --env prod --save-plan plan.json
  # one plan per region
  tap-preflight plan --adapt manifests/tap-pipeline.yaml \\
      --region us-east-1 --region eu-west-1 \\
      --save-plan 'plan-{region}.json'
"""


@main.command(epilog=PLAN_EXAMPLES)
@click.argument("manifest", type=click.Path())
@click.option(
    "--adapt",
    is_flag=True,
    help="Change the deployment to fit (networking, optional endpoints, shared concurrency), as the "
    "manifest's policy allows. Without it the plan is the deployment as requested.",
)
@click.option(
    "--save-plan",
    type=click.Path(dir_okay=False),
    help="Write the plan file the Pulumi program deploys; `-`: stdout; {region} in the name: one per region.",
)
@click.option("--strict", is_flag=True, help="GO_WITH_ADAPTATIONS exits 1.")
@click.option(
    "--max-age-hours",
    type=BoundedFloat(ranges.MAX_AGE_HOURS),
    default=24.0,
    show_default=True,
    help="How long the Pulumi program accepts the plan file.",
)
@gate_options
@_handle_errors
@_timeout_option
def plan(
    manifest: str, adapt: bool, save_plan: str | None, strict: bool, max_age_hours: float, opts: GateOptions
) -> ExitCode:
    """Plan MANIFEST against the account: with --adapt, the least-degraded deployment that fits, each
    change explained; without, the deployment as requested (exit code as check's)."""
    from preflight.fileio import STDIO, write_output
    from preflight.commands import plan_json

    if save_plan and len(set(opts.regions)) > 1 and "{region}" not in save_plan:
        raise InputError(
            "with several regions, --save-plan needs {region} in the file name (plan-{region}.json)"
        )
    results, code = _plan_gate(
        manifest, opts, strict=strict, max_age_hours=max_age_hours, save_plan=save_plan, adapt=adapt
    )
    written = []
    for _, plan_file in results:
        if save_plan:
            path = save_plan.replace("{region}", plan_file.region)
            write_output(path, plan_json(plan_file))
            written += [path] if path != STDIO else []
    _emit(
        [report for report, _ in results],
        opts,
        _invocation(manifest, opts, adapt=adapt, save_plan=save_plan),
        strict=strict,
    )
    for path in written:  # last, on stderr: the report on stdout stays what --format says
        click.echo(f"plan written to {path}", err=True)
    return code


def _plan_gate(
    manifest: str,
    opts: GateOptions,
    *,
    strict: bool,
    max_age_hours: float,
    save_plan: str | None = None,
    adapt: bool = True,
    stack_state: Any = None,
) -> Any:
    """`plan --adapt`'s gate (also deploy's): one (report, plan) per region, and the exit code.
    Without `adapt`, the plan is the deployment as requested."""
    from preflight.gate import exit_code_of_regions
    from preflight.commands import run_plan

    run = functools.partial(run_plan, max_age_hours=max_age_hours, adapt=adapt)
    results, policy = _run_gate(
        manifest, opts, run, strict=strict, save_plan=save_plan, stack_state=stack_state
    )
    return results, exit_code_of_regions([report for report, _ in results], policy)


PLACE_EXAMPLES = """\b
Examples:
  # where does the seed story's pipeline fit?
  tap-preflight place manifests/tap-pipeline.yaml --env prod \\
      --region us-east-1 --region eu-west-1 --region eu-central-1
  # every enabled region of the account, adapted fits accepted
  tap-preflight place manifests/tap-pipeline.yaml --env prod \\
      --all-regions --accept adapted --format markdown
"""


@main.command(epilog=PLACE_EXAMPLES)
@click.argument("manifest", type=click.Path())
@click.option(
    "--all-regions", is_flag=True, help="Every enabled region of the account (EC2 DescribeRegions)."
)
@click.option(
    "--accept",
    type=click.Choice(["requested", "adapted"]),
    default="requested",
    show_default=True,
    help="Exit 0 when a region fits as requested, or also with adaptations.",
)
@gate_options
@_handle_errors
@_timeout_option
def place(manifest: str, all_regions: bool, accept: str, opts: GateOptions) -> ExitCode:
    """Rank regions for MANIFEST: fits as requested, fits with adaptations, does not fit."""
    from preflight.fileio import write_output
    from preflight.place import map_regions, placement_exit_code, placement_of, plan_region, render_placement

    results, policy = _run_gate(manifest, opts, plan_region, all_regions=all_regions, map_regions=map_regions)
    placement, reports = placement_of(results, policy, accept)  # type: ignore[arg-type]
    for fmt, path in _parse_reports(opts.reports):
        write_output(path, render_placement(placement, reports, fmt))
    text = render_placement(placement, reports, opts.fmt)
    if opts.output:
        write_output(opts.output, text)
    else:
        click.echo(text, nl=False)
    return placement_exit_code(placement, policy)


SWEEP_EXAMPLES = """\b
Examples:
  # every active account of the emulated organisation
  tap-preflight sweep manifests/tap-pipeline.yaml \\
      --env prod --org --sandbox organization
  # two regions, shard 2 of 4 of a CI matrix
  tap-preflight sweep manifests/tap-pipeline.yaml \\
      --env prod --org --regions us-east-1,eu-west-1 \\
      --shard 2/4 --out-dir reports/
  # the accounts of a file, another role
  tap-preflight sweep manifests/tap-pipeline.yaml \\
      --env prod --accounts accounts.txt \\
      --role-name deploy-gate
"""


@main.command(epilog=SWEEP_EXAMPLES)
@click.argument("manifest", type=click.Path())
@click.option("--org", is_flag=True, help="The organisation's ACTIVE accounts (Organizations ListAccounts).")
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(dir_okay=False),
    help="The accounts of this file instead: one 12-digit id a line, an optional name after it, # comments.",
)
@click.option(
    "--role-name",
    default="OrganizationAccountAccessRole",
    show_default=True,
    help="The role assumed in each account (the caller's own account is read directly).",
)
@click.option(
    "--regions", "region_list", metavar="R1,R2", help="Regions, comma-separated (adds to --region)."
)
@click.option("--shard", metavar="I/N", help="Only shard I of N (a CI matrix): disjoint, the union complete.")
@click.option(
    "--out-dir", type=click.Path(file_okay=False), help="Write one JSON report per account and region."
)
@click.option(
    "--concurrency", type=int, default=8, show_default=True, help="Targets (account x region) read at once."
)
@click.option(
    "--timeout",
    type=float,
    default=900.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up after this long: targets not read by then are UNKNOWN.",
)
@gate_options
@_handle_errors
def sweep(
    manifest: str,
    org: bool,
    accounts_file: str | None,
    role_name: str,
    region_list: str | None,
    shard: str | None,
    out_dir: str | None,
    concurrency: int,
    timeout: float,
    opts: GateOptions,
) -> ExitCode:
    """Check MANIFEST in every account of an organisation (or of a file), in every region asked for."""
    from preflight.deadline import run_within

    with run_within(timeout):
        return _sweep(manifest, org, accounts_file, role_name, region_list, shard, out_dir, concurrency, opts)


def _sweep(
    manifest: str,
    org: bool,
    accounts_file: str | None,
    role_name: str,
    region_list: str | None,
    shard: str | None,
    out_dir: str | None,
    concurrency: int,
    opts: GateOptions,
) -> ExitCode:
    from preflight import sweep as sw
    from preflight.config import Config, active_skips
    from preflight.fileio import check_outputs, write_output
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region
    from preflight.terminal import output_width

    if org == bool(accounts_file):
        raise InputError("give --org (the organisation's accounts) or --accounts FILE, one of the two")
    sw.check_flags(snapshot=opts.snapshot, stack_state=opts.stack_state, role_arn=opts.role_arn)
    config = click.get_current_context().meta.get("tap-preflight.config", Config())
    if isinstance(config, InputError):
        raise config
    policy = GatePolicy.from_flags(
        opts.fail_on,  # type: ignore[arg-type]
        allow_unknown=opts.allow_unknown,
        soft_fail=opts.soft_fail,
        skips=active_skips(config, opts.skips),
    )
    overrides = _parse_limits(opts.limits)
    reports_to = _parse_reports(opts.reports)
    shard_of = sw.parse_shard(shard)
    sw.check_role_name(role_name)
    sw.check_workers(concurrency)
    check_outputs(_gate_outputs(opts), (manifest, accounts_file, opts.sandbox))
    extra = [r.strip() for r in (region_list or "").split(",") if r.strip()]
    for region in (*opts.regions, *extra):
        check_region(region)
    accounts = sw.read_accounts_file(accounts_file) if accounts_file else None
    loaded = load_manifest(manifest, opts.environment)
    regions = tuple(dict.fromkeys((*opts.regions, *extra))) or (loaded.doc.region,)
    with _account_source(opts.sandbox, None, opts.profile, None, regions[0]) as base:
        result, reports = sw.sweep(
            loaded,
            base,
            policy,
            regions=regions,
            role_name=role_name,
            accounts=accounts,
            shard=shard_of,
            workers=concurrency,
            overrides=overrides,
            warn_threshold=opts.warn_threshold,
        )
    if out_dir:
        sw.write_reports(out_dir, reports)
    for fmt, path in reports_to:
        write_output(path, sw.render_sweep(result, reports, fmt, policy=policy))
    to_stdout = opts.output is None
    width = output_width() if to_stdout else None
    text = sw.render_sweep(result, reports, opts.fmt, width=width, policy=policy)
    if opts.output:
        write_output(opts.output, text)
    else:
        click.echo(text, nl=False)
    return sw.sweep_exit_code(result, policy)


@main.command(
    epilog="""\b
Examples:
  # preview what the gate's plan would deploy
  tap-preflight deploy manifests/tap-pipeline.yaml \\
      --env prod --stack prod --preview
  # deploy the plan reviewed in the pull request
  tap-preflight deploy manifests/tap-pipeline.yaml \\
      --env prod --stack prod --plan plan.json
"""
)
@click.argument("manifest", type=click.Path())
@click.option("--stack", required=True, help="The Pulumi stack to deploy (selected, or created).")
@click.option("--preview", is_flag=True, help="Run `pulumi preview` instead of `pulumi up`.")
@click.option("--strict", is_flag=True, help="Do not deploy a GO_WITH_ADAPTATIONS plan (exit 1).")
@click.option(
    "--plan",
    "reviewed_plan",
    type=click.Path(dir_okay=False),
    help="Deploy this reviewed plan file, if the gate run now finds the same deployment.",
)
@click.option("--save-plan", type=click.Path(dir_okay=False), help="Keep the plan deployed in this file.")
@click.option(
    "--max-age-hours",
    type=BoundedFloat(ranges.MAX_AGE_HOURS),
    default=24.0,
    show_default=True,
    help="How long the Pulumi program accepts the plan file.",
)
@click.option("--project-dir", default=".", show_default=True, help="The Pulumi project (its Pulumi.yaml).")
@click.option(
    "--policy-pack/--no-policy-pack",
    default=True,
    show_default=True,
    help="Run Pulumi with the shipped policy pack (refuses what the plan does not hold).",
)
@gate_options
@_TIMEOUT
@_handle_errors
def deploy(
    manifest: str,
    stack: str,
    preview: bool,
    strict: bool,
    reviewed_plan: str | None,
    save_plan: str | None,
    max_age_hours: float,
    project_dir: str,
    policy_pack: bool,
    opts: GateOptions,
    timeout: float,
) -> ExitCode:
    """Gate MANIFEST as `plan --adapt` does, then deploy the plan with Pulumi, only on GO.

    --timeout bounds the gate (reading the account), not Pulumi's deploy, which takes as long as it takes.

    Exit 0 deployed (or previewed); 1 NO_GO (or adaptations with --strict), nothing deployed; 2 bad
    input or a refused plan; 3 could not evaluate, no Pulumi CLI, or Pulumi failed.
    """
    from preflight.deadline import run_within
    from preflight.deploy import DeployRequest, run_deploy

    def gate(stack_state: Any) -> Any:
        with run_within(timeout):
            return _plan_gate(
                manifest, opts, strict=strict, max_age_hours=max_age_hours, stack_state=stack_state
            )

    request = DeployRequest(
        manifest=manifest,
        stack=stack,
        environment=opts.environment,
        regions=opts.regions,
        project_dir=project_dir,
        preview=preview,
        strict=strict,
        soft_fail=opts.soft_fail,
        reviewed_plan=reviewed_plan,
        save_plan=save_plan,
        policy_pack=policy_pack,
        stack_state=opts.stack_state,
    )
    to_stdout = opts.fmt == "table" or bool(opts.output)
    return run_deploy(
        request,
        gate=gate,
        emit=lambda reports: _emit(reports, opts, strict=strict),
        progress=functools.partial(click.echo, err=True),
        summary=functools.partial(click.echo, nl=False, err=not to_stdout),
    )


SNAPSHOT_EXAMPLES = """\b
Examples:
  tap-preflight snapshot manifests/tap-pipeline.yaml \\
      --env prod -o account.json
  tap-preflight check manifests/tap-pipeline.yaml \\
      --env prod --snapshot account.json
  # a redacted copy as an emulated-account scenario
  tap-preflight snapshot manifests/tap-pipeline.yaml \\
      --snapshot account.json --redact \\
      --as-scenario my-account.yaml
"""


@main.command(
    "quotas",
    epilog="""\b
Examples:
  # what the gate checks, and the codes --skip and --limit take
  tap-preflight quotas
  # for docs or a wiki page
  tap-preflight quotas --format markdown -o docs/quotas.md
""",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown", "sarif"]),
    default="table",
    show_default=True,
    help="table for people; json, markdown or sarif (its rule list) for machines and docs.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the list here (`-`: stdout).")
@_handle_errors
def quotas(fmt: str, output: str | None) -> ExitCode:
    """List the quotas the gate checks: code, service, name, scope, default, where limits and usage
    are read."""
    from preflight.fileio import write_output
    from preflight.formats.catalog import render_catalog

    text = render_catalog(fmt)
    if output and output != "-":
        write_output(output, text)
    else:
        click.echo(text, nl=False)
    return ExitCode.GO


@main.command("snapshot", epilog=SNAPSHOT_EXAMPLES)
@click.argument("manifest", type=click.Path())
@click.option(
    "--env", "environment", help="Environment profile of the manifest (default: its defaultEnvironment)."
)
@click.option("--region", help="AWS region (default: the manifest's region).")
@click.option("--profile", help="AWS profile from the shared config (boto3's credential chain otherwise).")
@click.option("--role-arn", help="Assume this role first (another account).")
@click.option("--sandbox", metavar="SCENARIO", cls=ScenarioOption, help=SANDBOX_HELP)
@click.option(
    "--snapshot",
    "from_snapshot",
    type=click.Path(dir_okay=False),
    help="Start from an existing snapshot (to redact it or turn it into a scenario).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the snapshot here (`-`: stdout); default: stdout, unless --as-scenario.",
)
@click.option(
    "--as-scenario",
    type=click.Path(dir_okay=False),
    help="Also write an emulated-account scenario (YAML) reproducing the snapshot, for --sandbox.",
)
@click.option("--redact", is_flag=True, help="Mask the account id.")
@_handle_errors
@_timeout_option
def snapshot_command(
    manifest: str,
    environment: str | None,
    region: str | None,
    profile: str | None,
    role_arn: str | None,
    sandbox: str | None,
    from_snapshot: str | None,
    output: str | None,
    as_scenario: str | None,
    redact: bool,
) -> ExitCode:
    """Record the account's limits and usage, to run check and plan offline (--snapshot).

    Usage leaves the stack's own resources out, so a snapshot belongs to MANIFEST's stack: one
    manifest, environment and region. It holds no credential; --redact masks the account id.
    """
    from preflight.fileio import check_outputs, write_output
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region
    from preflight.snapshot import scenario_yaml, snapshot_json, take_snapshot, unknown_quotas

    output = output or (None if as_scenario else "-")
    check_outputs([("-o", output), ("--as-scenario", as_scenario)], (manifest, from_snapshot, sandbox))
    if region is not None:
        check_region(region)
    loaded = load_manifest(manifest, environment)
    region = region or loaded.doc.region
    with (
        _account_source(sandbox, from_snapshot, profile, role_arn, region) as source,
        _progress() as progress,
    ):
        state = take_snapshot(loaded, source, region, progress=progress)
    if as_scenario:
        write_output(as_scenario, scenario_yaml(state, redact=redact))
    if output:
        write_output(output, snapshot_json(state, redact=redact))
    unknown = unknown_quotas(state)
    if unknown:
        click.echo(
            f"tap-preflight: warning: {len(unknown)} quota(s) could not be read and will be UNKNOWN: "
            + ", ".join(unknown),
            err=True,
        )
    return ExitCode.GO


INCREASES_EXAMPLES = """\b
Examples:
  # a dry run: what --submit would file
  tap-preflight request-increases --plan plan.json
  tap-preflight request-increases --plan plan.json \\
      --submit
  # from check's JSON report, against the emulated account
  tap-preflight request-increases \\
      --from-report report.json --sandbox seed-account
  # just the list in the file, no AWS call
  tap-preflight request-increases --plan plan.json \\
      --offline
"""


@main.command("request-increases", epilog=INCREASES_EXAMPLES)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    help="Read the requests from a plan file (plan --save-plan).",
)
@click.option(
    "--from-report",
    "report_file",
    type=click.Path(dir_okay=False),
    help="Read the requests from a JSON report (check --format json).",
)
@click.option("--report", "old_report_file", type=click.Path(dir_okay=False), hidden=True)
@click.option("--submit", is_flag=True, help="File the requests. Without it nothing in the account changes.")
@click.option("--offline", is_flag=True, help="Only list the file's requests; call no AWS API.")
@click.option("--region", help="Region of regional quotas (default: the file's). Global ones: us-east-1.")
@click.option("--profile", help="AWS profile from the shared config (boto3's credential chain otherwise).")
@click.option("--role-arn", help="Assume this role first (another account).")
@click.option("--sandbox", metavar="SCENARIO", cls=ScenarioOption, help=SANDBOX_HELP)
@click.option("--endpoint-url", help="Send AWS calls to this endpoint (an emulated account).")
@click.option(
    "--format",
    "fmt",
    type=FormatChoice(),
    default="table",
    show_default=True,
    help=RESULT_FORMAT_HELP,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the result here (`-`: stdout).")
@_handle_errors
@_timeout_option
def request_increases(
    plan_file: str | None,
    report_file: str | None,
    old_report_file: str | None,
    submit: bool,
    offline: bool,
    region: str | None,
    profile: str | None,
    role_arn: str | None,
    sandbox: str | None,
    endpoint_url: str | None,
    fmt: str,
    output: str | None,
) -> ExitCode:
    """List the quota increases the requested deployment needs; --submit files them with Service Quotas.

    Skips quotas with an open request or already raised enough; quotas AWS does not raise are reported
    as needing a design change. Exit 0 on success, 2 on a bad file, 3 when an AWS call failed.
    """
    from preflight.increases import ServiceQuotas, list_offline, load_requested, run_increases

    if old_report_file:
        click.echo("tap-preflight: warning: --report is deprecated here: use --from-report", err=True)
        report_file = report_file or old_report_file
    if bool(plan_file) == bool(report_file):
        raise InputError("request-increases needs one of --plan FILE or --from-report FILE")
    if offline and (submit or sandbox or endpoint_url or profile or role_arn):
        raise InputError("--offline calls no AWS API: it excludes --submit and the account options")
    if sandbox and endpoint_url:
        raise InputError("--sandbox and --endpoint-url exclude each other")
    from preflight.aws import check_endpoint_url
    from preflight.fileio import check_outputs
    from preflight.quotas.catalog import check_region

    if endpoint_url:
        check_endpoint_url(endpoint_url)
    if region is not None:
        check_region(region)
    output = None if output == "-" else output
    check_outputs([("-o", output or "-")], (plan_file, report_file))
    requested = load_requested(plan_file or report_file or "", "plan" if plan_file else "report")
    region = region or requested.region
    if offline:
        result = list_offline(requested, region)
    else:
        with _quota_account(sandbox, endpoint_url, profile, role_arn, region) as aws, _progress() as progress:
            result = run_increases(
                requested, ServiceQuotas(aws), region=region, submit=submit, progress=progress
            )
    from preflight.formats import render_result
    from preflight.terminal import output_width, use_color

    to_stdout = output in (None, "-")
    width = output_width() if to_stdout else None
    text = render_result("increases", result, fmt, color=to_stdout and use_color(), width=width)  # type: ignore[arg-type]
    if output:
        from preflight.fileio import write_output

        write_output(output, text)
    else:
        click.echo(text, nl=False)
    for failed in result.errors:
        click.echo(f"tap-preflight: error: {failed.quota_code}: {failed.detail}", err=True)
    return ExitCode.ENVIRONMENT if result.errors else ExitCode.GO


@contextmanager
def _quota_account(
    sandbox: str | None, endpoint_url: str | None, profile: str | None, role_arn: str | None, region: str
) -> Iterator[Any]:
    """An `Aws` for request-increases: the emulated account, an endpoint, or boto3's credential chain."""
    from preflight.aws import Aws, AwsCallError
    from preflight.errors import AwsAccessError
    from preflight.commands import sandbox_account

    try:
        if sandbox:
            with sandbox_account(sandbox, region) as account:
                yield Aws(region, endpoint_url=account.endpoint_url, credentials=account.credentials)
        else:
            yield Aws(region, profile=profile, endpoint_url=endpoint_url, role_arn=role_arn)
    except AwsCallError as exc:  # AssumeRole failing: the account cannot be used at all
        raise AwsAccessError.of_call(exc) from exc


@main.command(
    epilog="""\b
Examples:
  tap-preflight validate manifests/*.yaml
"""
)
@click.argument("manifests", nargs=-1, required=True, type=click.Path())
@_handle_errors
def validate(manifests: tuple[str, ...]) -> ExitCode:
    """Load each manifest under every environment profile, offline (for pre-commit). Exit 0 or 2."""
    from preflight.validate import validate_manifests

    problems = validate_manifests(manifests)
    for line in (line for problem in problems for line in problem.splitlines()):
        click.echo(f"tap-preflight: error: {line}", err=True)  # several problems of one file: a line each
    return ExitCode.INPUT if problems else ExitCode.GO


@main.command(
    epilog="""\b
Examples:
  tap-preflight schema > manifest.schema.json
  # then, as the manifest's first line:
  # yaml-language-server: $schema=manifest.schema.json
"""
)
@_handle_errors
def schema() -> ExitCode:
    """Print the manifest's JSON Schema (for editor completion)."""
    import json

    from preflight.manifest import manifest_json_schema

    click.echo(json.dumps(manifest_json_schema(), indent=2))
    return ExitCode.GO


@main.group(
    epilog="""\b
Examples:
  tap-preflight sandbox serve --scenario seed-account
"""
)
def sandbox() -> None:
    """The built-in emulated AWS account."""


@sandbox.command(
    "serve",
    epilog="""\b
Examples:
  tap-preflight sandbox serve --scenario seed-account
  # then, in another shell, the exports it prints, and:
  aws ec2 describe-vpcs
  # a slow, flaky account
  tap-preflight sandbox serve --latency-ms 50 \\
      --throttle-rate 0.1 --error-rate 0.05 --seed 7
""",
)
@click.option(
    "--scenario",
    default="fresh-account",
    show_default=True,
    cls=ScenarioOption,
    help="The account to emulate: {scenarios}, or a scenario file.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (0: pick a free one)."
)
@click.option(
    "--latency-ms",
    type=click.IntRange(0, 60_000),
    default=0,
    show_default=True,
    help="Delay every response by this many milliseconds.",
)
@click.option(
    "--throttle-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of requests answered with the service's throttling error, 0 to 1.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a server error (HTTP 500), 0 to 1.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the fault draws: same seed, same faults."
)
@_handle_errors
def sandbox_serve(
    scenario: str, port: int, latency_ms: int, throttle_rate: float, error_rate: float, seed: int
) -> ExitCode:
    """Run the emulated account in the foreground; prints how to point any AWS client at it."""
    from preflight.sandbox import FaultConfig, serve

    faults = FaultConfig(latency_ms=latency_ms, throttle_rate=throttle_rate, error_rate=error_rate, seed=seed)
    serve(scenario, port=port, faults=faults, echo=click.echo)
    return ExitCode.GO


@main.command(
    "verify-program",
    epilog="""\b
Examples:
  tap-preflight verify-program --plan plan.json
  tap-preflight verify-program --plan plan.json \\
      --manifest manifests/tap-pipeline.yaml --format json
""",
)
@click.option(
    "--plan", "plan_path", required=True, type=click.Path(), help="The plan file (plan --save-plan)."
)
@click.option(
    "--manifest", type=click.Path(), help="The plan's manifest (default: its recorded path in this project)."
)
@click.option(
    "--format",
    "fmt",
    type=FormatChoice(),
    default="table",
    show_default=True,
    help=RESULT_FORMAT_HELP,
)
@_handle_errors
def verify_program(plan_path: str, manifest: str | None, fmt: str) -> ExitCode:
    """Run the Pulumi program under mocks and check what it would register against the plan."""
    from preflight.formats import render_result
    from preflight.program.verify import verify_plan_file
    from preflight.terminal import output_width

    result = verify_plan_file(plan_path, manifest=manifest)
    click.echo(render_result("verify", result, fmt, width=output_width()), nl=False)  # type: ignore[arg-type]
    return ExitCode.GO if result.ok else ExitCode.NO_GO


@main.command(
    epilog="""\b
Examples:
  tap-preflight rehearse --plan plan.json \\
      --sandbox seed-account
  # against a running emulated account
  tap-preflight rehearse --plan plan.json \\
      --endpoint-url http://127.0.0.1:5000
""",
)
@click.option(
    "--plan", "plan_path", required=True, type=click.Path(), help="The plan file (plan --save-plan)."
)
@click.option(
    "--manifest", type=click.Path(), help="The plan's manifest (default: its recorded path in this project)."
)
@click.option(
    "--sandbox",
    metavar="SCENARIO",
    cls=ScenarioOption,
    help="Rehearse in a fresh emulated account: {scenarios}, or a scenario file.",
)
@click.option("--endpoint-url", help="Rehearse in a running emulated account (tap-preflight sandbox serve).")
@click.option(
    "--force", is_flag=True, help="Rehearse a plan the program would refuse (NO_GO, stale, foreign)."
)
@click.option("--allow-remote-endpoint", is_flag=True, help="Allow an --endpoint-url that is not loopback.")
@click.option(
    "--update", is_flag=True, help="Redeploy: update the stack's own functions and stream in place."
)
@click.option(
    "--format",
    "fmt",
    type=FormatChoice(),
    default="table",
    show_default=True,
    help=RESULT_FORMAT_HELP,
)
@_handle_errors
def rehearse(
    plan_path: str,
    manifest: str | None,
    sandbox: str | None,
    endpoint_url: str | None,
    force: bool,
    allow_remote_endpoint: bool,
    update: bool,
    fmt: str,
) -> ExitCode:
    """Deploy the plan's program into an emulated account, resource by resource, and report."""
    from preflight.program.rehearse import rehearse_plan_file

    result = rehearse_plan_file(
        plan_path,
        manifest=manifest,
        sandbox=sandbox,
        endpoint_url=endpoint_url,
        force=force,
        allow_remote_endpoint=allow_remote_endpoint,
        update=update,
    )
    if result.forced:
        click.echo(f"tap-preflight: FORCED: rehearsing a plan the program refuses: {result.forced}", err=True)
    from preflight.formats import render_result
    from preflight.terminal import output_width

    click.echo(render_result("rehearse", result, fmt, width=output_width()), nl=False)  # type: ignore[arg-type]
    return ExitCode.GO if result.complete else ExitCode.NO_GO


@main.command(
    epilog="""\b
Examples:
  tap-preflight lint tap.py preflight/program
  # for code scanning
  tap-preflight lint tap.py preflight/program \\
      --format sarif > lint.sarif
"""
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format", "fmt", type=FormatChoice(), default="table", show_default=True, help=RESULT_FORMAT_HELP
)
@_handle_errors
def lint(paths: tuple[str, ...], fmt: str) -> ExitCode:
    """Lint Pulumi program sources: CRLF, a resource created twice, a VPC policy without VPC functions."""
    from pathlib import Path

    from preflight.formats import render_result
    from preflight.program.lint import run_lint
    from preflight.terminal import output_width

    result = run_lint(Path(p) for p in paths)
    click.echo(render_result("lint", result, fmt, width=output_width()), nl=False)  # type: ignore[arg-type]
    click.echo(f"{len(result.findings)} finding(s) in {len(paths)} path(s)", err=True)
    return ExitCode.GO if result.ok else ExitCode.NO_GO


if __name__ == "__main__":
    main()
