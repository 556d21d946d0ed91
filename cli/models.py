"""Opening any model file tkit can use, by its kind: n-gram `.npz`/ARPA, or a neural `.npz`."""
from __future__ import annotations

from ngram.lm import LanguageModel
from ngram.npzfile import check_model_file, read_meta
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.simple import TextTokenizer

ARPA_SUFFIXES = (".arpa", ".arpa.gz", ".lm", ".lm.gz")


def load_model(path: str, tokenizer: TextTokenizer | None = None) -> LanguageModel:
    """The language model stored at `path`. ARPA files are word-level unless a tokenizer is given; `.npz`
    models carry their own tokenizer (a given one must then be left out)."""
    p = check_model_file(path)
    if p.name.endswith(ARPA_SUFFIXES):
        from ngram import load_ngram

        return load_ngram(path, tokenizer=tokenizer)
    meta = read_meta(path)
    if tokenizer is not None:
        raise TkitError(f"{path} carries its own tokenizer: drop -t/--tokenizer")
    fmt = meta["format"]
    if fmt == "tkit-ngram":
        from ngram import load_ngram

        return load_ngram(path)
    try:
        from neural import load_model as load_neural
    except ModuleNotFoundError:
        raise ModelFileError(f"{path} is a {fmt} file, which this tkit cannot read") from None
    return load_neural(path)
