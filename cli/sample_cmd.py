"""`tkit sample MODEL`: text from any language model through the shared decoding module."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import click
import numpy as np

from cli.options import FiniteFloat, chosen_tokenizer
from neural import load_model
from ngram.decoding import (
    SamplingConfig,
    beam_search,
    prompt_to_ids,
    sample_stream,
    stream_text,
    top_next,
)
from tokenizers_kit.checks import require_int
from tokenizers_kit.errors import TkitError


@click.command("sample")
@click.argument("model_path", metavar="MODEL")
@click.option("-t", "--tokenizer", "tokenizer", metavar="TOKENIZER",
              help="Tokenizer for an ARPA model that is not word-level.")
@click.option("--adapter", metavar="ADAPTER.npz", help="LoRA adapters (tkit finetune --adapter-only) for MODEL.")
@click.option("--prompt", default="", help="Text to continue.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--temperature", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="0 means greedy.")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample only from the K most probable tokens.")
@click.option("--top-p", type=FiniteFloat(min=0, max=1, min_open=True), help="Nucleus sampling mass.")
@click.option("--greedy", is_flag=True, help="Always take the most probable token.")
@click.option("--beam", type=click.IntRange(min=1), help="Beam search with this width (deterministic).")
@click.option("--seed", type=int, help="Random seed for reproducible samples.")
@click.option("--num-samples", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--top-k-next", type=click.IntRange(min=1), help="Print the K most probable next tokens instead.")
@click.option("--json", "as_json", is_flag=True, help="With --top-k-next: print JSON.")
def sample_command(model_path: str, tokenizer: str | None, adapter: str | None, prompt: str, max_tokens: int, temperature: float,
                   top_k: int | None, top_p: float | None, greedy: bool, beam: int | None, seed: int | None,
                   num_samples: int, top_k_next: int | None, as_json: bool) -> None:
    """Generate text from MODEL (n-gram .npz/.arpa or neural .npz). For n-gram models each line is a
    sentence: </s> is printed as a newline."""
    # every setting is checked before the model is loaded (click's ranges let nan through)
    config = SamplingConfig(max_tokens, temperature, top_k, top_p, greedy or temperature == 0)
    if seed is not None:
        require_int("--seed", seed, low=0)
    model = load_model(model_path, chosen_tokenizer(tokenizer, None), adapter)
    context = prompt_to_ids(model, prompt)
    if top_k_next:
        _print_next(model, context, top_k_next, as_json)
        return
    if as_json:
        raise TkitError("--json goes with --top-k-next")
    rng = np.random.default_rng(seed)
    lead = prompt if prompt else ""
    sep = " " if prompt and model.tokenizer.name == "whitespace" else ""
    for i in range(num_samples):
        if num_samples > 1 and i:
            click.echo("")
        if beam:
            ids: Iterable[int] = beam_search(model, context, beam, max_tokens)
        else:
            ids = sample_stream(model, context, config, rng)
        _print_streamed(stream_text(model, ids), lead, sep)


def _print_streamed(pieces: Iterable[str], lead: str, sep: str) -> None:
    """`lead`, then `sep` if the text does not start a new line, then the text as it comes (without its
    final newlines), then one newline."""
    click.echo(lead, nl=False)
    started, held = False, ""
    for piece in pieces:
        if not piece:
            continue
        if not started:
            started = True
            if not piece.startswith("\n"):
                click.echo(sep, nl=False)
        text = held + piece
        body = text.rstrip("\n")
        held = text[len(body):]
        if body:
            click.echo(body, nl=False)
            sys.stdout.flush()
    click.echo("")


def _print_next(model, context: list[int], k: int, as_json: bool) -> None:
    ranked = top_next(model, context, k)
    entries = [{"token": model.vocab.tokens[i], "id": i, "prob": p} for i, p in ranked]
    if as_json:
        click.echo(json.dumps({"next": entries}, ensure_ascii=False))
    else:
        for e in entries:
            click.echo(f"{e['prob']:.6f}\t{e['id']}\t{e['token']!r}")


def register(app: click.Group, train: click.Group) -> None:
    app.add_command(sample_command)
