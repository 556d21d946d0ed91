"""Orders that cannot fit are refused before counting starts (ngram/order_limits.py), with the largest order
that does fit; orders that fit still work, and orders past the longest sentence cost no work per order.

The estimates are exact counts of what counting builds (windows for `tkit count`, n-gram occurrences for a
model), checked here against the counting code on generated corpora; the refusals are checked through the CLI
with the available memory fixed, so the boundary order is known and both sides of it are run."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.order_limits as order_limits
from ngram.counting import count_tables, padded_windows
from ngram.order_limits import (
    MAX_MODEL_ORDER,
    WINDOW_ID_BYTES,
    model_bytes,
    ngram_occurrences,
    sentence_lengths,
    window_bytes,
)
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.ngram.limited_run import run_limited

words = st.sampled_from(["a", "b", "c", "d", "e"])
corpora = st.lists(st.lists(words, max_size=12), min_size=1, max_size=12)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def stream_of(sentences: list[list[str]]) -> np.ndarray:
    ids = {w: i + 3 for i, w in enumerate("abcde")}
    return np.concatenate([[1, *(ids[w] for w in s), 2] for s in sentences]).astype(np.int32)


@SETTINGS
@given(sentences=corpora, order=st.integers(1, 20))
def test_estimates_count_exactly_what_counting_builds(sentences, order):
    stream = stream_of(sentences)
    lengths = sentence_lengths(stream)
    assert lengths.tolist() == [len(s) for s in sentences]
    assert window_bytes(lengths, order) == padded_windows(stream, order).size * WINDOW_ID_BYTES
    tables = count_tables(stream, order, 8)
    assert ngram_occurrences(lengths, order) == sum(int(tables.counts[n].sum()) for n in range(1, order + 1))


@SETTINGS
@given(sentences=corpora, extra=st.integers(1, 200))
def test_orders_past_the_longest_sentence_are_empty_and_change_nothing_below(sentences, extra):
    stream = stream_of(sentences)
    top = max(len(s) for s in sentences) + 2  # <s> w1 ... wL </s>: the longest n-gram
    low, high = count_tables(stream, top, 8), count_tables(stream, top + extra, 8)
    assert high.index.sizes()[top:] == [0] * extra
    for n in range(1, top + 1):
        np.testing.assert_array_equal(low.counts[n], high.counts[n])


def write_corpus(tmp_path, sentences: list[list[str]]):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    return path


def refused_in_time(args: list[str], *fragments: str) -> float:
    start = time.perf_counter()
    result = run_tkit(*args)
    seconds = time.perf_counter() - start
    assert_one_line_error(result, *fragments)
    assert seconds < 5, seconds
    return seconds


@SETTINGS
@given(sentences=corpora.filter(lambda c: any(c)), fits=st.integers(1, 12), command=st.sampled_from(["count", "train"]))
def test_the_boundary_order_works_and_the_next_is_refused(sentences, fits, command, tmp_path, monkeypatch):
    """With the memory available fixed so that order `fits` is the largest that fits, `fits` runs and
    `fits + 1` (and a huge order) is refused at once, naming `fits`; no output file is left."""
    work = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by the examples
    corpus = write_corpus(work, sentences)
    lengths = np.array([len(s) for s in sentences])
    need = (lambda k: window_bytes(lengths, k)) if command == "count" else (lambda k: model_bytes(lengths, k))
    if need(fits + 1) == need(fits):  # a model past its longest sentence needs no more: nothing to refuse
        return
    monkeypatch.setattr(order_limits, "available_memory", lambda: need(fits))
    out = work / ("counts.tsv" if command == "count" else "model.npz")
    base = (["count", str(corpus), "-o", str(out)] if command == "count"
            else ["train", "ngram", str(corpus), "--smoothing", "witten-bell", "-o", str(out)])
    base += ["--tokenizer", "whitespace"]
    for order in (fits + 1, 10 * fits + 7, MAX_MODEL_ORDER):
        refused_in_time([*base, "--order", str(order)], f"--order {order} needs about", f"at most order {fits} fits",
                        "give --memory SIZE")
        assert not out.exists()
    result = run_tkit(*base, "--order", str(fits))
    assert result.code == 0, result.err
    assert out.exists()
    out.unlink()
    result = run_tkit(*base, "--order", str(fits + 1), "--memory", "64M")  # the advice works: counted on disk
    assert result.code == 0, result.err
    assert out.exists()


def test_train_refuses_orders_no_reader_accepts(tmp_path):
    corpus = write_corpus(tmp_path, [["a", "b"], ["c"]])
    refused_in_time(["train", "ngram", str(corpus), "--tokenizer", "whitespace", "--smoothing", "witten-bell",
                     "--order", str(MAX_MODEL_ORDER + 1), "-o", str(tmp_path / "m.npz")], f"above {MAX_MODEL_ORDER}")
    result = run_tkit("train", "ngram", str(corpus), "--tokenizer", "whitespace", "--smoothing", "witten-bell",
                      "--order", "500", "-o", str(tmp_path / "m.arpa"))  # far past the longest sentence: legal
    assert result.code == 0, result.err


def test_chunked_counting_refuses_an_order_its_budget_cannot_hold(tmp_path):
    corpus = write_corpus(tmp_path, [["a", "b"], ["c"]])
    refused_in_time(["count", str(corpus), "--tokenizer", "whitespace", "--order", "1000000", "--memory", "100M"],
                    "--memory", "at most order")


CLI = """
import sys
from cli.main import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", [["count"], ["train", "ngram", "--smoothing", "kneser-ney"]])
def test_order_a_million_on_50_kb_is_refused_fast_in_a_real_process(command, tmp_path):
    """The reported case, with the real available memory (under RLIMIT_AS 1.5 GB): refused in seconds."""
    rng = np.random.default_rng(0)
    vocab = np.array([f"w{i}" for i in range(3000)])
    lines = [" ".join(rng.choice(vocab, size=rng.integers(1, 12))) for _ in range(1800)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.npz"
    result = run_limited(CLI, *command[:2], str(corpus), *command[2:], "--tokenizer", "whitespace",
                         "--order", "1000000", "-o", str(out), timeout=60)
    assert result.code == 1 and result.err.startswith("tkit: error: --order 1000000"), result.err
    assert len(result.err.strip().splitlines()) == 1 and not out.exists()
    assert result.seconds < 5, result.seconds
