"""`tkit count --memory` (ngram/bounded_count.py) against the in-memory count, its readable twin: the same text
lines (most frequent first, ties in id order) and the same top K on generated corpora, with several sorted runs
(corpora of a few thousand tokens, chunks of about a thousand) and tiny sort buffers; --vocab-size and
--limit-vocab-file remap the words after counting."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.extsort as extsort
from ngram.bounded_count import count_bounded
from ngram.ngram_counts import count_ngrams
from tokenizers_kit.simple import WhitespaceTokenizer

WORDS = [f"w{i}" for i in range(30)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), order=st.integers(1, 5), top=st.integers(1, 40),
       limit=st.sampled_from(["none", "vocab_size", "limit"]))
def test_bounded_count_equals_in_memory(tmp_path_factory, monkeypatch, seed, order, top, limit):
    monkeypatch.setattr(extsort, "MIN_ROWS", 16)
    monkeypatch.setattr(extsort, "READ_ROWS", 7)
    tmp = tmp_path_factory.mktemp("count")
    rng = np.random.default_rng(seed)
    lines = [" ".join(rng.choice(WORDS, rng.integers(0, 12))) for _ in range(600)]
    corpus = tmp / "c.txt"
    corpus.write_text("\n".join(lines) + "\n")
    extra = {"vocab_size": 12} if limit == "vocab_size" else {"limit_vocab": WORDS[::3]} if limit == "limit" else {}
    tok = WhitespaceTokenizer()
    reference = count_ngrams([str(corpus)], order, tok, **extra)
    printed: list[bytes] = []
    summary = count_bounded([str(corpus)], order, tok, memory="1M", output=str(tmp / "all.tsv"), top=top,
                            temp_dir=tmp, write_stdout=lambda chunks: printed.extend(chunks), **extra)
    assert (tmp / "all.tsv").read_bytes() == b"".join(reference.lines())
    assert b"".join(printed) == b"".join(reference.lines(reference.most_common(top)))
    assert (summary.total, summary.distinct, summary.sentences, summary.vocab) == \
        (reference.total, reference.rows.shape[0], reference.sentences, len(reference.vocab))
    assert sorted(p.name for p in tmp.iterdir()) == ["all.tsv", "c.txt"]
