"""Benchmark: the commands a new user types first, as whole processes: wall time and peak memory.

Measured: `--version`, `--help`, `check --sandbox seed-account` (the emulated account started by
the process itself, as `make demo` does) and the demo's two commands in a row (check, then
`plan --adapt --save-plan`, what `make demo` runs after its install). Each is run ROUNDS times after
one warm-up run (the first run of a fresh install fills the model cache); printed are the median
wall time, the median CPU time and the largest peak resident set size of the process (its own
`ru_maxrss` from `wait4`, children not included: the sandbox runs inside the process).
Targets (issue 11): --help/--version <= 0.15 s; check --sandbox seed-account <= 2.5 s and
<= 150 MiB; the demo <= 6 s. Not a timed test. Run: `make bench` or
`.venv/bin/python bench/bench_commands.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = str(Path(sys.executable).parent / "tap-preflight")
DEMO = ["manifests/tap-pipeline.yaml", "--env", "prod", "--sandbox", "seed-account"]


def run(argv: list[str]) -> tuple[float, float, float, int]:
    """One process: (wall seconds, CPU seconds, peak RSS in MiB, exit code); output discarded."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the command, its output to /dev/null, in the repository's root
        os.chdir(ROOT)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def measure(name: str, commands: list[list[str]], rounds: int, expected: set[int]) -> None:
    """Run the commands in sequence `rounds` times (after one warm-up) and print the medians."""
    walls, cpus, peaks = [], [], []
    for attempt in range(rounds + 1):
        wall = cpu = 0.0
        peak = 0.0
        for argv in commands:
            w, c, rss, code = run(argv)
            if code not in expected:
                raise SystemExit(f"{name}: {' '.join(argv)} exited {code} (expected {sorted(expected)})")
            wall, cpu, peak = wall + w, cpu + c, max(peak, rss)
        if attempt:  # the first round warms the caches a fresh install fills on first use
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
    print(
        f"{name:<48} wall {statistics.median(walls):6.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
        f"  CPU {statistics.median(cpus):5.2f} s  peak RSS {max(peaks):6.1f} MiB  ({rounds} rounds)"
    )


def compile_project() -> None:
    """The project's bytecode written first, as `pip install` writes an installed package's.

    An editable install leaves it to the first run, and a shell with PYTHONDONTWRITEBYTECODE (as on
    the benchmark's machines) never writes it: every run would compile ~35 modules again (~50 ms of
    CPU) that no installed copy compiles. The peer's venv is compiled by pip at its install.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "cli.py", "preflight"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    compile_project()
    load = os.getloadavg()[0]
    print(f"bench_commands: whole processes, {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    measure("tap-preflight --version", [[TOOL, "--version"]], rounds, {0})
    measure("tap-preflight --help", [[TOOL, "--help"]], rounds, {0})
    measure("tap-preflight check ... --sandbox seed-account", [[TOOL, "check", *DEMO]], rounds, {1})
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        plan = str(Path(tmp) / "plan.json")
        demo = [[TOOL, "check", *DEMO], [TOOL, "plan", "--adapt", *DEMO, "--save-plan", plan]]
        measure("make demo's two commands (check, plan --adapt)", demo, rounds, {0, 1})


if __name__ == "__main__":
    main()
