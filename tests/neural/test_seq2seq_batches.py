"""Training batches of pair rows: trimming the padding changes no loss, and length-bucketed windows draw every
row equally often while keeping each batch's lengths close (so little of a batch is padding)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.seq2seq_data import PAD_ID, bucket_batch, length_order, split_rows
from tests.neural.seq2seq_tiny import padded_batch, tiny_seq2seq

S, T = 7, 6


def rows_of(rng: np.random.Generator, n: int, short: int = 0) -> np.ndarray:
    """n packed rows (S + T + 2 columns) of random lengths, at least `short` tokens shorter than the widths."""
    src, tgt = padded_batch(rng, n, S - short, T - short)
    rows = np.full((n, S + T + 2), PAD_ID, dtype=np.int32)
    rows[:, :S - short], rows[:, S:S + T + 2 - short] = src, tgt
    return rows


def lengths(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.count_nonzero(rows[:, :S] != PAD_ID, axis=1), np.count_nonzero(rows[:, S:] != PAD_ID, axis=1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 9), arch=st.sampled_from(["transformer", "gru", "lstm"]))
def test_a_trimmed_batch_has_the_loss_and_gradients_of_the_padded_one(seed, n, arch):
    rng = np.random.default_rng(seed)
    rows = rows_of(rng, n, short=1)  # every row shorter than the widths, so trimming cuts columns
    model = tiny_seq2seq(arch, seed=seed % 7)
    src, tgt = split_rows(rows, S)
    assert src.shape[1] < S and tgt.shape[1] < T + 2
    grads = []
    for batch in ((src, tgt), (rows[:, :S].astype(np.int64), rows[:, S:].astype(np.int64))):
        for p in model.parameters():
            p.grad[...] = 0
        loss = model.loss(*batch)
        model.backward()
        grads.append((loss, [p.grad.copy() for p in model.parameters()]))
    (trimmed, g_trim), (padded, g_pad) = grads
    assert np.isclose(trimmed, padded, rtol=1e-12, atol=1e-12)
    for a, b in zip(g_trim, g_pad):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 60), batch=st.integers(1, 80))
def test_every_row_is_drawn_equally_often_over_all_starts(seed, n, batch):
    rows = rows_of(np.random.default_rng(seed), n)
    order = length_order(rows, S, seed)
    assert sorted(order.tolist()) == list(range(n))
    counts = np.zeros(n, dtype=int)

    class Starts:  # a stand-in generator that yields each start once
        def __init__(self) -> None:
            self.next = 0

        def integers(self, low: int, high: int) -> int:
            assert (low, high) == (0, n)
            self.next += 1
            return self.next - 1

    starts = Starts()
    for _ in range(n):
        drawn = bucket_batch(np.arange(n)[:, None], order, batch, starts)  # row i holds its own index
        np.add.at(counts, drawn[:, 0], 1)
    assert (counts == batch).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 200))
def test_the_order_sorts_by_source_then_target_length(seed, n):
    rows = rows_of(np.random.default_rng(seed), n)
    s_len, t_len = lengths(rows[length_order(rows, S, seed)])
    key = s_len * (T + 3) + t_len
    assert (np.diff(key) >= 0).all()


def test_bucketed_batches_carry_less_padding_than_random_ones():
    rng = np.random.default_rng(0)
    rows = rows_of(rng, 2000)
    order = length_order(rows, S, 0)

    def padded_cells(batch: np.ndarray) -> int:
        src, tgt = split_rows(batch, S)
        return src.size + tgt.size - int(np.count_nonzero(src)) - int(np.count_nonzero(tgt))

    bucketed = sum(padded_cells(bucket_batch(rows, order, 32, rng)) for _ in range(50))
    uniform = sum(padded_cells(rows[rng.integers(0, len(rows), 32)]) for _ in range(50))
    assert bucketed < uniform / 4
