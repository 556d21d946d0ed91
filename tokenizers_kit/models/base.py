"""The contract every subword model (BPE, WordPiece, Unigram) meets, so the pipeline treats them alike.

A model sees one pre-tokenized chunk at a time: already normalized and, for byte-level pipelines, already
mapped to the byte alphabet (`tokenizers_kit.bytes_map`). It returns token ids with character offsets into
that chunk. `to_dict` / `from_dict` read and write exactly the "model" object of HF's tokenizer.json.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.json_fields import Registry

Token = tuple[int, int, int]  # (token_id, start, end): character offsets in the chunk


@runtime_checkable
class Model(Protocol):
    def tokenize(self, chunk: str) -> list[Token]:
        """Tokens of one pre-tokenized chunk, left to right; [] for the empty string."""
        ...

    def token_to_id(self, token: str) -> int | None: ...

    def id_to_token(self, token_id: int) -> str | None: ...

    def get_vocab(self) -> dict[str, int]: ...

    def get_vocab_size(self) -> int: ...

    def to_dict(self) -> dict:
        """The HF tokenizer.json "model" object."""
        ...

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        """Build from a tokenizer.json "model" object (ours or HF's); bad data raises ModelFileError."""
        ...


MODELS: Registry[Any] = Registry("model")  # model classes register with their `type` and `from_dict`


MAX_ID = 2**32 - 1   # HF's ids are u32
SPARE_IDS = 1 << 16  # ids may leave gaps, but a table indexed by id may not be much bigger than the vocabulary


def check_ids(ids: dict[Any, Any], kind: str) -> None:
    """The ids of a token table read from a file: non-negative ints, distinct, and dense enough that a table
    indexed by id (size: the largest id + 1) stays near the number of tokens. Checked before anything is
    sized by them: one id of 10**12 must not allocate terabytes."""
    seen: dict[int, Any] = {}
    for token, idx in ids.items():
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx <= MAX_ID:
            raise ModelFileError(f"{kind}: token {token!r} has id {idx!r}, not a non-negative integer below 2**32: "
                                 "the file is corrupt")
        if idx in seen:
            raise ModelFileError(f"{kind}: tokens {seen[idx]!r} and {token!r} share id {idx}: the file is corrupt")
        seen[idx] = token
    if seen and max(seen) >= 2 * len(seen) + SPARE_IDS:
        raise ModelFileError(f"{kind}: the largest id is {max(seen):,} for {len(seen):,} tokens (ids that sparse "
                             "would size tables by the id): the file is corrupt")


def check_vocab(data: dict, kind: str) -> dict[str, int]:
    """The "vocab" of a model object as {token: id}, validated (`check_ids`)."""
    vocab = data.get("vocab")
    if not isinstance(vocab, dict) or not vocab:
        raise ModelFileError(f"{kind} model: 'vocab' must be a non-empty object of token -> id: the file is corrupt")
    check_ids(vocab, f"{kind} model")
    return dict(vocab)


def optional_str(data: dict, key: str, kind: str, default: str | None = None) -> str | None:
    """A string-or-null field of a model object."""
    value: Any = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ModelFileError(f"{kind} model: {key!r} must be a string or null, not {value!r}: the file is corrupt")
    return value


def check_type(data: Any, expected: str) -> None:
    """The model object is a dict whose "type" (when present) is `expected`."""
    if not isinstance(data, dict):
        raise ModelFileError(f"the tokenizer model must be a JSON object, not {type(data).__name__}: "
                             "the file is corrupt")
    found = data.get("type", expected)
    if found != expected:
        raise ModelFileError(f"expected a {expected} model, found type {found!r}: load it with the matching model")


class DictVocab:
    """The vocabulary lookups of models whose vocabulary is a token -> id dict (`self.vocab`, `self.vocab_r`)."""

    vocab: dict[str, int]
    vocab_r: dict[int, str]

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self.vocab_r.get(token_id)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def get_vocab_size(self) -> int:
        return len(self.vocab)
