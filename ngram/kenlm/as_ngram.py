"""A KenLM binary file as a tkit `NgramModel` (for `tkit eval`, `tkit sample` and `NgramModel.load`): a scorer
that answers the n-gram model's two questions (log10 p of every position of a batch of sentences; log10 p of every
word after one context) from the mapped file, through KenLM's own lookups, so scores are KenLM's float32 ones.

Limits: the file must carry its vocabulary strings (build_binary writes them unless told not to), since a
probing file keeps only word hashes; the model is read-only (it cannot be saved as ARPA or `.npz`: a probing file
does not hold its n-grams' words); the tokenizer is whitespace unless one is given, as for ARPA.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ngram.counting import BOS_ID
from ngram.kenlm import binary_format as bf
from ngram.kenlm.model import LoadError, Model
from ngram.kenlm.scoring import batch_scores, full_score, next_word_scores
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError


def is_kenlm_binary(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts as a KenLM binary does."""
    try:
        with open(path, "rb") as f:
            return bf.is_binary(f.read(bf.SANITY_LEN + 1))
    except OSError:
        return False


class _Counts:
    def __init__(self, counts: Sequence[int]) -> None:
        self._counts = list(counts)

    def sizes(self) -> list[int]:
        return list(self._counts)


class KenlmScorer:
    """The n-gram model's Scorer over a KenLM model; `ids` maps tkit vocabulary ids to KenLM ids."""

    read_only = True

    def __init__(self, model: Model, ids: np.ndarray) -> None:
        self.model = model
        self.search = model._search
        self.ids = ids
        self.index = _Counts(model._file.header.counts)

    @property
    def order(self) -> int:
        return self.model.order

    @property
    def vocab_size(self) -> int:
        return int(self.ids.size)

    def position_logprobs(self, tokens: np.ndarray, dist: np.ndarray, max_order: int | None = None) -> np.ndarray:
        """log10 p of every position given its sentence so far (0 where dist == 0)."""
        if max_order is not None and max_order < self.order:
            raise ValueError("a KenLM binary model scores with its full order only")
        probs, _ = batch_scores(self.search, self.ids[np.asarray(tokens, dtype=np.int64)], np.asarray(dist))
        out = probs.astype(np.float64)
        out[np.asarray(dist) == 0] = 0.0
        return out

    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log10 p(w | context) for every vocabulary id; the context is walked from `<s>` (when it starts with
        it) or the null context, as KenLM's state would be."""
        ctx = [int(c) for c in context]
        if ctx and ctx[0] == BOS_ID:
            words, backoffs = self.model._bos_words, self.model._bos_backoffs
            ctx = ctx[1:]
        else:
            words, backoffs = (), ()
        for c in ctx:
            _, _, words, backoffs = full_score(self.search, words, backoffs, int(self.ids[c]))
        return next_word_scores(self.search, words, backoffs, self.ids).astype(np.float64)


def load_kenlm_binary(path: str | os.PathLike[str]) -> tuple[Vocabulary, KenlmScorer]:
    """The vocabulary (tkit ids: `<unk>`, `<s>`, `</s>` first) and scorer of a KenLM binary file."""
    try:
        model = Model(os.fspath(path))
    except LoadError as err:
        raise ModelFileError(str(err)) from None
    words = model.vocabulary()
    if not words:
        raise ModelFileError(f"{os.fspath(path)} holds no vocabulary strings (build_binary -v): "
                             "tkit needs the words; rebuild it with them or give the ARPA file")
    vocab = Vocabulary.for_sentences(words)
    ids = model._indices([t.encode("utf-8") for t in vocab.tokens])
    return vocab, KenlmScorer(model, ids)
