"""`tkit translate MODEL [FILE|-]`: one output line per input line, decoded by the shared beam search."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import click

from cli import console
from cli.options import FiniteFloat
from neural.seq2seq import Seq2SeqModel, load_seq2seq
from neural.thread_pool import single_blas
from tokenizers_kit.atomic import atomic_open, check_output_dir
from tokenizers_kit.corpus import iter_lines
from tokenizers_kit.errors import TkitError

WORD_SEPARATOR = " | "


@contextlib.contextmanager
def _output(path: str) -> Iterator[Callable[[str], object]]:
    """A `write(text)`: stdout for '-' (flushed per line, so a pipe sees each translation), else an atomic
    file that only appears once every line is translated."""
    if path != "-":
        with atomic_open(path, "w") as handle:
            yield handle.write
        return

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
    yield write


def splits_words(model: Seq2SeqModel) -> bool:
    """A model that never saw a space in a source (a G2P model reads one word) translates a line word by word."""
    return " " not in model.vocab.index


def translate_line(model: Seq2SeqModel, line: str, where: str, beam: int, max_tokens: int | None,
                   length_penalty: float) -> str:
    parts = line.split() if splits_words(model) else ([line] if line.strip() else [])
    out = []
    for part in parts:
        try:
            out.append(model.translate(part, beam, max_tokens, length_penalty))
        except TkitError as err:
            raise TkitError(f"{where}: {err}: shorten the line or train with a larger --max-source-len") from None
    return WORD_SEPARATOR.join(out)


def register(app: click.Group, train: click.Group) -> None:
    @app.command("translate")
    @click.argument("model_path", metavar="MODEL")
    @click.argument("file", default="-", metavar="[FILE|-]")
    @click.option("--beam", type=click.IntRange(min=1), default=1, show_default=True,
                  help="beam width; 1 is greedy")
    @click.option("--max-tokens", type=click.IntRange(min=1), default=None,
                  help="longest output per input, in tokens [default: the model's --max-target-len]")
    @click.option("--length-penalty", type=FiniteFloat(min=0), default=0.0, show_default=True,
                  help="GNMT's alpha: rank finished outputs by log p / ((5 + length) / 6) ** alpha")
    @click.option("-o", "--output", default="-", metavar="OUT", help="output file (default stdout)")
    def translate(model_path: str, file: str, beam: int, max_tokens: int | None, length_penalty: float,
                  output: str) -> None:
        """Translate FILE (or stdin) with a `tkit train seq2seq` MODEL: one output line per input line.

        The encoder runs once per input and the decoder keeps its key/value caches (or RNN state), so each
        output token costs one decoder step per beam. A model whose sources never held a space (a G2P
        model reads one word) translates each whitespace-separated word of a line on its own and joins the
        outputs with " | "; an empty line gives an empty line.
        """
        if output != "-":
            check_output_dir(output, inputs=[file, model_path])
        model = load_seq2seq(model_path)
        name = "stdin" if file == "-" else file
        watch, count = console.Stopwatch(), 0
        with _output(output) as write, single_blas():
            for number, line in enumerate(iter_lines([file]), 1):
                write(translate_line(model, line, f"{name}:{number}", beam, max_tokens, length_penalty) + "\n")
                count += 1
        console.info(f"translated {count:,} lines in {watch.seconds:.2f}s")
