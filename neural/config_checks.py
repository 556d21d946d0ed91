"""Type and range checks of a config record read from a file, derived from its dataclass's fields.

A field's type comes from its annotation's default value (bool, int, float or str); its range from the
field's metadata: `min`/`max` (inclusive) and `max_open`, or `choices` (and a `label` for messages) for a str. Ints default to [1, 2**31):
every size in a model config must be positive, and anything larger is refused before it can reach NumPy.
The config's own `problems()` adds the checks that involve several fields (heads must divide the width).
"""
from __future__ import annotations

import math
from dataclasses import MISSING, fields
from typing import Any

INT_MAX = 2**31 - 1
SEED = {"min": 0, "max": 2**63 - 1}              # what np.random.default_rng accepts
DROPOUT = {"min": 0.0, "max": 1.0, "max_open": True}


def _kind(value: Any) -> str:
    return type(value).__name__


def field_problem(name: str, value: Any, default: Any, meta: Any) -> str | None:
    """What is wrong with one field's value, judged by the type of its default and its metadata."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{name} must be true or false, not {_kind(value)}"
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be an integer, not {_kind(value)}"
        lo, hi = meta.get("min", 1), meta.get("max", INT_MAX)
        return None if lo <= value <= hi else f"{name} must be in [{lo}, {hi}] (got {value})"
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name} must be a number, not {_kind(value)}"
        lo, hi = meta.get("min", -math.inf), meta.get("max", math.inf)
        ok = math.isfinite(value) and lo <= value and (value < hi if meta.get("max_open") else value <= hi)
        return None if ok else f"{name} must be a finite number in [{lo}, {hi}{')' if meta.get('max_open') else ']'}" \
                               f" (got {value})"
    if isinstance(default, str):
        choices = meta.get("choices")
        if not isinstance(value, str):
            return f"{name} must be a string, not {_kind(value)}"
        if choices is None or value in choices:
            return None
        return f"unknown {meta.get('label', name)} {value[:40]!r}: choose {', '.join(choices)}"
    return None


def config_problems(config_cls: type, raw: Any, extra_meta: dict[str, dict] | None = None) -> list[str]:
    """Everything wrong with `raw` as a `config_cls` record (unknown keys are ignored, missing ones take
    their defaults); `extra_meta` adds ranges for a dataclass that carries none in its fields."""
    if not isinstance(raw, dict):
        return [f"the config must be a JSON object, not {_kind(raw)}"]
    out = []
    for f in fields(config_cls):
        if f.name in raw and f.default is not MISSING:
            meta = {**f.metadata, **(extra_meta or {}).get(f.name, {})}
            problem = field_problem(f.name, raw[f.name], f.default, meta)
            if problem:
                out.append(problem)
    if out:
        return out
    cfg = config_cls(**{f.name: raw[f.name] for f in fields(config_cls) if f.name in raw})
    return list(cfg.problems()) if hasattr(cfg, "problems") else []
