"""Training checkpoints: everything `--resume` needs to continue exactly, in one safe `.npz`.

Arrays: the weights ("w:" + name, as in model files), the optimizer slots ("opt:" + slot + ":" + name) and,
for stateful models, the carried hidden state ("carry:" + name). Meta (JSON): format "tkit-checkpoint",
the model's own file meta (format, config, tokenizer, vocabulary), the optimizer's counters and the
trainer's state (step, NumPy Generator states as JSON via `bit_generator.state`, data cursor, loss history,
training config, a fingerprint of the data). No pickle: a checkpoint is as safe to open as a model file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from neural.checkpoint_checks import check_carry, check_optimizer, check_trainer_state
from neural.model_file_checks import named
from neural.trainable import WEIGHT_PREFIX, TrainableLM
from ngram.npzfile import load_npz, save_npz
from tokenizers_kit.errors import ModelFileError

FORMAT = "tkit-checkpoint"
OPT_PREFIX = "opt:"
CARRY_PREFIX = "carry:"


def model_class(fmt: str) -> type[TrainableLM]:
    """The TrainableLM class that reads model files of format `fmt`."""
    if fmt == "tkit-transformer":
        from neural.transformer import TransformerLM

        return TransformerLM
    if fmt == "tkit-lora-transformer":
        from neural.lora_model import LoRATransformerLM

        return LoRATransformerLM
    if fmt == "tkit-mlm":
        from neural.mlm import MaskedLM

        return MaskedLM
    if fmt == "tkit-rnn":
        from neural.rnn_lm import RNNLanguageModel

        return RNNLanguageModel
    if fmt == "tkit-cnn":
        from neural.cnn_lm import CNNLanguageModel

        return CNNLanguageModel
    if fmt in ("tkit-seq2seq-transformer", "tkit-seq2seq-rnn"):
        from neural.seq2seq import seq2seq_class

        return seq2seq_class(fmt)
    raise ModelFileError(f"unknown neural model format {fmt!r}: the file is from another tool or version")


@dataclass
class Checkpoint:
    model: TrainableLM
    optimizer_meta: dict[str, Any]
    optimizer_arrays: dict[str, np.ndarray]
    carry: dict[str, np.ndarray]
    trainer: dict[str, Any]


def save_checkpoint(path: str | os.PathLike[str], model: TrainableLM, optimizer_meta: dict[str, Any],
                    optimizer_arrays: dict[str, np.ndarray], trainer: dict[str, Any],
                    carry: dict[str, np.ndarray] | None = None) -> None:
    """Write a checkpoint atomically (a Ctrl-C during the write leaves the previous one intact)."""
    arrays = {WEIGHT_PREFIX + k: v for k, v in model.state_arrays().items()}
    arrays.update({OPT_PREFIX + k: v for k, v in optimizer_arrays.items()})
    arrays.update({CARRY_PREFIX + k: v for k, v in (carry or {}).items()})
    meta = {"format": FORMAT, "model": model.file_meta(), "optimizer": optimizer_meta, "trainer": trainer}
    save_npz(path, arrays, meta)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """A checkpoint's parts, every one checked (a damaged file gives one ModelFileError naming it)."""
    meta, arrays = load_npz(path, FORMAT)
    groups: dict[str, dict[str, np.ndarray]] = {WEIGHT_PREFIX: {}, OPT_PREFIX: {}, CARRY_PREFIX: {}}
    try:
        for key in ("model", "optimizer", "trainer"):
            if key not in meta:
                raise ModelFileError(f"lacks its {key} record")
        for name, arr in arrays.items():
            prefix = next((p for p in groups if name.startswith(p)), None)
            if prefix is None:
                raise ModelFileError(f"holds an unexpected array {name[:60]!r}")
            groups[prefix][name if prefix == WEIGHT_PREFIX else name[len(prefix):]] = arr
        model_meta = meta["model"]
        cls = model_class(model_meta.get("format") if isinstance(model_meta, dict) else None)
        train_cfg = check_trainer_state(meta["trainer"])
    except ModelFileError as err:
        raise named(path, err, "checkpoint") from None
    model = cls.from_meta_arrays(model_meta, groups[WEIGHT_PREFIX], path, what="checkpoint")
    try:
        check_optimizer(meta["optimizer"], groups[OPT_PREFIX], model, train_cfg.optimizer,
                        meta["trainer"]["step"])
        check_carry(groups[CARRY_PREFIX], model, train_cfg.batch_size)
    except ModelFileError as err:
        raise named(path, err, "checkpoint") from None
    model.train()
    return Checkpoint(model, meta["optimizer"], groups[OPT_PREFIX], groups[CARRY_PREFIX], meta["trainer"])


def load_checkpoint_model(path: str | os.PathLike[str]) -> TrainableLM:
    """Only the model of a checkpoint (so `tkit sample ckpt.npz` works too)."""
    model = load_checkpoint(path).model
    model.eval()
    return model
