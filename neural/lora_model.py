"""A Transformer LM with LoRA adapters on chosen projections and every base weight frozen.

Only the adapters are trainable: `named_parameters()` lists them alone, so the Trainer's optimizer and
gradient clipping see nothing else (no optimizer state for the base), while `state_arrays()` /
`load_state_arrays()` cover base and adapters, so a checkpoint resumes on its own. `merged()` folds the
adapters into the weights (W0 + (alpha / r) A B) and returns a plain TransformerLM that every command loads.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from neural import param_shapes as ps
from neural.lora import LoRALinear, freeze, make_lora
from neural.module import Module, Parameter
from neural.transformer import TransformerConfig, TransformerLM
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import TextTokenizer

# target name -> the projections of each block it adapts
TARGETS = {"attn": ("attn.c_attn", "attn.c_proj"), "mlp": ("mlp.c_fc", "mlp.c_proj")}
ADAPTER_PARAMS = ("lora_A", "lora_B")


def parse_targets(text: str) -> list[str]:
    """'attn,mlp' -> ['attn', 'mlp'] (known names, no repeats, in TARGETS' order); ValueError otherwise."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    unknown = [t for t in names if t not in TARGETS]
    if unknown or not names:
        raise ValueError(f"unknown LoRA target {(unknown or [text])[0][:40]!r}: choose from {', '.join(TARGETS)} "
                         "(comma-separated)")
    return [t for t in TARGETS if t in names]


@dataclass
class LoRAConfig(TransformerConfig):
    lora_rank: int = 8                                         # r
    lora_alpha: float = field(default=16.0, metadata={"min": 0.0})  # scale alpha / r
    lora_targets: str = "attn"                                 # comma-separated TARGETS keys
    base_hash: str = ""                                        # `adapter_files.base_hash` of the base model

    def problems(self) -> list[str]:
        out = super().problems()
        if self.lora_alpha <= 0:
            out.append(f"lora_alpha must be positive (got {self.lora_alpha})")
        try:
            parse_targets(self.lora_targets)
        except ValueError as err:
            out.append(str(err))
        return out

    def base(self) -> TransformerConfig:
        names = {f.name for f in fields(TransformerConfig)}
        return TransformerConfig(**{k: v for k, v in asdict(self).items() if k in names})


def adapted_layers(cfg: LoRAConfig) -> list[str]:
    """Dotted names of the adapted Linear layers, block by block."""
    return [f"blocks.{i}.{proj}" for i in range(cfg.n_layer) for t in parse_targets(cfg.lora_targets)
            for proj in TARGETS[t]]


def adapter_shapes(cfg: LoRAConfig) -> ps.Shapes:
    """The adapters' shapes: A (in, r) and B (r, out) per adapted projection."""
    c, r = cfg.n_embd, cfg.lora_rank
    dims = {"attn.c_attn": (c, 3 * c), "attn.c_proj": (c, c), "mlp.c_fc": (c, 4 * c), "mlp.c_proj": (4 * c, c)}
    out: ps.Shapes = {}
    for name in adapted_layers(cfg):
        n_in, n_out = dims[name.split(".", 2)[2]]
        out[f"{name}.lora_A"] = (n_in, r)
        out[f"{name}.lora_B"] = (r, n_out)
    return out


def is_adapter(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in ADAPTER_PARAMS


class LoRATransformerLM(TransformerLM):
    """A TransformerLM whose base is frozen and whose chosen projections carry LoRA adapters."""

    FORMAT = "tkit-lora-transformer"
    Config = LoRAConfig

    def __init__(self, cfg: LoRAConfig, vocab: Vocabulary, tokenizer: TextTokenizer) -> None:
        super().__init__(cfg, vocab, tokenizer)
        rng = np.random.default_rng([cfg.seed, 2])
        modules = dict(self.named_modules())
        for name in adapted_layers(cfg):
            make_lora(modules[name], cfg.lora_rank, cfg.lora_alpha, rng)
        freeze(self)

    @classmethod
    def param_shapes(cls, cfg: LoRAConfig) -> ps.Shapes:  # type: ignore[override]
        return {**TransformerLM.param_shapes(cfg), **adapter_shapes(cfg)}

    @property
    def name(self) -> str:
        return f"{super().name} + LoRA r={self.cfg.lora_rank} on {self.cfg.lora_targets}"

    # ---- trainable = adapters; files = everything ----------------------------------------------------------
    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        return ((n, p) for n, p in Module.named_parameters(self) if is_adapter(n))

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {n: p.data for n, p in Module.named_parameters(self)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        params = dict(Module.named_parameters(self))
        missing = sorted(set(params) - set(arrays))
        if missing:
            raise ModelFileError(f"model file lacks weights {', '.join(missing[:3])}: re-create it")
        for name, p in params.items():
            p.data[...] = np.asarray(arrays[name]).astype(p.data.dtype)

    def to(self, dtype: np.dtype | type) -> LoRATransformerLM:
        for _, p in Module.named_parameters(self):  # the frozen base too
            p.to(dtype)
        for _, mod in self.named_modules():
            mod._cast_buffers(np.dtype(dtype))
        return self

    def total_parameters(self) -> int:
        return sum(p.size for _, p in Module.named_parameters(self))

    # ---- backward: the tied embedding is frozen, so the lm_head's weight gradient is never formed ------------
    def backward(self, weight: float = 1.0) -> None:  # type: ignore[override]
        from neural.layers import softmax_cross_entropy_backward

        if self._last is None:
            raise RuntimeError("backward() needs a preceding loss() outside no_grad")
        h2, probs, targets, shape = self._last
        self._last = None
        dlogits = softmax_cross_entropy_backward(probs, targets, weight)
        self.hidden_backward((dlogits @ self.wte.weight.data).reshape(shape))

    # ---- adapters in and out ------------------------------------------------------------------------------
    def adapter_arrays(self) -> dict[str, np.ndarray]:
        return {n: p.data for n, p in self.named_parameters()}

    def merged(self) -> TransformerLM:
        """A plain TransformerLM with W0 + (alpha / r) A B in every adapted projection."""
        out = TransformerLM(self.cfg.base(), self.vocab, self.tokenizer)
        arrays = {n: p.data.copy() for n, p in Module.named_parameters(self) if not is_adapter(n)}
        for name, mod in self.named_modules():
            if isinstance(mod, LoRALinear):
                arrays[f"{name}.weight"] += mod.delta()
        out.to(self.dtype)
        out.load_state_arrays(arrays)
        out.eval()
        return out


def lora_from_base(base: TransformerLM, rank: int, alpha: float, targets: str, seed: int,
                   base_hash: str = "") -> LoRATransformerLM:
    """A LoRA model over a copy of `base`'s weights (fresh adapters drawn with `seed`)."""
    cfg = LoRAConfig(**{**asdict(base.cfg), "seed": seed, "lora_rank": rank, "lora_alpha": float(alpha),
                        "lora_targets": ",".join(parse_targets(targets)), "base_hash": base_hash})
    problems = cfg.problems()
    if problems:
        raise ValueError("; ".join(problems))
    model = LoRATransformerLM(cfg, base.vocab, base.tokenizer).to(base.dtype)
    model.load_state_arrays({**base.state_arrays(), **model.adapter_arrays()})
    return model


def full_finetune_model(base: TransformerLM, seed: int, dropout: float | None = None) -> TransformerLM:
    """A trainable copy of `base` (rank 0: every weight trains)."""
    changes: dict[str, Any] = {"seed": seed}
    if dropout is not None:
        changes["dropout"] = dropout
    cfg = TransformerConfig(**{**asdict(base.cfg), **changes})
    model = TransformerLM(cfg, base.vocab, base.tokenizer).to(base.dtype)
    model.load_state_arrays(base.state_arrays())
    return model
