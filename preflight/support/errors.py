"""The exit codes, and the two kinds of error the CLI turns into them: bad input (2) and AWS trouble (3).

Only the standard library is imported here: every module may raise these, and the `--help` path
imports this one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class ExitCode(IntEnum):
    """The one set of exit codes (README, "Exit codes"); 1 is a verdict and nothing else."""

    GO = 0
    NO_GO = 1  # a verdict, never a failure of the tool
    INPUT = 2  # manifest, plan, snapshot, scenario, report or flags
    ENVIRONMENT = 3  # AWS account, credentials, network, config files; could not evaluate; internal error
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class PreflightError(Exception):
    """Base class; `str(err)` is the one-line message shown to the user."""

    exit_code: ExitCode = ExitCode.INPUT


class InputError(PreflightError):
    """A manifest, scenario, snapshot, plan or flag that cannot be used. Exit 2."""

    exit_code = ExitCode.INPUT

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, path: str = ""):
        self.file = file
        self.line = line
        self.path = path
        self.detail = message
        where = ""
        if file:
            where = f"{file}:{line}" if line else file
        field = f"{path}: " if path else ""
        super().__init__(f"{where} {field}{message}".strip() if where else f"{field}{message}")


class InputProblems(InputError):
    """Several problems in one input, reported together: `str()` has one line per problem."""

    def __init__(self, problems: list[InputError], *, more: int = 0):
        first = problems[0]
        super().__init__(first.detail, file=first.file, line=first.line, path=first.path)
        self.problems = tuple(problems)
        lines = [str(problem) for problem in problems]
        if more > 0:
            lines.append(f"{first.file or 'input'}: and {more} more problem{'s' if more > 1 else ''}")
        self.args = ("\n".join(lines),)


class AwsAccessError(PreflightError):
    """The account could not be read at all: no credentials, access denied, unreachable. Exit 3."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, message: str, *, operation: str = "", permission: str = ""):
        self.operation = operation
        self.permission = permission
        super().__init__(message)

    @classmethod
    def of_call(cls, failed: FailedCall) -> AwsAccessError:
        """The one translation of a failed AWS call that leaves the account unusable (identity,
        AssumeRole): the call's message, the operation and the IAM permission it needed."""
        return cls(
            str(failed), operation=f"{failed.service}:{failed.operation}", permission=failed.permission
        )


class FailedCall(Protocol):
    """What `of_call` reads of `preflight.account.aws.AwsCallError` (named by shape: aws imports this
    module)."""

    service: str
    operation: str
    permission: str


class EnvironmentProblem(PreflightError):
    """The machine the tool runs on does not allow what was asked (a port in use). Exit 3."""

    exit_code = ExitCode.ENVIRONMENT
