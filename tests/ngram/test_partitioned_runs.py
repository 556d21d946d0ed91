"""The bounded estimate's batches (ngram/partitioned_runs.py, ngram/partitioned_estimate.py) against plain
Python: chunks filed by part and read back part-major with equal n-grams summed (some parts merged across
chunks first), every record streamed once, the batch plan, and the
left-extension counts with each n-gram's suffix row. (The whole estimate against the in-memory one is in
test_bounded_estimate.py.)"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.partitioned_runs as partitioned_runs
from ngram.bounded_counts import count_chunks, count_dtype
from ngram.counting import BOS_ID, EOS_ID
from ngram.extsort import id_keys, key_ids
from ngram.partitioned_estimate import Batch, continuation
from ngram.partitioned_runs import PartRuns, plan_batches

ngram_rows = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)), max_size=60)


def records(counted: Counter) -> np.ndarray:
    rows = sorted(counted)
    out = np.empty(len(rows), count_dtype(3))
    out["k"] = id_keys(np.array(rows, dtype=np.int64).reshape(-1, 3))
    out["c"] = [counted[r] for r in rows]
    return out


def part_major(counted: Counter, parts: int) -> list[tuple]:
    return sorted(counted, key=lambda row: (row[1] % parts, row))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(ngram_rows, min_size=1, max_size=4), parts=st.integers(1, 7), data=st.data())
def test_parts_read_back_part_major_and_summed(tmp_path_factory, monkeypatch, chunks, parts, data):
    monkeypatch.setattr(partitioned_runs, "PARTS", parts)
    runs = PartRuns(3, count_dtype(3), tmp_path_factory.mktemp("parts"))
    total: Counter = Counter()
    for chunk in chunks:
        counted = Counter(chunk)
        total.update(counted)
        runs.add_chunk(records(counted))
    for part in data.draw(st.sets(st.integers(0, parts - 1))):  # some parts merged across chunks first
        runs.merge_part(part, 1)
    streamed: Counter = Counter()
    for block in runs.blocks():
        for row, c in zip(key_ids(block["k"], 3).tolist(), block["c"].tolist()):
            streamed[tuple(row)] += c
    assert streamed == total
    first = data.draw(st.integers(0, parts - 1))
    stop = data.draw(st.integers(first + 1, parts))
    got = runs.load(first, stop)
    want = [row for row in part_major(total, parts) if first <= row[1] % parts < stop]
    assert [tuple(r) for r in key_ids(got["k"], 3).tolist()] == want
    assert got["c"].tolist() == [total[row] for row in want]
    assert runs.rows().sum() >= len(total)
    runs.remove()
    assert not any(runs.directory.iterdir())


@given(weights=st.lists(st.integers(0, 50), min_size=1, max_size=12), target=st.integers(0, 120),
       spare=st.integers(0, 40))
def test_batch_plan_covers_the_parts_within_the_target(weights, target, spare):
    class Runs:  # stands in for PartRuns: rows per part, 1-byte records
        dtype = np.dtype("u1")

        def rows(self):
            return np.array(weights)

    largest = target + spare
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(partitioned_runs, "PARTS", len(weights))
        plan = plan_batches({2: Runs()}, target, largest)
    if max(weights) > largest:
        assert plan is None
        return
    assert plan is not None and plan[0][0] == 0 and plan[-1][1] == len(weights)
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))
    for first, stop in plan:  # within the target, or one heavier part alone
        assert sum(weights[first:stop]) <= target or (stop - first == 1 and weights[first] <= largest)
    for first, stop in plan[:-1]:  # greedy: each batch ends where the next part would not fit
        assert sum(weights[first:stop + 1]) > target


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),
                    max_size=80), parts=st.integers(1, 5), wide=st.booleans())
def test_continuation_counts_left_extensions_and_finds_suffixes(monkeypatch, rows, parts, wide):
    monkeypatch.setattr(partitioned_runs, "PARTS", parts)
    if wide:  # ids of 23 bits: the projection no longer packs into one word (the lexsort path)
        rows = {tuple(w * 1_000_003 for w in r) for r in rows}
    upper = sorted(rows, key=lambda r: (r[2] % parts, r))  # order 4, part-major (part of the 3rd word)
    keys = id_keys(np.array(upper, dtype=np.int64).reshape(-1, 4))
    counts, rank = continuation(keys, 4)
    projections = sorted({r[1:] for r in upper}, key=lambda p: (p[1] % parts, p))
    assert counts.tolist() == [sum(1 for r in upper if r[1:] == p) for p in projections]
    assert [projections[i] for i in rank.tolist()] == [r[1:] for r in upper]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(st.integers(3, 30), max_size=10), min_size=1, max_size=20),
       order=st.integers(2, 5), chunk=st.integers(5, 60), parts=st.integers(1, 5), data=st.data())
def test_a_saved_batch_reads_back_as_loaded(tmp_path_factory, monkeypatch, lines, order, chunk, parts, data):
    """What pass 1 saves is what pass 2 reads: every order's records, adjusted counts and suffix rows, with
    their dtypes, and the file is gone after."""
    monkeypatch.setattr(partitioned_runs, "PARTS", parts)
    directory = tmp_path_factory.mktemp("batch")
    stream = np.array([t for line in lines for t in (BOS_ID, *line, EOS_ID)], dtype=np.int32)
    raw = count_chunks([stream], order, lambda: chunk, directory)
    first = data.draw(st.integers(0, parts - 1))
    stop = data.draw(st.integers(first + 1, parts))
    loaded = Batch.load(raw.parts, first, stop, order)
    saved = loaded.save(directory / "batch")
    assert saved.nbytes == sum(a.nbytes for field in (loaded.records, loaded.adjusted, loaded.suffix_rows)
                               for a in field.values())
    assert saved.path.stat().st_size <= saved.nbytes
    back = saved.load()
    assert not saved.path.exists()
    for field in ("records", "adjusted", "suffix_rows"):
        want, got = getattr(loaded, field), getattr(back, field)
        assert sorted(got) == sorted(want)
        for n in want:
            assert got[n].dtype == want[n].dtype and got[n].tobytes() == want[n].tobytes(), (field, n)
