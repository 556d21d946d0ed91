"""Vocabulary: token strings <-> integer ids, with KenLM's fixed special ids for sentence models."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from tokenizers_kit.checks import require_ids
from tokenizers_kit.errors import ModelFileError

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SENTENCE_SPECIALS = (UNK, BOS, EOS)  # ids 0, 1, 2 as in KenLM (lm/builder/payload.hh)


class Vocabulary:
    """An ordered list of distinct token strings; the id of a token is its index.

    Sentence models (n-grams) start with `<unk> <s> </s>`; stream models (neural) may have no `<unk>`,
    in which case encoding an unknown token is an error.
    """

    def __init__(self, tokens: Sequence[str], index: dict[str, int] | None = None) -> None:
        """`index`: the token -> id dict of `tokens` when the caller already has one (taken as is)."""
        self.tokens: list[str] = list(tokens)
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)} if index is None else index
        if len(self.index) != len(self.tokens):
            raise ModelFileError("vocabulary has duplicate tokens: the model file is corrupt")
        self.unk_id: int | None = self.index.get(UNK)
        self.bos_id: int | None = self.index.get(BOS)
        self.eos_id: int | None = self.index.get(EOS)

    @classmethod
    def for_sentences(cls, tokens: Iterable[str]) -> Vocabulary:
        """`<unk> <s> </s>` then the given tokens (specials among them are skipped)."""
        return cls([*SENTENCE_SPECIALS, *(t for t in tokens if t not in SENTENCE_SPECIALS)])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids (int32) of `tokens`; unknown tokens map to `<unk>` (or raise if there is none)."""
        get = self.index.get
        if self.unk_id is None:
            try:
                return np.fromiter((self.index[t] for t in tokens), dtype=np.int32, count=len(tokens))
            except KeyError as err:
                raise ValueError(f"token {err.args[0]!r} is not in the vocabulary") from None
        unk = self.unk_id
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int32, count=len(tokens))

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ids, each in [0, len(vocab)) (a negative id never wraps to the end)."""
        tokens = self.tokens
        return [tokens[i] for i in require_ids("ids", ids, len(tokens)).tolist()]
