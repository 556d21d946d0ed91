"""A BERT-style masked language model: the Transformer's blocks without the causal mask (every position sees
every other), trained to recover the chosen tokens of `neural.masking`, the MLM head tied to the embeddings.

    x = wte[idx] + wpe[0:T];  x = blocks(x) (bidirectional);  logits = ln_f(x)[chosen] @ wte^T

Windows of the text are framed as the tokenizer's post-processor frames a sequence ([CLS] ... [SEP]). The
architecture is pre-LN (GPT-2's block, as the rest of tkit) rather than BERT's post-LN, and the head has no
extra dense layer or output bias. Training reads (B, T) windows from the shared Trainer; `loss` corrupts them
(with the model's masking generator, which checkpoints save, while training; with a fixed one in eval mode, so
validation losses compare) and `masked_loss` scores an already corrupted batch.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neural.layers import (
    Dropout,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from neural.masking import IGNORE, mask_tokens, wrap
from neural.module import grad_enabled, no_grad
from neural.transformer import TransformerConfig, TransformerLM
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import TkitError
from tokenizers_kit.simple import TextTokenizer

ID = {"min": 0}
MASK_TOKEN = "[MASK]"


@dataclass
class MLMConfig(TransformerConfig):
    block_size: int = 128
    mask_prob: float = field(default=0.15, metadata={"min": 0.0, "max": 1.0})
    cls_id: int = field(default=0, metadata=ID)
    sep_id: int = field(default=0, metadata=ID)
    mask_id: int = field(default=0, metadata=ID)

    def problems(self) -> list[str]:
        out = super().problems()
        out += [f"{name} {getattr(self, name)} is not below vocab_size {self.vocab_size}"
                for name in ("cls_id", "sep_id", "mask_id") if getattr(self, name) >= self.vocab_size]
        if self.block_size < 3:
            out.append(f"block_size must be at least 3 ([CLS], a token, [SEP]), not {self.block_size}")
        if not 0 < self.mask_prob < 1:
            out.append(f"mask_prob must be in (0, 1), not {self.mask_prob}")
        return out


class MaskedLM(TransformerLM):
    """See the module docstring."""

    FORMAT = "tkit-mlm"
    Config = MLMConfig
    masked = True

    def __init__(self, cfg: MLMConfig, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        super().__init__(cfg, vocab, tokenizer)
        for block in self.blocks:  # no causal mask: the additive mask is all zeros
            block.attn._mask = np.zeros_like(block.attn._mask)
            block.attn._mask_t = np.zeros_like(block.attn._mask_t)
        self.masking = Dropout(0.0, np.random.default_rng([cfg.seed, 3]))  # a Dropout: checkpoints save its rng
        self.special = np.zeros(cfg.vocab_size, dtype=bool)
        self.special[[cfg.cls_id, cfg.sep_id, cfg.mask_id]] = True
        self.special[[i for i, t in enumerate(vocab.tokens) if t in _specials(tokenizer)]] = True

    @property
    def name(self) -> str:
        c = self.cfg
        return f"masked LM {c.n_layer}L/{c.n_head}H/{c.n_embd} block {c.block_size}"

    # ---- training ----------------------------------------------------------------------------------------
    def corrupt(self, windows: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(input, targets) for raw windows (B, T): framed, then masked."""
        framed = wrap(np.asarray(windows), self.cfg.cls_id, self.cfg.sep_id)
        if rng is None:
            rng = self.masking.rng if self.training else np.random.default_rng([self.cfg.seed, int(framed.sum())])
        return mask_tokens(framed, rng, self.cfg.mask_prob, self.cfg.mask_id, self.special)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.masked_loss(*self.corrupt(x))

    def masked_loss(self, inp: np.ndarray, targets: np.ndarray) -> float:
        """Mean cross-entropy over the chosen positions (targets != IGNORE)."""
        h = self.hidden(inp)
        b, t, c = h.shape
        sel = np.flatnonzero(targets.reshape(-1) != IGNORE)
        h2 = h.reshape(b * t, c)[sel]
        tgt = targets.reshape(-1)[sel]
        loss, probs = softmax_cross_entropy(h2 @ self.wte.weight.data.T, tgt, overwrite=True)
        self._last = (h2, probs, tgt, sel, (b, t, c)) if grad_enabled() else None
        return loss

    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        h2, probs, tgt, sel, shape = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, tgt, weight)
        w = self.wte.weight
        w.grad += dlogits.T @ h2
        dh = np.zeros((shape[0] * shape[1], shape[2]), dtype=h2.dtype)
        dh[sel] = dlogits @ w.data
        self.hidden_backward(dh.reshape(shape))

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """Corrupt once (on this thread, so the masking stream is reproducible), then split the rows across the
        cores, each slice weighted by its share of the chosen positions."""
        inp, targets = self.corrupt(x)
        total, rows = int((targets != IGNORE).sum()), len(inp)

        def step(model: MaskedLM, xs: np.ndarray, ys: np.ndarray, _: float) -> float:
            share = int((ys != IGNORE).sum()) / total
            loss = model.masked_loss(xs, ys)
            model.backward(share)
            return loss * share * rows / len(xs)  # the step sums loss * len(xs) / rows over the slices

        if self._parallel is None:
            from neural.data_parallel import DataParallelStep

            self._parallel = DataParallelStep(self, self.dropout_rng)
        return self._parallel.run(inp, targets, step)

    # ---- inference -------------------------------------------------------------------------------------------
    def mask_probs(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(positions of [MASK] in ids, (M, V) probabilities at them) for one framed sequence."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) > self.cfg.block_size:
            raise TkitError(f"the text has {len(ids)} tokens with [CLS]/[SEP], more than the model's block size "
                            f"{self.cfg.block_size}: give a shorter text")
        where = np.flatnonzero(ids == self.cfg.mask_id)
        if not where.size:
            raise TkitError(f"the text has no {MASK_TOKEN} token: write {MASK_TOKEN} where a word should be filled in")
        was = self.training
        self.eval()
        try:
            with no_grad():
                h = self.hidden(ids[None])[0, where]
        finally:
            self.train(was)
        return where, softmax((h @ self.wte.weight.data.T).astype(np.float64))

    def _not_causal(self, *args: Any) -> Any:
        raise TkitError("a masked LM does not predict the next token: use `tkit fill-mask` (and `tkit eval`)")

    next_logprobs = next_logprobs_batch = start = advance = sequence_logprobs = _not_causal


def _specials(tokenizer: TextTokenizer) -> set[str]:
    get = getattr(tokenizer, "special_tokens", None)
    return set(get()) if callable(get) else set()


def evaluate_masked(model: MaskedLM, ids: np.ndarray, seed: int = 0, batch_size: int = 32) -> dict[str, float]:
    """Masked-token cross-entropy (nats) and accuracy over consecutive windows of `ids`, masked with a fixed
    seed; `masked_tokens` counts the positions scored."""
    t = model.cfg.block_size
    if not (~model.special[np.asarray(ids, dtype=np.int64)]).any():
        raise TkitError("the text has no ordinary tokens to mask: give some text")
    n = max(1, len(ids) // (t - 2))
    padded = np.resize(np.asarray(ids, dtype=np.int64), n * (t - 2))  # the last window wraps around
    windows = np.concatenate([padded.reshape(n, t - 2), np.zeros((n, 2), np.int64)], axis=1)
    rng = np.random.default_rng([seed, 7])
    nll, right, count = 0.0, 0, 0
    was = model.training
    model.eval()
    try:
        with no_grad():
            for lo in range(0, n, batch_size):
                inp, tgt = model.corrupt(windows[lo:lo + batch_size], rng)
                h = model.hidden(inp)
                sel = np.flatnonzero(tgt.reshape(-1) != IGNORE)
                logits = h.reshape(-1, h.shape[-1])[sel] @ model.wte.weight.data.T
                gold = tgt.reshape(-1)[sel]
                z = logits.astype(np.float64)
                z -= z.max(axis=1, keepdims=True)
                nll -= float((z[np.arange(len(gold)), gold] - np.log(np.exp(z).sum(axis=1))).sum())
                right += int((logits.argmax(axis=1) == gold).sum())
                count += len(gold)
    finally:
        model.train(was)
    return {"masked_cross_entropy": nll / count, "masked_accuracy": right / count, "masked_tokens": count}


def frame_ids(tokenizer: TextTokenizer) -> tuple[int, int, int]:
    """([CLS], [SEP], [MASK]) ids of a subword tokenizer: [CLS]/[SEP] as its post-processor frames a sequence.
    A tokenizer without a post-processor (tkit trains them without) gets BERT's, from its [CLS] and [SEP]."""
    from tokenizers_kit.post_processors import BertProcessing
    from tokenizers_kit.tokenizer import Tokenizer

    if not isinstance(tokenizer, Tokenizer):
        raise TkitError(f"a masked LM needs a WordPiece tokenizer file with {MASK_TOKEN}, [CLS] and [SEP], not the "
                        f"built-in {tokenizer.name!r} (train one: tkit train tokenizer --algo wordpiece)")
    mask = tokenizer.token_to_id(MASK_TOKEN)
    if mask is None:
        raise TkitError(f"the tokenizer has no {MASK_TOKEN} token: train it with {MASK_TOKEN} among --special-tokens "
                        "(the wordpiece default)")
    if tokenizer.post_processor is None:
        cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise TkitError("the tokenizer has no post-processor and no [CLS]/[SEP] tokens to frame a sequence: "
                            "train it with the wordpiece default special tokens")
        tokenizer.post_processor = BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    frame = tokenizer.encode("", add_special_tokens=True).ids
    if len(frame) != 2:
        raise TkitError(f"the tokenizer's post-processor adds {len(frame)} tokens to a sequence, not one before "
                        "and one after ([CLS] ... [SEP]): use a BERT-style tokenizer")
    return frame[0], frame[1], mask


def vocabulary_of(tokenizer: TextTokenizer) -> Vocabulary:
    """The tokenizer's own tokens in id order (so the model's ids are the tokenizer's)."""
    size = tokenizer.get_vocab_size()  # type: ignore[attr-defined]
    return Vocabulary([tokenizer.id_to_token(i) for i in range(size)])  # type: ignore[attr-defined]


def fill_mask(model: MaskedLM, text: str, top_k: int = 5) -> list[list[dict[str, Any]]]:
    """For each [MASK] in `text`, its `top_k` fillers {"token", "id", "prob"}, most probable first."""
    ids = model.tokenizer.encode(text, add_special_tokens=True).ids  # type: ignore[attr-defined]
    _, probs = model.mask_probs(ids)
    out = []
    for row in probs:
        best = np.argsort(-row, kind="stable")[:top_k]
        out.append([{"token": model.vocab.tokens[i], "id": int(i), "prob": float(row[i])} for i in best])
    return out
