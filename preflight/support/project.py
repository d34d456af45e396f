"""The project a manifest belongs to, and keeping every file it names inside it.

The project root is the nearest directory at or above the manifest holding `Pulumi.yaml` (the Pulumi
project the manifest deploys with), else the repository it is in (`.git`); a manifest outside both is a
project of its own (its directory). Function sources are resolved from the manifest's directory and
must stay inside the root: an absolute path, a `..` that climbs out, or a symlink that leads out is
refused, so a changed manifest or plan cannot pack a file of the deploying machine (`/etc/passwd`) into
a Lambda function.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

PROJECT_MARKERS = ("Pulumi.yaml", ".git")  # in this order: a Pulumi project, else a repository


def project_root(start: str | os.PathLike[str]) -> Path:
    """The nearest directory at or above `start` holding Pulumi.yaml, else .git; else `start` itself."""
    here = Path(start).resolve()
    for marker in PROJECT_MARKERS:
        for candidate in (here, *here.parents):
            if (candidate / marker).exists():
                return candidate
    return here


def manifest_dir(path: str | os.PathLike[str]) -> Path:
    """Where a manifest's relative sources start: its directory, or the current directory for a
    manifest with no directory of its own (`-`, a pipe, /dev/stdin, a process substitution, a FIFO)."""
    if str(path) == "-" or str(path).startswith(("/dev/", "/proc/")):
        return Path(".")
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = True  # not there: the reader says so; keep its directory for the message
    return Path(path).parent if regular else Path(".")


def source_problem(root: Path, base_dir: Path, source: str) -> str | None:
    """Why `source` (relative to `base_dir`) is not a file inside `root`, or None."""
    if not source or "\x00" in source:
        return "a handler source must be a relative path to a file"
    if Path(source).is_absolute() or PurePosixPath(source).is_absolute() or source.startswith("\\"):
        return f"handler source {source!r} is an absolute path; give it relative to the manifest"
    real_root = root.resolve()
    target = (base_dir / source).resolve()  # follows symlinks: a link out of the tree is caught
    if not target.is_relative_to(real_root):
        return f"handler source {source!r} leads outside the project ({real_root})"
    if not target.is_file():
        return f"handler source {source!r} not found"
    return None


def relative_to_root(root: Path, path: str | os.PathLike[str]) -> str:
    """`path` relative to `root`, POSIX style (what a plan records); ValueError if it is outside."""
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def path_problem(root: Path, relative: str) -> str | None:
    """Why `relative` (a manifest path recorded in a plan) is not a file inside `root`, or None."""
    if not relative or "\x00" in relative or PurePosixPath(relative).is_absolute() or "\\" in relative:
        return f"{relative!r} must be a path relative to the project root"
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        return f"{relative!r} leads outside the project ({root.resolve()})"
    if not target.is_file():
        return f"{relative!r} is not a file in the project ({root.resolve()})"
    return None
