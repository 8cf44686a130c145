"""Datasets and the tokenizer: microgpt's reading and encoding, the names cache and fallback."""

from __future__ import annotations

import io
import os
import string
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import data
from engine.data import (
    NAMES_URL,
    Tokenizer,
    load_docs,
    load_names,
    parse_docs,
    read_docs,
)
from engine.errors import InputError


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Offline, with an empty private cache; any real download attempt fails the test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(cache))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    return cache


def fallback_lines() -> list[str]:
    text = resources.files("engine").joinpath("data/names_fallback.txt").read_text("utf-8")
    return text.splitlines()


def microgpt_read(path: Path) -> list[str]:
    """microgpt's own line, verbatim (apart from the explicit encoding)."""
    return [
        line.strip()
        for line in open(path, encoding="utf-8").read().strip().split("\n")
        if line.strip()
    ]


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- read_docs ----------------------------------------------------------------------------


def test_read_docs_matches_microgpt(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_bytes(b"\n\n  emma \nolivia\r\n\n ava\t\n  \nisabella\n\n")
    assert read_docs(path) == microgpt_read(path) == ["emma", "olivia", "ava", "isabella"]


def test_read_docs_keeps_inner_spaces_and_unicode(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("hello world\nzoë\n", encoding="utf-8")
    assert read_docs(str(path)) == ["hello world", "zoë"]


def test_read_docs_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as e:
        read_docs(tmp_path / "nope.txt")
    assert "nope.txt" in str(e.value)


def test_read_docs_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_docs(tmp_path)


def test_read_docs_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("zoë\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as e:
        read_docs(path)
    assert "latin1.txt" in str(e.value)


@pytest.mark.parametrize("content", ["", "\n\n", "   \n\t\n"])
def test_read_docs_no_documents(tmp_path: Path, content: str) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(content)
    with pytest.raises(InputError, match="no documents"):
        read_docs(path)


def test_read_docs_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permissions cannot make a file unreadable for root (CI runs as root), so the
    # operating system's refusal is simulated where read_docs opens the file.
    path = tmp_path / "secret.txt"
    path.write_text("emma\n")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(InputError, match="cannot read data file .*Permission denied"):
        read_docs(path)


def test_load_docs_with_and_without_path(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("a\nb\n")
    assert load_docs(str(path)) == ["a", "b"]
    assert load_docs(None) == load_names()[0]


# --- the shipped fallback -----------------------------------------------------------------


def test_fallback_has_over_a_thousand_distinct_lowercase_names() -> None:
    lines = fallback_lines()
    assert len(set(lines)) >= 1000
    assert lines == sorted(set(lines)), "sorted and unique"
    for name in lines:
        assert name and set(name) <= set(string.ascii_lowercase), name
        assert len(name) <= 15, name  # fits microgpt's block_size of 16
    # The vocabulary is the full alphabet, like the real names file's.
    assert Tokenizer.from_docs(lines).vocab == string.ascii_lowercase


def test_offline_uses_the_fallback() -> None:
    docs, source = load_names()
    assert docs == fallback_lines()
    assert source == "names (shipped fallback, offline)"


def test_offline_argument_overrides_env(monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "0")
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: FakeResponse(b"x\ny\n"))
    assert load_names(offline=True)[1] == "names (shipped fallback, offline)"
    assert not (no_network / "names.txt").exists()


@pytest.mark.parametrize(
    ("value", "offline"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_offline_env_values(monkeypatch: pytest.MonkeyPatch, value: str, offline: bool) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", value)
    assert data.is_offline() is offline


def test_cache_dir_env_override(no_network: Path) -> None:
    assert data.cache_dir() == no_network


# --- the cache and the download -----------------------------------------------------------


def test_cached_file_is_used(monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    no_network.mkdir()
    (no_network / "names.txt").write_text("zed\namy\n\nbo\n")
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "0")  # a cache wins even when online
    docs, source = load_names()
    assert docs == ["zed", "amy", "bo"]
    assert "cached" in source and str(no_network) in source


def test_damaged_cache_is_ignored(no_network: Path) -> None:
    no_network.mkdir()
    (no_network / "names.txt").write_bytes(b"\xff\xfe\x00")
    docs, source = load_names()
    assert source == "names (shipped fallback, offline)"
    assert docs == fallback_lines()


def test_download_is_cached(monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    calls: list[tuple[str, float]] = []

    def urlopen(url: str, timeout: float) -> FakeResponse:
        calls.append((url, timeout))
        return FakeResponse(b"emma\nolivia\nava\n")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    docs, source = load_names(offline=False)
    assert docs == ["emma", "olivia", "ava"]
    assert source == f"names (downloaded from {NAMES_URL})"
    assert calls == [(NAMES_URL, 5.0)]
    assert os.listdir(no_network) == ["names.txt"]
    assert (no_network / "names.txt").read_bytes() == b"emma\nolivia\nava\n"
    # The second time it comes from the cache, without a download.
    assert load_names(offline=False) == (docs, f"names (cached at {no_network / 'names.txt'})")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError("no route to host"),
        TimeoutError("timed out"),
        ConnectionResetError("reset"),
        ValueError("weird"),
    ],
)
def test_failed_download_falls_back_without_cache(
    monkeypatch: pytest.MonkeyPatch, no_network: Path, error: Exception
) -> None:
    def urlopen(url: str, timeout: float) -> FakeResponse:
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    docs, source = load_names(offline=False)
    assert docs == fallback_lines()
    assert source.startswith("names (shipped fallback, download failed")
    assert not no_network.exists() or os.listdir(no_network) == []


def test_download_failing_midway_leaves_no_cache(
    monkeypatch: pytest.MonkeyPatch, no_network: Path
) -> None:
    class Broken(FakeResponse):
        def read(self, *args: object) -> bytes:
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Broken(b""))
    docs, source = load_names(offline=False)
    assert "download failed" in source and "connection reset" in source
    assert docs == fallback_lines()
    assert not no_network.exists() or os.listdir(no_network) == []


def test_empty_or_binary_download_is_not_cached(
    monkeypatch: pytest.MonkeyPatch, no_network: Path
) -> None:
    for payload in (b"\n\n", b"\xff\xfe"):
        monkeypatch.setattr(
            urllib.request, "urlopen", lambda u, timeout, p=payload: FakeResponse(p)
        )
        docs, source = load_names(offline=False)
        assert "shipped fallback, download failed" in source
        assert not no_network.exists() or os.listdir(no_network) == []


def test_cache_write_failure_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch, no_network: Path
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", lambda u, timeout: FakeResponse(b"emma\n"))

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.os, "replace", failing_replace)
    docs, source = load_names(offline=False)
    assert docs == ["emma"]  # the download is still used
    assert "downloaded" in source
    assert os.listdir(no_network) == []


# --- the tokenizer ------------------------------------------------------------------------


def test_tokenizer_from_docs_is_microgpts() -> None:
    docs = ["emma", "olivia", "ava"]
    tok = Tokenizer.from_docs(docs)
    uchars = sorted(set("".join(docs)))
    assert tok.uchars == uchars
    assert tok.vocab == "".join(uchars) == "aeilmov"
    assert tok.BOS == len(uchars) == 7
    assert tok.vocab_size == 8
    assert tok.encode("emma") == [tok.BOS] + [uchars.index(ch) for ch in "emma"] + [tok.BOS]
    assert Tokenizer(tok.vocab) == tok


@given(st.lists(st.text(alphabet="abcxyz .'-é", min_size=1), min_size=1))
def test_encode_matches_uchars_index(docs: list[str]) -> None:
    tok = Tokenizer.from_docs(docs)
    uchars = sorted(set("".join(docs)))
    for doc in docs:
        ids = tok.encode(doc)
        assert ids == [len(uchars)] + [uchars.index(ch) for ch in doc] + [len(uchars)]
        assert tok.decode(ids) == doc


def test_encode_empty_doc() -> None:
    with pytest.raises(InputError, match="empty"):
        Tokenizer("abc").encode("")


def test_encode_unknown_characters() -> None:
    with pytest.raises(InputError) as e:
        Tokenizer("abcdefghijklmnopqrstuvwxyz").encode("Zoë1z")
    message = str(e.value)
    assert "'1Zë'" in message  # the unknown characters, sorted
    assert "'abcdefghijklmnopqrstuvwxyz'" in message  # and the vocabulary
    assert "\n" not in message


@pytest.mark.parametrize(
    ("vocab", "match"),
    [
        ("", "empty"),
        ("abca", "repeated characters 'a'"),
        ("ab\nc", "newline"),
        (["a", "b"], "must be a non-empty string"),
    ],
)
def test_tokenizer_rejects_bad_vocab(vocab: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Tokenizer(vocab)  # type: ignore[arg-type]


def test_from_docs_without_characters() -> None:
    with pytest.raises(InputError, match="no characters"):
        Tokenizer.from_docs([])


def test_token_text_and_decode() -> None:
    tok = Tokenizer("abc")
    assert [tok.token_text(i) for i in range(4)] == ["a", "b", "c", "<BOS>"]
    assert tok.decode([3, 0, 2, 1, 3]) == "acb"
    for bad in (-1, 4, True, 1.0):
        with pytest.raises(InputError):
            tok.token_text(bad)  # type: ignore[arg-type]


def test_parse_docs_is_the_read_docs_rule() -> None:
    assert parse_docs("  a\n\n b \n") == ["a", "b"]


def test_control_characters_are_shown_as_escapes_never_raw() -> None:
    from engine.data import printable

    assert printable("emma") == "emma" and printable("zoë ana") == "zoë ana"
    assert printable("a\x1b[31mb\x00c") == "a\\x1b[31mb\\x00c"
    assert printable("\u202eevil") == "\\u202eevil"  # a bidi override would reorder the line
    tokenizer = Tokenizer("\x00\x1bab")
    assert [tokenizer.token_text(i) for i in range(5)] == ["\\x00", "\\x1b", "a", "b", "<BOS>"]


def test_samples_from_a_data_file_with_control_characters_print_no_control_bytes(
    tmp_path, capsys, monkeypatch
) -> None:
    from microgpt_tui.cli import main

    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    data = tmp_path / "names.txt"
    data.write_text("\n".join(["a\x1bb", "\x07ab", "ba\x00", "ab", "bab"] * 4) + "\n")
    out = tmp_path / "ckpt.json"
    size = ["--n-embd", "4", "--n-head", "1", "--block-size", "4"]
    assert main(["train", "--data", str(data), *size, "--steps", "3", "--out", str(out)]) == 0
    assert main(["sample", "--checkpoint", str(out), "--num", "30"]) == 0
    printed = capsys.readouterr().out
    assert not any(ch in printed for ch in "\x00\x07\x1b")
    assert "\\x" in printed  # some sample did hold a control character, escaped
