"""A Ctrl-C or SIGTERM whose exception is swallowed where it lands (Python reports and ignores an exception
raised in an at-fork hook, a `__del__` or a weakref callback) still ends the run as the signal asked: exit
130/143, one line, no output file, no "Exception ignored" report (tokenizers_kit.stop_request)."""
from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import cli.main as cli_main
import tokenizers_kit.atomic as atomic
from tests.cli.clirunner import run_tkit
from tokenizers_kit import stop_request

ROOT = Path(__file__).resolve().parents[2]
for _name in cli_main.COMMAND_MODULES:  # imported now, so that none binds the patched check_output_dir below
    importlib.import_module(_name)
SIGNALS = [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]


class _SwallowsItsError:
    """Runs the CLI's signal handler in a `__del__`, where Python reports and ignores what it raises."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        cli_main._on_signal(self.signum, None)


def _lose_a_stop(signum: int) -> None:
    _SwallowsItsError(signum)  # dropped at once: its __del__ runs the handler, whose exception is lost


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 50, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    return {
        "tokenize": ["tokenize", "--tokenizer", "char", str(corpus), "-o", str(out / "ids.txt")],
        "count": ["count", str(corpus), "-n", "2", "--tokenizer", "whitespace", "-o", str(out / "counts.tsv")],
        "train ngram": ["train", "ngram", str(corpus), "-n", "3", "--tokenizer", "whitespace", "-o",
                        str(out / "m.arpa")],
        "train tokenizer": ["train", "tokenizer", str(corpus), "--algo", "bpe", "--vocab-size", "300", "-o",
                            str(out / "bpe.json")],
    }


@pytest.mark.parametrize("sig, code, word", SIGNALS)
@pytest.mark.parametrize("command", ["tokenize", "count", "train ngram", "train tokenizer"])
def test_a_swallowed_stop_still_stops_with_no_output(tmp_path, monkeypatch, sig, code, word, command):
    real_check = atomic.check_output_dir

    def check_then_lose(path, inputs=()):  # the output is being opened: mid-work, before the commit
        _lose_a_stop(sig)
        return real_check(path, inputs)

    monkeypatch.setattr(atomic, "check_output_dir", check_then_lose)
    args = _commands(tmp_path)[command]
    result = run_tkit(*args)
    assert result.code == code, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines[-1] == f"tkit: error: {word}" and not any(line.startswith("tkit: error") for line in lines[:-1])
    assert "Exception ignored" not in result.err and "Traceback" not in result.err
    assert list((tmp_path / "out").iterdir()) == []
    assert stop_request.pending() is None  # main() leaves no stop behind for the next caller
    monkeypatch.undo()
    assert run_tkit(*args).code == 0  # and the same command then runs


def test_other_lost_exceptions_are_still_reported(tmp_path, monkeypatch):
    """Only a pending stop's own exception is kept quiet: any other swallowed error reaches the usual hook."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(type(u.exc_value)))
    real_check = atomic.check_output_dir

    class Broken:
        def __del__(self) -> None:
            raise ValueError("a bug elsewhere")

    def check_then_break(path, inputs=()):
        Broken()
        return real_check(path, inputs)

    monkeypatch.setattr(atomic, "check_output_dir", check_then_break)
    result = run_tkit(*_commands(tmp_path)["tokenize"])
    assert result.code == 0, result
    assert seen == [ValueError]


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_signal_inside_a_fork_hook_stops_the_run(tmp_path, sig, code, word):
    """The CI failure this guards: the signal came while the pool forked, and its exception went into an at-fork
    hook, which ignored it; the run then finished and exited 0."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"line {i} of the corpus\n" for i in range(100_000)), encoding="utf-8")  # > 1 piece: forks
    out = tmp_path / "out"
    out.mkdir()
    script = (
        "import os, signal, sys\n"
        "fired = []\n"
        "def hook():\n"
        "    if not fired:\n"
        "        fired.append(1)\n"
        f"        os.kill(os.getpid(), {int(sig)})\n"
        "        sum(range(1000))  # bytecode still inside the hook: the handler runs here\n"
        "os.register_at_fork(after_in_parent=hook)\n"
        "from cli.main import main\n"
        f"main(['tokenize', '--tokenizer', 'char', {str(corpus)!r}, '-j', '2', '-o', {str(out / 'ids.txt')!r}])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == code, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [f"tkit: error: {word}"], proc.stderr
    assert list(out.iterdir()) == []
