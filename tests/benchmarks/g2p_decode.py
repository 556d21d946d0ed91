"""Score a trained G2P model (from g2p_run.py or g2p_torch_twin.py -o) on a split, greedy or with a beam.

    PYTHONPATH=$PWD python tests/benchmarks/g2p_decode.py g2p.npz [--beam 5] [--split test]

WER = 1 - exact match per word (any listed pronunciation counts), PER = phoneme edit distance to the closest
pronunciation over its length (neural.seq2seq_eval).
"""
from __future__ import annotations

import argparse
import json
import time

from neural.seq2seq import load_seq2seq
from neural.seq2seq_eval import evaluate_pairs
from neural.thread_pool import single_blas
from tests.benchmarks.g2p_run import load_split


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N lines of the split")
    ap.add_argument("--no-stress", action="store_true", help="score without stress digits (the model's too)")
    args = ap.parse_args()
    model = load_seq2seq(args.model)
    model.eval()
    pairs = load_split(args.split, model.tokenizer, model.target_tokenizer, args.no_stress)[:args.limit or None]
    cpu0 = time.process_time()
    with single_blas():
        report = evaluate_pairs(model, pairs, beam=args.beam)
    print(json.dumps({"model": args.model, "split": args.split, "beam": args.beam,
                      "decode_cpu_s": round(time.process_time() - cpu0, 1), "wer": 1 - report.exact_match,
                      "per": report.token_error_rate, **report.as_dict()}))


if __name__ == "__main__":
    main()
