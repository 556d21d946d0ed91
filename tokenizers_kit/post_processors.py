"""Post-processors: what `encode(add_special_tokens=True)` puts around a sequence (BERT's [CLS] ... [SEP]), as HF's
`processors` have them, each with its tokenizer.json object. tkit trains tokenizers without one; these read
and apply the ones in HF files, and save them back unchanged.

Only single sequences are encoded here, so a template's "pair" part is kept for saving, not applied. Offsets of
the tokens added get (0, 0), as HF gives them; HF's offset trimming (ByteLevel, RobertaProcessing with
trim_offsets) is not applied.
"""
from __future__ import annotations

import copy
from typing import Any

from tokenizers_kit.encoding import Encoding
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.json_fields import (
    ByteLevelFields,
    JsonComponent,
    Registry,
    field,
    items,
)

Added = list[tuple[int, str]]  # (id, token) pairs put before or after the sequence


class PostProcessor(JsonComponent):
    stage = "post-processor"

    def process(self, enc: Encoding) -> Encoding:
        """The encoding of one sequence with this processor's special tokens added."""
        return enc


POST_PROCESSORS: Registry[PostProcessor] = Registry("post_processor")


def _wrap(enc: Encoding, before: Added, after: Added) -> Encoding:
    return Encoding(
        [i for i, _ in before] + enc.ids + [i for i, _ in after],
        [t for _, t in before] + enc.tokens + [t for _, t in after],
        [(0, 0)] * len(before) + enc.offsets + [(0, 0)] * len(after),
    )


def _token_id(data: dict[str, Any], key: str, where: str) -> tuple[str, int]:
    """A ["token", id] pair."""
    value = data.get(key)
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
            or not isinstance(value[1], int) or isinstance(value[1], bool) or not 0 <= value[1] < 2**32):
        raise ModelFileError(f"{where}: {key!r} must be a [token, id] pair, not {value!r}: the file is corrupt")
    return value[0], value[1]


@POST_PROCESSORS.register
class BertProcessing(PostProcessor):
    """[CLS] A [SEP]."""

    type = "BertProcessing"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BertProcessing:
        where = cls.where()
        return cls(_token_id(data, "sep", where), _token_id(data, "cls", where))

    def __init__(self, sep: tuple[str, int], cls: tuple[str, int]) -> None:
        self.sep, self.cls = tuple(sep), tuple(cls)

    def process(self, enc: Encoding) -> Encoding:
        return _wrap(enc, [(self.cls[1], self.cls[0])], [(self.sep[1], self.sep[0])])

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "sep": list(self.sep), "cls": list(self.cls)}


@POST_PROCESSORS.register
class RobertaProcessing(BertProcessing):
    """<s> A </s> (RoBERTa; a pair would be <s> A </s> </s> B </s>)."""

    type = "RobertaProcessing"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobertaProcessing:
        where = cls.where()
        return cls(_token_id(data, "sep", where), _token_id(data, "cls", where),
                   field(data, "trim_offsets", bool, True, where), field(data, "add_prefix_space", bool, True, where))

    def __init__(self, sep: tuple[str, int], cls: tuple[str, int], trim_offsets: bool = True,
                 add_prefix_space: bool = True) -> None:
        super().__init__(sep, cls)
        self.trim_offsets, self.add_prefix_space = trim_offsets, add_prefix_space

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "trim_offsets": self.trim_offsets, "add_prefix_space": self.add_prefix_space}


@POST_PROCESSORS.register
class ByteLevel(ByteLevelFields, PostProcessor):
    """GPT-2's: adds no tokens (HF uses it to trim offsets)."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True) -> None:
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex


@POST_PROCESSORS.register
class TemplateProcessing(PostProcessor):
    """A template such as [CLS] $A [SEP]: "single" and "pair" are lists of {"SpecialToken": {"id": name}} and
    {"Sequence": {"id": "A"}} items; "special_tokens" maps each name to its "ids" and "tokens"."""

    type = "TemplateProcessing"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateProcessing:
        where = cls.where()
        specials = data.get("special_tokens", {})
        if not isinstance(specials, dict):
            raise ModelFileError(f"{where}: 'special_tokens' must be an object: the file is corrupt")
        pair = items(data, "pair", where) if "pair" in data else None
        return cls(items(data, "single", where), pair, specials)

    def __init__(self, single: list[dict], pair: list[dict] | None, special_tokens: dict[str, dict]) -> None:
        self.single, self.pair = copy.deepcopy(single), copy.deepcopy(pair)
        self.special_tokens = copy.deepcopy(special_tokens)
        self.before, self.after = self._added()

    def _added(self) -> tuple[Added, Added]:
        """The (id, token) pairs the single-sequence template puts before and after the sequence."""
        where = self.where()
        before: Added = []
        after: Added = []
        seen_sequence = False
        for item in self.single:
            if not isinstance(item, dict):
                raise ModelFileError(f"{where}: template items must be objects, not {item!r}: the file is corrupt")
            if "Sequence" in item:
                seen_sequence = True
                continue
            special = item.get("SpecialToken")
            name = special.get("id") if isinstance(special, dict) else None
            spec = self.special_tokens.get(name) if isinstance(name, str) else None
            if not isinstance(spec, dict):
                raise ModelFileError(f"{where}: template item {item!r} names no entry of 'special_tokens': the file "
                                     "is corrupt")
            ids, tokens = spec.get("ids", []), spec.get("tokens", [])
            if not isinstance(ids, list) or not isinstance(tokens, list) or len(ids) != len(tokens) or not all(
                    isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**32 for i in ids) or not all(
                    isinstance(t, str) for t in tokens):
                raise ModelFileError(f"{where}: special token {name!r} needs equally long 'ids' (integers) and "
                                     "'tokens' (strings) lists: the file is corrupt")
            (after if seen_sequence else before).extend(zip(ids, tokens))
        return before, after

    def process(self, enc: Encoding) -> Encoding:
        return _wrap(enc, self.before, self.after) if self.before or self.after else enc

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "single": copy.deepcopy(self.single)}
        if self.pair is not None:
            out["pair"] = copy.deepcopy(self.pair)
        out["special_tokens"] = copy.deepcopy(self.special_tokens)
        return out


@POST_PROCESSORS.register
class Sequence(PostProcessor):
    """Each processor in turn."""

    type = "Sequence"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequence:
        parts = items(data, "processors", cls.where())
        return cls([p for p in map(POST_PROCESSORS.build, parts) if p is not None])

    def __init__(self, processors: list[PostProcessor]) -> None:
        self.processors = list(processors)

    def process(self, enc: Encoding) -> Encoding:
        for p in self.processors:
            enc = p.process(enc)
        return enc

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "processors": [p.to_dict() for p in self.processors]}


def post_processor_from_dict(data: Any) -> PostProcessor | None:
    """HF tokenizer.json "post_processor" object -> PostProcessor (None for null)."""
    return POST_PROCESSORS.build(data)
