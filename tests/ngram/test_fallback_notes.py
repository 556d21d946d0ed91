"""Discount fallbacks are reported once for all failing orders, and the order list reads back exactly."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cli.train_ngram import ngram_sizes
from ngram.smoothing.fallback_notes import fallback_warning, order_ranges


def _expand(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text.split(", ")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@given(st.sets(st.integers(1, 300), max_size=60))
def test_order_ranges_read_back_exactly(orders):
    text = order_ranges(sorted(orders))
    assert _expand(text) == orders
    assert len(list(filter(None, text.split(", ")))) <= len(orders)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_ngram_sizes_lists_every_order_up_to_the_last_non_empty(counts):
    text = ngram_sizes(counts)
    last = max((n for n, c in enumerate(counts, start=1) if c), default=0)
    for n in range(1, last + 1):
        assert f"{n}={counts[n - 1]:,}" in text.split(" (")[0].split(" ")
    assert (last < len(counts)) == ("empty" in text)


def test_a_high_order_on_a_small_corpus_warns_once(tmp_path):
    from tests.cli.clirunner import run_tkit

    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d\nb c d e\na c e\n" * 3)
    result = run_tkit("train", "ngram", str(corpus), "--order", "40", "--smoothing", "modified-kneser-ney",
                      "--tokenizer", "whitespace", "-o", str(tmp_path / "m.npz"))
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "40" in warnings[0], result.err
    assert "empty" in result.err and len(result.err) < 2000


def test_no_failure_no_warning():
    assert fallback_warning("KN", [], "D=0.5") == []
    (one,) = fallback_warning("KN", [(2, "r")], "D=0.5")
    assert "order 2 " in one
