"""Compressed ARPA files that inflate far beyond what their header declares are refused early, in bounded
memory and time: the reader streams, and every length is bounded by the declared counts (ngram/arpa_read.py).

Each bomb is a small .arpa.gz made of many gzip members, each the compression of one MiB of the same bytes
(zeros, newlines or repeated lines), so a few MB on disk inflate to GiBs; all are loaded in one child process
under RLIMIT_AS, which would kill a reader that held the inflated text.
"""
from __future__ import annotations

import gzip
import json

from tests.ngram.limited_run import LOAD_MODELS, GiB, run_limited

MiB = 1 << 20
INFLATED = 4 * GiB  # how much each bomb's filler inflates to
GOOD = ("\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n-0.3\t</s>\t0\n-0.3\ta\t-0.1\n\n"
        "\\2-grams:\n-0.2\t<s> a\n-0.2\ta </s>\n\n\\end\\\n")
UNIGRAMS = "\\data\\\nngram 1=4\n\n\\1-grams:\n"


def repeated(unit: bytes) -> bytes:
    return unit * (MiB // len(unit))


# name -> (text before the filler, one unit of filler, text after it, fragment of the expected message)
BOMBS: dict[str, tuple[str, bytes, str, str]] = {
    "zeros in a section": (UNIGRAMS, b"\0", "", "longer than"),
    "zeros after end": (GOOD, b"\0", "", "longer than"),
    "newlines after end": (GOOD, b"\n", "", "blank lines"),
    "lines after end": (GOOD, b"-1\ta\n", "", "after \\end\\"),
    "section longer than declared": (UNIGRAMS, b"-1\tw\n", "", "section has more"),
    "text before data": ("", b"junk\n", GOOD, "no \\data\\"),
    "zeros before data": ("", b"\0", GOOD, "longer than"),
    "blank lines between sections": (GOOD[:GOOD.index("\\2-grams")], b"\n", GOOD[GOOD.index("\\2-grams"):],
                                     "blank lines"),
    "counts beyond the file": ("\\data\\\nngram 1=1000000000000\n\n\\1-grams:\n", b"-1\tw\n", "", "can hold"),
    "counts beyond memory": ("\\data\\\nngram 1=100000000\n\n\\1-grams:\n", b"-1\tw\n", "", "to load"),
    "declared, present, duplicate": ("\\data\\\nngram 1=2000000\n\n\\1-grams:\n", b"-1\tw\n", "", "section has more"),
}


def write_bomb(path, head: str, unit: bytes, tail: str, inflated: int = INFLATED) -> None:
    """head, then `inflated` bytes of unit repeated, then tail, as concatenated gzip members."""
    member = gzip.compress(repeated(unit), compresslevel=9, mtime=0)
    with open(path, "wb") as out:
        out.write(gzip.compress(head.encode(), mtime=0))
        for _ in range(inflated // MiB):
            out.write(member)
        out.write(gzip.compress(tail.encode(), mtime=0))


def load_in_child(paths: list[str], memory: int = 3 * GiB // 2, timeout: float = 120.0) -> dict[str, dict]:
    result = run_limited(LOAD_MODELS, *paths, memory=memory, timeout=timeout)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    return {row["path"]: row for row in rows}


def test_bombs_are_refused_early_in_bounded_memory(tmp_path, record_property):
    record_property("cases", len(BOMBS) + 1)  # for tests/census: the bombs and the sound file, in one child
    paths = {}
    for name, (head, unit, tail, _) in BOMBS.items():
        paths[name] = str(tmp_path / (name.replace(" ", "_") + ".arpa.gz"))
        write_bomb(paths[name], head, unit, tail)
    good = tmp_path / "good.arpa.gz"
    good.write_bytes(gzip.compress(GOOD.encode()))
    rows = load_in_child([str(good), *paths.values()])
    assert rows[str(good)]["outcome"] == "ok", rows[str(good)]
    for name, (_, _, _, fragment) in BOMBS.items():
        row = rows[paths[name]]
        assert row["outcome"] == "ModelFileError", (name, row)
        assert fragment in row["message"] and "\n" not in row["message"], (name, row["message"])
        assert row["seconds"] < 10, (name, row["seconds"])


def test_plain_file_counts_are_checked_against_its_size(tmp_path):
    """A plain file cannot hold more text than its size: a declared count beyond that is refused at once."""
    path = tmp_path / "x.arpa"
    path.write_text(GOOD.replace("ngram 2=2", "ngram 2=1000"))
    rows = load_in_child([str(path)], timeout=60)
    assert rows[str(path)]["outcome"] == "ModelFileError"
    assert "can hold" in rows[str(path)]["message"]


def test_many_empty_orders_read_in_linear_time(tmp_path):
    """A model of order 3000 (all but the first few sections empty, as tkit writes past the longest
    sentence) reads in well under the time the old per-order prefix lookups took (order^2 / 2 of them)."""
    import time

    from ngram import NgramModel, load_ngram

    path = tmp_path / "high.arpa"
    NgramModel.fit([["a", "b", "c"], ["b", "a"]], order=3000, smoothing="witten-bell").save(path)
    start = time.perf_counter()
    model = load_ngram(path)
    assert time.perf_counter() - start < 5
    assert model.order == 3000


def test_orders_above_the_cap_are_refused(tmp_path):
    from ngram.order_limits import MAX_MODEL_ORDER

    path = tmp_path / "x.arpa"
    counts = "".join(f"ngram {n}=0\n" for n in range(2, MAX_MODEL_ORDER + 2))
    path.write_text(GOOD.replace("ngram 2=2\n", counts))
    rows = load_in_child([str(path)], timeout=60)
    assert rows[str(path)]["outcome"] == "ModelFileError" and "largest tkit reads" in rows[str(path)]["message"]


def test_the_cli_says_what_is_wrong_in_one_line(tmp_path):
    from tests.cli.clirunner import assert_one_line_error, run_tkit

    bomb = tmp_path / "bomb.arpa.gz"
    write_bomb(bomb, GOOD, b"-1\ta\n", "", inflated=64 * MiB)
    text = tmp_path / "t.txt"
    text.write_text("a a\n")
    for args in (["eval", str(bomb), str(text)], ["sample", str(bomb), "--max-tokens", "3"]):
        assert_one_line_error(run_tkit(*args), "after \\end\\")
