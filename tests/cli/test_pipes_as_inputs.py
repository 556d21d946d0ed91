"""A FIFO (or a shell's `<(cmd)`) as the corpus is read once and gives the same result as the file itself,
for every command that reads its inputs more than once; the temporary copy is gone afterwards."""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest

from tests.cli.clirunner import run_tkit

TEXT = "to be or not to be\nthat is the question\nwhether tis nobler in the mind\n" * 50


def feed(fifo: Path, text: str) -> threading.Thread:
    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write(text)
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


COMMANDS = {
    "count": ["count", "{corpus}", "-n", "2", "--tokenizer", "whitespace", "-o", "{out}"],
    "train ngram": ["train", "ngram", "{corpus}", "-n", "3", "--tokenizer", "whitespace", "-o", "{out}.arpa"],
    "train tokenizer": ["train", "tokenizer", "{corpus}", "--algo", "bpe", "--vocab-size", "300", "-o", "{out}.json"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_fifo_corpus_is_read_once(tmp_path, command):
    plain = tmp_path / "corpus.txt"
    plain.write_text(TEXT, encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    spools_before = set(Path(tempfile.gettempdir()).glob("tkit-input-*"))

    def run(corpus: Path, out: Path) -> bytes:
        args = [a.format(corpus=corpus, out=out) for a in COMMANDS[command]]
        result = run_tkit(*args)
        assert result.code == 0, result.err
        return next(tmp_path.glob(out.name + "*")).read_bytes()

    expected = run(plain, tmp_path / "a")
    writer = feed(fifo, TEXT)
    assert run(fifo, tmp_path / "b") == expected
    writer.join(timeout=10)
    assert set(Path(tempfile.gettempdir()).glob("tkit-input-*")) == spools_before


def test_eval_reads_a_fifo(tmp_path):
    model = tmp_path / "m.arpa"
    (tmp_path / "c.txt").write_text(TEXT, encoding="utf-8")
    assert run_tkit("train", "ngram", str(tmp_path / "c.txt"), "-n", "2", "--tokenizer", "whitespace",
                    "-o", str(model)).code == 0
    expected = run_tkit("eval", str(model), str(tmp_path / "c.txt"), "--json")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    feed(fifo, TEXT)
    got = run_tkit("eval", str(model), str(fifo), "--json")
    assert got.code == 0 and got.out == expected.out
