"""Scores of a sequence-to-sequence model on pairs: teacher-forced target cross-entropy, and the exact match
and token error rate of its decoded outputs.

A source that appears on several lines (a word's alternative pronunciations) is decoded once and scored
against its closest reference: exact match if the output equals any of them, and the token error rate sums
each source's smallest edit distance over the length of that reference (the CMUdict G2P convention).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neural.module import no_grad
from neural.seq2seq import Seq2SeqModel
from neural.seq2seq_data import PAD_ID, Pair, pack


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (one row of the table at a time)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@dataclass
class Seq2SeqReport:
    cross_entropy: float      # nats per target token (</s> included), teacher forced
    target_tokens: int
    pairs: int
    sources: int              # distinct sources decoded
    exact_match: float        # fraction of sources whose output equals one of their references
    token_error_rate: float   # sum of edit distances / sum of reference lengths

    def as_dict(self) -> dict[str, float | int]:
        return dict(vars(self))


def target_cross_entropy(model: Seq2SeqModel, pairs: Sequence[Pair], batch_size: int = 64) -> tuple[float, int]:
    """(nats per target token, target tokens) with teacher forcing, in eval mode."""
    rows = pack(pairs, model.vocab, model.cfg.max_source_len, model.cfg.max_target_len)
    total, count = 0.0, 0
    model.eval()
    with no_grad():
        for i in range(0, len(rows), batch_size):
            chunk = rows[i:i + batch_size]
            n = int(np.count_nonzero(chunk[:, model.cfg.max_source_len + 1:] != PAD_ID))
            total += model.rows_loss(chunk) * n
            count += n
    return total / count, count


def group_references(pairs: Sequence[Pair]) -> dict[tuple[str, ...], list[list[str]]]:
    """source tokens -> its reference token lists, in first-seen order."""
    refs: dict[tuple[str, ...], list[list[str]]] = {}
    for p in pairs:
        refs.setdefault(tuple(p.source), []).append(list(p.target))
    return refs


def decoded_scores(hypotheses: Sequence[Sequence[str]], references: Sequence[list[list[str]]]
                   ) -> tuple[float, float]:
    """(exact match, token error rate) of hypotheses against each one's references (closest one counts)."""
    exact, errors, length = 0, 0, 0
    for hyp, refs in zip(hypotheses, references):
        dist, ref = min((edit_distance(hyp, r), r) for r in refs)
        exact += dist == 0
        errors += dist
        length += len(ref)
    return exact / max(len(hypotheses), 1), errors / max(length, 1)


def evaluate_pairs(model: Seq2SeqModel, pairs: Sequence[Pair], beam: int = 1, length_penalty: float = 0.0,
                   on_source: Callable[[], None] | None = None) -> Seq2SeqReport:
    ce, tokens = target_cross_entropy(model, pairs)
    refs = group_references(pairs)
    hyps = []
    for source in refs:
        ids = model.translate_ids(model.vocab.encode(list(source)), beam, length_penalty=length_penalty)
        hyps.append(model.vocab.decode(ids))
        if on_source:
            on_source()
    em, ter = decoded_scores(hyps, list(refs.values()))
    return Seq2SeqReport(ce, tokens, len(pairs), len(refs), em, ter)
