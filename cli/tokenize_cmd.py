"""`tkit tokenize` and `tkit detokenize`: text <-> one line of ids (or tokens) per input line, streamed."""
from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator

import click

from cli import console
from cli.options import require_tokenizer, tokenizer_options
from tokenizers_kit.atomic import atomic_open, check_output_dir
from tokenizers_kit.corpus import corpus_bytes
from tokenizers_kit.decode_windows import continuation, id_cut_finder
from tokenizers_kit.errors import TkitError
from tokenizers_kit.long_lines import cut_finder, iter_pieces, iter_work
from tokenizers_kit.parallel import (
    FORMATS,
    PARALLEL_MIN_BYTES,
    PIECE_CHARS,
    BlockEncoder,
    LineJoiner,
    PoolUsage,
    default_format,
    map_blocks,
    usable_cores,
)
from tokenizers_kit.pool import auto_processes
from tokenizers_kit.simple import CharTokenizer, TextTokenizer, WhitespaceTokenizer


@contextlib.contextmanager
def _output(path: str) -> Iterator[Callable[[str], object]]:
    """A `write(text)` for the output: UTF-8 bytes on stdout for '-', else an atomic file."""
    if path != "-":
        with atomic_open(path, "w") as handle:
            yield handle.write
        return
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (tests, IDEs)
        yield sys.stdout.write
        return
    yield lambda text: buffer.write(text.encode("utf-8"))
    buffer.flush()


def _processes(jobs: int | None, size: int) -> tuple[int, int]:
    """(processes, chars to encode here before forking the pool). Auto: one per usable core above
    PARALLEL_MIN_BYTES, no more than there are pieces. The first piece is always encoded here, so the workers
    inherit a warm chunk cache."""
    if jobs is not None:
        return max(1, jobs), PIECE_CHARS
    if size:  # a file of known size
        processes = auto_processes(size, PARALLEL_MIN_BYTES, PIECE_CHARS)
        return (processes, PIECE_CHARS) if processes > 1 else (1, 0)
    return usable_cores(), PARALLEL_MIN_BYTES  # stdin: go parallel once it proves big


def register(app: click.Group, train: click.Group) -> None:
    @app.command("tokenize")
    @tokenizer_options
    @click.argument("file", default="-", required=False, metavar="[FILE|-]")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                  help="ids (space-separated integers) or tokens (space-separated strings, a space shown as ▁). "
                       "Default: ids for a tokenizer file, tokens for the built-ins. For --tokenizer char the id is "
                       "the Unicode code point; --tokenizer whitespace has no ids.")
    @click.option("-o", "--output", default="-", metavar="OUT", help="output file (default stdout)")
    @click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
                  help=f"processes (default: one per usable core for inputs over {PARALLEL_MIN_BYTES >> 20} MB)")
    def tokenize(tokenizer_file: str | None, tokenizer_name: str | None, file: str, fmt: str | None,
                 output: str, jobs: int | None) -> None:
        """Tokenize FILE (or stdin): one output line per input line.

        Lines end at "\n" only ("\r" is text); an input whose last line has no "\n" gives an output whose last
        line has none. Streams in constant memory, long lines included (cut where the ids cannot change); big
        inputs use every usable core. Example:
        `tkit tokenize -t tok.json data/shakespeare.txt -o ids.txt`
        """
        tok = require_tokenizer(tokenizer_file, tokenizer_name)
        fmt = fmt or default_format(tok)
        encoder = BlockEncoder(tok, fmt)  # raises for whitespace + ids before any work
        if output != "-":
            check_output_dir(output, inputs=[file, tokenizer_file, tokenizer_name])
        size = corpus_bytes([file])
        processes, start_after = _processes(jobs, size)
        watch = console.Stopwatch()
        lines = tokens = done = 0
        usage = PoolUsage()
        items = iter_work(iter_pieces(file), cut_finder(tok), PIECE_CHARS)
        with _output(output) as write, console.progress("tokenizing", size or None) as bar:
            join = LineJoiner(write)
            for text, n_lines, n_tokens, n_chars, continues in map_blocks(encoder, items, processes, start_after,
                                                                          usage):
                join(text, continues)
                lines += n_lines
                tokens += n_tokens
                done += n_chars
                bar.update(completed=min(done, size) if size else None)
        seconds = watch.seconds
        nbytes = size or 0
        rate = f", {nbytes / max(seconds, 1e-9) / 1e6:.1f} MB/s" if nbytes else ""
        console.info(f"tokenized {console.human_bytes(nbytes) + ' ' if nbytes else ''}({lines:,} lines, "
                     f"{tokens:,} tokens) in {seconds:.2f} s{rate}, {usage.processes} process"
                     f"{'es' if usage.processes > 1 else ''}")

    @app.command("detokenize")
    @tokenizer_options
    @click.argument("file", default="-", required=False, metavar="[FILE|-]")
    @click.option("-o", "--output", default="-", metavar="OUT", help="output file (default stdout)")
    def detokenize(tokenizer_file: str | None, tokenizer_name: str | None, file: str, output: str) -> None:
        """Text from ids, one line per input line: the inverse of `tkit tokenize --format ids`.

        Lines end at "\n"; a last line without "\n" gives a last line without one, so a file round-trips byte
        for byte through tokenize and detokenize with a lossless tokenizer.

        For --tokenizer char the ids are code points; --tokenizer whitespace reads tokens and joins them with
        spaces.
        """
        tok = require_tokenizer(tokenizer_file, tokenizer_name)
        if output != "-":
            check_output_dir(output, inputs=[file, tokenizer_file, tokenizer_name])
        decode, cut = _line_decoder(tok), _id_line_cut(tok)
        decode_rest = _line_decoder(tok, continued=True) if cut is not None else decode
        watch = console.Stopwatch()
        # open_raw: the open (cut) line's text so far, before a final Strip, is not empty (a Strip decoder
        # acts on the start of a line's text: until there is some, each part is decoded as a line start)
        n, open_raw, tail = 0, False, ""  # n: lines ended
        with _output(output) as write:
            for block, continues in iter_work(iter_pieces(file), cut, PIECE_CHARS):
                lines = block.split("\n")
                tail = lines.pop()  # "" when the block ends with "\n"
                out = []
                for k, line in enumerate(lines + [tail] if tail else lines):
                    before = open_raw and continues and k == 0
                    out.append((decode_rest if before else decode)(line, n + k + 1))
                if tail and cut is not None:  # the next block may continue this line
                    before = open_raw and continues and not lines
                    open_raw = before or bool(decode_rest(tail, n + len(lines) + 1))
                n += len(lines)
                write("\n".join(out) + ("" if tail else "\n"))
        n += 1 if tail else 0  # the last line, without "\n"
        console.info(f"detokenized {n:,} lines in {watch.seconds:.2f} s")


ASCII_ID = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() also takes other scripts' digits, "+1", "1_0"


def _parse_ids(line: str, lineno: int) -> list[int]:
    parts = line.split()
    for part in parts:
        if not ASCII_ID.fullmatch(part):
            raise TkitError(f"line {lineno}: {part[:40]!r} is not an integer id: detokenize reads the output of "
                            "`tkit tokenize --format ids`")
    return list(map(int, parts))


def _id_line_cut(tok: TextTokenizer) -> Callable[[str], int] | None:
    """Where a long ids line may be cut for decoding in parts (tokenizers_kit.decode_windows), or None."""
    if isinstance(tok, CharTokenizer):
        return id_cut_finder(lambda _i: True)  # code points decode one by one
    from tokenizers_kit.tokenizer import Tokenizer

    rule = continuation(tok.decoder) if isinstance(tok, Tokenizer) else None
    if rule is None:
        return None
    table = tok._id_token_table()
    starts = [token is not None and rule[0](token) for token in table]
    return id_cut_finder(lambda i: i < len(starts) and starts[i])


def _line_decoder(tok: TextTokenizer, continued: bool = False):  # noqa: ANN202 (a small closure)
    """(line, lineno) -> text; `continued`: the line continues a cut line whose text so far is not empty."""
    if isinstance(tok, WhitespaceTokenizer):
        return lambda line, _n: " ".join(line.split())
    if isinstance(tok, CharTokenizer):
        def char_line(line: str, lineno: int) -> str:
            ids = _parse_ids(line, lineno)
            bad = [i for i in ids if not 0 <= i <= 0x10FFFF or 0xD800 <= i <= 0xDFFF]
            if bad:
                raise TkitError(f"line {lineno}: {bad[0]} is not the code point of a character (0..1114111, "
                                "surrogates 55296..57343 excluded)")
            return "".join(map(chr, ids))
        return char_line
    from tokenizers_kit.tokenizer import Tokenizer

    if not isinstance(tok, Tokenizer):
        raise TkitError(f"the {tok.name} tokenizer cannot decode ids")
    size = tok.get_vocab_size()
    known = [tok.id_to_token(i) is not None for i in range(size)]

    rest = continuation(tok.decoder)[1] if continued else None  # type: ignore[index]
    table = tok._id_token_table()

    def ids_line(line: str, lineno: int) -> str:
        ids = _parse_ids(line, lineno)
        if ids and (min(ids) < 0 or max(ids) >= size or not all(map(known.__getitem__, ids))):
            bad = [i for i in ids if not 0 <= i < size or not known[i]]
            raise TkitError(f"line {lineno}: id {bad[0]} is not in the tokenizer's vocabulary (ids 0..{size - 1}): "
                            "was the file made with this tokenizer?")
        if rest is not None:
            return rest([table[i] for i in ids])  # type: ignore[misc]
        return tok.decode(ids, skip_special_tokens=False)
    return ids_line
