"""Encoding big inputs: line-oriented block encoders, mapped over the work items of a file by `pool.ordered_map`.

`tkit tokenize` reads the input as ~1 MiB work items (`long_lines.iter_work`: whole lines, or parts of a long
line cut where its ids cannot change) and encodes them in worker processes that inherit the tokenizer by
`fork` (nothing is pickled but the text in and the formatted text out).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from tokenizers_kit.errors import TkitError
from tokenizers_kit.long_lines import Work
from tokenizers_kit.pool import can_fork, ordered_map
from tokenizers_kit.pool import (
    usable_cores as usable_cores,  # re-exported: the CLI imports it here
)
from tokenizers_kit.simple import CharTokenizer, TextTokenizer, WhitespaceTokenizer

PIECE_CHARS = 1 << 20  # text per task: big enough to amortise IPC, small enough to balance the workers
PARALLEL_MIN_BYTES = 4 << 20  # below this starting the pool costs more than it saves (the first piece warms the cache)
FORMATS = ("ids", "tokens")

BlockResult = tuple[str, int, int, int, bool]  # (output text, lines begun, tokens, input chars, continues)


def show_token(token: str) -> str:
    """A token as printed by `--format tokens`: spaces shown as "▁" so the space-separated line stays parseable."""
    return token.replace(" ", "▁") if " " in token else token


def default_format(tok: TextTokenizer) -> str:
    """ids for trained tokenizers, tokens for the built-ins."""
    return "tokens" if isinstance(tok, (WhitespaceTokenizer, CharTokenizer)) else "ids"


LineEncoder = Callable[[list[str], bool], list[str]]  # (lines, the first continues a cut line) -> output lines


def _ids_encoder(tok: TextTokenizer) -> LineEncoder:
    if isinstance(tok, CharTokenizer):  # the Unicode code point is the id
        return lambda lines, _c: [" ".join(map(str, map(ord, line))) for line in lines]
    from tokenizers_kit.tokenizer import Tokenizer

    if not isinstance(tok, Tokenizer):
        raise TkitError(f"the {tok.name} tokenizer has no ids: use --format tokens")

    def encode(lines: list[str], continues: bool) -> list[str]:
        if not continues or not lines:
            return tok.encode_lines(lines)
        head = tok.encode_line_continued(lines[0])
        return [head, *tok.encode_lines(lines[1:])]
    return encode


def _tokens_encoder(tok: TextTokenizer) -> LineEncoder:
    if isinstance(tok, WhitespaceTokenizer):
        return lambda lines, _c: [" ".join(tok.tokenize(line)) for line in lines]
    if isinstance(tok, CharTokenizer):
        return lambda lines, _c: [" ".join(map(show_token, line)) for line in lines]
    from tokenizers_kit.tokenizer import Tokenizer

    if not isinstance(tok, Tokenizer):
        return lambda lines, _c: [" ".join(map(show_token, tok.tokenize(line))) for line in lines]
    table = tok._id_token_table()

    def encode(lines: list[str], continues: bool) -> list[str]:
        out = [tok.encode_ids_continued(lines[0])] if continues and lines else []
        out += map(tok.encode_ids, lines[len(out):])
        return [" ".join(show_token(table[i] or "") for i in ids) for ids in out]
    return encode


def line_encoder(tok: TextTokenizer, fmt: str) -> LineEncoder:
    """(lines, continues) -> output lines (ids or tokens, space-separated)."""
    if fmt not in FORMATS:
        raise TkitError(f"unknown format {fmt!r}: choose ids or tokens")
    if fmt == "ids" and isinstance(tok, WhitespaceTokenizer):
        raise TkitError("the whitespace tokenizer has no fixed vocabulary, so it has no ids: use "
                        "--format tokens, or train a tokenizer (tkit train tokenizer) and pass -t")
    return _ids_encoder(tok) if fmt == "ids" else _tokens_encoder(tok)


class BlockEncoder:
    """Work item (text, continues) -> (formatted output, lines begun, tokens, input chars, continues). A line the item
    ends inside (cut, or the input's last line without "\n") is output without "\n"; `LineJoiner` joins it
    to the next item's first line."""

    def __init__(self, tok: TextTokenizer, fmt: str) -> None:
        self.encode = line_encoder(tok, fmt)

    def __call__(self, item: Work | str) -> BlockResult:
        text, continues = (item, False) if isinstance(item, str) else item
        lines = text.split("\n")
        tail = lines.pop()  # "" when the item ends with "\n"
        out = self.encode(lines + [tail] if tail else lines, continues)
        body = "\n".join(out)
        body += "" if tail else ("\n" if out else "")
        tokens = body.count(" ") + sum(1 for line in out if line)  # tokens never hold a space (show_token)
        begun = len(out) - (1 if continues and out else 0)
        return body, begun, tokens, len(text), continues


class LineJoiner:
    """Writes BlockEncoder outputs in order, putting the " " between the ids of two parts of one cut line."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write, self.open_ids = write, False  # open_ids: the line being written has ids and no "\n" yet

    def __call__(self, text: str, continues: bool) -> None:
        if continues and self.open_ids and text[:1] not in ("", "\n"):
            self.write(" ")
        self.write(text)
        last = text.rfind("\n")
        self.open_ids = bool(text[last + 1:]) or (last < 0 and continues and self.open_ids)


@dataclass
class PoolUsage:
    """How many processes a `map_blocks` run actually used (1 until it starts its pool)."""

    processes: int = 1


def map_blocks(fn: Callable[[Work], BlockResult], items: Iterable[Work], processes: int = 1,
               start_after: int = 0, usage: PoolUsage | None = None) -> Iterator[BlockResult]:
    """fn over the work items (`long_lines.iter_work`), results in input order. With processes > 1, the
    first `start_after` chars are encoded here (an input of unknown size may be small), the rest by a forked
    pool with at most 2 * processes items in flight (constant memory). Without `fork` everything runs here."""
    items = iter(items)
    if processes <= 1 or not can_fork():
        yield from map(fn, items)
        return
    seen = 0
    for item in items:
        if seen >= start_after:
            if usage is not None:
                usage.processes = processes
            yield from ordered_map(fn, chain([item], items), processes)
            return
        seen += len(item[0])
        yield fn(item)
