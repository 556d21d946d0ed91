"""`tkit tokenize` of one multi-MB line runs in bounded memory (a subprocess under RLIMIT_AS)."""
from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from tests.tokenizers_kit.trained import ROOT, trained_path

LIMIT = 400 << 20  # address space: the interpreter, NumPy and the tokenizer fit well inside; a whole-line encode not
SENTENCE = "To be, or not to be, that is the question: "
RUN = "import sys; from cli.main import main; main(sys.argv[1:])"


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _line(spaces: bool) -> str:
    half = SENTENCE * (1_500_000 // len(SENTENCE))
    if not spaces:  # no place to cut: the Unigram models encode it whole (unigram_stream)
        return (half + half).replace(" ", "")
    # A 300-char word makes the SentencePiece-style Unigram encode its text whole: the whole line, before.
    return half + "x" * 300 + " " + half


@pytest.mark.parametrize("name,spaces", [("sentencepiece", True), ("bpe", True), ("unigram", True),
                                         ("sentencepiece", False), ("unigram", False)])
def test_a_multi_mb_line_tokenizes_under_the_limit(tmp_path, name, spaces):
    line = _line(spaces)
    src, out = tmp_path / "line.txt", tmp_path / "ids.txt"
    src.write_text(line, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RUN, "tokenize", "-t", str(trained_path(name)), "-j", "1",
                           str(src), "-o", str(out)], preexec_fn=_limit, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    ids = out.read_bytes()
    assert b"\n" not in ids  # one line in, one line out, no final newline added
    assert len(ids.split()) > len(line) // 10
