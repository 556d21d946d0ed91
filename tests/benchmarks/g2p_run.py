"""Train the Transformer G2P on the shipped CMUdict split within a CPU-time budget and report WER/PER.

    PYTHONPATH=$PWD python tests/benchmarks/g2p_run.py [-o g2p.npz] [--steps N] [--split test] [--no-stress]

Too long for `make bench` (about 20 CPU-minutes), so a script: it runs exactly what `tkit train seq2seq
data/g2p/train.tsv --source-tokenizer char --target-tokenizer whitespace ...` runs (the same Trainer), with
BLAS single-threaded, counts the process's CPU time (not wall time: the machine is shared), then decodes the
dev or test words greedily. WER = 1 - exact match per word (any listed pronunciation counts), PER = phoneme
edit distance to the closest pronunciation over its length.
"""
from __future__ import annotations

import argparse
import json
import re
import time

from neural.seq2seq import Seq2SeqConfig
from neural.seq2seq_data import Pair, build_vocab, pack, read_pairs
from neural.seq2seq_eval import evaluate_pairs
from neural.seq2seq_trainer import Seq2SeqTrainer
from neural.seq2seq_transformer import TransformerSeq2Seq
from neural.thread_pool import single_blas
from neural.trainer import TrainConfig
from tokenizers_kit.simple import CharTokenizer, WhitespaceTokenizer

MODEL = dict(n_layer=2, n_head=4, n_embd=128, max_source_len=32, max_target_len=32, dropout=0.0, seed=1337)
TRAIN = dict(steps=15000, batch_size=64, lr=2e-3, min_lr=2e-5, warmup=300, weight_decay=0.01, beta2=0.98,
             grad_clip=1.0, val_every=1000, eval_batches=10, seed=1337)


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """{"model": {...}, "train": {...}} from KEY=VALUE strings, each value cast to the type of its default."""
    out: dict[str, dict] = {"model": {}, "train": {}}
    for item in items:
        key, value = item.split("=", 1)
        part, table = ("model", MODEL) if key in MODEL else ("train", TRAIN)
        out[part][key] = type(table.get(key, 0.0))(value)
    return out


def load_split(name: str, source_tok, target_tok, no_stress: bool = False) -> list[Pair]:
    """data/g2p/NAME.tsv as pairs; with `no_stress`, the phonemes lose their stress digits (AH0 -> AH: the 39
    phonemes the published CMUdict results are scored on) and pronunciations that become equal are kept once."""
    pairs = read_pairs([f"data/g2p/{name}.tsv"], source_tok, target_tok)
    if not no_stress:
        return pairs
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    out = []
    for p in pairs:
        target = [re.sub(r"[0-9]", "", t) for t in p.target]
        key = (tuple(p.source), tuple(target))
        if key not in seen:
            seen.add(key)
            out.append(Pair(p.source, target, p.where))
    return out


def g2p_arguments(default_output: str, output_help: str | None = None) -> argparse.ArgumentParser:
    """The options this script and its torch twin share, so both train and score alike."""
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default=default_output, help=output_help)
    ap.add_argument("--steps", type=int, default=TRAIN["steps"])
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N lines of the split (quick runs)")
    ap.add_argument("--no-stress", action="store_true", help="train and score without stress digits (AH0 -> AH)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override a MODEL or TRAIN entry")
    return ap


def main() -> None:
    args = g2p_arguments("g2p.npz").parse_args()
    overrides = parse_overrides(args.set)
    src_tok, tgt_tok = CharTokenizer(), WhitespaceTokenizer()
    train = load_split("train", src_tok, tgt_tok, args.no_stress)
    dev = load_split("dev", src_tok, tgt_tok, args.no_stress)
    vocab = build_vocab(train)
    cfg = Seq2SeqConfig(vocab_size=len(vocab), **{**MODEL, **overrides["model"]})
    model = TransformerSeq2Seq(cfg, vocab, src_tok, tgt_tok)
    s, t = cfg.max_source_len, cfg.max_target_len
    tc = TrainConfig(**{**TRAIN, "steps": args.steps, **overrides["train"]})
    trainer = Seq2SeqTrainer(model, pack(train, vocab, s, t), pack(dev, vocab, s, t), tc,
                             on_step=lambda i: print(f"step {i.step} loss {i.loss:.4f} val {i.val_loss}", flush=True)
                             if i.val_loss is not None or i.step % 200 == 0 else None)
    cpu0 = time.process_time()
    with single_blas():
        result = trainer.run()
    cpu_train = time.process_time() - cpu0
    model.eval()
    model.save(args.output)
    pairs = load_split(args.split, src_tok, tgt_tok, args.no_stress)[:args.limit or None]
    cpu1 = time.process_time()
    with single_blas():
        report = evaluate_pairs(model, pairs)
    out = {"split": args.split, "no_stress": args.no_stress, "train_cpu_s": round(cpu_train, 1), "decode_cpu_s": round(time.process_time() - cpu1, 1),
           "steps": result.steps, "model": {**MODEL, **overrides["model"]},
           "train": {**TRAIN, "steps": args.steps, **overrides["train"]}, "params": model.num_parameters(),
           "train_loss": result.train_loss, "val_loss": result.val_loss, "wer": 1 - report.exact_match, "per": report.token_error_rate,
           **report.as_dict()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
