"""`build_binary` in Python: an ARPA file written as a KenLM binary the real KenLM maps and scores identically.
Written atomically (a temporary file beside the output, then renamed), as every tkit output."""
from __future__ import annotations

import os

import numpy as np

from ngram.kenlm.arpa_source import read_arpa_source
from ngram.kenlm.probing_build import probing_image
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.checks import ArgumentError

SUPPORTED = ("probing", "trie")


def build_binary(arpa: str | os.PathLike[str], out: str | os.PathLike[str], kind: str = "probing",
                 probing_multiplier: float = 1.5, unk_prob: float = -100.0, pointer_bits: int | None = None,
                 prob_bits: int | None = None, backoff_bits: int | None = None) -> int:
    """Write `arpa` as a KenLM binary of `kind`; a trie's pointers compressed to `pointer_bits` (build_binary's
    -a) and its probabilities/backoffs quantised to `prob_bits`/`backoff_bits` (-q/-b; -b defaults to -q), when
    given. Returns the bytes written."""
    if kind not in SUPPORTED:
        raise ArgumentError(f"KenLM binary kind {kind!r} cannot be written yet (supported: "
                            f"{', '.join(SUPPORTED)})")
    if not (np.isfinite(probing_multiplier) and probing_multiplier > 1.0):
        raise ArgumentError(f"probing multiplier {probing_multiplier} must be above 1.0 (KenLM's default is 1.5)")
    if not (np.isfinite(unk_prob) and unk_prob <= 0):
        raise ArgumentError(f"the <unk> log10 probability {unk_prob} must be a number <= 0")
    if pointer_bits is not None and (kind != "trie" or not 0 <= pointer_bits <= 255):
        raise ArgumentError(f"-a {pointer_bits}: pointer compression takes 0..255 bits and applies to tries only")
    quant = _quant(kind, prob_bits, backoff_bits)
    source = read_arpa_source(arpa, unk_prob)
    if kind == "trie":
        from ngram.kenlm.trie_build import trie_image

        image = trie_image(source, str(arpa), pointer_bits, quant)
    else:
        image = probing_image(source, str(arpa), probing_multiplier)
    with atomic_open(out, "wb") as handle:
        handle.write(image)
    return len(image)


def _quant(kind: str, prob_bits: int | None, backoff_bits: int | None) -> tuple[int, int] | None:
    if prob_bits is None and backoff_bits is None:
        return None
    if kind != "trie":
        raise ArgumentError("-q/-b quantisation applies to tries only: give the kind trie")
    q = prob_bits if prob_bits is not None else backoff_bits
    b = backoff_bits if backoff_bits is not None else q
    for flag, bits in (("-q", q), ("-b", b)):
        if not 1 <= bits <= 25:
            raise ArgumentError(f"{flag} {bits}: quantisation takes 1..25 bits")
    return q, b
