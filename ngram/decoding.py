"""Decoding, written once for every LanguageModel: temperature, top-k, top-p, greedy, seeded sampling,
beam search, and the next-token distribution after a prompt."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tokenizers_kit.checks import require_int, require_real

if TYPE_CHECKING:  # the interface calls into this module, so no import of it at run time
    from ngram.lm import DecodeState, LanguageModel


@dataclass(frozen=True)
class SamplingConfig:
    max_tokens: int = 100
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False

    def __post_init__(self) -> None:  # ArgumentError is a ValueError, and one line in the CLI
        require_int("max_tokens", self.max_tokens, low=0)
        require_real("temperature", self.temperature, low=0.0)
        if self.top_p is not None:
            require_real("top_p", self.top_p, low=0.0, high=1.0, low_open=True)
        if self.top_k is not None:
            require_int("top_k", self.top_k, low=1)


def sampling_distribution(logprobs: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                          top_p: float | None = None) -> np.ndarray:
    """Probabilities (V,) after temperature, then top-k, then top-p (nucleus) filtering; sums to 1."""
    logits = np.asarray(logprobs, dtype=np.float64)
    if temperature == 0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    logits = logits / temperature
    if top_k is not None and top_k < logits.size:
        kth = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= kth, logits, -np.inf)
    logits = logits - np.max(logits)
    probs = np.exp(logits)
    probs /= probs.sum()
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]  # smallest set with mass >= top_p
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return probs


def sample_stream(model: LanguageModel, prompt_ids: Sequence[int], config: SamplingConfig,
                  rng: np.random.Generator) -> Iterator[int]:
    """Yield up to `config.max_tokens` sampled ids after the prompt.

    A sentence model that emits `</s>` yields it and starts a fresh sentence from `<s>`, so a long sample is
    several sentences (printed one per line)."""
    restart = [model.vocab.bos_id] if model.sentence_mode and model.vocab.bos_id is not None else []
    state = model.start(prompt_ids)
    for _ in range(config.max_tokens):
        if config.greedy:
            token = int(np.argmax(state.logprobs))
        else:
            probs = sampling_distribution(state.logprobs, config.temperature, config.top_k, config.top_p)
            token = int(rng.choice(probs.size, p=probs))
        yield token
        if model.sentence_mode and token == model.vocab.eos_id:
            state = model.start(restart)
        else:
            state = model.advance(state, token)


def beam_search(model: LanguageModel, prompt_ids: Sequence[int], beam: int, max_tokens: int,
                eos: int | None = None, length_penalty: float = 0.0) -> list[int]:
    """The most probable continuation found by beam search (deterministic).

    `model` is anything with `start(ids)`, `advance(state, token)` and `vocab` (a LanguageModel, or a
    sequence-to-sequence model's per-input decoder). Hypotheses that emit the end token (`eos`, by default
    `</s>` of sentence models; stream models have none) are finished and leave the beam; the best finished
    or surviving hypothesis wins, by total log-probability divided by GNMT's length penalty
    ((5 + length) / 6) ** `length_penalty` (0: no normalisation), ties broken by the smaller id sequence."""
    if beam < 1:
        raise ValueError("beam must be at least 1")
    require_real("length_penalty", length_penalty, low=0.0)
    if eos is None:
        eos = model.vocab.eos_id if model.sentence_mode else None
    live: list[tuple[float, list[int], DecodeState]] = [(0.0, [], model.start(prompt_ids))]
    finished: list[tuple[float, list[int]]] = []
    for step in range(max_tokens):
        candidates: list[tuple[float, list[int], DecodeState, int]] = []
        for score, ids, state in live:
            k = min(beam, state.logprobs.size)
            top = np.argpartition(-state.logprobs, k - 1)[:k]
            for token in top:
                lp = float(state.logprobs[token])
                if np.isfinite(lp):
                    candidates.append((score + lp, ids, state, int(token)))
        candidates.sort(key=lambda c: (-c[0], [*c[1], c[3]]))
        last = step == max_tokens - 1  # the final states are never read: skip their model calls
        live = []
        for score, ids, state, token in candidates[:beam]:
            if token == eos:
                finished.append((score, [*ids, token]))
            else:
                live.append((score, [*ids, token], state if last else model.advance(state, token)))
        if not live:
            break
    pool = finished + [(s, ids) for s, ids, _ in live]
    if not pool:
        return []
    return min(pool, key=lambda c: (-c[0] / _length_penalty(len(c[1]), length_penalty), c[1]))[1]


def _length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ** alpha (Wu et al. 2016); 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


def top_next(model: LanguageModel, prompt_ids: Sequence[int], k: int) -> list[tuple[int, float]]:
    """The k most probable next tokens after the prompt: (id, probability), most probable first."""
    logprobs = model.start(prompt_ids).logprobs
    k = min(k, logprobs.size)
    top = np.argpartition(-logprobs, k - 1)[:k]
    top = top[np.lexsort((top, -logprobs[top]))]
    return [(int(i), float(np.exp(logprobs[i]))) for i in top]


def prompt_to_ids(model: LanguageModel, prompt: str) -> list[int]:
    """The context a prompt gives: `<s>` + its tokens for sentence models; for stream models its tokens, or a
    newline (the start of a line) when the prompt is empty."""
    ids = [int(i) for i in model.encode_text(prompt)] if prompt else []
    if model.sentence_mode and model.vocab.bos_id is not None:
        return [model.vocab.bos_id, *ids]
    if not ids:
        newline = model.vocab.index.get("\n")
        ids = [newline if newline is not None else 0]
    return ids


def ids_to_text(model: LanguageModel, ids: Sequence[int]) -> str:
    """Text of generated ids; for sentence models `</s>` becomes a newline and `<s>` is dropped."""
    if not model.sentence_mode:
        return model.decode_ids(ids)
    vocab = model.vocab
    lines, current = [], []
    for i in ids:
        if i == vocab.eos_id:
            lines.append(model.decode_ids(current))
            current = []
        elif i != vocab.bos_id:
            current.append(i)
    text = "\n".join(lines)
    if current:
        text = (text + "\n" if lines else "") + model.decode_ids(current)
    elif lines:
        text += "\n"
    return text


def stream_text(model: LanguageModel, ids: Iterable[int], flush_every: int = 16, context: int = 8) -> Iterator[str]:
    """The text of `ids` in pieces, as they come, whose concatenation is `ids_to_text(model, all ids)`: a long
    sample prints while it is generated instead of at the end, in memory that does not grow with it.

    Each piece is the text that the ids since the last piece add after the `context` ids before them
    (decoding is local for every tkit decoder, except at the very start, which the first piece covers). A
    piece is held back while it ends in a partial character (a byte-level token that splits one) or does not
    extend the context's text."""
    window: list[int] = []   # the context ids, then the ids not yet printed
    start = 0                # window[:start] is context
    printed_context = ""     # ids_to_text(window[:start]) as it was printed
    first = True
    for token in ids:
        window.append(int(token))
        if len(window) - start < flush_every:
            continue
        piece = _new_text(model, window, start, printed_context, first)
        if piece is not None:
            yield piece
            first = False
            window = _context(model, window, context)
            start = len(window)
            printed_context = ids_to_text(model, window)
    if len(window) > start or first:
        full = ids_to_text(model, window)
        yield full if first else full[len(printed_context):] if full.startswith(printed_context) else full


def _new_text(model: LanguageModel, window: list[int], start: int, context_text: str, first: bool) -> str | None:
    text = ids_to_text(model, window)
    if text.endswith("\ufffd"):  # a character split across tokens: wait for its other bytes
        return None
    if first:
        return text
    return text[len(context_text):] if text.startswith(context_text) else None


def _context(model: LanguageModel, window: list[int], context: int) -> list[int]:
    """The last `context` ids, or more while their text is empty (ids such as <s> that decode to nothing):
    the next piece's separator (a space between words) depends on there being text before it."""
    keep = min(context, len(window))
    while keep < len(window) and not ids_to_text(model, window[-keep:]):
        keep += 1
    return window[-keep:]
