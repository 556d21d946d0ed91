"""`tkit demo`: the main job on the shipped corpus — train what it needs, then sample Shakespeare-style text."""
from __future__ import annotations

import contextlib
import importlib.resources
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np

from cli import console
from ngram.decoding import SamplingConfig, ids_to_text, prompt_to_ids, sample_stream
from ngram.lm import LanguageModel
from tokenizers_kit.errors import TkitError

CORPUS = "shakespeare.txt"
SHIPPED_TRANSFORMER = "shakespeare_char_transformer.npz"


@contextlib.contextmanager
def shipped_file(name: str) -> Iterator[Path]:
    """A file shipped in the package `tkit_data` (data/ of the checkout), as a real path: from a clone and
    from an installed wheel alike."""
    try:
        resource = importlib.resources.files("tkit_data") / name
    except ModuleNotFoundError:
        raise TkitError("the shipped data package tkit_data is not installed: reinstall tokenizers-kit") from None
    if not resource.is_file():
        raise TkitError(f"the shipped file {name} is missing: run `make data` in a clone, or reinstall")
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


def sample_lines(model: LanguageModel, count: int, rng: np.random.Generator, min_words: int = 5,
                 temperature: float = 0.9, max_tries: int = 200) -> list[str]:
    """`count` sampled sentences of at least `min_words` tokens (the corpus has many short stage lines)."""
    config = SamplingConfig(max_tokens=60, temperature=temperature)
    eos = model.vocab.eos_id
    lines: list[str] = []
    for _ in range(max_tries):
        ids: list[int] = []
        for token in sample_stream(model, prompt_to_ids(model, ""), config, rng):
            if token == eos:
                break
            ids.append(token)
        if len(ids) >= min_words:
            lines.append(ids_to_text(model, ids).strip())
            if len(lines) == count:
                break
    return lines


@click.command("demo")
@click.option("--order", type=click.IntRange(min=1), default=4, show_default=True, help="n-gram order.")
@click.option("--lines", "num_lines", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def demo_command(order: int, num_lines: int, seed: int) -> None:
    """Train a word-level modified Kneser-Ney n-gram model on data/shakespeare.txt and sample lines from it;
    then sample from the shipped character-level Transformer (data/shakespeare_char_transformer.npz)."""
    from ngram import train_ngram

    rng = np.random.default_rng(seed)
    watch = console.Stopwatch()
    with shipped_file(CORPUS) as corpus, \
            console.progress(f"training a {order}-gram model", total=corpus.stat().st_size) as bar:
        model = train_ngram(str(corpus), order=order, smoothing="modified-kneser-ney", tokenizer="whitespace",
                            on_bytes=bar.advance)
    click.echo(f"== {model.name}, words, trained on {CORPUS} in {watch.seconds:.1f}s ==")
    for line in sample_lines(model, num_lines, rng):
        click.echo(line)
    _neural_demo(rng)


def _neural_demo(rng: np.random.Generator) -> None:
    from neural import load_model

    with shipped_file(SHIPPED_TRANSFORMER) as path:
        model = load_model(path)
    watch = console.Stopwatch()
    prompt = "ROMEO.\n"
    config = SamplingConfig(max_tokens=400, temperature=0.8, top_k=20)
    ids = list(sample_stream(model, prompt_to_ids(model, prompt), config, rng))
    click.echo(f"\n== {model.name}, characters ({SHIPPED_TRANSFORMER}), 400 tokens in {watch.seconds:.1f}s ==")
    click.echo(prompt + ids_to_text(model, ids).rstrip())


def register(app: click.Group, train: click.Group) -> None:
    app.add_command(demo_command)
