"""Exit codes, and the one handler that turns any failure into one line and the right code.

Exit 1 is a verdict (NO_GO) and nothing else: bad input is 2; the AWS account or the environment
(profile, credentials, region, endpoint, config files) is 3, with the fix named; anything unexpected
is 3 as an "internal error", its traceback shown only with `--debug` (or TAP_PREFLIGHT_DEBUG=1).

Only the standard library and click are imported here: this runs on the `--help` path. botocore's
exceptions are looked at only when the failure came from botocore (which is then already imported).
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from preflight.support.errors import ExitCode, PreflightError

PROG = "tap-preflight"
DEBUG_ENV = "TAP_PREFLIGHT_DEBUG"


@dataclass(frozen=True)
class Failure:
    """What the user is told: the code, the message (one line per problem) and whether it is our bug."""

    code: ExitCode
    message: str
    internal: bool = False


def classify(exc: BaseException) -> Failure:
    """The exit code and message for any exception that reached the top."""
    if isinstance(exc, PreflightError):
        return Failure(ExitCode(exc.exit_code), str(exc))
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        return Failure(ExitCode.INTERRUPTED, "interrupted")
    aws = _aws_failure(exc)
    if aws is not None:
        return Failure(ExitCode.ENVIRONMENT, aws)
    if isinstance(exc, OSError):
        # The machine said no (a port in use, a full disk, a permission): not our bug, no traceback.
        where = f": {exc.filename}" if exc.filename else ""
        return Failure(ExitCode.ENVIRONMENT, f"system error: {exc.strerror or exc}{where}")
    if isinstance(exc, MemoryError):
        return Failure(ExitCode.ENVIRONMENT, "internal error: out of memory", internal=True)
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return Failure(ExitCode.ENVIRONMENT, f"internal error: {detail}", internal=True)


def _aws_config_file() -> str:
    return os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"


def _aws_failure(exc: BaseException) -> str | None:
    """One line naming the fix for a botocore failure, or None if `exc` is not one."""
    module = type(exc).__module__
    if not module.startswith(("botocore", "boto3", "urllib3")) and not _is_bad_endpoint(exc):
        return None
    if _is_bad_endpoint(exc):
        return f"{exc}: give a URL such as https://host:port (--endpoint-url or AWS_ENDPOINT_URL)"
    import botocore.exceptions as bx

    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    if isinstance(exc, bx.ProfileNotFound):
        return profile_not_found(str(kwargs.get("profile", "")))
    if isinstance(exc, bx.ConfigParseError | bx.ConfigNotFound):
        path = kwargs.get("path", _aws_config_file())
        return (
            f"cannot read the AWS config file {path}: fix it, or point AWS_CONFIG_FILE / "
            "AWS_SHARED_CREDENTIALS_FILE at a valid one"
        )
    if isinstance(exc, bx.NoCredentialsError):
        return (
            "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE "
            "(or --profile), or use --sandbox SCENARIO for the emulated account"
        )
    if isinstance(exc, bx.PartialCredentialsError):
        return (
            f"incomplete AWS credentials in {kwargs.get('provider', 'the environment')}: "
            f"{kwargs.get('cred_var', 'a key')} is missing; set it or unset the others"
        )
    if isinstance(exc, bx.SSOError | bx.TokenRetrievalError):
        return f"AWS SSO login needed: {exc} (run `aws sso login`)"
    if isinstance(exc, bx.CredentialRetrievalError):
        return f"{exc} (check the profile's credential_process / role settings in {_aws_config_file()})"
    if isinstance(exc, bx.NoRegionError):
        return "no AWS region: pass --region, or set AWS_REGION (or region in the manifest)"
    if isinstance(exc, bx.InvalidRegionError):
        region = kwargs.get("region_name")
        return f"{region!r} is not an AWS region name (e.g. us-east-1): fix --region or AWS_REGION"
    if isinstance(exc, bx.InvalidRetryConfigurationError):
        where = f"max_attempts / retry_mode in {_aws_config_file()}"
        return f"{exc}: fix AWS_MAX_ATTEMPTS / AWS_RETRY_MODE (or {where})"
    if isinstance(exc, bx.ProxyConnectionError):
        return f"{exc}: check HTTPS_PROXY / HTTP_PROXY"
    if isinstance(exc, bx.SSLError):
        return f"{exc}: check AWS_CA_BUNDLE and the system's certificates"
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return f"{exc}: check the network, the proxy, and --endpoint-url / AWS_ENDPOINT_URL"
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        return f"AWS refused {exc.operation_name}: {err.get('Code', 'Unknown')}: {err.get('Message', '')}"
    return f"AWS client error: {exc}"


def _is_bad_endpoint(exc: BaseException) -> bool:
    # botocore raises a plain ValueError for an endpoint URL it cannot use.
    return isinstance(exc, ValueError) and str(exc).startswith("Invalid endpoint:")


def profile_not_found(profile: str) -> str:
    """The message for an unknown profile (also used where the session is built)."""
    return (
        f"profile {profile!r} not found in {_aws_config_file()}; list them with `aws configure list-profiles`"
    )


def debug_enabled() -> bool:
    """`--debug` on the command line (the root command's parameter) or TAP_PREFLIGHT_DEBUG=1."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def report(exc: BaseException, *, debug: bool | None = None) -> int:
    """Tell the user about `exc` on stderr, one line per problem; return the exit code."""
    failure = classify(exc)
    show_traceback = debug_enabled() if debug is None else debug
    if show_traceback and not isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
    if failure.code == ExitCode.INTERRUPTED:  # the user's own Ctrl-C: not an error
        click.echo(f"{PROG}: {failure.message}", err=True)
        return int(failure.code)
    lines = failure.message.splitlines() or [type(exc).__name__]
    if failure.internal and not show_traceback:
        lines[-1] += " (run with --debug for the traceback)"
    for line in lines:
        click.echo(f"{PROG}: error: {line}", err=True)
    return int(failure.code)


def guarded(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Run a command: exit with the code it returns, or with the code of whatever it raised."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = fn(*args, **kwargs) or 0
        except SystemExit as exc:
            # Commands return their code; an exit from inside one is a library's (werkzeug exits 1
            # on a port in use), and its 1 must not read as NO_GO.
            if exc.code not in (None, 0) and exc.code != ExitCode.INPUT:
                code = report(RuntimeError(f"a library ended the run with exit code {exc.code}"))
            else:
                raise
        except BaseException as exc:  # the one place every failure becomes a code
            _reraise_exits(exc)
            code = report(exc)
        sys.exit(int(code))  # a plain int: what a process exits with

    return wrapper


class _LogLines(logging.Handler):
    """Warnings logged by the tool or a library (the sandbox's request threads): one line each.

    A logged traceback (`log.exception`, werkzeug's "Error on request") is shown only with --debug,
    like every other traceback.
    """

    debug = False  # set per run: records come from other threads, which see no click context

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if self.debug:
                if record.exc_info:
                    text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            else:
                text = text.split("\nTraceback", 1)[0].strip()
            click.echo(f"{PROG}: [{record.name}] {record.levelname.lower()}: {text}", err=True)
        except Exception:  # a log line must never be what breaks (or tracebacks) a run
            pass


_LOG_LINES = _LogLines(logging.WARNING)


def _install_log_lines() -> None:
    # click.echo looks sys.stderr up at each call, so one handler serves every run in a process.
    _LOG_LINES.debug = debug_enabled()
    root = logging.getLogger()
    if _LOG_LINES not in root.handlers:
        root.addHandler(_LOG_LINES)


def _freeze_at_exit() -> None:
    # Everything the run made moves out of the collector's reach: its last passes over the process's
    # objects (a second with the sandbox's moto loaded) are skipped; memory goes back to the OS as the
    # process ends, and outputs are flushed and atexit handlers run as before.
    gc.freeze()


def _exit_without_collecting() -> None:
    atexit.unregister(_freeze_at_exit)  # once per process, however many runs (tests invoke many)
    atexit.register(_freeze_at_exit)


class GuardedGroup(click.Group):
    """The root command: whatever escapes a command (or the wiring around it) goes through `report`."""

    def invoke(self, ctx: click.Context) -> Any:
        _install_log_lines()
        _exit_without_collecting()
        try:
            return super().invoke(ctx)
        except BaseException as exc:  # see `guarded`
            _reraise_exits(exc)
            sys.exit(report(exc))


def _reraise_exits(exc: BaseException) -> None:
    """Let exits and click's own errors through (they carry their code); exit 1 stays the verdict's."""
    if isinstance(exc, SystemExit | GeneratorExit | click.exceptions.Exit):
        raise exc
    if isinstance(exc, click.ClickException):
        if exc.exit_code == ExitCode.NO_GO:
            exc.exit_code = ExitCode.INPUT
        raise exc
