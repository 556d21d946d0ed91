"""The tokenizer.json pipeline components (normalizer, pre_tokenizer, post_processor, decoder, model): their
shared base, the registry that builds each kind from its JSON object by HF's "type", and the one place that
reads their typed fields and turns a wrong one into a one-line `ModelFileError`."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import regex

from tokenizers_kit.errors import ModelFileError

_KIND_NAMES = {bool: "true or false", str: "a string", int: "an integer"}
_SURROGATE_ESCAPE = regex.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def parse_json(text: str, source: str) -> Any:
    """The JSON of a tokenizer file (tokenizer.json, GPT-2 vocab.json), read as strictly as HF's serde does:
    no NaN/Infinity, no key twice in one object, no lone surrogate; every failure one ModelFileError."""
    try:
        data = json.loads(text, parse_constant=_no_constant(source), object_pairs_hook=_unique_keys(source))
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        hint = "the file is truncated" if err.pos >= len(text.rstrip()) else "the file is corrupt"
        raise ModelFileError(f"{source} is not valid JSON ({err.msg} at {where}): {hint}; "
                             "re-create it with `tkit train tokenizer`") from None
    except ValueError:  # int() refuses a literal of thousands of digits
        raise ModelFileError(f"{source} holds a number with thousands of digits: the file is corrupt") from None
    except RecursionError:
        raise ModelFileError(f"{source} nests JSON too deeply to be a tokenizer file: the file is corrupt") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then pay for a check of every string
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ModelFileError(f"{source} escapes a lone UTF-16 surrogate (\\ud800-\\udfff): not valid Unicode; "
                                 "the file is corrupt") from None
    return data


def _no_constant(source: str) -> Callable[[str], Any]:
    def refuse(name: str) -> Any:
        raise ModelFileError(f"{source} holds {name}, which JSON does not allow: the file is corrupt")
    return refuse


def _unique_keys(source: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise ModelFileError(f"{source}: key {twice[:60]!r} appears twice in one JSON object: the file is "
                                 "corrupt")
        return out
    return build


class JsonComponent:
    """A stage written as `{"type": ..., fields}`; equality and repr follow `to_dict`, so two stages are equal
    exactly when they would be saved alike."""

    type: ClassVar[str] = ""
    stage: ClassVar[str] = "component"  # the kind, as messages name it ("normalizer", "pre-tokenizer", ...)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The stage from its JSON object (whose "type" is `cls.type`); stages without settings ignore it."""
        return cls()

    @classmethod
    def where(cls) -> str:
        """How error messages name this stage, e.g. "Split pre-tokenizer"."""
        return f"{cls.type} {cls.stage}"

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


C = TypeVar("C")


class Registry(Generic[C]):
    """The builders of one kind of stage, keyed by HF's "type" tag; `build` is that kind's `*_from_dict`.
    Classes join with the `register` decorator (their `type` and `from_dict`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # the tokenizer.json key, e.g. "pre_tokenizer"
        self.builders: dict[str, Callable[[dict[str, Any]], C]] = {}

    def register(self, cls: type[Any]) -> type[Any]:
        if cls.type in self.builders:
            raise ValueError(f"two {self.kind} builders for type {cls.type!r}")
        self.builders[cls.type] = cls.from_dict
        return cls

    def names(self) -> str:
        """The types this registry reads, for messages: "A, B and C"."""
        names = list(self.builders)
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)

    def build(self, data: Any, kind: str | None = None) -> C | None:
        """The stage for a JSON object (None for null), by its "type" (or by `kind` when the caller knows it)."""
        if kind is None:
            kind = component_type(data, self.kind)
            if kind is None:
                return None
        builder = self.builders.get(kind) if isinstance(kind, str) else None  # a file may give any JSON value
        if builder is None:
            raise ModelFileError(f"unsupported {self.kind} type {str(kind)[:60]!r}: tkit reads {self.names()}")
        return builder(data)


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


class ByteLevelFields(JsonComponent):
    """HF's three ByteLevel flags and their JSON, shared by the pre-tokenizer, the decoder and the
    post-processor of that name (each stage uses the flags it needs)."""

    type = "ByteLevel"
    add_prefix_space: bool
    trim_offsets: bool
    use_regex: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        where = cls.where()
        return cls(field(data, "add_prefix_space", bool, True, where), field(data, "trim_offsets", bool, True, where),
                   field(data, "use_regex", bool, True, where))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "add_prefix_space": self.add_prefix_space, "trim_offsets": self.trim_offsets,
                "use_regex": self.use_regex}
