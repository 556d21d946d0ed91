"""word2vec vector files, text and binary (the original word2vec.c / GoogleNews format that gensim reads).

Both start with a header line "V DIM". Text rows are "word x1 ... xDIM"; binary rows are the word's UTF-8
bytes, a space, DIM little-endian float32 and (as word2vec.c writes it) a newline. The loader checks V and
DIM against the file's length before allocating the (V, DIM) array, so a corrupt header cannot ask for more
memory than the file could fill, and refuses anything malformed with one line naming the place.
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

from neural.word_vectors import WordVectors
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.errors import ModelFileError

MAX_HEADER = 64  # bytes: "V DIM\n" with two integers


def is_binary_name(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith(".bin")


def save_vectors(wv: WordVectors, path: str | os.PathLike[str]) -> None:
    binary = is_binary_name(path)
    with atomic_open(path, "wb") as out:
        out.write(f"{len(wv)} {wv.dim}\n".encode())
        vectors = np.ascontiguousarray(wv.vectors, dtype="<f4")
        for word, row in zip(wv.words, vectors):
            if binary:
                out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                out.write((word + " " + " ".join(f"{x:.6g}" for x in row.tolist()) + "\n").encode("utf-8"))


def _fail(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: {what}: not a word2vec vectors file (text, or binary for a .bin name)")


def _header(path: Path, data: bytes | mmap.mmap) -> tuple[int, int, int]:
    """(V, DIM, offset after the header line)."""
    end = data.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise _fail(path, "no 'V DIM' header line")
    fields = bytes(data[:end]).split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise _fail(path, f"header {bytes(data[:end])[:40]!r} is not two integers 'V DIM'")
    count, dim = int(fields[0]), int(fields[1])
    if count < 1 or dim < 1:
        raise _fail(path, f"header says {count} words of dimension {dim}; both must be at least 1")
    return count, dim, end + 1


def _check_room(path: Path, size: int, count: int, need_per_row: int, offset: int) -> None:
    """The file must be long enough for `count` rows of at least `need_per_row` bytes: checked before the
    (count, dim) array is allocated."""
    if (size - offset) < count * need_per_row - 1:
        raise _fail(path, f"header promises {count:,} rows of at least {need_per_row:,} bytes but the file has "
                          f"{size - offset:,} bytes after it (truncated, or a wrong header)")


def load_vectors(path: str | os.PathLike[str]) -> WordVectors:
    p = Path(path)
    try:
        size = p.stat().st_size
        handle = open(p, "rb")
    except FileNotFoundError:
        raise ModelFileError(f"{p}: no such file: check the path") from None
    except IsADirectoryError:
        raise ModelFileError(f"{p} is a directory: give a vectors file") from None
    with handle:
        if size == 0:
            raise _fail(p, "empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            count, dim, offset = _header(p, data)
            if is_binary_name(p):
                _check_room(p, size, count, 2 + 4 * dim, offset)
                words, vectors = _read_binary(p, data, count, dim, offset)
            else:
                _check_room(p, size, count, 2 * dim + 2, offset)
                words, vectors = _read_text(p, data, count, dim, offset)
    if len(set(words)) != len(words):
        seen: set[str] = set()
        dup = next(w for w in words if w in seen or seen.add(w))
        raise _fail(p, f"the word {dup!r} appears twice")
    return WordVectors(words, vectors)


def _word(path: Path, raw: bytes, where: str) -> str:
    try:
        word = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, f"{where}: the word is not UTF-8") from None
    if not word or any(ch.isspace() for ch in word):
        raise _fail(path, f"{where}: empty word or a word with whitespace ({word[:40]!r})")
    return word


def _read_binary(path: Path, data: mmap.mmap, count: int, dim: int, offset: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((count, dim), dtype=np.float32)
    words = []
    pos, width = offset, 4 * dim
    for i in range(count):
        while pos < len(data) and data[pos:pos + 1] == b"\n":  # word2vec.c's newline after each vector
            pos += 1
        space = data.find(b" ", pos, pos + 4096)
        if space < 0:
            raise _fail(path, f"row {i + 1}: no 'word ' before the vector (or a word longer than 4096 bytes)")
        words.append(_word(path, bytes(data[pos:space]), f"row {i + 1}"))
        if space + 1 + width > len(data):
            raise _fail(path, f"row {i + 1} ({words[-1][:40]!r}): the file ends inside its vector")
        vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + width
    if bytes(data[pos:]).strip(b"\n"):
        raise _fail(path, f"{len(data) - pos:,} bytes after the {count:,} rows the header declares")
    _check_finite(path, vectors, words)
    return words, vectors


def _read_text(path: Path, data: mmap.mmap, count: int, dim: int, offset: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((count, dim), dtype=np.float32)
    words = []
    lines = bytes(data[offset:]).split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()
    if len(lines) != count:
        raise _fail(path, f"the header declares {count:,} rows but the file has {len(lines):,}")
    for i, line in enumerate(lines):
        fields = line.rstrip(b"\r").rstrip(b" ").split(b" ")
        where = f"line {i + 2}"
        if len(fields) != dim + 1:
            raise _fail(path, f"{where}: {len(fields) - 1} numbers where the header says {dim}")
        words.append(_word(path, fields[0], where))
        try:
            vectors[i] = [float(x) for x in fields[1:]]
        except ValueError:
            raise _fail(path, f"{where}: a value that is not a number") from None
    _check_finite(path, vectors, words)
    return words, vectors


def _check_finite(path: Path, vectors: np.ndarray, words: list[str]) -> None:
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(path, f"the vector of {words[i][:40]!r} holds NaN or infinity")


