"""Options and argument handling shared by several commands."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from tokenizers_kit import (
    BUILTIN_TOKENIZERS,
    TextTokenizer,
    TkitError,
    load_text_tokenizer,
)

TOKENIZER_HELP = f"a tokenizer file (tokenizer.json) or a built-in: {', '.join(BUILTIN_TOKENIZERS)}"


def tokenizer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`-t TOKENIZER.json` and `--tokenizer whitespace|char` (either may name a file or a built-in)."""
    func = click.option("--tokenizer", "tokenizer_name", metavar="NAME", help=TOKENIZER_HELP)(func)
    func = click.option("-t", "--tokenizer-file", "tokenizer_file", metavar="TOKENIZER", help=TOKENIZER_HELP)(func)
    return func


def chosen_tokenizer(tokenizer_file: str | None, tokenizer_name: str | None,
                     default: str | None = None) -> TextTokenizer | None:
    """The tokenizer the user chose with -t or --tokenizer, `default` if neither, or None."""
    if tokenizer_file and tokenizer_name and tokenizer_file != tokenizer_name:
        raise click.UsageError("give either -t or --tokenizer, not both")
    choice = tokenizer_file or tokenizer_name or default
    return load_text_tokenizer(choice) if choice else None


def require_tokenizer(tokenizer_file: str | None, tokenizer_name: str | None,
                      default: str | None = None) -> TextTokenizer:
    tok = chosen_tokenizer(tokenizer_file, tokenizer_name, default)
    if tok is None:
        raise click.UsageError("choose a tokenizer: -t TOKENIZER.json or --tokenizer whitespace|char")
    return tok


def positive_int(name: str, value: int) -> int:
    if value < 1:
        raise TkitError(f"{name} must be at least 1 (got {value})")
    return value


class FiniteFloat(click.FloatRange):
    """A float option within a range that is also finite: click's FloatRange lets `nan` and `inf` through
    (every comparison with nan is false), and a learning rate of inf trains to NaN."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
