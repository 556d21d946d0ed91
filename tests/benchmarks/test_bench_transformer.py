"""Transformer training step, tkit (NumPy) vs PyTorch (CPU, 2 threads), nanoGPT's CPU "baby GPT":
4 layers, 4 heads, width 128, block 64, batch 12, vocabulary 65, no biases, AdamW (0.9, 0.99) with weight
decay 0.1 on 2-D weights, gradient clipping at 1.0. A step is the whole thing: forward, backward, clipping
and the optimizer update. The PyTorch side is nanoGPT's model (tests/neural/torch_gpt.py, GELU tanh form,
fused `scaled_dot_product_attention`) with the same weights.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_transformer.py -o addopts=""   # pytest-benchmark
    .venv/bin/python tests/benchmarks/test_bench_transformer.py [ROUNDS]                # alternating blocks
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
from neural.transformer import TransformerConfig, TransformerLM  # noqa: E402
from ngram.vocab import Vocabulary  # noqa: E402
from tokenizers_kit.simple import CharTokenizer  # noqa: E402

V, B, T = 65, 12, 64
CFG = TransformerConfig(vocab_size=V, n_layer=4, n_head=4, n_embd=128, block_size=T, bias=False, seed=0)


def _batches(n: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        ids = rng.integers(0, V, size=(B, T + 1))
        out.append((ids[:, :-1], ids[:, 1:]))
    return out


def _model() -> TransformerLM:
    return TransformerLM(CFG, Vocabulary([chr(33 + i) for i in range(V)]), CharTokenizer())


def tkit_step() -> Callable[[], float]:
    keep_freed_memory()  # as `tkit train` does
    model = _model()
    opt = AdamW(list(model.named_parameters()), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    batches, it = _batches(), [0]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        opt.zero_grad()
        loss = model.loss_and_backward(x, y)
        opt.clip_grad_norm(1.0)
        opt.step()
        return loss

    return step


def torch_step() -> Callable[[], float]:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "neural"))
    from torch_gpt import from_tkit

    torch.set_num_threads(2)
    tm = from_tkit(_model(), torch.float32)
    decay = [p for p in tm.parameters() if p.dim() >= 2]
    no_decay = [p for p in tm.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
    it = [0]

    def step() -> float:
        x, y = batches[it[0] % len(batches)]
        it[0] += 1
        loss = tm(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tm.parameters(), 1.0)
        opt.step()
        return loss.item()

    return step


@pytest.mark.benchmark(group="transformer-step")
def test_tkit_transformer_step(benchmark):
    step = tkit_step()
    for _ in range(3):
        step()
    benchmark.pedantic(step, rounds=30, iterations=1)


@pytest.mark.benchmark(group="transformer-step")
def test_torch_transformer_step(benchmark):
    pytest.importorskip("torch")
    step = torch_step()
    for _ in range(3):
        step()
    benchmark.pedantic(step, rounds=30, iterations=1)


def interleaved(rounds: int = 4, steps: int = 10) -> dict[str, float]:
    """Alternate blocks of `steps` tkit steps and `steps` torch steps, `rounds` times, so both see the same
    machine load; ms per step. Blocks, not single steps: each library's worker threads spin for a while
    after their last call, and alternating step by step would make them steal the cores from each other."""
    ours, theirs = tkit_step(), torch_step()
    for _ in range(3):
        ours(), theirs()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((ours, a), (theirs, b)):
            time.sleep(0.2)  # let the other library's threads go idle
            for _ in range(steps):
                t0 = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t0) * 1e3)
    return {"tkit_min": min(a), "tkit_median": statistics.median(a), "torch_min": min(b),
            "torch_median": statistics.median(b), "ratio_of_medians": statistics.median(a) / statistics.median(b),
            "ratio_of_mins": min(a) / min(b)}


if __name__ == "__main__":
    res = interleaved(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
    print(" ".join(f"{k}={v:.2f}" for k, v in res.items()))
