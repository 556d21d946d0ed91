"""pyctcdecode as a client of ngram.kenlm: the same decoder built over the real `kenlm` and over ngram.kenlm gives
identical beams (text, frames, logit and LM scores, LM state hash) on generated logits where the LM matters.

The labels are the characters of the model's own vocabulary; each generated utterance spells in-vocabulary
words, and at one letter of each word a second letter that also spells an in-vocabulary word gets nearly the
same probability, so the acoustic scores leave a choice that the LM makes. pyctcdecode requires NumPy < 2: it is
a peer of the py310-oldest suite (tests/peers.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.kenlm as ours
from tests.kenlm.cases import FIXTURES
from tests.peers import require_peer

KINDS = ["w3.arpa.gz", "w3.probing", "w5.trie"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _rivals(vocab: list[str]) -> dict[str, list[tuple[int, str]]]:
    """word -> [(position, letter)] such that the word with that letter there is also in the vocabulary."""
    words = {w for w in vocab if 3 <= len(w) <= 6 and set(w) <= set(LETTERS)}
    out: dict[str, list[tuple[int, str]]] = {}
    for w in sorted(words):
        alts = [(i, c) for i in range(len(w)) for c in LETTERS if c != w[i] and w[:i] + c + w[i + 1:] in words]
        if alts:
            out[w] = alts
    return out


_setup: dict = {}


def vocab() -> tuple[list[str], dict[str, list[tuple[int, str]]], list[str]]:
    """(the model's words, their rivals, the CTC labels: blank, space and the rivals' letters)."""
    if not _setup:
        words = ours.Model(str(FIXTURES / "w3.arpa.gz")).vocabulary()
        rivals = _rivals(words)
        _setup["v"] = (words, rivals, ["", " "] + sorted({c for w in rivals for c in w}))
    return _setup["v"]


def _frame(probs: dict[str, float]) -> np.ndarray:
    labels = vocab()[2]
    row = np.full(len(labels), 1e-4)
    for label, p in probs.items():
        row[labels.index(label)] = p
    return np.log(row / row.sum())


def _logits(words: list[str], swaps: list[int], closeness: list[float]) -> np.ndarray:
    rivals = vocab()[1]
    frames = []
    for k, word in enumerate(words):
        at, rival = rivals[word][swaps[k] % len(rivals[word])]
        for i, c in enumerate(word):
            frames.append(_frame({c: 0.5, rival: 0.5 * closeness[k]} if i == at else {c: 0.9}))
            frames.append(_frame({"": 0.9}))
        frames.append(_frame({" ": 0.9}))
    return np.stack(frames[:-1])


def _decoders(name: str):
    kenlm = require_peer("kenlm")
    pyctcdecode = require_peer("pyctcdecode")
    from pyctcdecode import decoder, language_model

    path = str(FIXTURES / name)
    words, _, labels = vocab()
    real = pyctcdecode.build_ctcdecoder(labels, kenlm_model_path=path, unigrams=words)
    mp = pytest.MonkeyPatch()
    try:  # the same as sys.modules["kenlm"] = ngram.kenlm before pyctcdecode is imported
        mp.setattr(decoder, "kenlm", ours)
        mp.setattr(language_model, "kenlm", ours)
        mine = pyctcdecode.build_ctcdecoder(labels, kenlm_model_path=path, unigrams=words)
        plain = pyctcdecode.build_ctcdecoder(labels)
    finally:
        mp.undo()
    return real, mine, plain, kenlm, language_model


_cache: dict = {}


def decoders(name: str):
    if name not in _cache:
        _cache[name] = _decoders(name)
    return _cache[name]


def _beams(decoder_, logits: np.ndarray, module, language_model) -> list[tuple]:
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(language_model, "kenlm", module)  # where pyctcdecode makes its empty kenlm.State()
        beams = decoder_.decode_beams(logits, beam_width=16)
    finally:
        mp.undo()
    return [(text, hash(state), frames, logit_score.hex(), lm_score.hex())
            for text, state, frames, logit_score, lm_score in beams]


def _same_beams(name: str, words: list[str], swaps: list[int], closeness: list[float]) -> bool:
    """Asserts both decoders give the same beams; True when the LM changed the top text from the LM-free one."""
    real, mine, plain, kenlm, language_model = decoders(name)
    logits = _logits(words, swaps, closeness)
    want = _beams(real, logits, kenlm, language_model)
    assert _beams(mine, logits, ours, language_model) == want
    return want[0][0] != plain.decode(logits)


@pytest.mark.parametrize("name", KINDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pyctcdecode_decodes_identically_over_ngram_kenlm(name, data):
    require_peer("pyctcdecode")
    rivals = vocab()[1]
    words = data.draw(st.lists(st.sampled_from(sorted(rivals)), min_size=1, max_size=5))
    swaps = data.draw(st.lists(st.integers(0, 50), min_size=len(words), max_size=len(words)))
    closeness = data.draw(st.lists(st.floats(0.6, 1.2), min_size=len(words), max_size=len(words)))
    _same_beams(name, words, swaps, closeness)


def test_the_lm_changes_some_decodes():
    """The generated utterances are ones where the LM matters: it changes the top beam in some, not all."""
    require_peer("pyctcdecode")
    rng = np.random.default_rng(15)
    rivals = sorted(vocab()[1])
    changed = []
    for _ in range(20):
        n = int(rng.integers(1, 5))
        words = [rivals[i] for i in rng.integers(0, len(rivals), n)]
        changed.append(_same_beams("w3.probing", words, rng.integers(0, 50, n).tolist(),
                                   rng.uniform(0.6, 1.2, n).tolist()))
    assert any(changed) and not all(changed), changed
