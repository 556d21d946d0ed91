"""`tkit train word2vec` (word vectors from a corpus) and `tkit similar` (cosine similarities between them)."""
from __future__ import annotations

import json
import os

import click

from cli import console
from cli.count_cmd import check_corpus
from cli.inputs import read_once
from cli.options import FiniteFloat, chosen_tokenizer, tokenizer_options
from neural.similarity import analogy, most_similar, similarity_table
from neural.word2vec import (
    Word2VecConfig,
    corpus_from_sentences,
    read_sentences,
    train_corpus,
)
from neural.word_vectors import WordVectors
from tokenizers_kit.atomic import check_output_dir

POSITIVE = click.IntRange(min=1)


def register(app: click.Group, train: click.Group) -> None:
    @train.command("word2vec")
    @click.argument("files", nargs=-1, required=True, callback=read_once)
    @tokenizer_options
    @click.option("--lowercase", is_flag=True, help="Lowercase the text before tokenizing.")
    @click.option("--dim", type=POSITIVE, default=100, show_default=True, help="Vector size.")
    @click.option("--window", type=POSITIVE, default=5, show_default=True,
                  help="Largest context distance (each center draws its own width in 1..window).")
    @click.option("--negative", type=POSITIVE, default=5, show_default=True, help="Negative samples per center.")
    @click.option("--min-count", type=POSITIVE, default=5, show_default=True, help="Drop rarer words.")
    @click.option("--sample", type=FiniteFloat(min=0, max=1), default=1e-3, show_default=True,
                  help="Subsampling threshold for frequent words (0 = off).")
    @click.option("--epochs", type=POSITIVE, default=5, show_default=True, help="Passes over the corpus.")
    @click.option("--alpha", type=FiniteFloat(min=0, min_open=True, max=10), default=0.025, show_default=True,
                  help="Starting learning rate (decays linearly to 0.0001).")
    @click.option("--cbow", is_flag=True, help="CBOW instead of skip-gram.")
    @click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
                  help="Random seed (a run is reproducible with --workers 1).")
    @click.option("--workers", type=POSITIVE, default=1, show_default=True,
                  help="Threads updating the shared vectors (Hogwild, as gensim).")
    @click.option("-o", "--output", required=True, metavar="VECTORS",
                  help="word2vec text format, or binary (GoogleNews format) for a .bin name.")
    def word2vec(files: tuple[str, ...], tokenizer_file: str | None, tokenizer_name: str | None, lowercase: bool,
                 dim: int, window: int, negative: int, min_count: int, sample: float, epochs: int, alpha: float,
                 cbow: bool, seed: int, workers: int, output: str) -> None:
        """Train word2vec vectors on FILES (one sentence per line): skip-gram or CBOW, negative sampling."""
        check_output_dir(output, inputs=[*files, tokenizer_file, tokenizer_name])
        tok = chosen_tokenizer(tokenizer_file, tokenizer_name, default="whitespace")
        config = Word2VecConfig(dim=dim, window=window, negative=negative, min_count=min_count, sample=sample,
                                epochs=epochs, cbow=cbow, alpha=alpha, min_alpha=min(0.0001, alpha), seed=seed,
                                workers=workers)
        check_corpus(files)
        watch = console.Stopwatch()
        corpus = corpus_from_sentences(read_sentences(files, tok, lowercase), min_count)
        with console.progress(f"training word2vec ({'CBOW' if cbow else 'skip-gram'})",
                              epochs * len(corpus.ids)) as bar:
            vectors = train_corpus(corpus, config, on_words=bar.advance)
        trained = watch.seconds
        vectors.save(output)
        rate = epochs * corpus.tokens / max(trained, 1e-9)
        console.info(f"trained {'CBOW' if cbow else 'skip-gram'} word2vec on {corpus.tokens:,} tokens "
                     f"(vocabulary {len(vectors):,}, dim {dim}, {epochs} epochs) in {trained:.1f}s "
                     f"({rate:,.0f} tokens/s), wrote {output} ({console.human_bytes(os.path.getsize(output))})")

    @app.command("similar")
    @click.argument("vectors_file", metavar="VECTORS")
    @click.argument("words", nargs=-1)
    @click.option("--most-similar", "nearest", metavar="WORD", help="The nearest neighbours of WORD.")
    @click.option("--analogy", "analogy_words", nargs=3, metavar="A B C", help="A is to B as C is to ?: neighbours of B - A + C.")
    @click.option("--top", type=POSITIVE, default=10, show_default=True, help="How many neighbours.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def similar(vectors_file: str, words: tuple[str, ...], nearest: str | None,
                analogy_words: tuple[str, ...] | None, top: int, as_json: bool) -> None:
        """Cosine similarities: the table of WORDS, or --most-similar WORD, or --analogy A B C."""
        modes = sum(bool(x) for x in (words, nearest, analogy_words))
        if modes != 1:
            raise click.UsageError("give WORDS for a table, or --most-similar WORD, or --analogy A B C (one of them)")
        wv = WordVectors.load(vectors_file)
        if words:
            _print_table(list(words), similarity_table(wv, words), as_json)
        elif nearest:
            _print_neighbours({"word": nearest}, most_similar(wv, nearest, top), as_json)
        else:
            a, b, c = analogy_words
            _print_neighbours({"analogy": [a, b, c]}, analogy(wv, a, b, c, top), as_json)


def _print_table(words: list[str], table: object, as_json: bool) -> None:
    rows = [[round(float(x), 6) for x in row] for row in table]  # type: ignore[union-attr]
    if as_json:
        click.echo(json.dumps({"words": words, "similarity": rows}, ensure_ascii=False))
        return
    width = max(6, *(len(w) for w in words))
    click.echo(" " * width + "".join(f" {w:>{width}}" for w in words))
    for word, row in zip(words, rows):
        click.echo(f"{word:<{width}}" + "".join(f" {x:>{width}.3f}" for x in row))


def _print_neighbours(head: dict, found: list[tuple[str, float]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({**head, "neighbours": [{"word": w, "similarity": round(s, 6)} for w, s in found]},
                              ensure_ascii=False))
        return
    for word, sim in found:
        click.echo(f"{sim:.4f}\t{word}")


