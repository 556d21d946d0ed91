"""tokenizers_kit: text <-> tokens. The bottom layer of tkit; imports nothing from ngram, neural or cli."""
from __future__ import annotations

from pathlib import Path

from tokenizers_kit.errors import CorpusError, ModelFileError, TkitError
from tokenizers_kit.simple import (
    BUILTIN_TOKENIZERS,
    CharTokenizer,
    TextTokenizer,
    WhitespaceTokenizer,
)

__all__ = [
    "BUILTIN_TOKENIZERS",
    "CharTokenizer",
    "CorpusError",
    "Encoding",
    "ModelFileError",
    "TextTokenizer",
    "TkitError",
    "Tokenizer",
    "WhitespaceTokenizer",
    "load_text_tokenizer",
    "resolve_tokenizer",
    "tokenizer_from_spec",
    "train_tokenizer",
]


def __getattr__(name: str):  # noqa: ANN202 -- lazy, so `import tokenizers_kit` stays light
    if name in ("Tokenizer", "Encoding"):
        from tokenizers_kit import tokenizer

        return getattr(tokenizer, name)
    if name == "train_tokenizer":
        from tokenizers_kit.training import train_tokenizer

        return train_tokenizer
    raise AttributeError(f"module 'tokenizers_kit' has no attribute {name!r}")


def load_text_tokenizer(name_or_path: str) -> TextTokenizer:
    """A built-in tokenizer by name (`whitespace`, `char`) or a tokenizer file (tokenizer.json, vocab.json,
    tiktoken ranks) by path."""
    if name_or_path in BUILTIN_TOKENIZERS:
        return BUILTIN_TOKENIZERS[name_or_path]()
    path = Path(name_or_path)
    if not path.exists():
        names = ", ".join(BUILTIN_TOKENIZERS)
        raise TkitError(f"tokenizer {name_or_path!r} is neither a file nor a built-in ({names}): check the path")
    from tokenizers_kit.tokenizer import Tokenizer  # the trained-tokenizer pipeline

    return Tokenizer.from_file(path)


def resolve_tokenizer(tokenizer: TextTokenizer | str | None, default: str = "whitespace") -> TextTokenizer:
    """What the Python API accepts wherever a tokenizer is asked for: a tokenizer object, a built-in name or
    a tokenizer file's path (`load_text_tokenizer`), or None for the built-in `default`."""
    if tokenizer is None:
        return load_text_tokenizer(default)
    if isinstance(tokenizer, (str, Path)):
        return load_text_tokenizer(str(tokenizer))
    if not hasattr(tokenizer, "tokenize") or not hasattr(tokenizer, "detokenize"):
        raise TypeError(f"tokenizer must be a tokenizer object, a name or a path, not {type(tokenizer).__name__}")
    return tokenizer


def tokenizer_from_spec(spec: str) -> TextTokenizer:
    """Rebuild the tokenizer a model file stored: a built-in name, or the tokenizer.json text itself."""
    if spec in BUILTIN_TOKENIZERS:
        return BUILTIN_TOKENIZERS[spec]()
    from tokenizers_kit.tokenizer import Tokenizer

    return Tokenizer.from_str(spec)
