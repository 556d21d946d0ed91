"""`tkit build-binary [probing|trie] [-p M] [-u P] [-q BITS -b BITS] [-a BITS] IN.arpa OUT`: KenLM binary
files without compiling KenLM."""
from __future__ import annotations

import click

from cli import console
from tokenizers_kit.atomic import check_output_dir


@click.command("build-binary")
@click.argument("args", nargs=-1, required=True, metavar="[probing|trie] IN.arpa OUT")
@click.option("-p", "probing_multiplier", type=float, default=1.5, show_default=True,
              help="Probing hash table size multiplier (space vs speed), as build_binary -p.")
@click.option("-u", "unk_prob", type=float, default=-100.0, show_default=True,
              help="log10 probability of <unk> when the ARPA file has none, as build_binary -u.")
@click.option("-a", "pointer_bits", type=int, default=None,
              help="trie: compress next pointers, keeping up to this many high bits in offset tables (0..255), "
                   "as build_binary -a.")
@click.option("-q", "prob_bits", type=int, default=None,
              help="trie: quantise probabilities to this many bits (1..25), as build_binary -q.")
@click.option("-b", "backoff_bits", type=int, default=None,
              help="trie: quantise backoffs to this many bits (1..25; default: as -q), as build_binary -b.")
def build_binary_command(args: tuple[str, ...], probing_multiplier: float, unk_prob: float,
                         pointer_bits: int | None, prob_bits: int | None, backoff_bits: int | None) -> None:
    """Write the ARPA (or .arpa.gz) model IN as a KenLM binary OUT that KenLM's `kenlm` module, `ngram.kenlm`
    and tkit map and score exactly as the ARPA. Kinds: probing (the default, as build_binary) and
    trie (with -q/-b quantisation and -a pointer compression if asked: the same bytes as KenLM's
    `build_binary [-q Q -b B] [-a N] trie`)."""
    if len(args) == 3:
        kind, source, out = args
    elif len(args) == 2:
        kind, (source, out) = "probing", args
    else:
        raise click.UsageError("give [probing|trie] IN.arpa OUT")
    # imported when used, so every other tkit command starts without it
    from ngram.kenlm.build import build_binary

    check_output_dir(out, [source])
    watch = console.Stopwatch()
    size = build_binary(source, out, kind, probing_multiplier, unk_prob, pointer_bits, prob_bits,
                        backoff_bits)
    console.info(f"wrote {out} ({kind}, {console.human_bytes(size)}) in {watch.seconds:.2f}s")


def register(app: click.Group, train: click.Group) -> None:
    app.add_command(build_binary_command)
