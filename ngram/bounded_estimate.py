"""Kneser-Ney probabilities and the ARPA file from adjusted counts on disk, in bounded memory (lmplz's
initial_probabilities -> interpolate -> print stages, as streaming passes over sorted files).

Order by order (n >= 2):
1. The adjusted counts (lexicographic order) are read a block of whole contexts at a time: u(w|h) and gamma(h)
   as `estimate_kn` computes them (same operations, same summation order). gamma(h) goes to a file of
   contexts (the backoffs of order n-1); each kept n-gram goes, with u and gamma(h), into an external sort by
   its reversed words (suffix order).
2. In suffix order the suffix w2..wn of the n-grams only grows, so p(w2..wn) is read from order n-1's
   suffix-ordered file alongside: p = u + gamma(h) * p(suffix). p goes to order n's suffix-ordered file (for
   order n+1) and, as log10, into an external sort back to lexicographic order, whose sorted runs the ARPA
   writer merges as it writes (no merged copy of them is written first).
Pruned n-grams never reach step 2: a kept n-gram's suffix is kept, so their probabilities are never needed.
Unigrams (vocabulary-sized) are computed in memory.
"""
from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ngram.arpa import CHUNK_LINES, GZIP_LEVEL, arpa_head
from ngram.arpa_format import ThreadVocab, VocabBytes, format_lines
from ngram.bounded_counts import Adjusted, keep_rows
from ngram.counting import BOS_ID
from ngram.extsort import (
    BoundedTaker,
    ExternalSorter,
    SortedFile,
    SortedLookup,
    key_dtype,
    key_ids,
    key_slice,
    read_blocks,
    reversed_keys,
    write_records,
)
from ngram.pruning import cutoff_of
from ngram.smoothing.base import predictable_vocab
from ngram.tables import group_starts
from ngram.threaded import ordered_thread_map, prefetched
from tokenizers_kit.atomic import atomic_path
from tokenizers_kit.running import running_sum


def gamma_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n)), ("g", np.float64)])


def terms_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n)), ("u", np.float64), ("g", np.float64)])


def prob_dtype(n: int) -> np.dtype:
    return np.dtype([("k", key_dtype(n)), ("p", np.float64)])


@dataclass
class Probabilities:
    """What the ARPA writer reads: unigram log10 p and backoff (in memory), order n's log10 p of the kept
    n-grams (`logp[n]`, sorted runs on disk merged in lexicographic order) and the gamma of every context
    of order n (`gammas[n]`, 1 < n < N, lexicographic order)."""

    unigram_logp: np.ndarray
    unigram_backoff: np.ndarray
    logp: dict[int, ExternalSorter]
    gammas: Mapping[int, ExternalSorter | SortedFile]


def context_blocks(path: Path, n: int) -> Iterator[np.ndarray]:
    """The records of a lexicographic order-n file in blocks that end on a context boundary (a context's
    extensions are at most the vocabulary)."""
    carry = None
    for block in read_blocks(path, np.dtype([("k", key_dtype(n)), ("c", np.int64), ("a", np.int64)])):
        if carry is not None:
            block = np.concatenate([carry, block])
        context = key_slice(block["k"], n, 0, n - 1)
        cut = int(np.searchsorted(context, context[-1:], side="left")[0])
        if cut == 0:
            carry = block
            continue
        yield block[:cut]
        carry = block[cut:]
    if carry is not None and carry.size:
        yield carry


def unigram_probs(a: np.ndarray, kept: int, discounts: np.ndarray, clean: np.ndarray | None) -> np.ndarray:
    """p(w) from the unigrams' adjusted counts `a` (`kept` of them survive), as estimate_kn's terms(1) and
    interpolate_to_backoff's first step."""
    disc = np.take(np.asarray(discounts, dtype=np.float64), np.minimum(a, 3))
    mass = disc if clean is None else np.where(clean, disc, a)
    u = a.astype(np.float64)
    u -= disc
    den = float(a.sum())
    p, gamma = u / den, float(mass.sum()) / den
    p += float(gamma) / predictable_vocab(kept)
    return p


@dataclass
class ContextTerms:
    """One block of whole contexts (order n, lexicographic within each context): estimate_kn's terms."""

    contexts: np.ndarray  # (G,) gamma_dtype(n - 1): each context and its gamma
    keep: np.ndarray  # (B,) the n-gram survives pruning
    u: np.ndarray  # (B,) (a - D(a)) / sum of a over the context
    g: np.ndarray  # (B,) gamma of the n-gram's context


def context_terms(keys: np.ndarray, counts: np.ndarray, a: np.ndarray, n: int, discounts: np.ndarray,
                  cutoff: int, clean: np.ndarray | None) -> ContextTerms:
    """u and gamma for B >= 1 order-n records whose contexts are whole and contiguous: keys, raw and adjusted
    counts."""
    table = np.asarray(discounts, dtype=np.float64)
    context = key_slice(keys, n, 0, n - 1)
    new = group_starts(context)  # the first n-gram of each context
    group = running_sum(new) - 1
    keep = keep_rows(key_ids(keys, n), counts, cutoff, clean)
    disc = np.take(table, np.minimum(a, 3))
    mass = np.where(keep, disc, a)  # pruned: all its mass to gamma (disc where nothing is pruned)
    den = np.bincount(group, weights=a.astype(np.float64)).astype(np.float64, copy=False)
    gamma = np.bincount(group, weights=mass).astype(np.float64, copy=False)
    np.divide(gamma, den, out=gamma, where=den > 0)
    contexts = np.empty(gamma.size, gamma_dtype(n - 1))
    contexts["k"], contexts["g"] = context[new], gamma
    u = a.astype(np.float64)
    u -= disc
    u /= np.take(den, group)
    return ContextTerms(contexts, keep, u, np.take(gamma, group))


def _order_terms(adjusted: Adjusted, n: int, discounts: np.ndarray, cutoff: int, clean: np.ndarray | None,
                 gamma_file: Path, sorter: ExternalSorter) -> None:
    """Step 1 for order n: gamma of its contexts to `gamma_file`, (reversed key, u, gamma(h)) of its kept
    n-grams to the suffix-order `sorter`."""
    write_records(gamma_file, np.empty(0, gamma_dtype(n - 1)), "wb")
    for block in context_blocks(adjusted.files[n], n):
        t = context_terms(block["k"], block["c"], block["a"], n, discounts, cutoff, clean)
        write_records(gamma_file, t.contexts)
        terms = np.empty(int(np.count_nonzero(t.keep)), terms_dtype(n))
        terms["k"] = reversed_keys(block["k"][t.keep], n)
        terms["u"] = t.u[t.keep]
        terms["g"] = t.g[t.keep]
        sorter.add(terms)


def log_prob(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        np.log10(p, out=p)
    np.minimum(p, 0.0, out=p)
    return p


def estimate_probabilities(adjusted: Adjusted, order: int, discounts: Sequence[np.ndarray],
                           cutoffs: list[int] | None, clean: np.ndarray | None, memory: int,
                           directory: Path) -> Probabilities:
    """Steps 1 and 2 for every order; returns the files the ARPA writer reads."""
    p1 = unigram_probs(adjusted.unigram_adjusted, adjusted.kept[1], discounts[1], clean)
    logp: dict[int, ExternalSorter] = {}
    gamma_files: dict[int, Path] = {}
    lower: Path | None = None  # order n-1's p in suffix order
    for n in range(2, order + 1):
        gamma_files[n - 1] = directory / f"gamma{n - 1}"
        by_suffix = ExternalSorter(terms_dtype(n), memory, directory, f"terms{n}")
        _order_terms(adjusted, n, discounts[n], cutoff_of(cutoffs, n), clean, gamma_files[n - 1],
                     by_suffix)
        back = ExternalSorter(prob_dtype(n), memory, directory, f"logp{n}")
        here = directory / f"suffix_p{n}"
        if n < order:
            write_records(here, np.empty(0, prob_dtype(n)), "wb")
        lookup = SortedLookup(read_blocks(lower, prob_dtype(n - 1))) if lower is not None else None
        for block in by_suffix.sorted_blocks():
            if lookup is None:
                p_suffix = np.take(p1, key_ids(block["k"], n)[:, 0])
            else:
                found, p_suffix = lookup.find(key_slice(block["k"], n, 0, n - 1), "p", np.nan)
                if not found.all():
                    raise AssertionError(f"a kept {n}-gram whose suffix is not kept")
            p = block["u"] + block["g"] * p_suffix
            if n < order:
                mine = np.empty(block.size, prob_dtype(n))
                mine["k"], mine["p"] = block["k"], p
                write_records(here, mine)
            out = np.empty(block.size, prob_dtype(n))
            out["k"], out["p"] = reversed_keys(block["k"], n), log_prob(p)
            back.add(out)
        if lower is not None:
            lower.unlink(missing_ok=True)
        lower = here if n < order else None
        back.spill()  # to disk: its memory is the next order's
        logp[n] = back
        os.remove(adjusted.files[n])
    logp1 = log_prob(p1)
    logp1[BOS_ID] = 0.0
    backoff1 = np.zeros(p1.size)
    if order > 1:
        ctx = np.fromfile(gamma_files[1], dtype=gamma_dtype(1))
        with np.errstate(divide="ignore"):
            backoff1[key_ids(ctx["k"], 1)[:, 0]] = np.log10(ctx["g"])
    gammas = {n: SortedFile(path, gamma_dtype(n)) for n, path in gamma_files.items() if n > 1}
    return Probabilities(logp1, backoff1, logp, gammas)


def _pieces(blocks: Iterator[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """The blocks cut into views of at most `rows` rows (a merge round's block can be far larger)."""
    for block in blocks:
        for lo in range(0, block.size, rows):
            yield block[lo:lo + rows]


def backoffs(block: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    """log10 gamma of each n-gram of a sorted block that is a context, 0 for the others; `contexts`: the sorted
    gamma records over the same key range (a pruned n-gram's context has no line)."""
    backoff = np.zeros(block.size)
    if contexts.size:
        at = np.minimum(np.searchsorted(block["k"], contexts["k"]), block.size - 1)
        hit = block["k"][at] == contexts["k"]
        with np.errstate(divide="ignore"):
            backoff[at[hit]] = np.log10(contexts["g"][hit])
    return backoff


def write_bounded_arpa(path: str | os.PathLike[str], tokens: list[str], tokenizer_spec: str | None,
                       probs: Probabilities, sizes: list[int], clean: np.ndarray | None) -> None:
    """The ARPA file from the estimate's files, order by order, atomically (gzip for .gz)."""
    order = len(sizes)
    new_id = None
    if clean is not None:  # dropped words leave the vocabulary, the others keep their order
        new_id = np.where(clean, np.cumsum(clean) - 1, -1).astype(np.int32)
        tokens = [t for t, c in zip(tokens, clean.tolist()) if c]
    head, shown = arpa_head(tokens, tokenizer_spec, sizes)
    per_thread = ThreadVocab(VocabBytes(shown))

    def lines(part: tuple[np.ndarray, np.ndarray, np.ndarray | None]) -> bytes:  # run by the formatting threads
        return format_lines(*part, per_thread.get())

    def unigrams() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        keep1 = np.ones(probs.unigram_logp.size, bool) if clean is None else clean
        ids = np.flatnonzero(keep1)
        for lo in range(0, ids.size, CHUNK_LINES):
            part = ids[lo:lo + CHUNK_LINES]
            words = (part if new_id is None else new_id[part]).astype(np.int32)[:, None]
            yield words, probs.unigram_logp[part], probs.unigram_backoff[part] if order > 1 else None

    def ngram_lines(part: tuple[int, np.ndarray, np.ndarray | None]) -> bytes:  # run by the formatting threads
        n, block, contexts = part
        words = key_ids(block["k"], n)
        if new_id is not None:
            words = new_id[words]
        return format_lines(words, block["p"], None if contexts is None else backoffs(block, contexts),
                            per_thread.get())

    def ngrams(n: int) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        """Blocks of order n's kept n-grams, each with the contexts' gammas up to its last key."""
        # the two merges run in background threads, beside each other and the formatting
        gammas = BoundedTaker(prefetched(probs.gammas[n].sorted_blocks()), gamma_dtype(n)) if n < order else None
        for block in _pieces(prefetched(probs.logp[n].sorted_blocks()), CHUNK_LINES):
            yield n, block, None if gammas is None else gammas.upto(block["k"][-1:])

    gz = str(path).lower().endswith(".gz")
    with atomic_path(path) as tmp:
        out = gzip.open(tmp, "wb", compresslevel=GZIP_LEVEL) if gz else open(tmp, "wb")
        with out:
            out.write(head.encode("utf-8"))
            out.write(b"\n\\1-grams:\n")
            for text in ordered_thread_map(lines, unigrams()):
                out.write(text)
            for n in range(2, order + 1):
                out.write(f"\n\\{n}-grams:\n".encode())
                for text in ordered_thread_map(ngram_lines, ngrams(n)):
                    out.write(text)
            out.write(b"\n\\end\\\n")
