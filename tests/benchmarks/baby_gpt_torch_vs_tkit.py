"""The quality check of issue 5: nanoGPT's CPU "baby GPT" recipe trained by PyTorch on exactly the data tkit
trains on, then both models scored on the same validation windows.

    .venv/bin/python tests/benchmarks/baby_gpt_torch_vs_tkit.py TKIT_MODEL.npz [--steps 2000]

TKIT_MODEL.npz is the result of
    tkit train transformer data/shakespeare.txt --tokenizer char --steps 2000 -o TKIT_MODEL.npz
(4 layers, 4 heads, width 128, block 64, batch 12, AdamW 0.9/0.99, wd 0.1 on 2-D weights, warmup 100,
cosine 1e-3 -> 1e-4, clip 1.0, no dropout, seed 1337). The PyTorch run starts from the same initial weights
(same seed) and draws the same batches (the same NumPy generator as tkit's trainer), so the two runs differ
only in the arithmetic. Prints one JSON line with both validation losses (nats/char) on 200 random windows
of the last 10% (nanoGPT's estimate_loss with more batches) and the wall time of the torch run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "neural"))

import torch  # noqa: E402
from torch_gpt import from_tkit  # noqa: E402

from neural import load_model  # noqa: E402
from neural.data import eval_windows, random_batch, split_stream  # noqa: E402
from neural.module import no_grad  # noqa: E402
from neural.schedule import WarmupCosine  # noqa: E402
from neural.transformer import TransformerLM  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--eval-batches", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(2)
    trained = load_model(args.model)
    text = (ROOT / "data" / "shakespeare.txt").read_text(encoding="utf-8")
    ids = trained.vocab.encode(trained.tokenizer.tokenize(text))
    train, val = split_stream(ids, 0.1)
    cfg = trained.cfg
    fresh = TransformerLM(cfg, trained.vocab, trained.tokenizer)  # tkit's initial weights (same seed)
    tm = from_tkit(fresh, torch.float32)
    decay = [p for p in tm.parameters() if p.dim() >= 2]
    no_decay = [p for p in tm.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    sched = WarmupCosine(1e-3, 100, args.steps, 1e-4)
    rng = np.random.default_rng(1337)  # the trainer's batch stream
    t0 = time.perf_counter()
    for it in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = sched(it)
        x, y = random_batch(train, 12, cfg.block_size, rng)
        loss = tm(torch.from_numpy(x), torch.from_numpy(y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tm.parameters(), 1.0)
        opt.step()
    seconds = time.perf_counter() - t0
    windows = eval_windows(val, args.eval_batches, 12, cfg.block_size, seed=7)
    with torch.no_grad():
        torch_val = float(np.mean([tm(torch.from_numpy(x), torch.from_numpy(y)).item() for x, y in windows]))
    trained.eval()
    with no_grad():
        tkit_val = float(np.mean([trained.loss(x, y) for x, y in windows]))
    print(json.dumps({"steps": args.steps, "eval_windows": args.eval_batches * 12, "torch_val_loss": torch_val,
                      "tkit_val_loss": tkit_val, "difference": tkit_val - torch_val,
                      "torch_train_seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
