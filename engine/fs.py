"""The user's files: written atomically and only as regular files, read with a size cap.

Every file the project writes (checkpoints, exports, logs' checkpoints, the names
cache) goes through `write_atomically`, and every file it reads whole (checkpoints,
data) through `read_regular`, so these promises hold everywhere:

- a write goes to a temporary file beside its target, is fsynced and renamed over
  it, so an interrupted write leaves the old file (or none), never half of one;
- the target keeps its permissions, a new file gets the usual ones (umask applied);
- a symlink is written through: its final target is replaced (atomically, beside
  the target), so the link and its target stay one file;
- devices, FIFOs, sockets and directories are refused before anything is written
  (writing "over" /dev/null must not replace it with a regular file), and so are
  names too long for the file system;
- a read refuses what is not a regular file (a FIFO or /dev/zero would block or
  never end) and anything larger than a stated cap.

Errors are `InputError`s with one line naming the file and the reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from engine.errors import InputError

# The longest file name (one path component) most file systems take, in bytes.
NAME_MAX = 255

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def reason(error: OSError) -> str:
    """An OSError in a few words (`Permission denied`), for a one-line message."""
    if error.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return error.strerror or str(error) or type(error).__name__


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)", ...); None for a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def output_target(path: str | os.PathLike[str], what: str = "") -> Path:
    """The regular file that writing `path` replaces: `path`, or its symlink's final target.

    Raises InputError when the target exists and is not a regular file, its directory
    does not exist, or its name is too long. `what` names the file in messages
    ("checkpoint"), e.g. `cannot write checkpoint to x.json: it is a directory`.
    """
    shown = _shown(path, what)
    if not os.fspath(path):
        raise InputError(f"cannot write {shown}: the path is empty")
    target = Path(os.path.realpath(path))  # follows every symlink, even a dangling one
    if len(os.fsencode(target.name)) > NAME_MAX:
        raise InputError(f"cannot write {shown}: the file name is longer than {NAME_MAX} bytes")
    if not target.parent.is_dir():
        missing = os.strerror(errno.ENOENT)
        raise InputError(
            f"cannot write {shown}: directory {str(target.parent)!r} does not exist ({missing})"
        )
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as e:
        raise InputError(f"cannot write {shown}: {reason(e)}") from None
    if (kind := kind_of(mode)) is not None:
        raise InputError(f"cannot write {shown}: it is {kind}, not a regular file")
    return target


def check_writable(path: str | os.PathLike[str], what: str = "") -> Path:
    """Fail early, in one line, if `path` could not be written; its target if it could.

    Besides `output_target`'s checks, creates (and removes) a temporary file beside
    the target, so a read-only directory is found before any long work starts.
    """
    target = output_target(path, what)
    tmp = _temp_beside(target, path, what)
    _discard(tmp)
    return target


def write_atomically(
    path: str | os.PathLike[str], fill: Callable[[Path], None], what: str = ""
) -> Path:
    """Call `fill(tmp)` to write a temporary file beside the target, then rename it over.

    The target is `output_target(path)`. If `fill` (or anything after it) fails, even
    by Ctrl-C, the temporary file is removed and the target is left as it was. An
    OSError becomes an InputError naming the file; other exceptions propagate.
    Returns the target written.
    """
    target = output_target(path, what)
    mode = _existing_mode(target)
    tmp = _temp_beside(target, path, what)
    try:
        fill(tmp)
        _fsync_file(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        _discard(tmp)
        if isinstance(e, OSError):
            raise InputError(f"cannot write {_shown(path, what)}: {reason(e)}") from None
        raise
    _fsync_directory(target.parent)
    return target


def write_text_atomically(path: str | os.PathLike[str], text: str, what: str = "") -> Path:
    """`write_atomically` for a text (UTF-8) file."""
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what)


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes, what: str = "") -> Path:
    """`write_atomically` for bytes."""
    return write_atomically(path, lambda tmp: tmp.write_bytes(data), what)


def read_regular(path: str | os.PathLike[str], *, limit: int, what: str) -> bytes:
    """The bytes of the regular file `path`, refusing other kinds and files over `limit`.

    `what` names the file in messages (`checkpoint`, `data file`). The kind is checked
    before opening (opening a FIFO blocks), and the read stops one byte past `limit`
    (a file may grow, or lie about its size, as /proc files do).
    """
    shown = os.fspath(path)
    try:
        mode = os.stat(shown).st_mode
        kind = kind_of(mode)
        if kind is not None:
            raise InputError(f"{what} {shown} is {kind}, not a regular file")
        with open(shown, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {shown} does not exist") from None
    except OSError as e:
        raise InputError(f"cannot read {what} {shown}: {reason(e)}") from None
    if len(data) > limit:
        raise InputError(f"{what} {shown} is larger than {_size(limit)}: not a {what}")
    return data


def _shown(path: str | os.PathLike[str], what: str) -> str:
    """How a write's message names the file: `checkpoint to x.json`, or just `'x.json'`."""
    return f"{what} to {os.fspath(path)}" if what else repr(os.fspath(path))


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.0f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _existing_mode(target: Path) -> int | None:
    """The permissions of the file being replaced (None: a new file, umask applies)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return None


def _temp_beside(target: Path, path: str | os.PathLike[str], what: str) -> Path:
    """An empty new file in `target`'s directory, with the usual permissions (umask applied).

    Its name is short enough for any target name the file system takes.
    """
    stem = target.name[:64]
    tmp = target.with_name(f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise InputError(f"cannot write {_shown(path, what)}: {reason(e)}") from None
    os.close(fd)
    return tmp


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
