"""LoRA vs full fine-tuning, shown on the shipped corpus: pretrain a character Transformer on the plays only, then
fine-tune it on the Sonnets and the other poems (never seen in pretraining) and score held-out sonnets.

The poems are separable: data/shakespeare.txt is the Gutenberg files in name order, each starting with its
title followed by "by William Shakespeare". The last HELD_OUT of the Sonnets (by lines) is the test text; the
rest of the Sonnets and the other poems are the fine-tuning text. Rows: the base, LoRA r=4 and r=16 (attention
and MLP projections, alpha = 2r), full fine-tuning; each with trainable parameters, held-out sonnet loss
(nats/char), mean step time and the peak traced memory of the fine-tuning run (tracemalloc).

    .venv/bin/python -m pytest tests/benchmarks/test_bench_lora.py -o addopts=""     # pytest-benchmark
    .venv/bin/python tests/benchmarks/test_bench_lora.py                             # prints the table
Budgets: TKIT_LORA_PRETRAIN_STEPS (default 600), TKIT_LORA_FINETUNE_STEPS (default 150).
"""
from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neural.data import split_stream  # noqa: E402
from neural.lora_model import full_finetune_model, lora_from_base  # noqa: E402
from neural.trainer import TrainConfig, Trainer  # noqa: E402
from neural.transformer import TransformerConfig, TransformerLM  # noqa: E402
from ngram.vocab import UNK, Vocabulary  # noqa: E402
from tokenizers_kit.simple import CharTokenizer  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
POEMS = {"A LOVER'S COMPLAINT", "THE PASSIONATE PILGRIM", "THE PHOENIX AND THE TURTLE", "THE RAPE OF LUCRECE",
         "THE SONNETS", "VENUS AND ADONIS"}
HELD_OUT = 0.3
MODEL = dict(n_layer=4, n_head=4, n_embd=128, block_size=64)


def split_corpus(text: str) -> tuple[str, str, str]:
    """(plays, fine-tuning poems, held-out sonnets)."""
    lines = text.split("\n")
    titles = [i for i in range(len(lines) - 2) if "by William Shakespeare" in lines[i + 1:i + 3] and lines[i].isupper()]
    bounds = list(zip(titles, [*titles[1:], len(lines)]))
    plays = ["\n".join(lines[:titles[0]])] if titles else []
    poems, sonnets = [], ""
    for a, b in bounds:
        part = "\n".join(lines[a:b])
        if lines[a] == "THE SONNETS":
            sonnets = part
        elif lines[a] in POEMS:
            poems.append(part)
        else:
            plays.append(part)
    cut = int(len(sonnets) * (1 - HELD_OUT))
    cut = sonnets.index("\n", cut) + 1
    return "\n".join(plays), "\n".join([sonnets[:cut], *poems]), sonnets[cut:]


def held_out_loss(model: TransformerLM, text: str) -> float:
    ids = model.vocab.encode(model.tokenizer.tokenize(text))
    return float(-model.sequence_logprobs(ids).mean())


def _train(model: TransformerLM, ids: np.ndarray, steps: int, lr: float) -> tuple[float, int]:
    """(mean step seconds, peak traced bytes) of a run on `ids`."""
    train, val = split_stream(ids, 0.05)
    cfg = TrainConfig(steps=steps, batch_size=12, lr=lr, min_lr=lr / 10, warmup=min(50, steps // 5),
                      weight_decay=0.0, beta2=0.99, val_every=0, eval_batches=0, seed=0)
    trainer = Trainer(model, train, val, cfg)
    tracemalloc.start()
    start = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds / steps, peak


def run(pretrain_steps: int, finetune_steps: int) -> list[dict]:
    plays, poems, test = split_corpus(CORPUS.read_text(encoding="utf-8"))
    tok = CharTokenizer()
    vocab = Vocabulary([*sorted(set(plays + poems + test) - {UNK}), UNK])
    base = TransformerLM(TransformerConfig(vocab_size=len(vocab), seed=0, **MODEL), vocab, tok)
    pre_step, _ = _train(base, vocab.encode(tok.tokenize(plays)), pretrain_steps, 1e-3)
    base.eval()
    rows = [{"run": "base (plays only)", "trainable": base.num_parameters(), "held_out_loss": held_out_loss(base, test),
             "step_ms": 1000 * pre_step, "peak_mb": None}]
    ft_ids = vocab.encode(tok.tokenize(poems))
    for name, make, lr in (("LoRA r=4", lambda: lora_from_base(base, 4, 8.0, "attn,mlp", 0), 2e-3),
                           ("LoRA r=16", lambda: lora_from_base(base, 16, 32.0, "attn,mlp", 0), 2e-3),
                           ("full", lambda: full_finetune_model(base, 0), 3e-4)):
        model = make()
        trainable = sum(p.size for _, p in model.named_parameters())
        step, peak = _train(model, ft_ids, finetune_steps, lr)
        model.eval()
        rows.append({"run": name, "trainable": trainable, "held_out_loss": held_out_loss(model, test),
                     "step_ms": 1000 * step, "peak_mb": peak / 2**20})
    return rows


def _budgets() -> tuple[int, int]:
    return (int(os.environ.get("TKIT_LORA_PRETRAIN_STEPS", 600)), int(os.environ.get("TKIT_LORA_FINETUNE_STEPS", 150)))


def test_lora_table(benchmark):
    rows = benchmark.pedantic(lambda: run(*_budgets()), rounds=1, iterations=1)
    for r in rows:
        key = r["run"].split(" (")[0].replace(" ", "_").replace("=", "")
        benchmark.extra_info.update({f"{key}_{k}": v for k, v in r.items() if k != "run" and v is not None})
    base_loss = rows[0]["held_out_loss"]
    assert all(r["held_out_loss"] < base_loss for r in rows[1:])  # fine-tuning on poems helps on sonnets


if __name__ == "__main__":
    pre, ft = _budgets()
    print(f"pretrain {pre} steps on the plays, fine-tune {ft} steps on the poems; batch 12, block 64, "
          f"{MODEL['n_layer']}L/{MODEL['n_head']}H/{MODEL['n_embd']}")
    print("| run | trainable params | held-out sonnet loss (nats/char) | step ms | peak traced MB |")
    print("|---|---|---|---|---|")
    for r in run(pre, ft):
        peak = f"{r['peak_mb']:.1f}" if r["peak_mb"] is not None else "-"
        print(f"| {r['run']} | {r['trainable']:,} | {r['held_out_loss']:.4f} | {r['step_ms']:.1f} | {peak} |")
