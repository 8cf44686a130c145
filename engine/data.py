"""Datasets and the character tokenizer, exactly as microgpt reads and encodes them.

microgpt reads one document per non-blank line of a text file, builds its vocabulary from
the sorted set of characters in the data, and gives the special BOS token the id
`len(uchars)`. The default dataset is microgpt's names file: cached after the first
download, or a list of names shipped in the package when offline.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import platformdirs

from engine.errors import InputError
from engine.fs import read_regular, write_bytes_atomically

NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/988aa59/names.txt"
DOWNLOAD_TIMEOUT = 5.0  # seconds
CACHE_DIR_ENV = "MICROGPT_TUI_CACHE_DIR"
OFFLINE_ENV = "MICROGPT_TUI_OFFLINE"
CACHE_FILE_NAME = "names.txt"
FALLBACK_RESOURCE = "data/names_fallback.txt"
SHIPPED = "shipped fallback"  # how `load_names` says it fell back to the package's names
MAX_DATA_BYTES = 64 * 1024 * 1024  # a names file is 0.2 MB; a bound on what a wrong file costs


# --- documents ----------------------------------------------------------------------------


def parse_docs(text: str) -> list[str]:
    """Split text into documents the way microgpt does: one per non-blank line, stripped."""
    return [line.strip() for line in text.strip().split("\n") if line.strip()]


def read_docs(path: str | os.PathLike[str]) -> list[str]:
    """Read a dataset file: one document per non-blank line, exactly as microgpt does.

    Raises InputError if the file is missing, a directory, unreadable, not UTF-8 text, or
    holds no documents.
    """
    raw = read_regular(path, limit=MAX_DATA_BYTES, what="data file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"data file {str(path)!r} is not UTF-8 text") from None
    # universal newlines, as microgpt's plain open(path) reads the file
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    docs = parse_docs(text)
    if not docs:
        raise InputError(f"data file {str(path)!r} has no documents (every line is blank)")
    return docs


def load_docs(path: str | os.PathLike[str] | None) -> list[str]:
    """The documents of `path` if given, else the default names dataset."""
    return load_docs_noted(path)[0]


def load_docs_noted(path: str | os.PathLike[str] | None) -> tuple[list[str], str]:
    """`load_docs`, and what to tell the user if the names are the package's own list rather
    than microgpt's names file (then losses and samples differ from microgpt's); else ""."""
    if path is not None:
        return read_docs(path), ""
    docs, about = load_names()
    return docs, shipped_names_note(about, docs)


def shipped_names_note(about: str, docs: list[str]) -> str:
    """`the 2,187 names shipped with microgpt-tui (offline), not microgpt's names file`, when
    `about` (from `load_names`) says the names are the package's own list; else ""."""
    if SHIPPED not in about:
        return ""
    why = about.split(SHIPPED + ", ", 1)[-1].rstrip(")")
    return f"the {len(docs):,} names shipped with microgpt-tui ({why}), not microgpt's names file"


# --- the names dataset --------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the downloaded names file is cached ($MICROGPT_TUI_CACHE_DIR overrides it)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir("microgpt-tui"))


def is_offline() -> bool:
    """True when $MICROGPT_TUI_OFFLINE is set to anything but empty or "0"."""
    value = os.environ.get(OFFLINE_ENV, "")
    return value not in ("", "0")


def load_names(*, offline: bool | None = None) -> tuple[list[str], str]:
    """The default names dataset and a description of where it came from.

    In order: the cached copy; else a download of NAMES_URL (cached atomically for next
    time), unless offline; else the names shipped in the package. Network and cache
    problems never raise: they only show in the returned description.
    `offline=None` reads $MICROGPT_TUI_OFFLINE.
    """
    if offline is None:
        offline = is_offline()
    cache = cache_dir() / CACHE_FILE_NAME
    try:
        if cache.is_file():
            return read_docs(cache), f"names (cached at {cache})"
    except (InputError, OSError):
        pass  # an unreadable or damaged cache: download again, or fall back
    if offline:
        return _fallback_names(), f"names ({SHIPPED}, offline)"
    import urllib.request  # here, not at the top: it costs every command ~20 ms to start

    try:
        with urllib.request.urlopen(NAMES_URL, timeout=DOWNLOAD_TIMEOUT) as response:
            raw = response.read()
        docs = parse_docs(raw.decode("utf-8"))
        if not docs:
            raise ValueError("the downloaded file is empty")
    except Exception as e:  # any failure at all means: use the shipped names
        reason = str(e) or type(e).__name__
        return _fallback_names(), f"names ({SHIPPED}, download failed: {reason})"
    _write_cache(cache, raw)
    return docs, f"names (downloaded from {NAMES_URL})"


def _fallback_names() -> list[str]:
    text = resources.files("engine").joinpath(FALLBACK_RESOURCE).read_text(encoding="utf-8")
    return parse_docs(text)


def _write_cache(cache: Path, raw: bytes) -> bool:
    """Write the cache atomically; False, and no file, on failure."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(cache, raw, "cache")
    except (OSError, InputError):
        return False
    return True


# --- the tokenizer ------------------------------------------------------------------------


def check_vocab(vocab: object, noun: str = "vocabulary") -> None:
    """Raise InputError unless `vocab` is a usable `uchars` string (checkpoints, tokenizers).

    Non-empty, no newline (documents are lines), no repeats (ids must be unique), and
    every character encodable (a lone surrogate could never be printed or saved).
    """
    if not isinstance(vocab, str) or not vocab:
        raise InputError(f"{noun} must be a non-empty string of characters, got {vocab!r}")
    if "\n" in vocab:
        raise InputError(f"{noun} must not contain a newline")
    counts = Counter(vocab)
    repeated = sorted(ch for ch, n in counts.items() if n > 1)
    if repeated:
        raise InputError(f"{noun} has repeated characters {''.join(repeated)!r}")
    bad = [ch for ch in vocab if 0xD800 <= ord(ch) <= 0xDFFF]
    if bad:
        raise InputError(f"{noun} has a lone surrogate {bad[0]!r}, not a character")


def printable(text: str) -> str:
    """`text` safe to show on a terminal: control characters written as escapes (`\\x1b`).

    A data file (and so a vocabulary, a document, a sample) may hold NUL, ESC or
    other control characters; sent raw they would move the cursor or recolour the
    terminal. Everything else, spaces and accents included, is shown as it is.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Tokenizer:
    """microgpt's character tokenizer: ids 0..len(uchars)-1 are characters, BOS is the last.

    Build it from documents with `Tokenizer.from_docs(docs)` (vocabulary = sorted unique
    characters, as microgpt does) or from a checkpoint's vocabulary string with
    `Tokenizer(vocab)`.
    """

    BOS_TEXT = "<BOS>"

    def __init__(self, vocab: str) -> None:
        check_vocab(vocab)
        self.uchars: list[str] = list(vocab)
        self.vocab: str = vocab
        self.BOS: int = len(self.uchars)
        self.vocab_size: int = len(self.uchars) + 1
        self._ids: dict[str, int] = {ch: i for i, ch in enumerate(self.uchars)}

    @classmethod
    def from_docs(cls, docs: Iterable[str]) -> Tokenizer:
        """The tokenizer microgpt builds from a dataset: uchars = sorted(set(''.join(docs)))."""
        uchars = sorted(set("".join(docs)))
        if not uchars:
            raise InputError("cannot build a vocabulary: the documents have no characters")
        return cls("".join(uchars))

    def encode(self, doc: str) -> list[int]:
        """`[BOS] + [uchars.index(ch) for ch in doc] + [BOS]`, as microgpt tokenizes a doc."""
        if not doc:
            raise InputError("the document is empty: give at least one character")
        try:
            return [self.BOS, *(self._ids[ch] for ch in doc), self.BOS]
        except KeyError:
            unknown = "".join(sorted({ch for ch in doc if ch not in self._ids}))
            raise InputError(
                f"document {doc!r} has characters not in the vocabulary: {unknown!r} "
                f"(the vocabulary is {self.vocab!r})"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of `ids`, leaving out BOS tokens."""
        return "".join(self.token_text(i) for i in ids if i != self.BOS)

    def token_text(self, token_id: int) -> str:
        """The character of a token id for a person to read (`printable`), or "<BOS>" for BOS."""
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            raise InputError(f"token id must be an integer, got {token_id!r}")
        if token_id == self.BOS:
            return self.BOS_TEXT
        if 0 <= token_id < self.BOS:
            return printable(self.uchars[token_id])
        raise InputError(f"token id {token_id} is out of range 0..{self.BOS}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and other.vocab == self.vocab

    def __hash__(self) -> int:
        return hash(self.vocab)

    def __repr__(self) -> str:
        return f"Tokenizer({self.vocab!r})"
