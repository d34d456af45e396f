"""Inputs are read with a byte cap and within the run's deadline, whatever the path names: a FIFO with
no writer, `/dev/zero`, standard input, a process substitution, a symlink loop. Never read forever."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from preflight.account.snapshot import snapshot_json
from preflight.support.sourcefile import MAX_BYTES
from tests.conftest import MANIFEST, ROOT, synthetic_state

Cli = Callable[..., Result]
# Read from stdin or a pipe, a manifest has no directory: its sources start at the current one (ROOT).
MANIFEST_TEXT = Path(MANIFEST).read_text().replace("../handlers/", "handlers/")


@pytest.fixture
def snap(tmp_path: Path) -> str:
    path = tmp_path / "account.json"
    path.write_text(snapshot_json(synthetic_state()))  # type: ignore[arg-type]
    return str(path)


def refused(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr


def test_dev_zero_is_refused_past_the_cap_without_filling_memory(cli: Cli, snap: str) -> None:
    started = time.monotonic()
    refused(
        cli("check", "/dev/zero", "--snapshot", snap), "/dev/zero", f"larger than the {MAX_BYTES}-byte cap"
    )
    refused(cli("check", MANIFEST, "--snapshot", "/dev/zero"), "/dev/zero", "cap")
    refused(cli("request-increases", "--plan", "/dev/zero", "--offline"), "/dev/zero", "cap")
    refused(cli("verify-program", "--plan", "/dev/zero"), "/dev/zero", "cap")
    assert time.monotonic() - started < 10


def test_a_fifo_with_no_writer_is_given_up_on_at_the_deadline(cli: Cli, snap: str, tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    refused(
        cli("check", str(fifo), "--snapshot", snap, "--timeout", "1"), str(fifo), "nothing (more) to read"
    )
    refused(cli("check", MANIFEST, "--snapshot", str(fifo), "--timeout", "1"), str(fifo), "nothing")
    assert time.monotonic() - started < 10


def test_a_fifo_whose_writer_comes_late_is_read(cli: Cli, snap: str, tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        time.sleep(0.5)  # the check is already waiting on the FIFO
        with open(fifo, "w") as handle:
            for line in MANIFEST_TEXT.splitlines(keepends=True):
                handle.write(line)
                handle.flush()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = cli("check", str(fifo), "--snapshot", snap, "--format", "json")
    thread.join(10)
    assert result.exit_code == 0, result.output
    assert '"verdict": "GO"' in result.stdout


def test_a_symlink_loop_and_a_dangling_symlink_are_exit_2(cli: Cli, snap: str, tmp_path: Path) -> None:
    loop, dangling = tmp_path / "loop.yaml", tmp_path / "dangling.yaml"
    loop.symlink_to(loop)
    dangling.symlink_to(tmp_path / "gone.yaml")
    refused(cli("check", str(loop), "--snapshot", snap), str(loop), "symlink loop")
    refused(cli("check", MANIFEST, "--snapshot", str(loop)), "symlink loop")
    refused(cli("check", str(dangling), "--snapshot", snap), "gone.yaml", "does not exist")


def test_a_directory_is_not_an_input(cli: Cli, snap: str, tmp_path: Path) -> None:
    refused(cli("check", str(tmp_path), "--snapshot", snap), "is a directory")


def test_dash_reads_the_manifest_from_stdin(snap: str) -> None:
    result = with_stdin(MANIFEST_TEXT, "check", "-", "--snapshot", snap, "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"verdict": "GO"' in result.stdout


def test_stdin_past_the_cap_is_refused(snap: str) -> None:
    result = with_stdin("#" * (MAX_BYTES + 10), "check", "-", "--snapshot", snap)
    refused(result, "<stdin>", "cap")


def with_stdin(text: str, *args: str) -> Result:
    """The CLI in-process with `text` on standard input (click's runner feeds it)."""
    from click.testing import CliRunner

    from cli import main

    with contextlib.chdir(ROOT):
        return CliRunner().invoke(main, list(args), input=text, catch_exceptions=False)


def _run(shell_command: str, stdin: object = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    bindir = os.path.dirname(sys.executable)
    return subprocess.run(
        ["bash", "-c", shell_command],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"},
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_pipe_dev_stdin_and_a_process_substitution_are_read(snap: str, tmp_path: Path) -> None:
    """As a shell user gives them: the real file descriptors, not click's in-memory stdin."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST_TEXT)
    for command in (
        f"cat {manifest} | {sys.executable} -m cli check - --snapshot {snap} --format json",
        f"{sys.executable} -m cli check /dev/stdin --snapshot {snap} --format json < {manifest}",
        f"{sys.executable} -m cli check <(cat {manifest}) --snapshot {snap} --format json",
    ):
        done = _run(command)
        assert done.returncode == 0, (command, done.stderr)
        assert '"verdict": "GO"' in done.stdout


def test_a_silent_stdin_is_given_up_on_at_the_deadline(snap: str) -> None:
    """stdin a pipe whose writer never writes nor closes (a forgotten `-`): exit 2 at the deadline."""
    reader, writer = os.pipe()
    try:
        started = time.monotonic()
        with os.fdopen(reader, "rb") as stdin:
            done = _run(f"{sys.executable} -m cli check - --snapshot {snap} --timeout 1", stdin=stdin)
        assert done.returncode == 2, done.stderr
        assert "<stdin>" in done.stderr and "nothing (more) to read" in done.stderr
        assert time.monotonic() - started < 20
    finally:
        os.close(writer)


def test_lint_reports_an_unreadable_source_instead_of_hanging(tmp_path: Path) -> None:
    from preflight.program.lint import lint_paths
    from preflight.support.deadline import run_within

    fifo = tmp_path / "program.py"
    os.mkfifo(fifo)
    started = time.monotonic()
    findings = []
    for path in (fifo, Path("/dev/zero")):
        with run_within(1):
            findings += lint_paths([path])
    by_file = {f.file: f for f in findings}
    assert {(f.rule, f.file) for f in findings} == {("TAP000", str(fifo)), ("TAP000", "/dev/zero")}
    assert "nothing (more) to read" in by_file[str(fifo)].message and "cap" in by_file["/dev/zero"].message
    assert time.monotonic() - started < 10


def test_dash_is_stdin_for_a_scenario_and_a_plan_too(tmp_path: Path) -> None:
    scenario = (ROOT / "preflight" / "sandbox" / "scenarios" / "new-account.yaml").read_text()
    result = with_stdin(scenario, "check", MANIFEST, "--sandbox", "-", "--format", "json")
    assert result.exit_code == 1, result.output  # new-account: concurrency limit 10, NO_GO
    assert '"verdict": "NO_GO"' in result.stdout
    # The manifest from its file: a plan is trusted only as far as a manifest in the project backs it.
    plan = with_stdin(
        "",
        "plan",
        "--adapt",
        MANIFEST,
        "--sandbox",
        "seed-account",
        "--save-plan",
        "-",
        "-o",
        str(tmp_path / "r.json"),
    )
    assert plan.exit_code == 0, plan.output
    increases = with_stdin(plan.stdout, "request-increases", "--plan", "-", "--offline", "--format", "json")
    assert increases.exit_code == 0, increases.output
    body = json.loads(increases.stdout)
    assert body["schema"] == "tap-preflight/increases/v1" and body["source_kind"] == "plan"
