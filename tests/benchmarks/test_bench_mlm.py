"""Masked-LM accuracy after a stated budget: a WordPiece tokenizer (vocabulary 2,000) trained on
data/shakespeare.txt, then a 4-layer, 4-head, width-128 bidirectional encoder, block 64, batch 16, AdamW 1e-3,
for TKIT_MLM_STEPS steps (default 1000) on the first 95% of the token stream; the masked-token accuracy and
cross-entropy on the last 5% (15% chosen, 80/10/10, fixed masking seed), beside the accuracy of always guessing
the most frequent training token at the chosen positions.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_mlm.py -o addopts=""
    .venv/bin/python tests/benchmarks/test_bench_mlm.py
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neural.data import split_stream  # noqa: E402
from neural.masking import IGNORE  # noqa: E402
from neural.mlm import MaskedLM, MLMConfig, evaluate_masked, frame_ids, vocabulary_of  # noqa: E402
from neural.trainer import TrainConfig, Trainer  # noqa: E402
from tokenizers_kit.training import train_tokenizer  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"


def run(steps: int) -> dict:
    text = CORPUS.read_text(encoding="utf-8")
    tok = train_tokenizer(str(CORPUS), "wordpiece", vocab_size=2000)
    cls_id, sep_id, mask_id = frame_ids(tok)
    vocab = vocabulary_of(tok)
    ids = np.asarray(tok.encode_ids(text), dtype=np.int32)
    train, test = split_stream(ids, 0.05)
    cfg = MLMConfig(vocab_size=len(vocab), n_layer=4, n_head=4, n_embd=128, block_size=64, seed=0, cls_id=cls_id,
                    sep_id=sep_id, mask_id=mask_id)
    model = MaskedLM(cfg, vocab, tok)
    trainer = Trainer(model, train, test[:2000], TrainConfig(steps=steps, batch_size=16, lr=1e-3, min_lr=1e-4,
                                                               warmup=100, weight_decay=0.01, val_every=0,
                                                               eval_batches=0, seed=0))
    start = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - start
    model.eval()
    report = evaluate_masked(model, test)
    # the baseline: the most frequent training token at the same chosen positions
    common = int(np.bincount(train, minlength=len(vocab)).argmax())
    n = len(test) // (cfg.block_size - 2)
    windows = np.concatenate([test[:n * (cfg.block_size - 2)].reshape(n, -1), np.zeros((n, 2), np.int64)], axis=1)
    _, tgt = model.corrupt(windows, np.random.default_rng([0, 7]))
    chosen = tgt[tgt != IGNORE]
    return {**report, "steps": steps, "train_s": seconds, "params": model.num_parameters(),
            "most_frequent_token_accuracy": float((chosen == common).mean())}


def test_mlm_accuracy(benchmark):
    steps = int(os.environ.get("TKIT_MLM_STEPS", 1000))
    result = benchmark.pedantic(lambda: run(steps), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    assert result["masked_accuracy"] > result["most_frequent_token_accuracy"]


if __name__ == "__main__":
    print(run(int(os.environ.get("TKIT_MLM_STEPS", 1000))))
