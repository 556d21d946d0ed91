"""The tokenizer.json pipeline components (normalizer, pre_tokenizer, decoder): their shared base, and the one
place that reads their typed fields and turns a wrong one into a one-line `ModelFileError`."""
from __future__ import annotations

from typing import Any, ClassVar

from tokenizers_kit.errors import ModelFileError

_KIND_NAMES = {bool: "true or false", str: "a string", int: "an integer"}


class JsonComponent:
    """A stage written as `{"type": ..., fields}`; equality and repr follow `to_dict`, so two stages are equal
    exactly when they would be saved alike."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable settings: not usable as dict keys

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"


def component_type(data: Any, what: str) -> str | None:
    """The "type" tag of a component object, or None for JSON null (no such stage)."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ModelFileError(f"{what} must be an object with a \"type\", not {data!r}: the file is corrupt")
    return data["type"]


def field(data: dict, key: str, kind: type, default: Any, where: str, nullable: bool = False) -> Any:
    """`data[key]` (or `default` when absent), checked to be a `kind` (a bool is not an int here)."""
    value = data.get(key, default)
    if value is None and nullable:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ModelFileError(f"{where}: {key!r} must be {_KIND_NAMES.get(kind, kind.__name__)}, not {value!r}: "
                             "the file is corrupt")
    return value


def items(data: dict, key: str, where: str) -> list:
    """The list of sub-components of a Sequence."""
    value = data.get(key)
    if not isinstance(value, list):
        raise ModelFileError(f"{where}: {key!r} must be a list: the file is corrupt")
    return value


def metaspace_scheme(data: dict) -> Any:
    """Metaspace's scheme; files before tokenizers 0.15 have a boolean add_prefix_space instead."""
    scheme = data.get("prepend_scheme")
    if scheme is None:
        scheme = "always" if data.get("add_prefix_space", True) else "never"
    return scheme
