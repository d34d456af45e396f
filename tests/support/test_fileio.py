"""Files the tool writes are complete or absent, even when the run is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from preflight.support.fileio import write_atomic
from tests.conftest import MANIFEST, ROOT, served_sandbox


def test_an_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old, complete\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new " * 10_000)
    assert target.read_text() == "old, complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_complete_write_replaces_the_file(tmp_path) -> None:
    target = tmp_path / "report.json"
    write_atomic(target, "complete\n")
    assert target.read_text() == "complete\n" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_ctrl_c_during_a_check_writes_nothing(tmp_path) -> None:
    """A real run, interrupted while it reads a slow account: no report, no temp file, exit 130."""
    # 3 s a call: the check's three waves of reads take 9 s or more, so the interrupt at 2.5 s lands
    # while the account is being read, however fast the machine (at 400 ms the check could finish).
    with served_sandbox("--scenario", "fresh-account", "--latency-ms", "3000") as (_, exports):
        endpoint = exports["AWS_ENDPOINT_URL"]
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
        }
        out = tmp_path / "report.json"
        check = subprocess.Popen(
            [sys.executable, "-m", "cli", "check", MANIFEST, "--format", "json", "-o", str(out)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            # Ctrl-C as a terminal delivers it: a test run started in the background of a shell without
            # job control inherits SIGINT ignored, and Python then keeps ignoring it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(2.5)  # imports done, the account being read
        check.send_signal(signal.SIGINT)
        _, stderr = check.communicate(timeout=60)
        assert check.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        assert list(tmp_path.iterdir()) == []
