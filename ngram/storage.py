"""N-gram model files: tkit's `.npz` (meta format "tkit-ngram") and ARPA (`.arpa`, `.arpa.gz`).

`.npz` layout (loaded with allow_pickle=False; see ngram.npzfile):
  meta: {"format": "tkit-ngram", "version": 1, "kind": "counts" | "backoff", "order", "smoothing", "params",
         "prune", "tokenizer" (spec string), "vocab_size"}
  vocab_utf8 (uint8) + vocab_offsets (int64, V+1): the tokens, id order (`<unk> <s> </s>` first)
  kind "counts" (every smoothing): counts_1 (V,), and for n >= 2 keys_n (uint64, sorted) + counts_n (int64):
      the unpruned counts; the smoothing is re-estimated on load (deterministic, a fraction of a second)
  kind "backoff" (a model read from ARPA): keys_n, logp_n, backoff_n (log10, float64)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ngram.arpa import is_arpa_path, read_arpa, write_arpa
from ngram.backoff import BackoffScorer
from ngram.counting import BOS_ID, CountTables
from ngram.model import NgramModel
from ngram.model_meta import VERSION, NgramMeta, bad_model, read_ngram_meta
from ngram.npzfile import load_npz, save_npz
from ngram.smoothing import SMOOTHINGS, Smoothing
from ngram.tables import NgramIndex
from ngram.vocab import SENTENCE_SPECIALS, Vocabulary
from tokenizers_kit import resolve_tokenizer, tokenizer_from_spec
from tokenizers_kit.errors import TkitError
from tokenizers_kit.simple import TextTokenizer

FORMAT = "tkit-ngram"


# ---- checks before long work ----------------------------------------------------------------------------------
def check_model_path(path: str | os.PathLike[str], smoothing: Smoothing | str) -> None:
    """Fail early on an output name tkit cannot write for this smoothing."""
    name = str(path).lower()
    if not (name.endswith(".npz") or is_arpa_path(name)):
        raise TkitError(f"model file {str(path)!r}: use the extension .arpa, .arpa.gz or .npz")
    if is_arpa_path(name):
        cls = SMOOTHINGS[smoothing] if isinstance(smoothing, str) else type(smoothing)
        if not cls.arpa:
            why = ("its scores are not probabilities" if not cls.normalised
                   else "it has no backoff form (an unseen word's probability depends on its context alone)")
            raise TkitError(f"{cls.name} cannot be written as ARPA ({why}): save it as .npz")


# ---- saving ---------------------------------------------------------------------------------------------------
def vocab_arrays(vocab: Vocabulary) -> dict[str, np.ndarray]:
    encoded = [t.encode("utf-8") for t in vocab.tokens]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return {"vocab_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "vocab_offsets": offsets}


def save_ngram(model: NgramModel, path: str | os.PathLike[str]) -> None:
    if getattr(model.scorer, "read_only", False):
        raise TkitError(f"{model.name} is read from a KenLM binary file, which cannot be saved again: "
                        "keep the binary, or save the ARPA model it was built from")
    if is_arpa_path(path):
        if model.smoothing is not None:
            check_model_path(path, model.smoothing)
        if not isinstance(model.scorer, BackoffScorer):
            raise TkitError(f"{model.name} has no backoff form and cannot be written as ARPA: save it as .npz")
        write_arpa(path, model.vocab, model.scorer, model.tokenizer.to_spec())
        return
    if not str(path).lower().endswith(".npz"):
        raise TkitError(f"model file {str(path)!r}: use the extension .arpa, .arpa.gz or .npz")
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "order": model.order,
                            "tokenizer": model.tokenizer.to_spec(), "vocab_size": len(model.vocab),
                            "prune": model.prune}
    arrays = vocab_arrays(model.vocab)
    if model.smoothing is not None and model.counts is not None:
        meta.update(kind="counts", smoothing=model.smoothing.name, params=model.smoothing.params())
        tables = model.counts
        arrays["counts_1"] = tables.counts[1]
        for n in range(2, tables.order + 1):
            arrays[f"keys_{n}"] = tables.index.keys[n]
            arrays[f"counts_{n}"] = tables.counts[n]
    else:
        scorer = model.scorer
        if not isinstance(scorer, BackoffScorer):
            raise TkitError("this model has neither counts nor a backoff form to save")
        meta.update(kind="backoff", smoothing=None, params={})
        for n in range(1, scorer.order + 1):
            if n > 1:
                arrays[f"keys_{n}"] = scorer.index.keys[n]
            arrays[f"logp_{n}"] = scorer.logp[n]
            arrays[f"backoff_{n}"] = scorer.backoff[n]
    save_npz(path, arrays, meta)


# ---- loading --------------------------------------------------------------------------------------------------
_bad = bad_model


def _array(arrays: dict[str, np.ndarray], name: str, path: Path, kind: str, size: int | None = None) -> np.ndarray:
    if name not in arrays:
        raise _bad(path, f"missing array {name}")
    arr = arrays[name]
    if arr.ndim != 1 or arr.dtype.kind != kind or (size is not None and arr.size != size):
        raise _bad(path, f"array {name} has the wrong type or shape")
    return arr


def _load_vocab(arrays: dict[str, np.ndarray], path: Path) -> Vocabulary:
    blob = _array(arrays, "vocab_utf8", path, "u")
    offsets = _array(arrays, "vocab_offsets", path, "i")
    if offsets.size < 4 or offsets[0] != 0 or offsets[-1] != blob.size or np.any(np.diff(offsets) < 0):
        raise _bad(path, "vocabulary offsets")
    data = blob.tobytes()
    try:
        tokens = [data[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    except UnicodeDecodeError:
        raise _bad(path, "vocabulary is not UTF-8") from None
    if tuple(tokens[:3]) != SENTENCE_SPECIALS:
        raise _bad(path, "vocabulary does not start with <unk> <s> </s>")
    return Vocabulary(tokens)


def _load_index(arrays: dict[str, np.ndarray], order: int, v: int, path: Path) -> NgramIndex:
    keys = []
    previous = v
    for n in range(2, order + 1):
        k = _array(arrays, f"keys_{n}", path, "u")
        if k.size and (np.any(k[1:] <= k[:-1]) or int(k[-1] // np.uint64(v)) >= previous):
            raise _bad(path, f"{n}-gram keys are not sorted or point past the {n - 1}-grams")
        keys.append(k)
        previous = k.size
    return NgramIndex(v, keys)


def _resolve(tokenizer: TextTokenizer | str | None, stored: str | None) -> TextTokenizer:
    if tokenizer is not None:
        return resolve_tokenizer(tokenizer)
    return tokenizer_from_spec(stored) if stored else resolve_tokenizer(None)


def load_ngram(path: str | os.PathLike[str], tokenizer: TextTokenizer | str | None = None) -> NgramModel:
    """Open a tkit `.npz` n-gram model or an ARPA file (`.arpa`, `.arpa.gz`; KenLM, SRILM or tkit).

    `tokenizer` overrides the one stored in the file (ARPA files without a tkit header are word-level)."""
    p = Path(path)
    from ngram.kenlm.as_ngram import is_kenlm_binary, load_kenlm_binary

    if is_kenlm_binary(p):  # KenLM's own binary formats, read in place (ngram/kenlm)
        vocab, scorer = load_kenlm_binary(p)
        return NgramModel(vocab, scorer, _resolve(tokenizer, None))
    if is_arpa_path(p) or (p.is_file() and not _is_zip(p)):
        arpa = read_arpa(p)
        return NgramModel(arpa.vocab, arpa.scorer, _resolve(tokenizer, arpa.tokenizer_spec),
                          warnings=arpa.warnings)
    meta, arrays = load_npz(p, FORMAT)
    info = read_ngram_meta(meta, p)
    vocab = _load_vocab(arrays, p)
    if len(vocab) != info.vocab_size:
        raise _bad(p, "vocabulary size")
    index = _load_index(arrays, info.order, info.vocab_size, p)
    tok = _resolve(tokenizer, info.tokenizer)
    try:
        if info.smoothing is not None:
            return _model_from_counts(info, arrays, index, vocab, tok, p)
        logp = [np.empty(0)] + [_array(arrays, f"logp_{n}", p, "f", index.size(n)) for n in range(1, info.order + 1)]
        back = [np.empty(0)] + [_array(arrays, f"backoff_{n}", p, "f", index.size(n))
                                for n in range(1, info.order + 1)]
        return NgramModel(vocab, BackoffScorer(index, logp, back), tok)
    except ValueError as err:
        raise _bad(p, str(err)) from None


def _model_from_counts(info: NgramMeta, arrays: dict[str, np.ndarray], index: NgramIndex, vocab: Vocabulary,
                       tok: TextTokenizer, path: Path) -> NgramModel:
    assert info.smoothing is not None
    counts = [np.empty(0, np.int64)] + [_array(arrays, f"counts_{n}", path, "i", index.size(n))
                                         for n in range(1, index.order + 1)]
    if any(np.any(c < 0) for c in counts):
        raise _bad(path, "negative counts")
    if any(np.any(c < 1) for c in counts[2:]) or not counts[1].any():  # a stored n-gram was seen at least once
        raise _bad(path, "n-grams with a zero count")
    for n in range(2, index.order + 1):
        index.suffix(n)  # raises ValueError when a suffix is missing
    _check_extended(index, counts[1], path)
    tables = CountTables(index, counts)
    estimate = info.smoothing.estimate(tables, info.prune)
    return NgramModel(vocab, estimate.scorer, tok, smoothing=info.smoothing, counts=tables, prune=info.prune,
                      warnings=estimate.warnings, info=dict(estimate.info))


def _first_words(index: NgramIndex, n: int) -> np.ndarray:
    idx = np.arange(index.size(n))
    for level in range(n, 1, -1):
        idx = index.prefix(level)[idx]
    return idx


def _check_extended(index: NgramIndex, unigram_counts: np.ndarray, path: Path) -> None:
    """Counted text gives every seen n-gram below the top order a longer n-gram ending in it, unless it starts
    at `<s>`; Kneser-Ney's continuation counts divide by this (0/0 otherwise), so a file without it is corrupt."""
    for n in range(1, index.order):
        extended = np.zeros(index.size(n), dtype=bool)
        extended[index.suffix(n + 1)] = True
        exempt = unigram_counts == 0 if n == 1 else _first_words(index, n) == BOS_ID
        if n == 1:
            exempt[BOS_ID] = True
        if not np.all(extended | exempt):
            raise _bad(path, f"a {n}-gram is the end of no {n + 1}-gram")


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"
