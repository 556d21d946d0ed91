"""The causal CNN language model's hyper-parameters, and what follows from them before anything is built:
each layer's dilation and the receptive field (how many past tokens the top layer sees, and so how many
inputs the decoding cache keeps).

`dilations` is text, "1,2,4,8": layer i uses the (i mod n)-th value, so 8 layers over "1,2,4,8" repeat the
series (WaveNet's stacks). More values than layers is an error (they would be silently unused). It is kept as
a string so that `neural.config_checks` types it like every other field; `problems()` parses it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from neural.config_checks import DROPOUT, SEED
from neural.trainable import config_from_dict

MAX_RECEPTIVE_FIELD = 1 << 16   # tokens; bounds the decoding cache and the padding of every layer
DEFAULT_DILATIONS = (1, 2, 4, 8)
_DILATIONS = re.compile(r"[0-9]{1,10}(,[0-9]{1,10})*")


def parse_dilations(text: str) -> list[int]:
    """"1,2,4" -> [1, 2, 4]; ValueError saying what is wrong."""
    if not isinstance(text, str) or not _DILATIONS.fullmatch(text.replace(" ", "")):
        raise ValueError("dilations must be comma-separated positive integers such as 1,2,4,8 "
                         f"(got {str(text)[:40]!r})")
    values = [int(v) for v in text.replace(" ", "").split(",")]
    if min(values) < 1:
        raise ValueError(f"dilations must be positive integers (got {text[:40]!r})")
    return values


def default_dilations(n_layer: int) -> str:
    """1, 2, 4, 8 for the first four layers, repeating after."""
    return ",".join(str(d) for d in DEFAULT_DILATIONS[:n_layer])


@dataclass
class CNNConfig:
    """Field metadata gives the ranges `neural.config_checks` enforces (ints default to >= 1)."""

    vocab_size: int = 65
    n_layer: int = 4           # residual blocks: causal conv -> GLU -> + input
    channels: int = 128        # C: width of the embeddings and of every block
    kernel_size: int = 3       # k taps per convolution
    dilations: str = field(default=",".join(map(str, DEFAULT_DILATIONS)), metadata={"label": "dilations"})
    block_size: int = 64       # training window length T (decoding is unbounded: the cache slides)
    dropout: float = field(default=0.0, metadata=DROPOUT)  # on each block's GLU output
    seed: int = field(default=1337, metadata=SEED)  # initialisation (and dropout) RNG

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CNNConfig:
        return config_from_dict(cls, d)

    def problems(self) -> list[str]:
        """What is wrong beyond single fields' types and ranges."""
        try:
            values = parse_dilations(self.dilations)
        except ValueError as err:
            return [str(err)]
        if len(values) > self.n_layer:
            return [f"dilations lists {len(values)} values for {self.n_layer} layers: give at most one per layer"]
        field_ = receptive_field(self)
        if field_ > MAX_RECEPTIVE_FIELD:
            return [f"the receptive field ((kernel_size - 1) x the sum of the layers' dilations, plus 1) is "
                    f"{field_} tokens; at most {MAX_RECEPTIVE_FIELD} are supported: lower kernel_size, the "
                    "dilations or n_layer"]
        return []


def layer_dilations(cfg: CNNConfig) -> list[int]:
    values = parse_dilations(cfg.dilations)
    return [values[i % len(values)] for i in range(cfg.n_layer)]


def total_padding(cfg: CNNConfig) -> int:
    """sum over layers of (k-1)·dilation: the inputs the decoding cache holds, counted without expanding
    n_layer (a hostile n_layer is never turned into a list)."""
    values = parse_dilations(cfg.dilations)
    full, part = divmod(cfg.n_layer, len(values))
    return (cfg.kernel_size - 1) * (full * sum(values) + sum(values[:part]))


def receptive_field(cfg: CNNConfig) -> int:
    """How many tokens (the current one included) the top layer's output depends on."""
    return total_padding(cfg) + 1
