"""Benchmark: what a fresh install of the tool costs, in time and disk.

Each variant is installed into a new virtual environment, as a user installs it (`pip install .`,
not editable), with pip's cache as it is on this machine (a cold cache adds the downloads). Printed:
the wall time of the install, the size of the environment, the number of distributions, and the
largest ones. Variants: the tool alone (the gate and the emulated account) and the tool with the
`pulumi` extra (the deployment program). Not a timed test. Run: `make bench` or
`.venv/bin/python bench/bench_install.py [--only base|pulumi]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {"base": ".", "pulumi": ".[pulumi]"}
LARGEST = 8


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def largest(site: Path) -> list[tuple[str, int]]:
    """Distributions by the size of the files their RECORD lists."""
    sizes = []
    for record in site.glob("*.dist-info/RECORD"):
        total = 0
        for line in record.read_text(encoding="utf-8").splitlines():
            name = line.split(",", 1)[0]
            target = site / name
            if name and target.is_file():
                total += target.stat().st_size
        sizes.append((record.parent.name.split("-", 1)[0], total))
    return sorted(sizes, key=lambda item: -item[1])


def install(spec: str) -> None:
    with tempfile.TemporaryDirectory(prefix="tap-preflight-install-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
        started = time.perf_counter()
        done = subprocess.run([*pip, "install", spec], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-4000:])
            raise SystemExit(f"pip install {spec!r} failed (exit {done.returncode})")
        site = site_packages(venv)
        dists = largest(site)
        print(
            f"pip install {spec!r}: {seconds:.1f} s, environment {tree_size(venv) / 2**20:.0f} MiB, "
            f"{len(dists)} distributions"
        )
        top = ", ".join(f"{name} {size / 2**20:.1f}" for name, size in dists[:LARGEST])
        print(f"  largest (MiB): {top}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(VARIANTS), help="install one variant only")
    args = parser.parse_args()
    for name, spec in VARIANTS.items():
        if args.only in (None, name):
            install(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
