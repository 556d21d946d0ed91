"""The trainable-model protocol shared by the Transformer and the RNN language models.

`neural.trainer.Trainer` only talks to this interface:

    model.zero_grad(); loss = model.loss_and_backward(x, y)        # x, y: (B, T) int ids
    # (= model.loss(x, y); model.backward(), which the Transformer splits across the cores)
    optimizer.step()                                                 # over model.parameters()

Stateful models (RNNs, `stateful = True`) are fed B parallel contiguous streams and carry their hidden state
from one window to the next (truncated BPTT); `reset_state(B)` zeroes it. Stateless models (Transformers)
get random windows and ignore `reset_state`.

Files: `save(path)` writes a tkit `.npz` (`ngram.npzfile`): the weights by name as arrays, and a JSON meta
holding `format` (the class's FORMAT, e.g. "tkit-transformer"), `config`, the tokenizer spec and the vocabulary.
`load(path)` rebuilds with `from_config` and `load_state_arrays`. Subclasses only need `FORMAT`, `from_config`,
`loss`, `backward` (and the LanguageModel methods); the persistence below is shared.
"""
from __future__ import annotations

import os
from abc import abstractmethod
from dataclasses import asdict, fields
from typing import Any, ClassVar, TypeVar

import numpy as np

from neural.model_file_checks import checked_config, checked_record, named
from neural.module import Module
from ngram.lm import LanguageModel
from ngram.npzfile import load_npz, save_npz
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import TextTokenizer

WEIGHT_PREFIX = "w:"  # array names in the .npz: "w:" + parameter name

C = TypeVar("C")


def config_from_dict(cls: type[C], d: dict[str, Any]) -> C:
    """A config dataclass from a file's dict, ignoring keys it does not know."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in d.items() if k in known})


class TrainableLM(LanguageModel, Module):
    """A LanguageModel made of Modules that `neural.trainer` can train."""

    FORMAT: ClassVar[str] = ""
    Config: ClassVar[Any]  # the hyper-parameter dataclass, with a `from_dict` and a `vocab_size` field
    stateful: ClassVar[bool] = False
    sentence_mode: ClassVar[bool] = False
    config: dict[str, Any]

    # ---- training ----------------------------------------------------------------------------------------
    @abstractmethod
    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy (nats) of predicting y from x, both (B, T) int ids; keeps caches for backward."""

    @abstractmethod
    def backward(self) -> None:  # type: ignore[override]
        """Back-propagate the last `loss`, accumulating into every Parameter.grad."""

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step's loss and gradients: `loss` then `backward` (models may split the batch
        across the cores)."""
        loss = self.loss(x, y)
        self.backward()
        return loss

    def reset_state(self, batch_size: int) -> None:
        """Stateful models zero their carried hidden state; stateless models ignore this."""

    # ---- weights by name ---------------------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy weights in by name (cast to the model's dtype); every parameter must be present."""
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(arrays))
        if missing:
            raise ModelFileError(f"model file lacks weights {', '.join(missing[:3])}: it is corrupt or "
                                 "from another model; re-create it")
        for name, p in params.items():
            arr = np.asarray(arrays[name])
            if arr.shape != p.data.shape:
                raise ModelFileError(f"weight {name} has shape {arr.shape}, expected {p.data.shape}: "
                                     "the model file does not match its config; re-create it")
            p.data[...] = arr.astype(p.data.dtype)

    # ---- construction and persistence --------------------------------------------------------------------
    def _setup(self, cfg: Any, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        """The first steps of every model's __init__: the config must fit the vocabulary it comes with."""
        Module.__init__(self)
        if cfg.vocab_size != len(vocab):
            raise ModelFileError(f"config says {cfg.vocab_size} tokens but the vocabulary has {len(vocab)}: "
                                 "the model file is corrupt")
        self.cfg, self.vocab, self.tokenizer = cfg, vocab, tokenizer
        self.config = asdict(cfg)

    @classmethod
    def from_config(cls, config: dict[str, Any], vocab: Vocabulary, tokenizer: TextTokenizer) -> TrainableLM:
        """A freshly initialised model (config holds every hyper-parameter, including the seed)."""
        return cls(checked_config(cls, config, len(vocab)), vocab, tokenizer)  # type: ignore[call-arg]

    def file_meta(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "config": self.config, "tokenizer": self.tokenizer.to_spec(),
                "vocab": list(self.vocab.tokens)}

    def save(self, path: str | os.PathLike[str], dtype: Any = None, extra_arrays: dict | None = None,
             extra_meta: dict | None = None) -> None:
        """Write the model; `dtype=np.float16` halves the file (loading casts back to float32)."""
        arrays = {WEIGHT_PREFIX + k: (v.astype(dtype) if dtype is not None else v)
                  for k, v in self.state_arrays().items()}
        arrays.update(extra_arrays or {})
        save_npz(path, arrays, {**self.file_meta(), **(extra_meta or {})})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainableLM:
        meta, arrays = load_npz(path, cls.FORMAT)
        return cls.from_meta_arrays(meta, arrays, path)

    @classmethod
    def from_meta_arrays(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                         path: str | os.PathLike[str] = "model", what: str = "model file") -> TrainableLM:
        """The model a file's record describes; every part is checked before anything is built."""
        try:
            cfg, vocab, tokenizer, weights = checked_record(cls, meta, arrays, WEIGHT_PREFIX)
        except ModelFileError as err:
            raise named(path, err, what) from None
        model = cls(cfg, vocab, tokenizer)  # type: ignore[call-arg]
        model.load_state_arrays(weights)
        model.eval()
        return model
