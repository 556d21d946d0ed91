"""`tkit count`: the most frequent n-grams of one order (KenLM's padding), and all counts to a file."""
from __future__ import annotations

import sys
from collections.abc import Iterable

import click

from cli import console
from cli.cluster_opts import (
    cluster,
    describe,
    refuse_memory,
    scheduler_option,
    stage_bars,
)
from cli.inputs import read_once
from cli.options import require_tokenizer, tokenizer_options
from ngram.bounded_count import count_bounded
from ngram.heap import keep_freed_memory
from ngram.ngram_counts import count_ngrams
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import corpus_bytes, require_nonempty
from tokenizers_kit.errors import TkitError
from tokenizers_kit.memory import parse_memory

DEFAULT_TOP = 20


def vocab_limit_options(func):  # type: ignore[no-untyped-def]
    func = click.option("--skip-symbols", is_flag=True,
                        help="Drop literal <s> and </s> tokens in the text instead of failing (lmplz --skip_symbols).")(func)
    func = click.option("--limit-vocab-file", metavar="FILE",
                        help="Keep only the words listed in FILE (whitespace-separated). train ngram with (modified) "
                             "Kneser-Ney: as lmplz --limit_vocab_file, n-grams holding another word are pruned "
                             "(discounts from the whole corpus); elsewhere other words become <unk>.")(func)
    func = click.option("--vocab-size", type=int, metavar="N",
                        help="Keep the N most frequent tokens (incl. <unk> <s> </s>); others become <unk>.")(func)
    return func


def memory_options(func):  # type: ignore[no-untyped-def]
    func = click.option("--temp-dir", metavar="DIR",
                        help="Where --memory spills sorted runs (default: the system temp dir).")(func)
    func = click.option("--memory", metavar="SIZE",
                        help="Work within this memory budget (e.g. 500M, 2G) with sorted runs on disk, as lmplz -S: "
                             "the whole run for (modified) Kneser-Ney to .arpa and for counts to text; other "
                             "smoothings and .npz outputs count within it, then build their tables in memory. "
                             "Default: all in memory.")(func)
    return func


def read_limit_vocab(path: str | None) -> list[str] | None:
    if path is None:
        return None
    from ngram.train import read_vocab_file

    return read_vocab_file(path)


def check_corpus(files: tuple[str, ...]) -> None:
    """Fail early on missing or empty corpora (stdin is read as it comes)."""
    on_disk = [f for f in files if f != "-"]
    if on_disk and len(on_disk) == len(files):
        require_nonempty(on_disk)


def write_stdout(chunks: Iterable[bytes]) -> None:
    """UTF-8 bytes to stdout (through its text layer when it has no binary buffer, e.g. under tests)."""
    buffer = getattr(sys.stdout, "buffer", None)
    sys.stdout.flush()
    for chunk in chunks:
        if buffer is not None:
            buffer.write(chunk)
        else:
            sys.stdout.write(chunk.decode("utf-8"))
    sys.stdout.flush()


def register(app: click.Group, train: click.Group) -> None:
    @app.command("count")
    @click.argument("files", nargs=-1, required=True, callback=read_once)
    @click.option("-n", "--order", type=int, required=True, help="The n-gram order to count.")
    @tokenizer_options
    @click.option("--top", type=int, metavar="K",
                  help=f"Print the K most frequent n-grams as 'count<TAB>tokens' (default {DEFAULT_TOP} without -o).")
    @click.option("-o", "--output", metavar="COUNTS",
                  help="Save every count: .npz (tkit-counts) or text 'count<TAB>tokens' lines, most frequent first.")
    @vocab_limit_options
    @memory_options
    @scheduler_option
    def count(files: tuple[str, ...], order: int, tokenizer_file: str | None, tokenizer_name: str | None,
              top: int | None, output: str | None, vocab_size: int | None, limit_vocab_file: str | None,
              skip_symbols: bool, memory: str | None, temp_dir: str | None, scheduler: str | None) -> None:
        """Count the n-grams of FILES, each line a sentence padded like KenLM: N-1 <s> before, </s> after.

        Tokens holding whitespace are printed escaped (\\s for a space, \\\\ for a backslash)."""
        if order < 1:
            raise TkitError(f"--order must be at least 1 (got {order})")
        if top is not None and top < 0:
            raise TkitError(f"--top must be >= 0 (got {top})")
        tok = require_tokenizer(tokenizer_file, tokenizer_name)
        if output and output != "-":
            check_output_dir(output, inputs=[*files, tokenizer_file, tokenizer_name, limit_vocab_file])
        check_corpus(files)
        watch = console.Stopwatch()
        k = top if top is not None else (None if output else DEFAULT_TOP)
        if scheduler is None and memory is not None and not (output and output.lower().endswith(".npz")):
            keep_freed_memory(parse_memory(memory))  # a process-wide heap setting: the CLI's to make (ngram.heap)
            with console.progress(f"counting {order}-grams", corpus_bytes(files) or None) as bar:
                summary = count_bounded(list(files), order, tok, memory=memory, output=output, top=k,
                                        temp_dir=temp_dir, vocab_size=vocab_size,
                                        limit_vocab=read_limit_vocab(limit_vocab_file), skip_symbols=skip_symbols,
                                        on_bytes=bar.advance, write_stdout=write_stdout)
            where = f"; saved to {output}" if output and output != "-" else ""
            console.info(f"counted {summary.total:,} {order}-grams ({summary.distinct:,} distinct) in "
                         f"{summary.sentences:,} lines, vocabulary {summary.vocab:,}, within --memory {memory}, in "
                         f"{watch.seconds:.1f}s{where}")
            return
        where_run = ""
        if scheduler is not None:
            refuse_memory(memory)
            from ngram.distributed import count_ngrams_distributed

            with cluster(scheduler, temp_dir, files) as (client, workdir), stage_bars() as bars:
                counts = count_ngrams_distributed(client, list(files), order, tok, workdir, vocab_size=vocab_size,
                                                  limit_vocab=read_limit_vocab(limit_vocab_file),
                                                  skip_symbols=skip_symbols, progress=bars)
                where_run = f" on {describe(client)}"
        else:
            with console.progress(f"counting {order}-grams", corpus_bytes(files) or None) as bar:
                counts = count_ngrams(list(files), order, tok, memory=memory, temp_dir=temp_dir,
                                      vocab_size=vocab_size, limit_vocab=read_limit_vocab(limit_vocab_file),
                                      skip_symbols=skip_symbols, on_bytes=bar.advance)
        if output:
            if output == "-":
                write_stdout(counts.lines())
            else:
                counts.save(output)
        if k:
            write_stdout(counts.lines(counts.most_common(k)))
        where = f"; saved to {output}" if output and output != "-" else ""
        console.info(f"counted {counts.total:,} {order}-grams ({counts.rows.shape[0]:,} distinct) in "
                     f"{counts.sentences:,} lines, vocabulary {len(counts.vocab):,}, in {watch.seconds:.1f}s{where_run}{where}")
