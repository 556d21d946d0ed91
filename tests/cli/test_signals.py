"""SIGTERM is handled like Ctrl-C: one line, exit 143 (130 for SIGINT), no traceback from the process or its
workers, no temporary output file and no spill folder left behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LINE = "the quick brown fox jumps over the lazy dog and then some more words follow here %d\n"


def big_corpus(path: Path, lines: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, lines, 10000):
            f.write("".join(LINE % (i % 5000) for i in range(start, min(lines, start + 10000))))


def run_and_signal(args: list[str], sig: int, after: float, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(after)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, "", err)


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
@pytest.mark.parametrize("command", ["tokenize", "train ngram"])
def test_a_signal_mid_work_cleans_up(tmp_path, sig, code, word, command):
    corpus = tmp_path / "corpus.txt"
    big_corpus(corpus, 400_000)
    spill = tmp_path / "spill"
    spill.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if command == "tokenize":
        (tmp_path / "tok.json").write_text("", encoding="utf-8")
        args = ["tokenize", "--tokenizer", "char", str(corpus), "-j", "2", "-o", str(out_dir / "ids.txt")]
    else:
        args = ["train", "ngram", str(corpus), "-n", "5", "--tokenizer", "whitespace", "--memory", "8M",
                "--temp-dir", str(spill), "-o", str(out_dir / "m.arpa")]
    result = run_and_signal(args, sig, 1.5, tmp_path)
    if result.returncode == 0:
        pytest.fail(f"the work ended before the signal came; make the input bigger ({result.stderr})")
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"tkit: error: {word}"], result.stderr
    assert list(out_dir.iterdir()) == []  # no partial output, no hidden temporary file
    assert list(spill.iterdir()) == []  # no spill folder left
