"""`tkit eval MODEL FILES...`: perplexity, cross-entropy, bits per byte; `--per-line` sentence scores."""
from __future__ import annotations

import json
import math

import click

from cli import console
from cli.inputs import read_once
from cli.options import chosen_tokenizer, tokenizer_options
from neural import load_model
from neural.seq2seq import is_seq2seq_file, load_seq2seq
from neural.seq2seq_data import check_lengths, read_pairs
from neural.seq2seq_eval import evaluate_pairs, group_references
from neural.thread_pool import single_blas
from ngram.evaluate import evaluate_files, report_dict, score_sentences
from tokenizers_kit.corpus import corpus_bytes, iter_lines, require_nonempty
from tokenizers_kit.errors import TkitError


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "inf"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


@click.command("eval")
@click.argument("model_path", metavar="MODEL")
@click.argument("files", nargs=-1, required=True, callback=read_once)
@tokenizer_options
@click.option("--adapter", metavar="ADAPTER.npz", help="LoRA adapters (tkit finetune --adapter-only) for MODEL.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--per-line", is_flag=True,
              help="Sentence models: print each line's log10 probability, token and OOV counts (TSV).")
def eval_command(model_path: str, files: tuple[str, ...], tokenizer_file: str | None,
                 tokenizer_name: str | None, adapter: str | None, as_json: bool, per_line: bool) -> None:
    """Score FILES with MODEL.

    Perplexity is KenLM's: 10^(-sum log10 p / N) with N counting </s> and OOV tokens; cross_entropy is in nats
    per token; bits_per_byte divides the total bits by the UTF-8 bytes of the text, so models with different
    tokenizers compare on one scale.
    """
    if is_seq2seq_file(model_path):
        if adapter is not None:
            raise TkitError("--adapter applies to a Transformer language model, not to a seq2seq model")
        _eval_seq2seq(model_path, files, chosen_tokenizer(tokenizer_file, tokenizer_name), as_json, per_line)
        return
    model = load_model(model_path, chosen_tokenizer(tokenizer_file, tokenizer_name), adapter)
    require_nonempty(files)
    if getattr(model, "masked", False):
        _eval_masked(model, files, as_json)
        return
    if per_line:
        if not model.sentence_mode:
            raise TkitError("--per-line needs a sentence (n-gram) model; neural models read text as one stream")
        for s in score_sentences(model, iter_lines(files)):
            click.echo(f"{s.log10_prob:.6f}\t{s.tokens}\t{s.oov}\t{s.line}")
        return
    watch = console.Stopwatch()
    with console.progress("scoring", total=None) as bar:
        report = evaluate_files(model, files, on_batch=bar.advance)
    result = report_dict(report, model)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key in ("perplexity", "cross_entropy", "bits_per_byte", "tokens", "oov"):
            click.echo(f"{key}\t{_fmt(result[key])}")
    rate = report.tokens / watch.seconds if watch.seconds > 0 else math.inf
    console.info(f"scored {report.tokens:,} tokens ({console.human_bytes(corpus_bytes(files))}) "
                 f"in {watch.seconds:.2f}s, {rate:,.0f} tokens/s")


def _eval_masked(model, files: tuple[str, ...], as_json: bool) -> None:
    """A masked LM: cross-entropy and accuracy on the masked tokens (fixed masking seed)."""
    import numpy as np

    from neural.mlm import evaluate_masked
    from tokenizers_kit.corpus import read_text

    result = evaluate_masked(model, np.asarray(model.tokenizer.encode_ids(read_text(list(files)))))
    _print_result(result, as_json)


def _eval_seq2seq(model_path: str, files: tuple[str, ...], tokenizer: object, as_json: bool,
                  per_line: bool) -> None:
    """Seq2seq models score PAIRS.tsv files: target cross-entropy (teacher forced), and the exact match and
    token error rate of their greedy outputs."""
    if tokenizer is not None:
        raise TkitError(f"{model_path} carries its own tokenizers: drop -t/--tokenizer")
    if per_line:
        raise TkitError("--per-line needs a sentence (n-gram) model; a seq2seq model is scored on pairs")
    model = load_seq2seq(model_path)
    require_nonempty(files)
    pairs = read_pairs(list(files), model.tokenizer, model.target_tokenizer)
    check_lengths(pairs, model.cfg.max_source_len, model.cfg.max_target_len)
    watch = console.Stopwatch()
    with console.progress("decoding", total=len(group_references(pairs))) as bar, single_blas():
        report = evaluate_pairs(model, pairs, on_source=lambda: bar.advance(1))
    result = {"cross_entropy": report.cross_entropy, "perplexity": math.exp(report.cross_entropy),
              **{k: v for k, v in report.as_dict().items() if k != "cross_entropy"}}
    _print_result(result, as_json)
    console.info(f"scored {report.pairs:,} pairs ({report.sources:,} distinct sources) in {watch.seconds:.2f}s")


def _print_result(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key}\t{_fmt(value)}")


def register(app: click.Group, train: click.Group) -> None:
    app.add_command(eval_command)
