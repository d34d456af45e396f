"""Every command as a person runs it in a terminal: a real pseudo-terminal of a given size, in colour and
with NO_COLOR, the installed `tap-preflight` script, the emulated account.

What must hold at every width: no traceback, the verdict and every FAIL visible, and no line the
program writes wider than the terminal (ANSI codes stripped; a spinner frame, ended by a carriage
return, counts as a line too). Each sandbox run costs seconds, so each case covers a different width,
colour setting and command rather than every combination.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shlex
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import MANIFEST, ROOT

SCRIPT = ROOT / ".venv" / "bin" / "tap-preflight"
# CSI (colours, cursor moves, erase), OSC (titles, links) and charset selection.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
FAILS_SEED = ("L-1B52E74A", "L-B99A9384")  # the seed account's two FAILs

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists() or not hasattr(os, "openpty"), reason="needs .venv/bin/tap-preflight and a pty"
)


@dataclass(frozen=True)
class TtyRun:
    code: int
    raw: str
    width: int

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r\n", "\n")

    def visible_lines(self) -> list[str]:
        """Every line as the terminal shows it, spinner frames included (split on CR as well as LF)."""
        return [part for line in self.text.split("\n") for part in line.split("\r")]

    def colours(self) -> set[str]:
        """The SGR colour parameters used (30-37, 38;..., 90-97 and backgrounds), not bold or dim."""
        found = set()
        for params in SGR.findall(self.raw):
            for p in params.split(";"):
                if p.isdigit() and (30 <= int(p) <= 49 or 90 <= int(p) <= 107):
                    found.add(p)
        return found


def run_in_terminal(
    *args: str,
    width: int,
    color: bool,
    env: dict[str, str] | None = None,
    program: Path = SCRIPT,
    timeout: float = 180,
) -> TtyRun:
    """Run `tap-preflight ARGS` (or `program ARGS`) with stdin, stdout and stderr on a pty of `width`
    columns."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "GITHUB_STEP_SUMMARY")
        and not k.startswith("AWS_")
    }
    environ["TERM"] = "xterm-256color"
    if not color:
        environ["NO_COLOR"] = "1"
    environ.update(env or {})
    proc = subprocess.Popen(
        [str(program), *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=environ
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the pty
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
            pytest.fail(f"tap-preflight {' '.join(args)} did not finish in {timeout}s")
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
    return TtyRun(code, b"".join(chunks).decode("utf-8", errors="replace"), width)


def assert_readable(
    run: TtyRun, *, color: bool, verdict: str | None = None, fails: tuple[str, ...] = ()
) -> None:
    assert "Traceback" not in run.text, run.text
    too_long = [line for line in run.visible_lines() if cell_len(line) > run.width]
    assert not too_long, f"lines wider than {run.width}:\n" + "\n".join(too_long)
    if verdict:
        assert re.search(rf"^{verdict} ", run.text, re.M), run.text
    for code in fails:
        assert re.search(rf"^FAIL +{code}", run.text, re.M), f"{code} FAIL not shown:\n{run.text}"
    if color:
        assert run.colours(), "a colour terminal got no colour"
    else:
        assert not run.colours(), f"NO_COLOR output has colours {run.colours()}"


def finding_lines(run: TtyRun) -> list[str]:
    return [line for line in run.text.splitlines() if re.match(r"^(OK|WARN|FAIL|UNKNOWN) +(L-|\S)", line)]


# --- check ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "color"), [(60, True), (80, False)])
def test_check_no_go_in_a_terminal(width: int, color: bool) -> None:
    run = run_in_terminal(
        "check", MANIFEST, "--env", "prod", "--sandbox", "seed-account", width=width, color=color
    )
    assert run.code == 1, run.text
    assert_readable(run, color=color, verdict="NO_GO", fails=FAILS_SEED)
    # The progress line showed on the terminal while the account was read, and ended its line: no
    # carriage return redraws it (a CI log with a tty would keep every frame on one line).
    assert re.search(r"^reading the account\.\.\. done in [0-9.]+ s$", run.text, re.M), run.text
    assert "\r" not in run.raw.replace("\r\n", "\n")
    # The findings: one line each, those that do not pass first.
    rows = [line for line in run.text.splitlines() if re.match(r"^(OK|WARN|FAIL|UNKNOWN)\s{2,}", line)]
    assert len(rows) == 19, run.text
    assert [r.split()[0] for r in rows[:3]] == ["FAIL", "FAIL", "WARN"]
    assert all(r.split()[0] == "OK" for r in rows[3:])
    # It ends with the next step: the commands to run, built from the arguments used.
    tail = run.text[run.text.index("Next:") :]
    joined = re.sub(r"\s*\\\n\s*", " ", tail)
    assert f"tap-preflight plan --adapt {MANIFEST} --env prod" in joined
    assert "--sandbox seed-account --save-plan plan.json" in joined
    assert "tap-preflight request-increases --plan plan.json --sandbox seed-account" in joined


@pytest.fixture(scope="module")
def fresh_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[TtyRun, Path]:
    out = tmp_path_factory.mktemp("terminal") / "account.json"
    args = ("snapshot", MANIFEST, "--env", "prod", "--sandbox", "fresh-account", "-o", str(out))
    return run_in_terminal(*args, width=120, color=False), out


def test_snapshot_in_a_terminal(fresh_snapshot: tuple[TtyRun, Path]) -> None:
    run, out = fresh_snapshot
    assert run.code == 0, run.text
    assert_readable(run, color=False)
    assert json.loads(out.read_text())["schema"].startswith("tap-preflight/snapshot/")


def test_check_honours_columns_over_the_terminal_size(fresh_snapshot: tuple[TtyRun, Path]) -> None:
    # Offline on the snapshot: no emulated account to start, the same rendering.
    _, snapshot = fresh_snapshot
    run = run_in_terminal(
        "check", MANIFEST, "--env", "prod", "--snapshot", str(snapshot), width=200, color=True,
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert run.code == 0, run.text
    assert_readable(TtyRun(run.code, run.raw, 120), color=True, verdict="GO")
    assert max(len(line) for line in run.visible_lines()) > 80  # it did use the room it was given
    assert "Next:" not in run.text  # a GO has no next step to take


# --- plan, and what follows it ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[TtyRun, Path]:
    path = tmp_path_factory.mktemp("terminal") / "plan.json"
    args = (
        "plan",
        "--adapt",
        MANIFEST,
        "--env",
        "prod",
        "--sandbox",
        "seed-account",
        "--save-plan",
        str(path),
    )
    return run_in_terminal(*args, width=80, color=True), path


def test_plan_adapt_in_a_terminal(seed_plan: tuple[TtyRun, Path]) -> None:
    run, path = seed_plan
    assert run.code == 0, run.text
    assert_readable(run, color=True, verdict="GO_WITH_ADAPTATIONS")
    assert "adaptation(s) to fit the account" in run.text
    assert f"plan written to {path}" in run.text
    assert json.loads(path.read_text())["verdict"] == "GO_WITH_ADAPTATIONS"


def test_request_increases_in_a_terminal(seed_plan: tuple[TtyRun, Path]) -> None:
    _, path = seed_plan
    run = run_in_terminal(
        "request-increases", "--plan", str(path), "--sandbox", "seed-account", width=60, color=True
    )
    assert run.code == 0, run.text
    assert_readable(run, color=True)
    assert "L-1B52E74A" in run.text and "nothing changed in the account" in " ".join(run.text.split())


def test_verify_program_in_a_terminal(seed_plan: tuple[TtyRun, Path]) -> None:
    _, path = seed_plan
    run = run_in_terminal(
        "verify-program", "--plan", str(path), "--manifest", MANIFEST, width=60, color=False
    )
    assert run.code == 0, run.text
    assert_readable(run, color=False)
    assert "OK: the program registers exactly what the plan asks for." in run.text.replace("\n    ", " ")


def test_rehearse_in_a_terminal(seed_plan: tuple[TtyRun, Path]) -> None:
    _, path = seed_plan
    run = run_in_terminal(
        "rehearse",
        "--plan",
        str(path),
        "--manifest",
        MANIFEST,
        "--sandbox",
        "seed-account",
        width=80,
        color=False,
    )
    assert run.code == 0, run.text
    assert_readable(run, color=False)
    assert "COMPLETE" in run.text


# --- the other commands -----------------------------------------------------------------------------


def test_place_ranking_in_a_terminal() -> None:
    # The ranking's details (adaptations, the increases a region needs) wrap within their column.
    scenario = str(ROOT / "tests" / "fixtures" / "place-three-regions.yaml")
    args = ("place", MANIFEST, "--env", "prod", "--sandbox", scenario, "--region", "us-east-1")
    run = run_in_terminal(*args, "--region", "eu-west-1", width=60, color=False)
    assert run.code == 1, run.text
    assert_readable(run, color=False)
    assert re.search(r"^rank +region +fit +details$", run.text, re.M), run.text
    assert "Fits only with adaptations, best first: us-east-1." in " ".join(run.text.split())


def test_lint_and_schema_in_a_terminal() -> None:
    lint = run_in_terminal("lint", "tap.py", "preflight/program", width=60, color=True)
    assert lint.code == 0, lint.text
    assert_readable(TtyRun(lint.code, lint.raw, 60), color=False)  # lint has nothing to colour
    assert "0 finding(s)" in lint.text
    schema = run_in_terminal("schema", width=60, color=False)
    assert schema.code == 0 and "Traceback" not in schema.text
    # JSON is for machines: its lines are not wrapped, but it must stay JSON on a terminal too.
    assert json.loads(schema.text)["title"] == "tap-preflight manifest"


HELP_COMMANDS = (
    (),
    ("check",),
    ("plan",),
    ("place",),
    ("sweep",),
    ("deploy",),
    ("snapshot",),
    ("request-increases",),
    ("verify-program",),
    ("rehearse",),
    ("lint",),
    ("validate",),
    ("schema",),
    ("sandbox",),
    ("sandbox", "serve"),
)


@pytest.mark.parametrize("width", [60, 200])
def test_every_help_fits_the_terminal(width: int) -> None:
    # One shell in the pty runs every command's --help, as a person would one after the other.
    script = "; ".join(f"{shlex.quote(str(SCRIPT))} {' '.join(c)} --help" for c in HELP_COMMANDS)
    run = run_in_terminal("-c", script, width=width, color=False, program=Path("/bin/sh"))
    assert_readable(run, color=False)
    assert run.text.count("Usage: tap-preflight") == len(HELP_COMMANDS)
    assert run.text.count("Examples:") == len(HELP_COMMANDS)
