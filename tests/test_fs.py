"""The user's files: outputs never replace a device, FIFO or socket; symlinks are written through.

Each case runs the real command line (`export -o`, `train --out`) against a special
file in a temporary folder, then checks the target is intact and the exit code is 2.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.fs import (
    NAME_MAX,
    check_writable,
    read_regular,
    write_atomically,
    write_text_atomically,
)
from microgpt_tui.cli import main

TINY = ["--n-embd", "8", "--n-head", "2", "--block-size", "8", "--seed", "1"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


def _fifo(folder: Path) -> Path:
    path = folder / "pipe"
    os.mkfifo(path)
    return path


def _char_device(folder: Path) -> Path:
    """A character device like /dev/null, made in the temporary folder (needs root)."""
    path = folder / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("os.mknod of a character device needs root here")
    return path


def _socket(folder: Path) -> tuple[Path, socket.socket]:
    path = folder / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return path, server


def _special(kind: str, folder: Path):
    if kind == "fifo":
        return _fifo(folder), None
    if kind == "chardev":
        return _char_device(folder), None
    return _socket(folder)


def _export(capsys, out: Path, fmt: str = "dot") -> tuple[int, str]:
    code = main(["export", *TINY, "--doc", "ab", "--overview", "-o", str(out), "--format", fmt])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "chardev", "socket"])
def test_export_refuses_special_files_and_leaves_them(tmp_path: Path, capsys, kind: str) -> None:
    path, keep = _special(kind, tmp_path)
    before = os.lstat(path)
    code, err = _export(capsys, path)
    assert code == 2
    assert err.count("\n") == 1 and "not a regular file" in err
    after = os.lstat(path)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    if keep is not None:
        keep.close()


@pytest.mark.parametrize("kind", ["fifo", "chardev", "socket"])
def test_train_out_refuses_special_files(tmp_path: Path, capsys, kind: str) -> None:
    path, keep = _special(kind, tmp_path)
    before = os.lstat(path)
    code = main(["train", *TINY, "--steps", "1", "--out", str(path), "--samples", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err and err.count("\n") == 1
    after = os.lstat(path)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
    assert after.st_ino == before.st_ino
    if keep is not None:
        keep.close()


def test_export_through_a_symlink_writes_its_target(tmp_path: Path, capsys) -> None:
    target = tmp_path / "real" / "graph.dot"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "graph.dot"
    link.symlink_to(target)
    code, err = _export(capsys, link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("digraph")
    assert sorted(p.name for p in target.parent.iterdir()) == ["graph.dot"]


def test_train_resuming_through_a_symlinked_checkpoint_keeps_the_link(
    tmp_path: Path, capsys
) -> None:
    real = tmp_path / "runs" / "ckpt.json"
    real.parent.mkdir()
    latest = tmp_path / "latest.json"
    latest.symlink_to(real)
    assert main(["train", *TINY, "--steps", "2", "--out", str(latest), "--samples", "0"]) == 0
    assert latest.is_symlink() and real.is_file()
    first = real.read_text()
    code = main(
        ["train", "--checkpoint", str(latest), "--steps", "4", "--out", str(latest)]
        + ["--samples", "0"]
    )
    capsys.readouterr()
    assert code == 0
    assert latest.is_symlink(), "the link was replaced by a regular file"
    assert real.read_text() != first  # the target holds the resumed run
    assert '"step": 4' in real.read_text()


def test_a_dangling_symlink_is_written_through(tmp_path: Path) -> None:
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "target.txt")
    write_text_atomically(link, "hello")
    assert link.is_symlink() and (tmp_path / "target.txt").read_text() == "hello"


def test_a_name_longer_than_the_file_system_takes_is_one_line(tmp_path: Path, capsys) -> None:
    long = tmp_path / ("x" * (NAME_MAX + 1) + ".dot")
    code, err = _export(capsys, long)
    assert code == 2 and err.count("\n") == 1 and "longer than 255 bytes" in err
    code = main(["train", *TINY, "--steps", "1", "--out", str(long), "--samples", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "longer than 255 bytes" in err


def test_the_longest_legal_name_is_written(tmp_path: Path) -> None:
    path = tmp_path / ("y" * NAME_MAX)
    write_text_atomically(path, "ok")  # the temporary file's name must fit too
    assert path.read_text() == "ok"


def test_an_existing_files_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o600)
    write_text_atomically(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "new"


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old")

    def fill(tmp: Path) -> None:
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fill)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_an_unwritable_directory_is_found_before_work(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="Permission denied"):
            check_writable(folder / "x.json", "checkpoint")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_reading_refuses_special_files_without_blocking(tmp_path: Path, kind: str) -> None:
    path, _ = _special(kind, tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        read_regular(path, limit=100, what="checkpoint")


def test_reading_caps_the_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="larger than"):
        read_regular(path, limit=100, what="checkpoint")
    assert read_regular(path, limit=101, what="checkpoint") == b"x" * 101


@pytest.mark.parametrize("command", ["grads", "sample"])
@pytest.mark.parametrize("kind", ["fifo", "chardev", "dev-zero"])
def test_checkpoint_from_a_special_file_is_refused(
    tmp_path: Path, capsys, command: str, kind: str
) -> None:
    path = Path("/dev/zero") if kind == "dev-zero" else _special(kind, tmp_path)[0]
    argv = [command, "--checkpoint", str(path)] + (["--doc", "ab"] if command == "grads" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a regular file" in err
