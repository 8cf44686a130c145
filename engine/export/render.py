"""Writing a picture: DOT as is, images by running Graphviz's `dot` under a time limit.

`graphviz.render` has no timeout, so `dot` runs as a subprocess. Every file is
written through `engine.fs`: an existing one is replaced atomically (dot writes
a temporary file beside it, which is then renamed), or left as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from engine.errors import InputError
from engine.export.errors import DotFailed, DotMissing, DotTimedOut, FormatMismatch, UnknownFormat
from engine.fs import check_writable, write_atomically, write_text_atomically

FORMATS = ("svg", "png", "pdf", "dot")
DEFAULT_TIMEOUT = 60.0  # seconds for one run of `dot`
DEFAULT_DPI = 144  # PNG: twice the 72 dpi of the layout, sharp on a projector
INSTALL_HINT = DotMissing.INSTALL_HINT


def resolve_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else the file's extension (UnknownFormat if neither)."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise UnknownFormat(str(path), fmt, FORMATS)
        return fmt
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise UnknownFormat(str(path), None, FORMATS)
    return ext


def format_for_file(path: str | os.PathLike[str], chosen: str) -> str:
    """The format to write `path` in when `chosen` is picked as well (the export dialog).

    The extension decides when it names a format; `chosen` must then agree
    (FormatMismatch if not). A name without a known extension takes `chosen`.
    """
    ext = Path(path).suffix.lower().lstrip(".")
    chosen = resolve_format(path, chosen)
    if ext in FORMATS and ext != chosen:
        raise FormatMismatch(str(path), ext, chosen)
    return chosen


def dot_binary() -> str:
    """The path of Graphviz's `dot`, or DotMissing saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise DotMissing()
    return found


def render_source(
    source: str,
    path: str | os.PathLike[str],
    fmt: str,
    *,
    dpi: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "the graph",
) -> Path:
    """Write DOT `source` to `path` as `fmt`, running `dot` under `timeout` seconds for images."""
    if fmt not in FORMATS:
        raise UnknownFormat(str(path), fmt, FORMATS)
    check_writable(path)
    if fmt == "dot":
        return write_text_atomically(path, source)

    binary = dot_binary()
    command = [binary, f"-T{fmt}"]
    if fmt == "png":
        command.append(f"-Gdpi={dpi or DEFAULT_DPI}")

    def fill(tmp: Path) -> None:
        _run_dot([*command, "-o", str(tmp)], source, timeout, what)
        if tmp.stat().st_size == 0:
            raise InputError(f"Graphviz's dot wrote nothing for {what}")

    return write_atomically(path, fill)


def _run_dot(command: list[str], source: str, timeout: float, what: str) -> None:
    """Run `dot` on `source`; DotTimedOut, DotFailed or InputError if it does not succeed."""
    try:
        done = subprocess.run(
            command,
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DotTimedOut(timeout, what) from None
    except OSError as e:
        raise InputError(f"cannot run {command[0]}: {e.strerror or e}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DotFailed(what, lines[0] if lines else f"exit status {done.returncode}")


def node_sizes(source: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, tuple[float, float]]:
    """Each node's width and height in points, as `dot` draws them (for a layout of our own)."""
    command = [dot_binary(), "-Tplain"]
    try:
        done = subprocess.run(
            command, input=source.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise DotTimedOut(timeout, "the sizes of the boxes") from None
    except OSError as e:
        raise InputError(f"cannot run {command[0]}: {e.strerror or e}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DotFailed("the boxes", lines[0] if lines else f"exit status {done.returncode}")
    sizes = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 6)
        if parts[0] == "node" and len(parts) >= 6:
            sizes[parts[1].strip('"')] = (float(parts[4]) * 72, float(parts[5]) * 72)
    return sizes
