"""The interface every tkit language model implements (n-gram and neural), so that one decoding module and
one evaluation module serve them all.

Conventions: ids index `model.vocab`; log-probabilities are natural logs; a *sentence model*
(`sentence_mode=True`, the n-grams) scores each line as `<s> w1 ... wn </s>` (KenLM/SRILM); a *stream model*
(neural) reads the text as one token stream in which newlines are ordinary tokens.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ngram.decoding import (
    SamplingConfig,
    beam_search,
    ids_to_text,
    prompt_to_ids,
    sample_stream,
)
from ngram.evaluate import LN10, EvalReport, evaluate_text
from ngram.vocab import Vocabulary
from tokenizers_kit.checks import require_int, require_str, require_strs
from tokenizers_kit.simple import TextTokenizer


@dataclass(frozen=True)
class DecodeState:
    """Where decoding stands: the ids so far and the next-token log-probabilities (V,).

    `cache` is the model's own incremental state (n-gram context, RNN hidden state, Transformer KV cache);
    decoding never looks inside it. States are immutable so beam search can branch them freely.
    """

    ids: tuple[int, ...]
    logprobs: np.ndarray
    cache: Any = None


class LanguageModel(ABC):
    """A next-token distribution over `vocab`, plus scoring and persistence."""

    sentence_mode: ClassVar[bool] = False
    vocab: Vocabulary
    tokenizer: TextTokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def name(self) -> str:
        """A short human description, e.g. "5-gram modified-kneser-ney"."""
        return type(self).__name__

    # ---- the core: next-token distributions -------------------------------------------------------------
    @abstractmethod
    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        """log p(· | context), shape (V,), natural log. `context` is every id so far (the model crops it)."""

    def next_logprobs_batch(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """(N, V) for N contexts; models override this where batching pays."""
        return np.stack([self.next_logprobs(c) for c in contexts])

    # ---- incremental decoding (override for KV caches / hidden states) -----------------------------------
    def start(self, context: Sequence[int]) -> DecodeState:
        ids = tuple(int(i) for i in context)
        return DecodeState(ids, self.next_logprobs(ids))

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        ids = (*state.ids, int(token))
        return DecodeState(ids, self.next_logprobs(ids))

    # ---- scoring ----------------------------------------------------------------------------------------
    @abstractmethod
    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        """log p(ids[i] | ids[:i]) for i = 1 .. len(ids)-1, shape (len(ids)-1,).

        For a sentence model `ids` is one sentence `<s> ... </s>`; for a stream model, any stretch of text."""

    def sentences_logprobs(self, sentences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`sequence_logprobs` for many sentences; n-gram models vectorise this over all of them."""
        return [self.sequence_logprobs(s) for s in sentences]

    # ---- persistence ------------------------------------------------------------------------------------
    @abstractmethod
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (atomically) in its native format."""

    # ---- the same calls for every model: text in, text or numbers out ------------------------------------
    def generate(self, max_tokens: int = 50, prompt: str = "", seed: int | None = None, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, beam: int | None = None) -> str:
        """Sample (or beam-search) up to `max_tokens` tokens after `prompt` and return them as text; a
        sentence model writes `</s>` as a newline. `temperature=0` is greedy."""
        require_str("prompt", prompt)
        if seed is not None:
            require_int("seed", seed, low=0)
        if beam is not None:
            require_int("beam", beam, low=1)
        prompt_ids = prompt_to_ids(self, prompt)
        if beam:
            ids = beam_search(self, prompt_ids, beam, max_tokens)
        else:
            config = SamplingConfig(max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p)
            ids = list(sample_stream(self, prompt_ids, config, np.random.default_rng(seed)))
        return ids_to_text(self, ids)

    def score(self, text: str) -> float:
        """log10 p of the text. A sentence model scores it as one sentence `<s> … </s>` (`kenlm.Model.score`);
        a stream model scores every token after the first, given those before it."""
        require_str("text", text)
        if self.sentence_mode:
            ids = np.concatenate(([self.vocab.bos_id], self.encode_text(text), [self.vocab.eos_id]))
            return float(np.sum(self.sequence_logprobs(ids.astype(np.int64)))) / LN10
        return self.evaluate(text).log10_total

    def evaluate(self, text: str | Sequence[str]) -> EvalReport:
        """What `tkit eval` reports (perplexity, cross-entropy, bits per byte, tokens, OOV) for text in
        memory: a string, or a sequence of lines."""
        return evaluate_text(self, text if isinstance(text, str) else require_strs("text", text))

    def perplexity(self, text: str | Sequence[str]) -> float:
        """Perplexity as KenLM defines it: exp of the cross-entropy, for a sentence model over lines with
        every `</s>` and OOV token counted; for a stream model over the whole text."""
        return self.evaluate(text).perplexity

    # ---- text helpers shared by sample/eval ---------------------------------------------------------------
    def encode_text(self, text: str) -> np.ndarray:
        return self.vocab.encode(self.tokenizer.tokenize(text))

    def decode_ids(self, ids: Sequence[int]) -> str:
        return self.tokenizer.detokenize(self.vocab.decode(ids))
