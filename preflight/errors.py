"""The two kinds of error the CLI turns into exit codes: bad input (2) and AWS trouble (3)."""

from __future__ import annotations


class PreflightError(Exception):
    """Base class; `str(err)` is the one-line message shown to the user."""

    exit_code = 2


class InputError(PreflightError):
    """A manifest, scenario, snapshot, plan or flag that cannot be used. Exit 2."""

    exit_code = 2

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

    exit_code = 3

    def __init__(self, message: str, *, operation: str = "", permission: str = ""):
        self.operation = operation
        self.permission = permission
        super().__init__(message)


class EnvironmentProblem(PreflightError):
    """The machine the tool runs on does not allow what was asked (a port in use). Exit 3."""

    exit_code = 3
