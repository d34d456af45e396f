"""What the terminal a report is printed to can show: its width and whether it takes colour.

rich measures it (COLUMNS first, then the terminal's own size), so every command agrees on one width.
Output that is not a terminal (a file, a pipe, a CI log) keeps long lines unless COLUMNS asks otherwise:
grep and diff read it better whole.
"""

from __future__ import annotations

import os
import shlex
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

MIN_WIDTH = 40  # below this nothing reads well; rich and click do not go narrower either


def columns_set() -> bool:
    return os.environ.get("COLUMNS", "").strip().isdigit()


def output_width(stream: TextIO | None = None) -> int | None:
    """The width to render for on `stream` (stdout by default), or None when it is not a terminal and
    COLUMNS is not set (the renderer's own default then)."""
    stream = stream or sys.stdout
    if not (_isatty(stream) or columns_set()):
        return None
    from rich.console import Console

    return max(Console(file=stream).width, MIN_WIDTH)


def use_color(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    stream = stream or sys.stdout
    if not _isatty(stream) or os.environ.get("NO_COLOR", "") != "":
        return False
    return os.environ.get("TERM", "") != "dumb"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def fit(text: str, width: int | None) -> str:
    """Plain text with every line no wider than `width`: long lines wrap under their own indentation."""
    if width is None:
        return text
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if len(indent) > width // 2:
            indent = ""
        out += textwrap.wrap(
            line.strip(),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + "    ",
            break_on_hyphens=False,
            break_long_words=True,
        )
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def shell_lines(argv: list[str], width: int | None, indent: str = "  ") -> list[str]:
    """A command as lines a person can copy into a shell: quoted, continued with `\\` to fit `width`."""
    words = [shlex.quote(a) for a in argv]
    if width is None:
        return [indent + " ".join(words)]
    lines: list[str] = []
    current = indent + words[0]
    for word in words[1:]:
        # room for " word" and, on every line but the last, the trailing " \"
        if len(current) + 1 + len(word) + 2 > width:
            lines.append(current + " \\")
            current = indent + "    " + word
        else:
            current += " " + word
    lines.append(current)
    return lines


@contextmanager
def progress_line(stream: TextIO | None = None) -> Iterator[None]:
    """One static line on a terminal while the account is read: "reading the account... done in 1.2 s".

    Not a spinner: its frames are redrawn with carriage returns, which a CI log with a tty keeps as one
    ever-growing line.
    """
    stream = stream or sys.stderr
    if not _isatty(stream):
        yield None
        return
    started = time.monotonic()
    stream.write("reading the account...")
    stream.flush()
    outcome = "failed"
    try:
        yield None
        outcome = f"done in {time.monotonic() - started:.1f} s"
    finally:
        stream.write(f" {outcome}\n")
        stream.flush()
