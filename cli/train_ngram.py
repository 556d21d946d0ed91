"""`tkit train ngram`: count, smooth, and write an n-gram model (.arpa, .arpa.gz or .npz)."""
from __future__ import annotations

import os

import click

from cli import console
from cli.cluster_opts import (
    cluster,
    describe,
    refuse_memory,
    scheduler_option,
    stage_bars,
)
from cli.count_cmd import (
    check_corpus,
    memory_options,
    read_limit_vocab,
    vocab_limit_options,
)
from cli.inputs import read_once
from cli.options import FiniteFloat, require_tokenizer, tokenizer_options
from ngram import SMOOTHING_NAMES, train_ngram
from ngram.arpa import is_arpa_path
from ngram.bounded_train import BOUNDED_SMOOTHINGS, BoundedSummary, train_arpa_bounded
from ngram.heap import keep_freed_memory
from ngram.storage import check_model_path
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import corpus_bytes
from tokenizers_kit.errors import TkitError
from tokenizers_kit.memory import parse_memory


def parse_prune(text: str | None) -> list[int] | None:
    """KenLM-style cutoffs "0 1 1" (or "0,1,1")."""
    if text is None:
        return None
    try:
        return [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise TkitError(f"--prune {text!r}: give one integer per order, e.g. \"0 1 1\"") from None


def register(app: click.Group, train: click.Group) -> None:
    @train.command("ngram")
    @click.argument("files", nargs=-1, required=True, callback=read_once)
    @click.option("-n", "--order", type=int, required=True, help="The model's order (any N >= 1).")
    @click.option("--smoothing", type=click.Choice(SMOOTHING_NAMES), default="modified-kneser-ney",
                  show_default=True, help="How unseen n-grams get probability.")
    @tokenizer_options
    @click.option("-o", "--output", required=True, metavar="MODEL",
                  help="MODEL.arpa, MODEL.arpa.gz (backoff-form smoothings) or MODEL.npz (any; counts + settings).")
    @click.option("--k", "k", type=FiniteFloat(), help="add-k: the pseudo-count (default 1 = Laplace; 0 = MLE).")
    @click.option("--discount", type=FiniteFloat(), help="kneser-ney: one discount for every order "
                                                "(default n1/(n1+2 n2) per order).")
    @click.option("--alpha", type=FiniteFloat(), help="stupid-backoff: the backoff factor (default 0.4).")
    @click.option("--discount-fallback", nargs=3, type=FiniteFloat(), metavar="D1 D2 D3+",
                  help="modified-kneser-ney: discounts for orders where the closed form fails (default 0.5 1 1.5).")
    @click.option("--strict-discounts", is_flag=True,
                  help="modified-kneser-ney: fail where the closed form fails (lmplz without --discount_fallback).")
    @click.option("--prune", metavar="'T1 T2 ...'",
                  help="Count cutoffs per order, KenLM's --prune: drop n-grams seen at most T times "
                       "(non-decreasing, first 0, last repeats).")
    @vocab_limit_options
    @memory_options
    @scheduler_option
    def ngram(files: tuple[str, ...], order: int, smoothing: str, tokenizer_file: str | None,
              tokenizer_name: str | None, output: str, k: float | None, discount: float | None, alpha: float | None,
              discount_fallback: tuple[float, ...] | None, strict_discounts: bool, prune: str | None,
              vocab_size: int | None, limit_vocab_file: str | None, skip_symbols: bool, memory: str | None,
              temp_dir: str | None, scheduler: str | None) -> None:
        """Train an n-gram language model on FILES, one sentence per line (KenLM's <s> ... </s>).

        modified-kneser-ney reproduces lmplz; witten-bell, kneser-ney and mle write ARPA too; add-k and
        stupid-backoff (a score, not a probability) are saved as .npz only."""
        if order < 1:
            raise TkitError(f"--order must be at least 1 (got {order})")
        check_output_dir(output, inputs=[*files, tokenizer_file, tokenizer_name, limit_vocab_file])
        check_model_path(output, smoothing)
        tok = require_tokenizer(tokenizer_file, tokenizer_name)
        check_corpus(files)
        params = {"k": k, "discount": discount, "alpha": alpha,
                  "discount_fallback": tuple(discount_fallback) if discount_fallback else None,
                  "strict": True if strict_discounts else None}
        watch = console.Stopwatch()
        if scheduler is None and memory is not None and smoothing in BOUNDED_SMOOTHINGS and is_arpa_path(output):
            keep_freed_memory(parse_memory(memory))  # a process-wide heap setting: the CLI's to make (ngram.heap)
            with console.progress("reading and counting", corpus_bytes(files) or None) as bar:
                summary = train_arpa_bounded(list(files), output, order, smoothing, tok, memory=memory,
                                             prune=parse_prune(prune), vocab_size=vocab_size,
                                             limit_vocab=read_limit_vocab(limit_vocab_file),
                                             skip_symbols=skip_symbols, temp_dir=temp_dir, on_bytes=bar.advance,
                                             **params)
            report_bounded(summary, f"within --memory {memory}", output, watch.seconds)
            return
        where_run = ""
        if scheduler is not None and smoothing in BOUNDED_SMOOTHINGS and is_arpa_path(output):
            from ngram.distributed import client_budget, train_arpa_distributed

            budget = client_budget(memory, order)
            with cluster(scheduler, temp_dir, files) as (client, workdir), stage_bars() as bars:
                summary = train_arpa_distributed(client, list(files), workdir, output, order, smoothing, tok,
                                                 memory=budget, prune=parse_prune(prune), vocab_size=vocab_size,
                                                 limit_vocab=read_limit_vocab(limit_vocab_file),
                                                 skip_symbols=skip_symbols, temp_dir=temp_dir, progress=bars,
                                                 **params)
                where_run = describe(client)
            within = f"--memory {memory}" if memory else console.human_bytes(budget)
            report_bounded(summary, f"on {where_run}, estimated within {within}", output, watch.seconds)
            return
        if scheduler is not None:
            refuse_memory(memory)
            from ngram.distributed import train_files_distributed

            with cluster(scheduler, temp_dir, files) as (client, workdir), stage_bars() as bars:
                model = train_files_distributed(client, list(files), workdir, order, smoothing, tok,
                                                prune=parse_prune(prune), vocab_size=vocab_size,
                                                limit_vocab=read_limit_vocab(limit_vocab_file),
                                                skip_symbols=skip_symbols, progress=bars, **params)
                where_run = f" on {describe(client)}"
        else:
            with console.progress("reading and counting", corpus_bytes(files) or None) as bar:
                model = train_ngram(list(files), order, smoothing, tok, prune=parse_prune(prune),
                                    vocab_size=vocab_size, limit_vocab=read_limit_vocab(limit_vocab_file),
                                    skip_symbols=skip_symbols, memory=memory, temp_dir=temp_dir,
                                    on_bytes=bar.advance, **params)
        for message in model.warnings:
            console.warn(message)
        trained = watch.seconds
        model.save(output)
        sizes = ngram_sizes(model.ngram_counts())
        info = model.info
        console.info(f"trained {model.name} on {info.get('sentences', 0):,} lines ({info.get('tokens', 0):,} tokens, "
                     f"vocabulary {len(model.vocab):,}) in {trained:.1f}s{where_run}, wrote {output} "
                     f"({console.human_bytes(os.path.getsize(output))}) in {watch.seconds - trained:.1f}s; "
                     f"n-grams {sizes}")


def ngram_sizes(counts: list[int]) -> str:
    """ "1=8,185 2=26,548 3=0 (orders 3-60 empty)": the trailing empty orders of a high --order in one note."""
    last = max((n for n, c in enumerate(counts, start=1) if c), default=0)
    shown = " ".join(f"{n}={c:,}" for n, c in enumerate(counts[:last], start=1))
    if last < len(counts):
        empty = f"order {len(counts)} empty" if last + 1 == len(counts) else f"orders {last + 1}-{len(counts)} empty"
        return f"{shown} ({empty})" if shown else empty
    return shown


def report_bounded(summary: BoundedSummary, how: str, output: str, seconds: float) -> None:
    """The warnings and the one-line summary of a bounded (streaming) estimate; `how` says where and within what."""
    for message in summary.warnings:
        console.warn(message)
    info = summary.info
    console.info(f"trained {summary.name} on {info['sentences']:,} lines ({info['tokens']:,} tokens, "
                 f"vocabulary {summary.vocab:,}) {how}, wrote {output} "
                 f"({console.human_bytes(os.path.getsize(output))}) in {seconds:.1f}s; "
                 f"n-grams {ngram_sizes(summary.sizes)}")
