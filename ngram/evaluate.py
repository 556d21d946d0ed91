"""Evaluation written once for every LanguageModel: perplexity as KenLM defines it, cross-entropy in nats per
token, bits per byte (comparable across tokenizers and model families), token and OOV counts."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from tokenizers_kit.corpus import iter_lines, read_text
from tokenizers_kit.errors import CorpusError

if TYPE_CHECKING:  # the interface calls into this module, so no import of it at run time
    from ngram.lm import LanguageModel

LN10 = math.log(10.0)
BATCH_LINES = 4096


@dataclass(frozen=True)
class EvalReport:
    """Totals over the evaluated text. `logprob` is the natural-log sum over the `tokens` scored."""

    logprob: float
    tokens: int
    oov: int
    bytes: int
    sentences: int

    @property
    def cross_entropy(self) -> float:
        """Nats per token."""
        return -self.logprob / self.tokens if self.tokens else float("nan")

    @property
    def perplexity(self) -> float:
        """KenLM's: 10^(-Σ log10 p / N), N counting `</s>` and OOV tokens (= exp(cross-entropy))."""
        return math.exp(self.cross_entropy) if self.tokens else float("nan")

    @property
    def bits_per_byte(self) -> float:
        return -self.logprob / math.log(2.0) / self.bytes if self.bytes else float("nan")

    @property
    def log10_total(self) -> float:
        return self.logprob / LN10

    def to_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {
            "perplexity": self.perplexity,
            "cross_entropy": self.cross_entropy,
            "bits_per_byte": self.bits_per_byte,
            "tokens": self.tokens,
            "oov": self.oov,
            "bytes": self.bytes,
            "sentences": self.sentences,
            "log10_prob": self.log10_total,
        }
        # JSON has no Infinity: a model that gives some token probability 0 (MLE on unseen text) reports null.
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class SentenceScore:
    line: str
    log10_prob: float
    tokens: int
    oov: int


def _sentence_ids(model: LanguageModel, line: str) -> tuple[np.ndarray, int]:
    vocab = model.vocab
    tokens = model.tokenizer.tokenize(line)
    inner = vocab.encode(tokens)
    oov = int(np.count_nonzero(inner == vocab.unk_id)) if vocab.unk_id is not None else 0
    if oov:  # a literal "<unk>" in the text is not out of vocabulary
        oov -= sum(1 for t in tokens if t == "<unk>")
    ids = np.concatenate(([vocab.bos_id], inner, [vocab.eos_id])).astype(np.int32)
    return ids, oov


def score_sentences(model: LanguageModel, lines: Iterable[str],
                    on_batch: Callable[[int], None] | None = None) -> Iterable[SentenceScore]:
    """Per-line scores for a sentence model (KenLM's `score(line, bos=True, eos=True)`), in batches."""
    batch: list[str] = []

    def flush() -> Iterable[SentenceScore]:
        encoded = [_sentence_ids(model, line) for line in batch]
        scored = model.sentences_logprobs([ids for ids, _ in encoded])
        for line, (ids, oov), lps in zip(batch, encoded, scored):
            yield SentenceScore(line, float(np.sum(lps)) / LN10, len(ids) - 1, oov)
        if on_batch:
            on_batch(len(batch))

    for line in lines:
        batch.append(line)
        if len(batch) == BATCH_LINES:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def evaluate_files(model: LanguageModel, paths: Sequence[str],
                   on_batch: Callable[[int], None] | None = None) -> EvalReport:
    """Score the files: line by line for sentence models, as one stream for stream models."""
    source = ", ".join(paths)
    if model.sentence_mode:
        return evaluate_lines(model, iter_lines(paths), source, on_batch)
    return evaluate_stream(model, read_text(paths), source, on_batch)


def evaluate_text(model: LanguageModel, text: str | Sequence[str], source: str = "the text") -> EvalReport:
    """`evaluate_files` for text in memory: a string (lines split at "\\n") or a sequence of lines."""
    if isinstance(text, str):
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
    else:
        lines = [str(line) for line in text]
    if model.sentence_mode:
        return evaluate_lines(model, lines, source)
    return evaluate_stream(model, "".join(line + "\n" for line in lines), source)


def evaluate_lines(model: LanguageModel, lines: Iterable[str], source: str,
                   on_batch: Callable[[int], None] | None = None) -> EvalReport:
    """A sentence model over lines, each scored as `<s> … </s>`."""
    logprob, tokens, oov, nbytes, sentences = 0.0, 0, 0, 0, 0
    for s in score_sentences(model, lines, on_batch):
        logprob += s.log10_prob * LN10
        tokens += s.tokens
        oov += s.oov
        nbytes += len(s.line.encode("utf-8")) + 1  # the newline is predicted as </s>
        sentences += 1
    if sentences == 0:
        raise CorpusError(f"{source} has no lines to evaluate: give a non-empty text")
    return EvalReport(logprob, tokens, oov, nbytes, sentences)


def evaluate_stream(model: LanguageModel, text: str, source: str,
                    on_batch: Callable[[int], None] | None = None) -> EvalReport:
    """A stream model over the whole text: every token after the first, given all before it."""
    ids = model.encode_text(text)
    if ids.size < 2:
        raise CorpusError(f"{source} has fewer than two tokens: nothing to predict")
    lps = model.sequence_logprobs(ids)
    if on_batch:
        on_batch(text.count("\n"))
    unk = model.vocab.unk_id
    oov = int(np.count_nonzero(ids[1:] == unk)) if unk is not None else 0
    return EvalReport(float(np.sum(lps, dtype=np.float64)), int(lps.size), oov, len(text.encode("utf-8")),
                      text.count("\n"))


def report_dict(report: EvalReport, model: LanguageModel) -> dict:
    return {"model": model.name, **report.to_dict()}


__all__ = ["EvalReport", "SentenceScore", "evaluate_files", "score_sentences", "report_dict", "asdict"]
