"""tap-preflight's command line: options, wiring and exit codes. All logic lives in `preflight/`.

Only click is imported at start-up, so `--help` and `--version` stay fast (no boto3, no pulumi).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import Any

import click

from preflight import __version__
from preflight.account.sources import AccountOptions
from preflight.commands.options import FORMATS, GateOptions
from preflight.support import ranges
from preflight.support.deadline import DEFAULT_TIMEOUT_S
from preflight.support.errors import ExitCode, InputError
from preflight.support.exits import GuardedGroup, guarded
from preflight.support.flagtypes import BoundedFloat

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
# raises becomes one line and exit 2 or 3 (preflight/support/exits.py); exit 1 is only ever a verdict.
_handle_errors = guarded


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
        from preflight.support.deadline import run_within

        with run_within(timeout):
            return fn(*args, **kwargs)

    return _TIMEOUT(wrapper)


# The account flags, one definition each: every command that reads an account takes them (or the
# ones that mean something to it), and `accountsource.open_account` opens what they name.
ACCOUNT_FLAGS: dict[str, Callable[[Any], Any]] = {
    "profile": click.option(
        "--profile", help="AWS profile from the shared config (boto3's credential chain otherwise)."
    ),
    "role_arn": click.option("--role-arn", help="Assume this role first (another account)."),
    "sandbox": click.option("--sandbox", metavar="SCENARIO", cls=ScenarioOption, help=SANDBOX_HELP),
    "snapshot": click.option(
        "--snapshot", type=click.Path(), help="Read the account from a snapshot file (offline; see snapshot)."
    ),
    "endpoint_url": click.option(
        "--endpoint-url",
        metavar="URL",
        help="Send AWS calls to this endpoint (an emulated account: tap-preflight sandbox serve).",
    ),
}


def account_options(*, without: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the account flags (all but `without`); the command receives them as one `account`
    (`AccountOptions`; flags that exclude each other are refused when it is opened: exit 2)."""
    names = [name for name in ACCOUNT_FLAGS if name not in without]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = AccountOptions(**{name: kwargs.pop(name) for name in names})
            return fn(*args, account=account, **kwargs)

        for name in reversed(names):
            wrapper = ACCOUNT_FLAGS[name](wrapper)
        return wrapper

    return decorate


_GATE_HEAD = [
    click.option(
        "--env", "environment", help="Environment profile of the manifest (default: its defaultEnvironment)."
    ),
    click.option(
        "--region",
        "regions",
        multiple=True,
        help="AWS region (default: the manifest's). Repeat for several: one verdict each and an overall one.",
    ),
]
_GATE_TAIL = [
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
    """Add the gate options (the account's among them) to a command; it receives them as one
    `opts: GateOptions`."""
    names = [f.name for f in dataclasses.fields(GateOptions) if f.name != "account"]

    @functools.wraps(fn)
    def wrapper(*args: Any, account: AccountOptions, **kwargs: Any) -> Any:
        opts = GateOptions(account=account, **{name: kwargs.pop(name) for name in names})
        if opts.output == "-":  # `-o -`: standard output, as without -o
            opts = dataclasses.replace(opts, output=None)
        return fn(*args, opts=opts, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_GATE_TAIL):
        decorated = option(decorated)
    decorated = account_options()(decorated)
    for option in reversed(_GATE_HEAD):
        decorated = option(decorated)
    return decorated


def _config() -> Any:
    """The settings file's `Config` (main read it); a bad file is this command's input error."""
    from preflight.support.config import Config

    config = click.get_current_context().meta.get("tap-preflight.config", Config())
    if isinstance(config, InputError):
        raise config
    return config


def _warn(message: str) -> None:
    click.echo(f"tap-preflight: warning: {message}", err=True)


def _write(text: str, output: str | None) -> None:
    """The main output: the file `-o` names, else standard output."""
    from preflight.support.fileio import STDIO, write_output

    if output and output != STDIO:
        write_output(output, text)
    else:
        click.echo(text, nl=False)


def _emit(reports: list[Any], opts: GateOptions, invocation: Any = None, *, strict: bool = False) -> None:
    """Write the reports in every format asked for: stdout or -o, plus each --report FORMAT=PATH."""
    from preflight.gate import GatePolicy
    from preflight.report.formats import render_many
    from preflight.support.fileio import append_summary

    # The views that show pass or fail (JUnit) follow the gate's policy.
    policy = GatePolicy.from_flags(opts.fail_on, strict=strict)  # type: ignore[arg-type]
    if not opts.stats:
        reports = [_without_stats(r) for r in reports]

    def render(fmt: Any, **view: Any) -> str:
        return render_many(reports, fmt, invocation, policy=policy, **view)

    _write_all(render, opts)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and (opts.fmt == "github" or any(f == "github" for f, _ in opts.extra_reports())):
        warning = append_summary(summary, render("markdown"))
        if warning:
            _warn(warning)


def _emit_result(kind: str, result: Any, opts: GateOptions) -> None:
    """`place` and `sweep`: their result in every format asked for, as `_emit` writes reports."""
    from preflight.report.formats import render_result

    if not opts.stats:
        result = dataclasses.replace(result, reports=tuple(_without_stats(r) for r in result.reports))
    _write_all(lambda fmt, **view: render_result(kind, result, fmt, **view), opts)  # type: ignore[arg-type]


def _write_all(render: Callable[..., str], opts: GateOptions) -> None:
    """Each --report FORMAT=PATH, then the main output (stdout, fitted to the terminal, or -o)."""
    from preflight.support.fileio import write_output
    from preflight.support.terminal import output_width, use_color

    for fmt, path in opts.extra_reports():
        write_output(path, render(fmt))
    to_stdout = opts.output is None
    view = {"color": to_stdout and use_color(), "width": output_width() if to_stdout else None}
    _write(render(opts.fmt, **view, wide=opts.wide, stats=opts.stats), opts.output)


def _without_stats(report: Any) -> Any:
    return report.model_copy(update={"stats": type(report.stats)()})


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
    from preflight.support.config import load_config

    try:
        config = load_config(config_path)
    except InputError as exc:  # raised by the gate commands that read it: --help still works
        ctx.meta["tap-preflight.config"] = exc
        return
    ctx.default_map = config.default_map()
    ctx.meta["tap-preflight.config"] = config


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
    from preflight.commands.run import run_check_command

    reports, code = run_check_command(manifest, opts, _config(), warn=_warn)
    _emit(reports, opts, opts.invocation(manifest))
    return code


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
    from preflight.commands.run import run_plan_command, save_plans

    results, code = run_plan_command(
        manifest,
        opts,
        _config(),
        warn=_warn,
        strict=strict,
        max_age_hours=max_age_hours,
        save_plan=save_plan,
        adapt=adapt,
    )
    written = save_plans(results, save_plan)
    _emit(
        [report for report, _ in results],
        opts,
        opts.invocation(manifest, adapt=adapt, save_plan=save_plan),
        strict=strict,
    )
    for path in written:  # last, on stderr: the report on stdout stays what --format says
        click.echo(f"plan written to {path}", err=True)
    return code


PLACE_EXAMPLES = """\b
Examples:
  # where does the seed story's pipeline fit?
  tap-preflight place manifests/tap-pipeline.yaml \\
      --env prod --region us-east-1 \\
      --region eu-west-1 --region eu-central-1
  # every enabled region, adapted fits accepted
  tap-preflight place manifests/tap-pipeline.yaml \\
      --env prod --all-regions --accept adapted \\
      --format markdown
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
    from preflight.commands.place import run_place

    result, code = run_place(
        manifest,
        opts,
        _config(),
        all_regions=all_regions,
        accept=accept,
        warn=_warn,  # type: ignore[arg-type]
    )
    _emit_result("place", result, opts)
    return code


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
    from preflight.commands.sweep import SweepRequest, run_sweep_command, sweep_exit_code
    from preflight.support.deadline import run_within

    request = SweepRequest(org, accounts_file, role_name, region_list, shard, out_dir, concurrency)
    with run_within(timeout):
        run = run_sweep_command(manifest, opts, _config(), request)
    _emit_result("sweep", run, opts)
    return sweep_exit_code(run.result, run.policy)


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
    from preflight.commands.deploy import DeployRequest, run_deploy
    from preflight.commands.run import run_plan_command
    from preflight.support.deadline import run_within

    def gate(stack_state: Any) -> Any:
        with run_within(timeout):
            return run_plan_command(
                manifest,
                opts,
                _config(),
                warn=_warn,
                strict=strict,
                max_age_hours=max_age_hours,
                stack_state=stack_state,
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
    from preflight.report.formats.catalog import render_catalog
    from preflight.support.fileio import write_output

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
@account_options()
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
    account: AccountOptions,
    output: str | None,
    as_scenario: str | None,
    redact: bool,
) -> ExitCode:
    """Record the account's limits and usage, to run check and plan offline (--snapshot).

    Usage leaves the stack's own resources out, so a snapshot belongs to MANIFEST's stack: one
    manifest, environment and region. It holds no credential; --redact masks the account id. From
    --snapshot FILE: a copy of that snapshot (to redact it, or to turn it into a scenario).
    """
    from preflight.commands.run import run_snapshot

    unknown = run_snapshot(
        manifest,
        environment=environment,
        region=region,
        account=account,
        output=output,
        as_scenario=as_scenario,
        redact=redact,
    )
    if unknown:
        _warn(f"{len(unknown)} quota(s) could not be read and will be UNKNOWN: " + ", ".join(unknown))
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
@account_options(without=("snapshot",))
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
    account: AccountOptions,
    fmt: str,
    output: str | None,
) -> ExitCode:
    """List the quota increases the requested deployment needs; --submit files them with Service Quotas.

    Skips quotas with an open request or already raised enough; quotas AWS does not raise are reported
    as needing a design change. Exit 0 on success, 2 on a bad file, 3 when an AWS call failed.
    """
    from preflight.commands.run import run_request_increases
    from preflight.report.formats import render_result
    from preflight.support.terminal import output_width, use_color

    if old_report_file:
        _warn("--report is deprecated here: use --from-report")
        report_file = report_file or old_report_file
    output = None if output == "-" else output
    result = run_request_increases(
        plan_file, report_file, account=account, region=region, submit=submit, offline=offline, output=output
    )
    to_stdout = output is None
    width = output_width() if to_stdout else None
    _write(render_result("increases", result, fmt, color=to_stdout and use_color(), width=width), output)  # type: ignore[arg-type]
    for failed in result.errors:
        click.echo(f"tap-preflight: error: {failed.quota_code}: {failed.detail}", err=True)
    return ExitCode.ENVIRONMENT if result.errors else ExitCode.GO


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
    from preflight.commands.validate import validate_manifests

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
    from preflight.program.verify import verify_plan_file
    from preflight.report.formats import render_result
    from preflight.support.terminal import output_width

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
@account_options(without=("profile", "role_arn", "snapshot"))
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
    account: AccountOptions,
    force: bool,
    allow_remote_endpoint: bool,
    update: bool,
    fmt: str,
) -> ExitCode:
    """Deploy the plan's program into an emulated account (a fresh --sandbox, or a running one at
    --endpoint-url), resource by resource, and report."""
    from preflight.program.rehearse import rehearse_plan_file

    result = rehearse_plan_file(
        plan_path,
        manifest=manifest,
        sandbox=account.sandbox,
        endpoint_url=account.endpoint_url,
        force=force,
        allow_remote_endpoint=allow_remote_endpoint,
        update=update,
    )
    if result.forced:
        click.echo(f"tap-preflight: FORCED: rehearsing a plan the program refuses: {result.forced}", err=True)
    from preflight.report.formats import render_result
    from preflight.support.terminal import output_width

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

    from preflight.program.lint import run_lint
    from preflight.report.formats import render_result
    from preflight.support.terminal import output_width

    result = run_lint(Path(p) for p in paths)
    click.echo(render_result("lint", result, fmt, width=output_width()), nl=False)  # type: ignore[arg-type]
    click.echo(f"{len(result.findings)} finding(s) in {len(paths)} path(s)", err=True)
    return ExitCode.GO if result.ok else ExitCode.NO_GO


if __name__ == "__main__":
    main()
