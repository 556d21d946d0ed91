"""Encoding big inputs: line-oriented block encoders, mapped over the pieces of a file by `pool.ordered_map`.

`tkit tokenize` reads 4 MiB line-aligned blocks (`corpus.iter_text_blocks`), cuts them into ~1 MiB pieces,
and encodes the pieces in worker processes that inherit the tokenizer by `fork` (nothing is pickled but the
text in and the formatted text out).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from tokenizers_kit.errors import TkitError
from tokenizers_kit.pool import can_fork, ordered_map
from tokenizers_kit.pool import (
    usable_cores as usable_cores,  # re-exported: the CLI and neural/ import it here
)
from tokenizers_kit.simple import CharTokenizer, TextTokenizer, WhitespaceTokenizer

PIECE_CHARS = 1 << 20  # text per task: big enough to amortise IPC, small enough to balance the workers
PARALLEL_MIN_BYTES = 4 << 20  # below this starting the pool costs more than it saves (the first piece warms the cache)
FORMATS = ("ids", "tokens")

BlockResult = tuple[str, int, int, int]  # (output text, lines, tokens, input chars)


def block_lines(block: str) -> list[str]:
    """The lines of a block, without "\\n" / "\\r\\n" (a final line without "\\n" counts)."""
    lines = block.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def show_token(token: str) -> str:
    """A token as printed by `--format tokens`: spaces shown as "▁" so the space-separated line stays parseable."""
    return token.replace(" ", "▁") if " " in token else token


def default_format(tok: TextTokenizer) -> str:
    """ids for trained tokenizers, tokens for the built-ins."""
    return "tokens" if isinstance(tok, (WhitespaceTokenizer, CharTokenizer)) else "ids"


def line_encoder(tok: TextTokenizer, fmt: str) -> Callable[[list[str]], list[str]]:
    """lines -> output lines (ids or tokens, space-separated)."""
    if fmt not in FORMATS:
        raise TkitError(f"unknown format {fmt!r}: choose ids or tokens")
    if isinstance(tok, WhitespaceTokenizer):
        if fmt == "ids":
            raise TkitError("the whitespace tokenizer has no fixed vocabulary, so it has no ids: use "
                            "--format tokens, or train a tokenizer (tkit train tokenizer) and pass -t")
        return lambda lines: [" ".join(tok.tokenize(line)) for line in lines]
    if isinstance(tok, CharTokenizer):
        if fmt == "ids":  # the Unicode code point is the id
            return lambda lines: [" ".join(map(str, map(ord, line))) for line in lines]
        return lambda lines: [" ".join(map(show_token, line)) for line in lines]
    from tokenizers_kit.tokenizer import Tokenizer

    if isinstance(tok, Tokenizer):
        if fmt == "ids":
            return tok.encode_lines
        return lambda lines: [" ".join(map(show_token, tok.tokenize(line))) for line in lines]
    return lambda lines: [" ".join(map(show_token, tok.tokenize(line))) for line in lines]


class BlockEncoder:
    """block of text -> (formatted output, lines, tokens, input chars)."""

    def __init__(self, tok: TextTokenizer, fmt: str) -> None:
        self.encode = line_encoder(tok, fmt)

    def __call__(self, block: str) -> BlockResult:
        out = self.encode(block_lines(block))
        text = "\n".join(out) + "\n" if out else ""
        tokens = text.count(" ") + sum(1 for line in out if line)  # tokens never hold a space (show_token)
        return text, len(out), tokens, len(block)


def split_block(block: str, size: int | None = None) -> Iterator[str]:
    """Cut a block into pieces of about `size` (default PIECE_CHARS) chars that end on line boundaries."""
    size = size or PIECE_CHARS
    start, n = 0, len(block)
    while start < n:
        end = start + size
        if end >= n:
            yield block[start:]
            return
        cut = block.find("\n", end) + 1
        if cut == 0:
            yield block[start:]
            return
        yield block[start:cut]
        start = cut


@dataclass
class PoolUsage:
    """How many processes a `map_blocks` run actually used (1 until it starts its pool)."""

    processes: int = 1


def map_blocks(fn: Callable[[str], BlockResult], blocks: Iterable[str], processes: int = 1,
               start_after: int = 0, usage: PoolUsage | None = None) -> Iterator[BlockResult]:
    """fn over the blocks' pieces, results in input order. With processes > 1, the first `start_after` chars
    are encoded here (an input of unknown size may be small), the rest by a forked pool with at most
    2 * processes pieces in flight (constant memory). Without `fork` everything runs in this process."""
    pieces = (p for b in blocks for p in split_block(b))
    if processes <= 1 or not can_fork():
        yield from map(fn, pieces)
        return
    seen = 0
    for piece in pieces:
        if seen >= start_after:
            if usage is not None:
                usage.processes = processes
            yield from ordered_map(fn, chain([piece], pieces), processes)
            return
        seen += len(piece)
        yield fn(piece)
