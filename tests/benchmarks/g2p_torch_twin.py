"""The torch twin of tests/benchmarks/g2p_run.py: the same model (tests/neural/torch_seq2seq.py, float32,
the tkit model's initial weights), the same batches (the trainer's length-bucketed windows, same seed), the same AdamW
(decay on 2-D weights), schedule and clipping; the trained weights are copied back into a tkit model and
decoded by the same greedy search, so the comparison is of the training only.

    PYTHONPATH=$PWD python tests/benchmarks/g2p_torch_twin.py [--steps N] [--split test]
"""
from __future__ import annotations

import json
import time

import numpy as np
import torch

from neural.seq2seq import Seq2SeqConfig
from neural.seq2seq_data import (
    bucket_batch,
    build_vocab,
    length_order,
    pack,
    split_rows,
)
from neural.seq2seq_eval import evaluate_pairs
from neural.seq2seq_transformer import TransformerSeq2Seq
from neural.thread_pool import single_blas
from neural.trainer import TrainConfig
from tests.benchmarks.g2p_run import (
    MODEL,
    TRAIN,
    g2p_arguments,
    load_split,
    parse_overrides,
)
from tests.neural.torch_seq2seq import params_from, transformer_loss
from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer


def main() -> None:
    args = g2p_arguments("", "also save the trained model here (for a beam decode)").parse_args()
    overrides = parse_overrides(args.set)
    torch.set_num_threads(1)
    src_tok, tgt_tok = CharTokenizer(), WhitespaceTokenizer()
    train = load_split("train", src_tok, tgt_tok, args.no_stress)
    vocab = build_vocab(train)
    cfg = Seq2SeqConfig(vocab_size=len(vocab), **{**MODEL, **overrides["model"]})
    model = TransformerSeq2Seq(cfg, vocab, src_tok, tgt_tok)
    rows = pack(train, vocab, cfg.max_source_len, cfg.max_target_len)
    tc = TrainConfig(**{**TRAIN, "steps": args.steps, **overrides["train"]})
    order = length_order(rows, cfg.max_source_len, tc.seed)
    p = params_from(model, torch.float32)
    decay = [t for n, t in p.items() if dict(model.named_parameters())[n].decay]
    no_decay = [t for n, t in p.items() if not dict(model.named_parameters())[n].decay]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr, betas=(tc.beta1, tc.beta2))
    schedule, rng = tc.schedule(), np.random.default_rng(tc.seed)
    cpu0 = time.process_time()
    for step in range(tc.steps):
        for group in opt.param_groups:
            group["lr"] = schedule(step)
        src, tgt = split_rows(bucket_batch(rows, order, tc.batch_size, rng), cfg.max_source_len)
        opt.zero_grad()
        loss = transformer_loss(p, cfg.n_layer, cfg.n_head, src, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), tc.grad_clip)
        opt.step()
        if (step + 1) % 200 == 0:  # numbered as the tkit run's log: steps done, this step's batch
            print(f"step {step + 1} loss {loss.item():.4f}", flush=True)
    cpu_train = time.process_time() - cpu0
    model.load_state_arrays({n: t.detach().numpy() for n, t in p.items()})
    model.eval()
    if args.output:
        model.save(args.output)
    pairs = load_split(args.split, src_tok, tgt_tok, args.no_stress)[:args.limit or None]
    with single_blas():
        report = evaluate_pairs(model, pairs)
    print(json.dumps({"twin": "torch", "split": args.split, "no_stress": args.no_stress, "train_cpu_s": round(cpu_train, 1), "steps": tc.steps,
                      "wer": 1 - report.exact_match, "per": report.token_error_rate, **report.as_dict()}))


if __name__ == "__main__":
    main()
