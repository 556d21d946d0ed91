"""The bounded `--memory` estimate (ngram/bounded_*.py) against its readable twin, the in-memory estimate: the
same ARPA file byte for byte on generated corpora (orders 1-6, pruning, discount fallback, --vocab-size,
--limit-vocab-file, both Kneser-Ney variants), with the buffers shrunk so that chunks, spilled runs, k-way
merges and blocks cut inside a context all happen. The external sort and the sorted lookup against plain
Python. Peak memory in a child process, for two corpus sizes, against the budget (above the interpreter)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.bounded_counts as bounded_counts
import ngram.bounded_train as bounded_train
import ngram.extsort as extsort
import ngram.partitioned_runs as partitioned_runs
from ngram.bounded_train import train_arpa_bounded
from ngram.extsort import ExternalSorter, SortedLookup, id_keys, key_ids
from ngram.train import train_files
from tests.ngram.limited_run import run_limited

LAYOUTS = {  # (parts, heavy parts merged across chunks first, streamed)
    "batches of 3 parts": (3, False, False),
    "batches of 256 parts": (256, False, False),
    "batches of merged parts": (3, True, False),
    "merged parts streamed": (3, True, True),
    "streamed": (256, False, True),
}


@pytest.fixture(params=list(LAYOUTS))
def tiny_buffers(monkeypatch, request):
    """Chunks of ~40 tokens, sort buffers and merge blocks of 16 rows, files read 7 rows at a time; the
    estimate in the smallest batches that hold a part (within a factor of 2), over 3 parts (several words each)
    or 256 (a word each), every part merged across chunks first or not, or streamed through sorted files (no
    part fits)."""
    parts, merge, streamed = LAYOUTS[request.param]
    monkeypatch.setattr(partitioned_runs, "PARTS", parts)

    def smallest_batches(runs, target, largest):
        if merge:
            partitioned_runs.fit_parts(runs, 0, 1)
        if streamed:
            return None
        limit = 1
        while (plan := partitioned_runs.plan_batches(runs, limit, limit)) is None:
            limit *= 2
        return plan

    monkeypatch.setattr(bounded_train, "plan_batches", smallest_batches)
    monkeypatch.setattr(extsort, "MIN_ROWS", 16)
    monkeypatch.setattr(extsort, "READ_ROWS", 7)
    monkeypatch.setattr(bounded_train, "MIN_CHUNK_TOKENS", 1)
    monkeypatch.setattr(bounded_train.Budget, "chunk_tokens", property(lambda self: 40))
    monkeypatch.setattr(bounded_train.Budget, "share", property(lambda self: 1))
    assert bounded_counts.ExternalSorter is ExternalSorter


WORDS = [f"w{i}" for i in range(14)]
corpora = st.lists(st.lists(st.sampled_from(WORDS), max_size=12), min_size=8, max_size=40)


@st.composite
def settings_(draw):
    order = draw(st.sampled_from([1, 2, 3, 4, 5, 6]))
    prune = None
    if order > 1 and draw(st.booleans()):
        steps = draw(st.lists(st.integers(0, 2), min_size=order - 1, max_size=order - 1))
        prune = [0] + list(np.cumsum(steps))
    extra: dict = {}
    choice = draw(st.sampled_from(["none", "vocab_size", "limit"]))
    if choice == "vocab_size":
        extra["vocab_size"] = draw(st.integers(4, 12))
    elif choice == "limit":
        extra["limit_vocab"] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
    smoothing = draw(st.sampled_from(["modified-kneser-ney", "kneser-ney"]))
    return order, prune, extra, smoothing


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=corpora, setup=settings_())
def test_bounded_arpa_equals_in_memory(tmp_path_factory, tiny_buffers, lines, setup):
    order, prune, extra, smoothing = setup
    tmp = tmp_path_factory.mktemp("bounded")
    corpus = tmp / "c.txt"
    corpus.write_text("".join(" ".join(line) + "\n" for line in lines))
    reference = train_files([str(corpus)], order, smoothing, "whitespace", prune=prune, **extra)
    reference.save(tmp / "memory.arpa")
    summary = train_arpa_bounded([str(corpus)], tmp / "bounded.arpa", order, smoothing, "whitespace",
                                 memory="1M", prune=prune, temp_dir=tmp, **extra)
    assert (tmp / "bounded.arpa").read_bytes() == (tmp / "memory.arpa").read_bytes()
    assert summary.warnings == reference.warnings
    assert summary.sizes == reference.ngram_counts()
    assert sorted(p.name for p in tmp.iterdir()) == ["bounded.arpa", "c.txt", "memory.arpa"]  # temp files gone


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 3)), max_size=300),
       cap=st.integers(1, 50), reduce=st.booleans())
def test_external_sort_against_a_dict(tmp_path_factory, rows, cap, reduce):
    dtype = np.dtype([("k", "S8"), ("c", np.int64)])
    sorter = ExternalSorter(dtype, 0, tmp_path_factory.mktemp("sort"), "t", reduce="c" if reduce else None)
    sorter.capacity = cap
    for lo in range(0, len(rows), 17):
        part = rows[lo:lo + 17]
        records = np.empty(len(part), dtype)
        records["k"] = id_keys(np.array([r[:2] for r in part], dtype=np.int32).reshape(-1, 2))
        records["c"] = [r[2] for r in part]
        sorter.add(records)
    got = [(tuple(key_ids(b["k"], 2)[i]), int(b["c"][i])) for b in sorter.sorted_blocks() for i in range(b.size)]
    if reduce:
        want: dict = {}
        for a, b, c in rows:
            want[(a, b)] = want.get((a, b), 0) + c
        assert got == sorted(want.items())
    else:
        assert [k for k, _ in got] == sorted((a, b) for a, b, _ in rows)
        assert sorted(got) == sorted(((a, b), c) for a, b, c in rows)


@settings(max_examples=40, deadline=None)
@given(table=st.sets(st.integers(0, 60)), queries=st.lists(st.integers(0, 60)), block=st.integers(1, 9))
def test_sorted_lookup_against_a_dict(table, queries, block):
    keys = sorted(table)
    dtype = np.dtype([("k", "S4"), ("v", np.float64)])
    records = np.empty(len(keys), dtype)
    records["k"] = id_keys(np.array(keys, dtype=np.int32).reshape(-1, 1))
    records["v"] = [k * 0.5 for k in keys]
    lookup = SortedLookup(iter([records[i:i + block] for i in range(0, len(keys), block)]))
    q = sorted(queries)
    found, values = lookup.find(id_keys(np.array(q, dtype=np.int32).reshape(-1, 1)), "v", -1.0)
    assert found.tolist() == [x in table for x in q]
    assert values.tolist() == [x * 0.5 if x in table else -1.0 for x in q]


# ---- memory: the peak follows the budget, not the corpus ----------------------------------------------------------
PEAK = """
import sys
from ngram.bounded_train import train_arpa_bounded
from ngram.heap import keep_freed_memory
from tokenizers_kit.memory import parse_memory
keep_freed_memory(parse_memory(sys.argv[3]))  # as the CLI does
def status(key):  # VmHWM: this process's own peak, not the forked parent's image
    return int(next(l.split()[1] for l in open("/proc/self/status").read().splitlines() if l.startswith(key)))
base = status("VmRSS")  # the interpreter, NumPy and tkit's modules: the overhead the budget leaves aside
train_arpa_bounded([sys.argv[1]], sys.argv[2], 5, memory=sys.argv[3], temp_dir=sys.argv[4])
print(base // 1024, status("VmHWM") // 1024)
"""
BUDGET_MB = 100  # large enough that the budget's fixed overhead (a text block's tokens) is inside it
SIZES = (200_000, 1_600_000)


def _corpus(path, tokens: int, seed: int) -> None:
    """Zipf-like words in lines of 1-20: new n-grams keep coming as the corpus grows."""
    rng = np.random.default_rng(seed)
    ids = np.minimum(rng.zipf(1.3, tokens), 200_000)
    lengths = rng.integers(1, 21, tokens // 10)
    cuts = np.cumsum(lengths)
    cuts = cuts[cuts < tokens]
    words = np.char.add("w", ids.astype(str))
    path.write_text("\n".join(" ".join(line) for line in np.split(words, cuts)) + "\n")


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="needs /proc (Linux)")
def test_peak_memory_follows_the_budget_not_the_corpus(tmp_path):
    peaks, bases = {}, {}
    for tokens in SIZES:
        corpus = tmp_path / f"c{tokens}.txt"
        _corpus(corpus, tokens, tokens)
        result = run_limited(PEAK, str(corpus), str(tmp_path / "m.arpa"), f"{BUDGET_MB}M", str(tmp_path),
                             memory=3 << 30, timeout=240)
        assert result.code == 0, result.err
        bases[tokens], peaks[tokens] = map(int, result.out.split()[-2:])
    print(json.dumps({"budget_mb": BUDGET_MB, "peak_mb": peaks, "interpreter_mb": bases}))
    for tokens, peak in peaks.items():
        assert peak - bases[tokens] <= BUDGET_MB, (peaks, bases)  # the promise, the interpreter aside
    # eight times the corpus: the small run is below the budget, the large one fills it, no more (the
    # in-memory tables grow by several times the budget here)
    assert peaks[SIZES[1]] - peaks[SIZES[0]] <= BUDGET_MB // 2, peaks
