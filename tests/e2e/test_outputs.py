"""Output files are ours only: what `-o`, `--report`, `--save-plan`, `snapshot -o/--as-scenario` and
`request-increases -o` do with every kind of path, as root (the tests run as root, as CI runners do).

Regular files are replaced atomically with normal permissions, symlinks are written through, devices
and FIFOs are written to in place, directories are refused, `-` is stdout, inputs are never overwritten.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from preflight.account.snapshot import snapshot_json
from tests.conftest import MANIFEST, ROOT, synthetic_state

Cli = Callable[..., Result]


@pytest.fixture
def snap(tmp_path: Path) -> str:
    """A snapshot of an empty account: `check --snapshot` runs offline, in a fraction of a second."""
    path = tmp_path / "account.json"
    path.write_text(snapshot_json(synthetic_state()))  # type: ignore[arg-type]
    return str(path)


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def check(
    cli: Cli, snap: str, *args: str, manifest: str = MANIFEST, env: dict[str, str] | None = None
) -> Result:
    return cli("check", manifest, "--snapshot", snap, "--format", "json", *args, env=env)


def refused(result: Result, *words: str) -> str:
    """Exit 2 with one error line holding `words`, and no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def report_in(path: Path) -> dict[str, object]:
    body = json.loads(path.read_text())
    assert body["schema"] == "tap-preflight/report/v1" and body["verdict"] == "GO"
    return body


def no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# --- regular files and symlinks ----------------------------------------------------------------------


def test_a_new_file_gets_0666_minus_the_umask(cli: Cli, snap: str, tmp_path: Path, umask) -> None:
    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        umask(mask)
        out = tmp_path / f"report-{mask:o}.json"
        assert check(cli, snap, "-o", str(out)).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == mode
        report_in(out)
    assert no_temp_files(tmp_path)


def test_a_regular_file_is_replaced_atomically_keeping_its_mode(cli: Cli, snap: str, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("old\n")
    out.chmod(0o640)
    before = out.stat().st_ino
    assert check(cli, snap, "-o", str(out)).exit_code == 0
    report_in(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.stat().st_ino != before  # a new file renamed over the old one, not rewritten in place
    assert no_temp_files(tmp_path)


def test_a_symlink_is_written_through_to_its_target(cli: Cli, snap: str, tmp_path: Path) -> None:
    target_dir = tmp_path / "reports"
    target_dir.mkdir()
    target = target_dir / "latest.json"
    target.write_text("old\n")
    target.chmod(0o604)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    assert check(cli, snap, "--report", f"json={link}", "-o", str(tmp_path / "main.json")).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    report_in(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert no_temp_files(target_dir) and no_temp_files(tmp_path)


def test_a_dangling_symlink_creates_its_target(cli: Cli, snap: str, tmp_path: Path) -> None:
    target = tmp_path / "made-by-the-run.json"
    link = tmp_path / "report.json"
    link.symlink_to(target)
    assert check(cli, snap, "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    report_in(target)


def test_a_symlink_loop_is_refused(cli: Cli, snap: str, tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    refused(check(cli, snap, "-o", str(loop)), str(loop), "symlink loop")
    assert loop.is_symlink()


# --- what must not be written to -------------------------------------------------------------------


def test_a_directory_is_refused_and_left_alone(cli: Cli, snap: str, tmp_path: Path) -> None:
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "keep").write_text("x")
    refused(check(cli, snap, "--report", f"sarif={directory}"), str(directory), "directory")
    refused(check(cli, snap, "--report", f"sarif={directory}/"), "directory")
    assert [p.name for p in directory.iterdir()] == ["keep"]


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("no-such-dir/report.json", "does not exist"),
        ("a-file/report.json", "Not a directory"),
        ("/proc/version", "cannot write"),  # root cannot write here either: exit 2, no traceback
    ],
)
def test_an_unwritable_path_is_exit_2_naming_it(
    cli: Cli, snap: str, tmp_path: Path, where: str, why: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    path = where if where.startswith("/") else str(tmp_path / where)
    refused(check(cli, snap, "-o", path), path, why)
    assert (tmp_path / "a-file").read_text() == "x"


def test_an_unwritable_save_plan_fails_before_the_account_is_read(
    cli: Cli, snap: str, tmp_path: Path
) -> None:
    result = cli(
        "plan", "--adapt", MANIFEST, "--snapshot", snap, "--save-plan", str(tmp_path / "no" / "p.json")
    )
    refused(result, "does not exist")
    assert result.stdout == ""  # refused up-front: no report printed either


# --- devices and FIFOs -----------------------------------------------------------------------------


def test_a_character_device_is_written_to_and_stays_a_device(cli: Cli, snap: str, tmp_path: Path) -> None:
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # our own /dev/null
    assert (
        check(cli, snap, "-o", str(device), "--report", f"sarif={device}").exit_code == 2
    )  # same file twice
    assert check(cli, snap, "-o", str(device)).exit_code == 0
    st = device.stat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert no_temp_files(tmp_path)


def test_dev_null_stays_the_null_device(cli: Cli, snap: str) -> None:
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    result = check(cli, snap, "-o", "/dev/null", "--report", "sarif=/dev/null/")
    refused(result, "directory")  # a trailing slash never makes a file
    assert check(cli, snap, "-o", "/dev/null").exit_code == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    assert not [name for name in os.listdir("/dev") if name.startswith(".null.")]


def test_a_fifo_is_written_to_its_reader(cli: Cli, snap: str, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    result = check(cli, snap, "-o", str(fifo))
    thread.join(10)
    assert result.exit_code == 0, result.output
    assert json.loads(received[0])["verdict"] == "GO"
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_nobody_reads_is_given_up_on_at_the_deadline(cli: Cli, snap: str, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = check(cli, snap, "-o", str(fifo), "--timeout", "1.5")
    refused(result, str(fifo), "nobody opened the FIFO")
    assert time.monotonic() - started < 10
    assert stat.S_ISFIFO(fifo.stat().st_mode)


# --- `-` is standard output, once ------------------------------------------------------------------


def test_dash_is_stdout_for_every_output_option(cli: Cli, snap: str, tmp_path: Path) -> None:
    assert json.loads(check(cli, snap, "-o", "-").stdout)["verdict"] == "GO"
    sarif = check(cli, snap, "-o", str(tmp_path / "r.json"), "--report", "sarif=-")
    assert sarif.exit_code == 0 and json.loads(sarif.stdout)["version"] == "2.1.0"
    plan = cli(
        "plan", "--adapt", MANIFEST, "--snapshot", snap, "-o", str(tmp_path / "r2.json"), "--save-plan", "-"
    )
    assert plan.exit_code == 0 and json.loads(plan.stdout)["schema"] == "tap-preflight/plan/v3"
    snapshot = cli("snapshot", MANIFEST, "--snapshot", snap, "-o", "-")
    assert snapshot.exit_code == 0 and json.loads(snapshot.stdout)["schema"] == "tap-preflight/snapshot/v1"
    scenario = cli("snapshot", MANIFEST, "--snapshot", snap, "--as-scenario", "-")
    assert scenario.exit_code == 0 and scenario.stdout.startswith("# Emulated-account scenario")
    increases = cli("request-increases", "--from-report", str(tmp_path / "r.json"), "--offline", "-o", "-")
    assert increases.exit_code == 0 and "increase" in increases.stdout.lower()
    assert not (ROOT / "-").exists() and not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--report", "json=-"),  # the table already goes to stdout
        ("check", "-o", "-", "--report", "sarif=-"),
        ("plan", "--adapt", "--save-plan", "-"),
        ("snapshot", "-o", "-", "--as-scenario", "-"),
    ],
)
def test_two_outputs_on_stdout_are_refused(cli: Cli, snap: str, args: tuple[str, ...]) -> None:
    command, *rest = args
    result = cli(command, MANIFEST, "--snapshot", snap, *rest)
    refused(result, "standard output")
    assert result.stdout == ""


# --- never onto an input ---------------------------------------------------------------------------


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    path = tmp_path / "tap-pipeline.yaml"
    path.write_text(Path(MANIFEST).read_text().replace("../handlers/", str(ROOT / "handlers") + "/"))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("check", "-o", "{manifest}"),
        ("check", "--report", "sarif={manifest}"),
        ("check", "-o", "{link}"),  # the same file through a symlink
        ("check", "-o", "{hardlink}"),  # the same file under another name
        ("check", "-o", "{snapshot}"),
        ("plan", "--adapt", "--save-plan", "{manifest}"),
        ("plan", "--adapt", "--report", "json={snapshot}"),
        ("snapshot", "-o", "{manifest}"),
        ("snapshot", "--as-scenario", "{snapshot}"),
    ],
)
def test_an_output_onto_an_input_is_refused(
    cli: Cli, snap: str, tmp_path: Path, manifest_copy: Path, args: tuple[str, ...]
) -> None:
    link, hardlink = tmp_path / "link.yaml", tmp_path / "hard.yaml"
    link.symlink_to(manifest_copy)
    os.link(manifest_copy, hardlink)
    names = {"manifest": str(manifest_copy), "link": str(link), "hardlink": str(hardlink), "snapshot": snap}
    before = {p: Path(p).read_bytes() for p in (str(manifest_copy), snap)}
    command, *rest = args
    result = cli(command, str(manifest_copy), "--snapshot", snap, *(a.format(**names) for a in rest))
    refused(result, "would overwrite an input")
    assert {p: Path(p).read_bytes() for p in before} == before
    assert link.is_symlink() and no_temp_files(tmp_path)


def test_request_increases_does_not_overwrite_its_report(cli: Cli, snap: str, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert check(cli, snap, "-o", str(report)).exit_code == 0
    before = report.read_bytes()
    refused(
        cli("request-increases", "--from-report", str(report), "--offline", "-o", str(report)), "overwrite"
    )
    assert report.read_bytes() == before


def test_two_outputs_onto_one_file_are_refused(cli: Cli, snap: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    refused(check(cli, snap, "-o", str(out), "--report", f"sarif={out}"), "same file")
    assert not out.exists()


# --- GITHUB_STEP_SUMMARY ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["a-directory", "missing/summary.md"])
def test_a_broken_step_summary_is_a_warning_not_a_failure(
    cli: Cli, snap: str, tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-directory").mkdir()
    summary = tmp_path / where
    out = tmp_path / "r.sarif"
    result = cli(
        "check", MANIFEST, "--snapshot", snap, "--format", "github", "--report", f"sarif={out}",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # the verdict's code: GO
    assert "Traceback" not in result.output
    assert f"warning: GITHUB_STEP_SUMMARY={summary}" in result.stderr
    assert json.loads(out.read_text())["version"] == "2.1.0"  # the report files are still written
    assert not (tmp_path / "missing").exists()


def test_the_step_summary_is_appended_to(cli: Cli, snap: str, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    result = check(
        cli, snap, "--report", f"github={tmp_path / 'gh.txt'}", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 0 and result.stderr == ""
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "GO" in text[len("# earlier step\n") :]


def test_a_failed_write_keeps_the_old_file(cli: Cli, snap: str, tmp_path: Path, monkeypatch) -> None:
    """Complete or absent: a disk full during the write leaves the previous report and no temp file."""
    out = tmp_path / "report.json"
    out.write_text("previous\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    refused(check(cli, snap, "-o", str(out)), str(out), "No space left")
    assert out.read_text() == "previous\n" and no_temp_files(tmp_path)
