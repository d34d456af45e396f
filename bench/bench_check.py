"""Benchmark: the whole `tap-preflight check` process against awslimitchecker on one emulated account.

What a user runs, timed from outside: interpreter start to exit, as one process each. The emulated
account runs in its own process (`python -m preflight.sandbox`), with latency added to every request
through its fault injection (changed between runs over its control API, so both tools read the very
same account). Lambda's control-plane API rates are enforced by the sandbox as AWS documents them.

Printed, per account:
- seed-account at 50 ms: tap-preflight and awslimitchecker in interleaved rounds (A B A B ...), the
  median wall and CPU of each, the median of the per-round ratios, and the requests each made;
- seed-account at 500 ms: tap-preflight's wall against the ideal, the same process at 0 ms plus the
  sequential depth of reads correctness needs times the latency (the depth is printed by level);
- large-account at 50 ms (1,500 security groups, 2,500 network interfaces, 12,000 buckets, 1,200
  functions of other stacks): the same pairing, after one run of awslimitchecker as configured
  above; when that run cannot complete (S3 rejects its unpaginated ListBuckets there), the reason
  is printed and the pairing runs it without S3;
- a 1,000-function manifest on seed-account at 50 ms.

awslimitchecker is installed into a throwaway venv, as the `peer` tests do (BENCH_PEER_VENV=DIR
reuses one). Not a timed test. Run: `make bench` or `.venv/bin/python bench/bench_check.py`;
`--only seed-account` or `--only large-account` runs that account's section alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = str(Path(sys.executable).parent / "tap-preflight")
MANIFEST = "manifests/tap-pipeline.yaml"
PEER_SERVICES = ["VPC", "Lambda", "DynamoDB", "Kinesis", "IAM", "S3"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
FUNCTIONS = 1000
# Process start: the interpreter and every module a check imports, then exit (no request, no client).
START = [
    sys.executable,
    "-c",
    "import cli, preflight.commands.run, preflight.account.read, preflight.conflicts",
]

# The reads correctness needs, in the order they depend on each other.
DEPTH = (
    "identity (sts:GetCallerIdentity)",
    "reads that depend on nothing (quotas, settings, listings, the stack's names)",
    "reads that need the stack's VPC or an ownership check (rules of its groups, its Lambda ENIs, "
    "tags of a named resource found, its role's policies)",
)


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    code: int
    requests: int
    failure: str = ""  # the last line of a traceback: the run did not complete
    server_cpu: float = 0.0  # CPU the emulated account spent answering the run


@dataclass(frozen=True)
class Sandbox:
    endpoint: str
    proc: subprocess.Popen[str]

    def control(self, path: str, payload: dict[str, object] | None = None) -> dict[str, object]:
        data = None if payload is None else json.dumps(payload).encode()
        method = "GET" if payload is None else "PUT"
        if path.endswith("/reset"):
            method, data = "POST", b""
        request = urllib.request.Request(f"{self.endpoint}/_sandbox/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def latency(self, ms: int) -> None:
        self.control("faults", {"latency_ms": ms})

    def cpu(self) -> float:
        """The sandbox process's CPU seconds so far (Linux /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sandbox(scenario: str) -> Iterator[Sandbox]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "preflight.sandbox", "--scenario", scenario],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export AWS_ENDPOINT_URL="):
                yield Sandbox(line.split("=", 1)[1].strip(), proc)
                return
        raise RuntimeError(f"the sandbox did not start ({scenario})")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def client_env(sb: Sandbox, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {
        "AWS_ENDPOINT_URL": sb.endpoint,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "HOME": home,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def timed(cmd: list[str], env: dict[str, str], sb: Sandbox) -> Run:
    """One whole process: wall from spawn to reaping, CPU (user + sys) from the kernel's accounting."""
    sb.control("calls/reset")
    server_start = sb.cpu()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {stderr[-2000:]}")
    failure = stderr.strip().splitlines()[-1] if "Traceback" in stderr else ""
    calls = sb.control("calls")
    cpu = usage.ru_utime + usage.ru_stime
    total = int(calls["total"])  # type: ignore[call-overload]
    return Run(wall, cpu, proc.returncode, total, failure[:200], sb.cpu() - server_start)


def median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs)


def show(name: str, runs: list[Run]) -> None:
    requests = sorted({r.requests for r in runs})
    print(
        f"  {name:<16} wall {median(runs, 'wall'):6.3f} s (min {min(r.wall for r in runs):.3f}, "
        f"max {max(r.wall for r in runs):.3f})  CPU {median(runs, 'cpu'):5.3f} s  "
        f"requests {'/'.join(map(str, requests))}  exit {sorted({r.code for r in runs})}  "
        f"(the emulated account's CPU answering them: {median(runs, 'server_cpu'):.2f} s)"
    )
    for failure in sorted({r.failure for r in runs if r.failure}):
        print(f"    did NOT complete ({sum(r.failure == failure for r in runs)} of {len(runs)}): {failure}")


def paired(sb: Sandbox, ours: list[str], peer: list[str], env: dict[str, str], rounds: int) -> None:
    a: list[Run] = []
    b: list[Run] = []
    timed(ours, env, sb), timed(peer, env, sb)  # warm-up: the OS's file cache, the sandbox's first answers
    for _ in range(rounds):
        a.append(timed(ours, env, sb))
        b.append(timed(peer, env, sb))
    show("tap-preflight", a)
    show("awslimitchecker", b)
    ratios = [x.wall / y.wall for x, y in zip(a, b, strict=True)]
    caveat = " (against runs that did not complete)" if any(r.failure for r in b) else ""
    print(
        f"  ratio tap-preflight / awslimitchecker (wall, per round): median {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {rounds} rounds{caveat}"
    )


def large_account_peer(sb: Sandbox, peer: list[str], env: dict[str, str]) -> list[str]:
    """The peer's command on the large account, and what it did there, printed.

    EC2 answers an unpaginated Describe* in full (its pagination guide warns of throttling and
    time-outs, and documents no refusal), so the peer's unpaginated interface and group listings are
    answered. S3 rejects an unpaginated ListBuckets once the bucket quota is above 10,000 (its user
    guide): a peer that sends no MaxBuckets cannot read S3 there, and is paired without S3.
    """
    whole = timed(peer, env, sb)
    if not whole.failure:
        print(f"  awslimitchecker with S3 completed ({whole.wall:.3f} s, {whole.requests} requests)")
        return peer
    print(
        f"  awslimitchecker with S3 did NOT complete ({whole.wall:.3f} s, {whole.requests} requests): "
        f"{whole.failure}"
    )
    print(
        "    S3 rejects an unpaginated ListBuckets when the bucket quota is above 10,000 (the S3 user "
        "guide); awslimitchecker sends no MaxBuckets."
    )
    print("  so it is paired below WITHOUT S3 (tap-preflight still reads S3, paging ListBuckets):")
    return [arg for arg in peer if arg != "S3"]


def peer_venv() -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    reuse = os.environ.get("BENCH_PEER_VENV")
    if reuse and (Path(reuse) / "bin" / "awslimitchecker").exists():
        return Path(reuse) / "bin", None
    tmp = tempfile.TemporaryDirectory(prefix="bench-peer-")
    venv = Path(reuse or tmp.name)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "awslimitchecker"],
        check=True,
    )  # fmt: skip
    return venv / "bin", (None if reuse else tmp)


def peer_version(bin_dir: Path) -> str:
    script = "import importlib.metadata as m; print(m.version('awslimitchecker'))"
    out = subprocess.run(
        [str(bin_dir / "python"), "-c", script],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


def big_manifest(directory: Path) -> str:
    """The shipped manifest with 1,000 functions (each like the first), inside the project root."""
    import yaml

    doc = yaml.safe_load((ROOT / MANIFEST).read_text())
    first = doc["functions"][0]
    unreserved = {k: v for k, v in first.items() if "eserv" not in k}  # 1,000 x 100 would not fit
    doc["functions"] = [{**unreserved, "name": f"fn{i:04d}"} for i in range(FUNCTIONS)]
    doc["alarms"] = [{**a, "function": "fn0000"} if a.get("function") else a for a in doc.get("alarms", [])]
    path = directory / f".bench-functions-{os.getpid()}.yaml"  # beside the shipped one: same sources
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


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


SECTIONS = ("seed-account", "large-account")


def seed_account(ours: list[str], peer: list[str], home: str) -> None:
    with sandbox("seed-account") as sb:
        env = client_env(sb, home)
        print("seed-account, 50 ms per request:")
        sb.latency(50)
        paired(sb, ours, peer, env, ROUNDS)

        print("seed-account, 500 ms per request:")
        sb.latency(0)
        timed(ours, env, sb)
        at_zero = [timed(ours, env, sb) for _ in range(ROUNDS)]
        sb.latency(500)
        slow = [timed(ours, env, sb) for _ in range(max(3, ROUNDS // 2))]
        at_zero_wall = median(at_zero, "wall")
        start = median([timed(START, env, sb) for _ in range(ROUNDS)], "wall")
        ideal = start + len(DEPTH) * 0.5
        show("tap-preflight", slow)
        print(
            f"  process start (interpreter and the check path's imports): {start:.3f} s; "
            f"the whole check at 0 ms: {at_zero_wall:.3f} s; sequential depth {len(DEPTH)}:"
        )
        for level, what in enumerate(DEPTH, 1):
            print(f"    {level}. {what}")
        wall = median(slow, "wall")
        print(
            f"  ideal {start:.3f} + {len(DEPTH)} x 0.5 = {ideal:.3f} s; tap-preflight {wall:.3f} s = "
            f"{wall / ideal:.2f} x the ideal; round trips waited beyond the 0 ms run: "
            f"{(wall - at_zero_wall) / 0.5:.1f}"
        )

        print(f"seed-account, 50 ms per request, a {FUNCTIONS}-function manifest:")
        sb.latency(50)
        big = [TOOL, "check", big_manifest(ROOT / "manifests"), "--env", "prod", "--format", "json"]
        timed(big, env, sb)
        show("tap-preflight", [timed(big, env, sb) for _ in range(max(3, ROUNDS // 2))])


def large_account(ours: list[str], peer: list[str], home: str) -> None:
    with sandbox("large-account") as sb:
        env = client_env(sb, home)
        print("large-account (1,500 security groups, 2,500 ENIs, 12,000 buckets), 50 ms per request:")
        sb.latency(50)
        paired(sb, ours, large_account_peer(sb, peer, env), env, max(3, ROUNDS // 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, help="run this account's section alone")
    only = parser.parse_args().only
    bin_dir, tmp = peer_venv()
    compile_project()
    home = tempfile.mkdtemp(prefix="bench-home-")
    try:
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} CPUs "
            f"(load average {os.getloadavg()[0]:.1f} at the start), "
            f"Python {platform.python_version()}, awslimitchecker {peer_version(bin_dir)} "
            f"(-S {' '.join(PEER_SERVICES)} --skip-ta); medians of {ROUNDS} interleaved rounds"
            + (f"; {only} only" if only else "")
        )
        ours = [TOOL, "check", MANIFEST, "--env", "prod", "--format", "json"]
        peer = [str(bin_dir / "awslimitchecker"), "-S", *PEER_SERVICES, "--skip-ta", "--no-check-version"]
        if only in (None, "seed-account"):
            seed_account(ours, peer, home)
        if only in (None, "large-account"):
            large_account(ours, peer, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        for leftover in (ROOT / "manifests").glob(f".bench-functions-{os.getpid()}.yaml"):
            leftover.unlink()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
