"""Training-step times of the UGRNN language model (beside the GRU's, and a torch twin's) and of the causal CNN
language model (beside a torch `nn.Conv1d` twin's), same configs, same batches, CPU. A step is the whole
thing: forward, backward and the optimizer update. torch runs with as many threads as our worker pool.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_ugrnn_cnn.py -o addopts=""      # pytest-benchmark
    .venv/bin/python tests/benchmarks/test_bench_ugrnn_cnn.py [cnn|ugrnn|gru [ROUNDS]]   # alternating blocks

RNNs: embedding 64, hidden 256, windows of 64, batch 32, vocabulary 65, Adam (as test_bench_lstm.py).
CNN: 4 blocks of 128 channels, kernel 3, dilations 1,2,4,8, windows of 64, batch 32, AdamW; the torch twin is
Embedding -> [pad left, Conv1d(C, 2C), GLU, + x] x 4 -> LayerNorm -> Linear. The tracked figures live in the
README's performance table (tests/benchmarks/report.py), not here.
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
from neural.cnn_lm import CNNLanguageModel  # noqa: E402
from neural.optim import AdamW  # noqa: E402
from neural.thread_pool import workers  # noqa: E402
from ngram.vocab import Vocabulary  # noqa: E402
from tests.benchmarks.test_bench_lstm import tkit_step as rnn_step  # noqa: E402
from tests.benchmarks.test_bench_lstm import torch_step as torch_rnn_step  # noqa: E402
from tokenizers_kit.simple import CharTokenizer  # noqa: E402

V, C, K, T, B, LR = 65, 128, 3, 64, 32, 2e-3
DILATIONS = (1, 2, 4, 8)
CNN_CONFIG = {"n_layer": len(DILATIONS), "channels": C, "kernel_size": K, "dilations": ",".join(map(str, DILATIONS)),
              "block_size": T, "seed": 0}


def _batches(n: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        ids = rng.integers(0, V, size=(B, T + 1))
        out.append((ids[:, :-1], ids[:, 1:]))
    return out


def tkit_cnn_step() -> Callable[[], float]:
    keep_freed_memory()  # as `tkit train` does
    model = CNNLanguageModel.from_config(CNN_CONFIG, Vocabulary([chr(33 + i) for i in range(V)]), CharTokenizer())
    opt = AdamW(list(model.named_parameters()), lr=LR, betas=(0.9, 0.99), weight_decay=0.01)
    batches, it = _batches(), [0]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        model.zero_grad()
        loss = model.loss_and_backward(x, y)
        opt.step()
        return loss

    return step


def torch_cnn_step(threads: int | None = None) -> Callable[[], float]:
    import torch

    F = torch.nn.functional
    torch.set_num_threads(threads or workers())
    torch.manual_seed(0)
    emb = torch.nn.Embedding(V, C)
    convs = torch.nn.ModuleList(torch.nn.Conv1d(C, 2 * C, K, dilation=d) for d in DILATIONS)
    ln, head = torch.nn.LayerNorm(C), torch.nn.Linear(C, V)
    params = [*emb.parameters(), *convs.parameters(), *ln.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=LR, betas=(0.9, 0.99), weight_decay=0.01)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
    it = [0]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        opt.zero_grad(set_to_none=True)
        h = emb(x).transpose(1, 2)
        for conv, d in zip(convs, DILATIONS):
            h = h + F.glu(conv(F.pad(h, ((K - 1) * d, 0))), dim=1)
        loss = F.cross_entropy(head(ln(h.transpose(1, 2))).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_ugrnn_step(threads: int | None = None) -> Callable[[], float]:
    """A torch twin of the UGRNN LM (no UGRNN in torch.nn): the input projection of all steps in one GEMM,
    then one fused (H, 2H) product per step, as ours."""
    import torch

    torch.set_num_threads(threads or workers())
    torch.manual_seed(0)
    E, H = 64, 256
    emb, ih = torch.nn.Embedding(V, E), torch.nn.Linear(E, 2 * H)
    hh, head = torch.nn.Linear(H, 2 * H, bias=False), torch.nn.Linear(H, V)
    params = [*emb.parameters(), *ih.parameters(), *hh.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
    it, state = [0], [torch.zeros(B, H)]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        opt.zero_grad(set_to_none=True)
        pre = ih(emb(x))                                  # (B, T, 2H)
        h, outs = state[0], []
        for t in range(T):
            a = pre[:, t] + hh(h)
            u = torch.sigmoid(a[:, :H])
            h = u * h + (1 - u) * torch.tanh(a[:, H:])
            outs.append(h)
        state[0] = h.detach()                             # TBPTT
        loss = torch.nn.functional.cross_entropy(head(torch.stack(outs, 1)).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _bench(benchmark, step: Callable[[], float], rounds: int = 20) -> None:
    step()
    benchmark.extra_info["threads"] = workers()
    benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=2)


def test_bench_tkit_cnn_step(benchmark):
    _bench(benchmark, tkit_cnn_step())


def test_bench_torch_cnn_step(benchmark):
    pytest.importorskip("torch")
    _bench(benchmark, torch_cnn_step())


def test_bench_tkit_ugrnn_step(benchmark):
    _bench(benchmark, rnn_step("ugrnn"))


def test_bench_torch_ugrnn_step(benchmark):
    pytest.importorskip("torch")
    _bench(benchmark, torch_ugrnn_step())


def test_bench_tkit_gru_step(benchmark):
    _bench(benchmark, rnn_step("gru"))


def test_bench_torch_gru_step(benchmark):
    pytest.importorskip("torch")
    _bench(benchmark, torch_rnn_step("gru", workers()))


def compare(kind: str = "cnn", rounds: int = 10, steps: int = 10) -> dict[str, float]:
    """Median ms/step of ours and the torch twin (for the UGRNN, the GRU's beside), in alternating blocks so
    that load from other processes hits all of them."""
    if kind == "cnn":
        pair = {"tkit": tkit_cnn_step(), "torch": torch_cnn_step()}
    elif kind == "ugrnn":
        pair = {"tkit": rnn_step("ugrnn"), "torch": torch_ugrnn_step(), "tkit_gru": rnn_step("gru"),
                "torch_gru": torch_rnn_step("gru", workers())}
    else:
        pair = {"tkit": rnn_step(kind)}
    for f in pair.values():
        f(), f()
    times: dict[str, list[float]] = {k: [] for k in pair}
    for _ in range(rounds):
        for name, f in pair.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[name].append((time.perf_counter() - t0) / steps * 1e3)
    res = {k: statistics.median(v) for k, v in times.items()}
    res.update({f"min_{k}": min(v) for k, v in times.items()})
    if "torch" in res:
        res["ratio"] = res["tkit"] / res["torch"]
    return res


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "cnn"
    r = compare(kind, rounds=int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    print(f"{kind} step, median ms: " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()))
