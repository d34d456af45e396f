"""The files the tool reads and writes, whatever kind of file a path names.

Reading (`read_input`): the manifest, plan, snapshot, scenario and report are read with a byte cap and
within the run's deadline, never trusting `st_size`: `/dev/zero` is refused past the cap, a FIFO with
no writer or a silent terminal is given up on at the deadline. `-` is standard input.

Writing (`write_output`), files stay ours only:
- `-` is standard output;
- a regular file, or a new one, is replaced atomically (a temp file beside it, then a rename), so it
  is complete or absent; it keeps the mode of the file it replaces, a new one gets 0666 minus umask;
- a symlink is written through: its target is replaced (or created), the link stays;
- a character device or a FIFO (`/dev/null`, `/dev/stderr`, a pipe) is written to, never replaced;
- a directory, a block device or a socket is refused (exit 2).
`check_outputs` refuses, before any work, an output onto one of the run's own inputs, two outputs onto
the same file and two outputs on standard output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import select
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from preflight.support.deadline import DEFAULT_TIMEOUT_S, Deadline, current
from preflight.support.errors import InputError

MAX_INPUT_BYTES = 16 * 1024 * 1024
STDIO = "-"
STDIN_NAME = "<stdin>"
_CHUNK = 64 * 1024
_FIFO_RETRY_S = 0.05


def input_name(path: str | os.PathLike[str]) -> str:
    """How an input is named in messages: `-` is standard input."""
    name = os.fspath(path)
    return STDIN_NAME if name == STDIO else name


# --- reading ---------------------------------------------------------------------------------------


def read_input(path: str | os.PathLike[str], what: str, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of `path` (`-`: standard input), at most `limit`; InputError for anything unusable."""
    name = os.fspath(path)
    if name == STDIO:
        return _read_stdin(what, limit)
    fd = _open_input(name, what)
    try:
        return _read_capped(fd, name, what, limit)
    finally:
        os.close(fd)


def _read_stdin(what: str, limit: int) -> bytes:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an in-memory stream (tests, embedding)
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        try:
            data = stream.read(limit + 1)
        except OSError as exc:  # e.g. a test runner's stdin that refuses to be read
            raise InputError(f"cannot read {what}: {exc}", file=STDIN_NAME) from exc
        data = data.encode() if isinstance(data, str) else data
        if len(data) > limit:
            raise _too_large(STDIN_NAME, what, limit) from None
        return data
    return _read_capped(fd, STDIN_NAME, what, limit)


def _open_input(name: str, what: str) -> int:
    try:
        mode = os.stat(name).st_mode
    except OSError as exc:
        raise _unusable(name, what, exc) from exc
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} is a directory, expected a file", file=name)
    if stat.S_ISSOCK(mode):
        raise InputError(f"{what} is a socket, expected a file", file=name)
    try:
        # Non-blocking: opening a FIFO that has no writer would otherwise wait forever.
        return os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _unusable(name, what, exc) from exc


def _unusable(name: str, what: str, exc: OSError) -> InputError:
    if exc.errno == errno.ELOOP:
        return InputError(f"{what} is a symlink loop", file=name)
    if exc.errno == errno.ENOENT and os.path.islink(name):
        return InputError(f"{what} is a symlink to {os.readlink(name)}, which does not exist", file=name)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return InputError(f"{what} not found", file=name)
    return InputError(f"cannot read {what}: {exc.strerror}", file=name)


def _too_large(name: str, what: str, limit: int) -> InputError:
    return InputError(f"{what} is larger than the {limit}-byte cap", file=name)


def _run_deadline() -> Deadline:
    """The run's deadline; outside a command (library use) a default one from now."""
    return current() or Deadline.after(DEFAULT_TIMEOUT_S)


def _read_capped(fd: int, name: str, what: str, limit: int) -> bytes:
    """Read to the end, at most `limit` bytes, waiting for data only until the run's deadline.

    `poll` before each read: on Linux it does not report a FIFO readable until a writer has written
    or come and gone, so a writer that is late is waited for, one that never comes is not.
    """
    run = _run_deadline()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    total = 0
    while True:
        left = run.remaining()
        if left <= 0 or not poller.poll(left * 1000):
            why = "a FIFO or terminal nobody writes to?"
            raise InputError(f"{what}: nothing (more) to read within {run.seconds:g} s ({why})", file=name)
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        except BlockingIOError:
            continue
        except OSError as exc:
            raise InputError(f"cannot read {what}: {exc.strerror}", file=name) from exc
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(name, what, limit)


# --- writing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    path: str  # where to write: the path given (streams) or the real path (files, through symlinks)
    kind: str  # "stdout" | "file" (replace atomically) | "new" (create atomically) | "stream"
    mode: int | None = None  # permission bits of the file being replaced
    owner: tuple[int, int] | None = None


def _target(name: str) -> _Target:
    """What writing to `name` means; InputError for what must not be written to."""
    if name == STDIO:
        return _Target(name, "stdout")
    if name.endswith(os.sep):
        raise InputError("output path names a directory; give a file name", file=name)
    try:
        st = os.stat(name)  # follows symlinks: a link is written through
    except FileNotFoundError:
        real = os.path.realpath(name)  # a dangling symlink: create what it points to
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            raise InputError(f"cannot write: directory {parent} does not exist", file=name) from None
        return _Target(real, "new")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("cannot write: the output path is a symlink loop", file=name) from exc
        raise InputError(f"cannot write: {exc.strerror}", file=name) from exc
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise InputError("output path is a directory; give a file name", file=name)
    if stat.S_ISREG(mode):
        real = os.path.realpath(name)
        if not os.access(real, os.W_OK):
            raise InputError("cannot write: the file is read-only", file=name)
        return _Target(real, "file", stat.S_IMODE(mode), (st.st_uid, st.st_gid))
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return _Target(name, "stream")
    kind = "block device" if stat.S_ISBLK(mode) else "socket" if stat.S_ISSOCK(mode) else "special file"
    raise InputError(f"output path is a {kind}; refusing to write to it", file=name)


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` as the module docstring says; InputError (exit 2) naming the path."""
    name = os.fspath(path)
    target = _target(name)
    data = text.encode("utf-8")
    try:
        if target.kind == "stdout":
            sys.stdout.write(text)
            sys.stdout.flush()
        elif target.kind == "stream":
            _write_stream(target.path, data, os.O_WRONLY)
        else:
            _replace_atomically(target, data)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=name) from exc


# The name the rest of the code base knows; every output goes through the same rules.
write_atomic = write_output


def _replace_atomically(target: _Target, data: bytes) -> None:
    directory, base = os.path.split(target.path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for any new file
            break
        except FileExistsError:
            continue
    try:
        try:
            if target.mode is not None:
                os.fchmod(fd, target.mode)
            if target.owner is not None and target.owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):  # only root may; otherwise the file becomes ours
                    os.fchown(fd, *target.owner)
            _write_all(fd, data, time.monotonic() + DEFAULT_TIMEOUT_S)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_stream(path: str, data: bytes, flags: int) -> None:
    """Write to a device or FIFO in place, giving up at the run's deadline (a FIFO nobody reads)."""
    run = _run_deadline()
    while True:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: a FIFO with no reader yet
                raise
            if run.expired():
                raise TimeoutError(f"nobody opened the FIFO for reading within {run.seconds:g} s") from exc
            time.sleep(_FIFO_RETRY_S)
    try:
        _write_all(fd, data, run.expires_at)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, stop_at: float) -> None:
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            left = stop_at - time.monotonic()
            if left <= 0:
                raise TimeoutError("the reader stopped reading before the end") from None
            poller.poll(left * 1000)
            continue
        view = view[written:]


# --- the run's outputs against its inputs --------------------------------------------------------


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_outputs(outputs: Sequence[tuple[str, str | None]], inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy something.

    `outputs` are (option, path) pairs, path `-` for standard output and None for no output; `inputs`
    are the run's input files. Only regular input files are compared: a FIFO or terminal is not
    destroyed by being written to.
    """
    given = [(option, path) for option, path in outputs if path]
    on_stdout = [option for option, path in given if path == STDIO]
    if len(on_stdout) > 1:
        raise InputError(
            f"only one output can go to standard output, here {' and '.join(on_stdout)} do; "
            "send the others to files"
        )
    files = [(option, path) for option, path in given if path != STDIO]
    for _, path in files:
        _target(path)
    sources = [path for path in inputs if path and path != STDIO and _is_regular_file(path)]
    for option, path in files:
        for source in sources:
            if _same_file(path, source):
                raise InputError(f"{option} would overwrite an input of this run ({source})", file=path)
    for i, (option, path) in enumerate(files):
        for other_option, other in files[i + 1 :]:
            if _same_file(path, other):
                raise InputError(f"{option} and {other_option} write to the same file", file=path)


def append_summary(path: str, text: str) -> str | None:
    """Append to `$GITHUB_STEP_SUMMARY`; a warning to show when it cannot be, else None.

    A warning, not an error: the summary is the runner's convenience; the verdict, its exit code and
    the report files do not depend on it, and a broken runner setting must not turn GO into a failure.
    """
    try:
        target = _target(path)
        if target.kind == "stdout":
            raise InputError("not a file")
        flags = os.O_WRONLY | os.O_APPEND
        if target.kind == "stream":
            _write_stream(target.path, text.encode("utf-8"), flags)
        else:
            fd = os.open(target.path, flags | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                _write_all(fd, text.encode("utf-8"), time.monotonic() + DEFAULT_TIMEOUT_S)
            finally:
                os.close(fd)
    except InputError as exc:
        return f"GITHUB_STEP_SUMMARY={path}: {exc.detail}; the job summary was not written"
    except OSError as exc:
        return f"GITHUB_STEP_SUMMARY={path}: {exc.strerror or exc}; the job summary was not written"
    return None
