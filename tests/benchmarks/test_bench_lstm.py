"""RNN language-model training step, tkit (NumPy) vs PyTorch `nn.LSTM`/`GRU`/`RNN` (CPU, 2 threads), same
config: embedding 64, hidden 256, 1 layer, windows of 64, batch 32, vocabulary 65, Adam lr 2e-3, the hidden
state carried from window to window. A step is the whole thing: forward, backward and the Adam update.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_lstm.py -o addopts=""      # pytest-benchmark
    .venv/bin/python tests/benchmarks/test_bench_lstm.py [CELL [TORCH_THREADS [ROUNDS]]]   # alternating blocks

Step times are compared in the same run (`compare`): blocks of steps alternate between the two, so load
from other processes hits both. The tracked figures live in the README's performance table, not here.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

if __name__ == "__main__":  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neural.alloc import keep_freed_memory  # noqa: E402
from neural.optim import AdamW  # noqa: E402
from neural.rnn_lm import RNNLanguageModel  # noqa: E402
from ngram.vocab import Vocabulary  # noqa: E402
from tokenizers_kit.simple import CharTokenizer  # noqa: E402

V, E, H, T, B, LR = 65, 64, 256, 64, 32, 2e-3
CONFIG = {"cell": "lstm", "embedding_size": E, "hidden_size": H, "n_layer": 1, "block_size": T,
          "dropout": 0.0, "seed": 0}


def _batches(n: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        ids = rng.integers(0, V, size=(B, T + 1))
        out.append((ids[:, :-1], ids[:, 1:]))
    return out


def tkit_step(cell: str = "lstm") -> Callable[[], float]:
    keep_freed_memory()  # as `tkit train` does
    vocab = Vocabulary([chr(33 + i) for i in range(V)])
    model = RNNLanguageModel.from_config({**CONFIG, "cell": cell}, vocab, CharTokenizer())
    opt = AdamW(list(model.named_parameters()), lr=LR, betas=(0.9, 0.999))  # weight_decay 0: Adam
    model.reset_state(B)
    batches, it = _batches(), [0]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        model.zero_grad()
        loss = model.loss(x, y)
        model.backward()
        opt.step()
        return loss

    return step


def torch_step(cell: str = "lstm", threads: int = 2) -> Callable[[], float]:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    emb = torch.nn.Embedding(V, E)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell](E, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
    it, state = [0], [None]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        opt.zero_grad(set_to_none=True)
        out, st = rnn(emb(x), state[0])
        state[0] = tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach()  # TBPTT
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def test_bench_tkit_lstm_step(benchmark):
    step = tkit_step()
    step()
    benchmark.pedantic(step, rounds=20, iterations=1, warmup_rounds=2)


def test_bench_torch_lstm_step(benchmark):
    pytest.importorskip("torch")
    step = torch_step()
    step()
    benchmark.pedantic(step, rounds=20, iterations=1, warmup_rounds=2)


def compare(rounds: int = 10, steps: int = 10, cell: str = "lstm", threads: int = 2) -> dict[str, float]:
    """Median ms/step of each, measured in alternating blocks so that load from other processes hits both."""
    ours, ref = tkit_step(cell), torch_step(cell, threads)
    for f in (ours, ref):
        f(), f()
    times: dict[str, list[float]] = {"tkit": [], "torch": []}
    for _ in range(rounds):
        for name, f in (("tkit", ours), ("torch", ref)):
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[name].append((time.perf_counter() - t0) / steps * 1e3)
    res = {k: statistics.median(v) for k, v in times.items()}
    res["min_tkit"], res["min_torch"] = min(times["tkit"]), min(times["torch"])
    res["ratio"] = res["tkit"] / res["torch"]
    return res


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "lstm"
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2  # torch's; NumPy's BLAS: OPENBLAS_NUM_THREADS
    r = compare(rounds=int(sys.argv[3]) if len(sys.argv) > 3 else 10, cell=kind, threads=threads)
    print(f"{kind} step, median ms: tkit {r['tkit']:.1f}  torch {r['torch']:.1f}  ratio {r['ratio']:.2f}  "
          f"(min: {r['min_tkit']:.1f} vs {r['min_torch']:.1f})")
