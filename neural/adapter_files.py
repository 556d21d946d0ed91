"""LoRA adapter files: only the adapters and the hash of the base they were trained on.

An adapter file (`tkit-lora-adapter`) holds A and B of every adapted projection, the LoRA config (which
includes the base's architecture) and `base_hash`: SHA-256 over the base's config, vocabulary, tokenizer and
weights (as float32). `apply_adapter` refuses any other base, and checks the file's config and every array
against the shapes that config implies before anything is built.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict

import numpy as np

from neural.config_checks import config_problems
from neural.lora_model import (
    LoRAConfig,
    LoRATransformerLM,
    adapter_shapes,
    lora_from_base,
)
from neural.model_file_checks import check_arrays
from neural.transformer import TransformerLM
from ngram.npzfile import load_npz, save_npz
from tokenizers_kit.errors import ModelFileError

FORMAT = "tkit-lora-adapter"
PREFIX = "a:"


def base_hash(model: TransformerLM) -> str:
    """SHA-256 of what defines the base model's outputs (independent of the dtype it was stored in)."""
    h = hashlib.sha256()
    record = {"config": asdict(model.cfg), "vocab": list(model.vocab.tokens), "tokenizer": model.tokenizer.to_spec()}
    record["config"].pop("seed", None)  # the init seed does not change a trained model
    h.update(json.dumps(record, sort_keys=True).encode())
    for name, arr in sorted(model.state_arrays().items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return h.hexdigest()


def save_adapter(path: str | os.PathLike[str], model: LoRATransformerLM) -> None:
    arrays = {PREFIX + n: a for n, a in model.adapter_arrays().items()}
    save_npz(path, arrays, {"format": FORMAT, "config": model.config, "base_hash": model.cfg.base_hash})


def _checked(meta: dict, arrays: dict[str, np.ndarray], base: TransformerLM) -> tuple[LoRAConfig, dict]:
    raw = meta.get("config")
    problems = config_problems(LoRAConfig, raw)
    if problems:
        raise ModelFileError("; ".join(problems))
    cfg = LoRAConfig.from_dict(raw)
    if meta.get("base_hash") != base_hash(base) or _arch(asdict(cfg.base())) != _arch(asdict(base.cfg)):
        raise ModelFileError("was trained on another base model: give the base it was fine-tuned from")
    adapters = {k[len(PREFIX):]: v for k, v in arrays.items() if k.startswith(PREFIX)}
    if len(adapters) != len(arrays):
        raise ModelFileError("holds arrays that are not adapters")
    check_arrays(adapter_shapes(cfg), adapters, "adapter")
    return cfg, adapters


def _arch(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "seed"}


def apply_adapter(base: TransformerLM, path: str | os.PathLike[str]) -> TransformerLM:
    """`base` with the adapter file at `path` merged in (a plain TransformerLM); ModelFileError if the file is
    damaged or was trained on another base."""
    if type(base) is not TransformerLM:
        raise ModelFileError(f"an adapter applies to a Transformer model, not a {getattr(base, 'FORMAT', 'non-neural')} "
                             "model: give the base Transformer it was fine-tuned from")
    meta, arrays = load_npz(path, FORMAT)
    try:
        cfg, adapters = _checked(meta, arrays, base)
    except ModelFileError as err:
        raise ModelFileError(f"adapter {path}: {err}") from None
    model = lora_from_base(base, cfg.lora_rank, cfg.lora_alpha, cfg.lora_targets, cfg.seed, cfg.base_hash)
    model.load_state_arrays({**model.state_arrays(), **adapters})
    return model.merged()
