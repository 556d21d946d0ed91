"""Where a Tokenizer may cut a long line without changing its ids (used by tokenizers_kit.long_lines).

The cut is before a ' ' that follows a non-space character. It is exact when each stage of the pipeline
treats the two sides independently; the checks below accept only stages for which that holds (see the
reasons beside each) and refuse everything else, so an unknown pipeline keeps its lines whole.
"""
from __future__ import annotations

from typing import Any

from tokenizers_kit import normalizers as nz
from tokenizers_kit import pre_tokenizers as pt

# Normalizers whose output at such a cut is the concatenation of both sides': per-character maps, and the
# Unicode forms (' ' is a starter that composes with nothing, so no reordering or composition crosses it).
_LOCAL_NORMALIZERS = (nz.NFC, nz.NFD, nz.NFKC, nz.NFKD, nz.BertNormalizer, nz.Lowercase, nz.StripAccents, nz.Nmt)
# Pre-tokenizers that always put a chunk boundary before such a ' ' and never look across it.
_CUTTING = (pt.BertPreTokenizer, pt.Whitespace, pt.WhitespaceSplit)
# Pre-tokenizers that only split further, deciding per character.
_LOCAL_SPLITS = (pt.Digits, pt.Punctuation, pt.CharDelimiterSplit)
_UNSAFE = object()


def _flat(norm: nz.Normalizer | None) -> list[nz.Normalizer]:
    if norm is None:
        return []
    if isinstance(norm, nz.Sequence):
        return [n for inner in norm.normalizers for n in _flat(inner)]
    return [norm]


def _local(norm: nz.Normalizer) -> bool:
    if isinstance(norm, nz.Replace):  # a literal with no ' ' after its first character cannot straddle the cut
        literal = norm.pattern.get("String")
        return literal is not None and " " not in literal[1:]
    return isinstance(norm, _LOCAL_NORMALIZERS)


def continuation_normalizer(norm: nz.Normalizer | None) -> Any:
    """The normalizer for a line's continuing parts: the same stages without a leading Prepend (which adds
    its text at the line's start only); `_UNSAFE` when some stage is not local at the cut."""
    stages = _flat(norm)
    if stages and isinstance(stages[0], nz.Prepend):
        stages = stages[1:]
    if not all(map(_local, stages)):
        return _UNSAFE
    if not stages:
        return None
    return stages[0] if len(stages) == 1 else nz.Sequence(stages)


def _cuts_at_space(pre: pt.PreTokenizer) -> bool:
    if isinstance(pre, _CUTTING):
        return True
    if isinstance(pre, pt.ByteLevel):  # the GPT-2 pattern: no alternative matches a non-space then ' '
        return pre.use_regex
    if isinstance(pre, pt.Metaspace):  # ' ' becomes the replacement, and each replacement starts a chunk
        return pre.split_on_replacement
    if isinstance(pre, pt.Split):  # the GPT-2/GPT-4 patterns only (same reason as ByteLevel)
        return pre.pattern.get("Regex") in pt.PATTERNS.values() and pre.behavior == "Isolated" \
            and not pre.invert
    return False


def _pre_tokenizer_ok(pre: pt.PreTokenizer) -> bool:
    if isinstance(pre, pt.Sequence):
        inner = pre.pretokenizers
        return any(map(_cuts_at_space, inner)) and all(_cuts_at_space(p) or isinstance(p, _LOCAL_SPLITS)
                                                       for p in inner)
    return _cuts_at_space(pre)


def _added_ok(tok: Any) -> bool:
    """No added token can straddle the cut: none holds ' ' (or '▁', after normalization) after its first
    character, and none swallows the spaces after it (rstrip)."""
    return not any(t.rstrip or " " in t.content[1:] or "\u2581" in t.content[1:] for t in tok.added.tokens)


def cut_kind(tok: Any) -> str | None:
    """"any", "space" or None for a Tokenizer (see Tokenizer.windowable)."""
    rest = continuation_normalizer(tok.normalizer)
    if rest is _UNSAFE or not _added_ok(tok):
        return None
    pre = tok.pre_tokenizer
    if pre is not None:
        return "space" if _pre_tokenizer_ok(pre) else None
    if tok._subchunk is list:  # one token per character
        # anywhere, unless an added token could straddle the cut ("<unk>" spelled in the text)
        return "any" if tok.normalizer is None and not tok.added.tokens else "space"
    if tok._subchunk is not None:  # the model's input is cut before each '▁': ' ' must become one, and
        # nothing else may (a '▁' made from the character before the cut would join the run after it)
        space = rest.normalize_str(" ") if rest is not None else " "
        others = any(isinstance(n, nz.Replace) and "\u2581" in n.content and n.pattern.get("String") != " "
                     for n in _flat(tok.normalizer))
        return "space" if space.startswith("\u2581") and not others else None
    return None
