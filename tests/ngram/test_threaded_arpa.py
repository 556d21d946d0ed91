"""ARPA lines formatted by several threads (ngram.threaded, ngram.arpa.write_arpa) are the bytes one thread
writes, whatever the number of threads and chunk size; the ordered map keeps input order and stops cleanly."""
from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.arpa as arpa
from ngram import NgramModel
from ngram.threaded import ordered_thread_map

words = st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "é", "ß", "x y"]), max_size=8), min_size=1, max_size=12)


@given(sentences=words, order=st.integers(1, 5), chunk=st.integers(1, 7), threads=st.integers(2, 4))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_threads_write_the_bytes_one_thread_writes(sentences, order, chunk, threads, tmp_path, monkeypatch):
    model = NgramModel.fit(sentences, order=order, smoothing="modified-kneser-ney")
    monkeypatch.setattr(arpa, "CHUNK_LINES", chunk)  # many chunks per order, so threads interleave
    files = {}
    for t in (1, threads):
        monkeypatch.setenv("TKIT_THREADS", str(t))
        files[t] = tmp_path / f"m{t}.arpa"
        model.save(files[t])
    assert files[1].read_bytes() == files[threads].read_bytes()


@given(st.lists(st.integers(), max_size=200), st.integers(1, 5))
def test_ordered_map_keeps_order(items, workers):
    assert list(ordered_thread_map(lambda x: x * 3 + 1, items, workers)) == [x * 3 + 1 for x in items]


def test_ordered_map_runs_on_several_threads_and_stops_early():
    seen: set[str] = set()
    barrier = threading.Barrier(2, timeout=10)

    def work(x: int) -> int:
        seen.add(threading.current_thread().name)
        if x < 2:
            barrier.wait()  # the first two items only finish if two threads run them at once
        return x

    assert list(ordered_thread_map(work, range(10), workers=2)) == list(range(10))
    assert len(seen) == 2

    def fail(x: int) -> int:
        if x == 5:
            raise ValueError("item 5")
        return x

    got = []
    with pytest.raises(ValueError, match="item 5"):
        for value in ordered_thread_map(fail, range(1000), workers=2):
            got.append(value)
    assert got == [0, 1, 2, 3, 4]
