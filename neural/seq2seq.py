"""What every sequence-to-sequence model shares: the config, the file record (two tokenizers), teacher-forced
loss over padded batches, and decoding through `ngram.decoding.beam_search`.

A model subclass (`seq2seq_transformer`, `seq2seq_rnn`) defines

    loss(src (B, S), tgt (B, T + 2)) / backward()     teacher forcing: the decoder reads <s> y1 .. yn and
                                                      predicts y1 .. yn </s>; padding is masked out of both
    encode_source(src (1, S)) -> memory               run once per input
    decode_start(memory) -> cache; decode_step(memory, cache, token, position) -> (logits (V,), cache)

`SourceDecoder` wraps one input's memory into the start/advance interface the shared beam search drives,
so the encoder runs once per input and the decoder's key/value caches (or RNN state) grow one token a step.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neural.config_checks import DROPOUT, SEED
from neural.model_file_checks import _tokenizer, named
from neural.module import no_grad
from neural.seq2seq_data import BOS_ID, EOS_ID, PAD_ID, split_rows
from neural.thread_pool import single_blas
from neural.trainable import TrainableLM, config_from_dict
from ngram.decoding import beam_search
from ngram.lm import DecodeState
from ngram.npzfile import load_npz, read_meta
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.simple import TextTokenizer

ARCHS = ("transformer", "gru", "lstm")


@dataclass
class Seq2SeqConfig:
    """Field metadata gives the ranges `neural.config_checks` enforces (ints default to >= 1)."""

    vocab_size: int = 64
    arch: str = field(default="transformer", metadata={"choices": ARCHS, "label": "architecture"})
    n_layer: int = 2            # encoder layers (and as many decoder layers)
    n_head: int = 4             # Transformer attention heads
    n_embd: int = 128           # Transformer width C / RNN embedding size
    hidden_size: int = 256      # RNN hidden size (and the additive attention's width)
    max_source_len: int = 64    # longest source, in tokens
    max_target_len: int = 64    # longest target, in tokens (without <s> and </s>)
    dropout: float = field(default=0.0, metadata=DROPOUT)
    seed: int = field(default=1337, metadata=SEED)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Seq2SeqConfig:
        return config_from_dict(cls, d)

    def problems(self) -> list[str]:
        if self.arch == "transformer" and self.n_embd % self.n_head:
            return [f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"]
        if self.arch != "transformer" and self.dropout:
            return ["dropout applies to the transformer arch only"]
        return []


class Seq2SeqModel(TrainableLM):
    """An encoder-decoder over one vocabulary (source and target tokens share the id space)."""

    Config = Seq2SeqConfig
    stateful: ClassVar[bool] = False

    def _setup2(self, cfg: Seq2SeqConfig, vocab: Vocabulary, tokenizer: TextTokenizer,
                target_tokenizer: TextTokenizer | None) -> None:
        self._setup(cfg, vocab, tokenizer)
        self.target_tokenizer = target_tokenizer or tokenizer
        self._last: Any = None

    @property
    def block_size(self) -> int:  # the trainer's tokens-per-step estimate
        return self.cfg.max_target_len + 1

    # ---- persistence: the target tokenizer is a second record ------------------------------------------------
    def file_meta(self) -> dict[str, Any]:
        return {**super().file_meta(), "target_tokenizer": self.target_tokenizer.to_spec()}

    @classmethod
    def from_meta_arrays(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                         path: str | os.PathLike[str] = "model", what: str = "model file") -> Seq2SeqModel:
        model = super().from_meta_arrays(meta, arrays, path, what)
        try:
            if "target_tokenizer" not in meta:
                raise ModelFileError("its model record lacks 'target_tokenizer'")
            model.target_tokenizer = _tokenizer(meta["target_tokenizer"])
            _check_specials(model.vocab)
        except ModelFileError as err:
            raise named(path, err, what) from None
        return model  # type: ignore[return-value]

    # ---- not a language model: no next-token distribution without a source ------------------------------------
    def next_logprobs(self, context: Sequence[int]) -> np.ndarray:
        raise TkitError("a sequence-to-sequence model needs a source: use `tkit translate`")

    def sequence_logprobs(self, ids: np.ndarray) -> np.ndarray:
        raise TkitError("a sequence-to-sequence model needs a source: use `tkit eval MODEL PAIRS.tsv`")

    # ---- what subclasses define --------------------------------------------------------------------------------
    def encode_source(self, src: np.ndarray) -> Any:
        raise NotImplementedError

    def decode_start(self, memory: Any) -> Any:
        raise NotImplementedError

    def decode_step(self, memory: Any, cache: Any, token: int, position: int) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step; BLAS single-threaded, as its matrices are too small for a thread pool to pay."""
        with single_blas():
            return super().loss_and_backward(x, y)

    # ---- training rows ---------------------------------------------------------------------------------------------
    def rows_loss(self, rows: np.ndarray) -> float:
        return self.loss(*split_rows(rows, self.cfg.max_source_len))

    # ---- text in, text out -------------------------------------------------------------------------------------------
    def source_ids(self, text: str) -> np.ndarray:
        """Ids of a source text; TkitError if it is empty or longer than the model allows."""
        ids = self.vocab.encode(self.tokenizer.tokenize(text))
        if ids.size == 0:
            raise TkitError("the source is empty")
        if ids.size > self.cfg.max_source_len:
            raise TkitError(f"the source has {ids.size} tokens, more than the model's {self.cfg.max_source_len}")
        return ids

    def translate_ids(self, src: np.ndarray, beam: int = 1, max_tokens: int | None = None,
                      length_penalty: float = 0.0) -> list[int]:
        """The target ids (without </s>) that beam search finds for source ids."""
        most = self.cfg.max_target_len if max_tokens is None else min(max_tokens, self.cfg.max_target_len)
        with no_grad():
            decoder = SourceDecoder(self, np.asarray(src, dtype=np.int64)[None])
            # one step more than `most`, for the </s> after a longest output; a step that still has none is cut
            ids = beam_search(decoder, [BOS_ID], beam, most + 1, eos=EOS_ID, length_penalty=length_penalty)
        return [i for i in ids if i != EOS_ID][:most]

    def translate(self, text: str, beam: int = 1, max_tokens: int | None = None,
                  length_penalty: float = 0.0) -> str:
        ids = self.translate_ids(self.source_ids(text), beam, max_tokens, length_penalty)
        return self.target_tokenizer.detokenize(self.vocab.decode(ids))

    def target_tokens(self, text: str) -> list[str]:
        return self.target_tokenizer.tokenize(text)


def _check_specials(vocab: Vocabulary) -> None:
    from neural.seq2seq_data import SPECIALS

    if len(vocab) < len(SPECIALS) or tuple(vocab.tokens[:len(SPECIALS)]) != SPECIALS:
        raise ModelFileError(f"its vocabulary does not start with {' '.join(SPECIALS)}")


class SourceDecoder:
    """One input's encoder memory behind the `start`/`advance` interface that beam search drives."""

    sentence_mode = True

    def __init__(self, model: Seq2SeqModel, src: np.ndarray) -> None:
        self.model, self.vocab = model, model.vocab
        self.memory = model.encode_source(src)

    def start(self, context: Sequence[int]) -> DecodeState:
        state = DecodeState((), np.zeros(0), self.model.decode_start(self.memory))
        for token in context:
            state = self.advance(state, token)
        return state

    def advance(self, state: DecodeState, token: int) -> DecodeState:
        logits, cache = self.model.decode_step(self.memory, state.cache, int(token), len(state.ids))
        logp = logits.astype(np.float64)
        logp[PAD_ID] = logp[BOS_ID] = -np.inf   # never emitted: the distribution is over the other tokens
        logp -= logp.max()
        logp -= np.log(np.exp(logp).sum())
        return DecodeState((*state.ids, int(token)), logp, cache)


def seq2seq_class(fmt: str) -> type[Seq2SeqModel]:
    if fmt == "tkit-seq2seq-transformer":
        from neural.seq2seq_transformer import TransformerSeq2Seq

        return TransformerSeq2Seq
    if fmt == "tkit-seq2seq-rnn":
        from neural.seq2seq_rnn import RNNSeq2Seq

        return RNNSeq2Seq
    raise ModelFileError(f"unknown sequence-to-sequence format {fmt!r}")


SEQ2SEQ_FORMATS = ("tkit-seq2seq-transformer", "tkit-seq2seq-rnn")


def is_seq2seq_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a seq2seq model (or its checkpoint); False for anything else, errors included (the
    other loaders then say what is wrong)."""
    try:
        if not str(path).lower().endswith(".npz") or not os.path.isfile(path):
            return False
        meta = read_meta(path)
    except (TkitError, OSError):
        return False
    inner = meta.get("model") if meta.get("format") == "tkit-checkpoint" else meta
    return isinstance(inner, dict) and inner.get("format") in SEQ2SEQ_FORMATS


def load_seq2seq(path: str | os.PathLike[str]) -> Seq2SeqModel:
    """A seq2seq model file (or the model of a seq2seq training checkpoint); a one-line ModelFileError for
    any other kind of file."""
    from neural.checkpoint import FORMAT as CHECKPOINT
    from neural.checkpoint import load_checkpoint_model
    from ngram.npzfile import check_model_file

    p = check_model_file(path)
    if not p.name.lower().endswith(".npz"):
        raise ModelFileError(f"{p} is not a sequence-to-sequence model (.npz from `tkit train seq2seq`)")
    meta = read_meta(p)
    fmt = meta.get("format")
    if fmt == CHECKPOINT:
        inner = meta.get("model", {}).get("format") if isinstance(meta.get("model"), dict) else None
        if inner in SEQ2SEQ_FORMATS:
            return load_checkpoint_model(p)  # type: ignore[return-value]
    if fmt in SEQ2SEQ_FORMATS:
        cls = seq2seq_class(fmt)
        meta, arrays = load_npz(p, fmt)
        return cls.from_meta_arrays(meta, arrays, p)
    raise ModelFileError(f"{p} is a {fmt or 'non-tkit'} file, not a sequence-to-sequence model: train one with "
                         "`tkit train seq2seq`")


def masked_targets(tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decoder input (B, T), flat indices of the real target positions, their target ids) for tgt (B, T+1)."""
    tin, tout = tgt[:, :-1], tgt[:, 1:]
    keep = np.flatnonzero(tout.reshape(-1) != PAD_ID)
    return np.ascontiguousarray(tin), keep, tout.reshape(-1)[keep]
