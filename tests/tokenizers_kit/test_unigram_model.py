"""The Unigram model: HF encoding parity, byte fallback, the lattice (Viterbi, forward-backward, 2-best) checked
against brute force, sampling, and the tokenizer.json model object."""
from __future__ import annotations

import functools
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.unigram import UnigramModel, byte_piece
from tokenizers_kit.trainers.unigram import UnigramTrainer
from tokenizers_kit.unigram_lattice import CorpusLattice, second_best

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
SP = "\u2581"
HARD = [
    "héllo wörld 😀🎉 日本語のテキスト ☃☃ x", "  leading and  double  spaces  ",
    "<unk> <0x41> ▁▁ ▁",
    "aaaa----....!!!!  -- --- ----", "e\u0301 a\u0308 combining", "tab\there ctl\x01\x7f", "x" * 300,
    "Ω≈ç√∫˜µ≤≥÷ ЖЖЖ ไทย 한국어", "",
]


@functools.lru_cache(maxsize=None)
def _lines(start: int, stop: int) -> tuple[str, ...]:
    with open(SHAKESPEARE, encoding="utf-8") as f:
        return tuple(f.read().split("\n")[start:stop])


def _word_chunks(lines) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        for w in line.split(" "):
            if w:
                counts[SP + w] = counts.get(SP + w, 0) + 1
    return counts


@functools.lru_cache(maxsize=None)
def _trained_vocab() -> tuple[tuple[str, float], ...]:
    model = UnigramTrainer(1500).train(_word_chunks(_lines(0, 8000)))
    return tuple(model.vocab)


def _vocab(byte_fallback: bool, inner_space: bool) -> list[tuple[str, float]]:
    vocab = list(_trained_vocab())
    if inner_space:  # pieces with "▁" inside: the model must not cut lines before "▁"
        vocab += [(f"{SP}of{SP}the", -6.0), (f"s{SP}", -7.0), (f"{SP}{SP}", -5.0)]
    if byte_fallback:
        vocab += [(byte_piece(b), -12.0) for b in range(256) if b != 0xE6]  # one byte missing: unk instead
    return vocab


def _hf_tokenizer(vocab, byte_fallback: bool, split: bool):
    tokenizers = require_peer("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.Unigram(vocab, 0, byte_fallback))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always", split=split)
    return tok


@pytest.mark.parametrize("split", [True, False], ids=["words", "lines"])
@pytest.mark.parametrize("byte_fallback", [False, True], ids=["unk", "bytes"])
@pytest.mark.parametrize("inner_space", [False, True], ids=["prefix-space", "inner-space"])
def test_ids_equal_hf_on_held_out_lines(split: bool, byte_fallback: bool, inner_space: bool) -> None:
    vocab = _vocab(byte_fallback, inner_space)
    hf = _hf_tokenizer(vocab, byte_fallback, split)
    ours = UnigramModel(vocab, unk_id=0, byte_fallback=byte_fallback)
    assert ours._cut_at_space == (not inner_space)
    lines = list(_lines(160000, 162000)) + HARD
    for line in lines:
        chunks = [c for c, _ in hf.pre_tokenizer.pre_tokenize_str(line)]
        ids = [t[0] for c in chunks for t in ours.tokenize(c)]
        assert ids == hf.encode(line).ids, line


def test_offsets_match_hf_char_offsets() -> None:
    vocab = _vocab(True, False)
    hf = _hf_tokenizer(vocab, True, False)
    ours = UnigramModel(vocab, unk_id=0, byte_fallback=True)
    for line in ["Thou art 😀 a ☃ villain", "日本 x"]:
        (chunk, _), = hf.pre_tokenizer.pre_tokenize_str(line)
        enc = hf.encode(line)
        # HF offsets are in the original line; the chunk is "▁" + line with spaces replaced (same length + 1).
        assert [(i, s - 1 if s else 0, e - 1) for i, s, e in ours.tokenize(chunk)][1:] == \
            [(i, s, e) for i, (s, e) in zip(enc.ids, enc.offsets)][1:]


def test_hf_tie_rule_and_unk_fusion() -> None:
    vocab = [("<unk>", 0.0), ("a", -1.0), ("aa", -2.0), ("b", -1.0), ("ab", -2.0), ("xx", -100.0)]
    m = UnigramModel(vocab)
    # a+aa and aa+a tie: the path whose last piece starts earliest wins (HF keeps the first candidate).
    assert [t[0] for t in m.tokenize("aaa")] == [1, 2]
    assert m.tokenize("azzb") == [(1, 0, 1), (0, 1, 3), (3, 3, 4)]  # two unknown chars fused into one unk
    assert m.tokenize("") == []
    # "xx" is a piece but two unknown "x" score better than it: the fused string is looked up as HF does.
    assert m.tokenize("xx") == [(5, 0, 2)]


def test_byte_fallback_for_unseen_characters() -> None:
    vocab = [("<unk>", 0.0)] + [(byte_piece(b), 0.0) for b in range(256)] + [("a", -1.0), ("b", -1.0)]
    m = UnigramModel(vocab, unk_id=0, byte_fallback=True)
    tokens = m.tokenize("a😀日b")
    utf8 = "😀日".encode()
    assert [t[0] for t in tokens] == [257] + [1 + b for b in utf8] + [258]
    assert all((s, e) == (1, 3) for _, s, e in tokens[1:-1])  # bytes share the fused string's offsets
    m_no = UnigramModel(vocab, unk_id=0, byte_fallback=False)
    assert [t[0] for t in m_no.tokenize("a😀日b")] == [257, 0, 258]


def test_missing_unk_id_is_a_clear_error() -> None:
    m = UnigramModel([("a", -1.0)], unk_id=None)
    assert m.tokenize("aa") == [(0, 0, 1), (0, 1, 2)]
    with pytest.raises(TkitError, match="no unk_id"):
        m.tokenize("ab")


def test_cut_lines_equal_whole_line_viterbi() -> None:
    m = UnigramModel(_vocab(False, False))
    assert m._cut_at_space
    for line in _lines(162000, 162300):
        chunk = SP + line.replace(" ", SP)
        path, _ = m._viterbi(chunk)
        assert m.tokenize(chunk) == m._to_tokens(chunk, path)


# ---- the model object --------------------------------------------------------------------------------------

def test_to_dict_is_hf_model_object_and_round_trips() -> None:
    tokenizers = require_peer("tokenizers")
    vocab = [("<unk>", 0.0), ("▁a", -1.5), ("b", -2.25)]
    m = UnigramModel(vocab, unk_id=0, byte_fallback=True)
    d = m.to_dict()
    assert list(d) == ["type", "unk_id", "vocab", "byte_fallback"]
    hf_model = json.loads(tokenizers.Tokenizer(tokenizers.models.Unigram(vocab, 0, True)).to_str())["model"]
    assert d == hf_model
    back = UnigramModel.from_dict(json.loads(json.dumps(d)))
    assert back.vocab == m.vocab and back.unk_id == 0 and back.byte_fallback
    assert back.get_vocab() == {"<unk>": 0, "▁a": 1, "b": 2}
    assert back.id_to_token(2) == "b" and back.id_to_token(3) is None and back.token_to_id("zz") is None
    assert back.get_vocab_size() == 3


@pytest.mark.parametrize("data", [
    [], {"type": "BPE", "vocab": {}}, {"type": "Unigram", "vocab": {"a": 1}},
    {"type": "Unigram", "vocab": [["a"]]}, {"type": "Unigram", "vocab": [["a", "x"]]},
    {"type": "Unigram", "vocab": [[1, 0.0]]}, {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 3},
    {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": -1}, {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": "0"},
    {"type": "Unigram", "vocab": [["a", 0.0]], "byte_fallback": "yes"}, {"type": "Unigram", "vocab": [["a", True]]},
])
def test_corrupt_model_objects_raise_one_line_errors(data) -> None:
    with pytest.raises(ModelFileError) as err:
        UnigramModel.from_dict(data)
    assert "\n" not in str(err.value)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(TkitError):
        UnigramModel([], unk_id=0)
    with pytest.raises(TkitError):
        UnigramModel([("a", 0.0)], unk_id=1)
    with pytest.raises(TkitError):
        UnigramModel([("a", float("nan"))])
    with pytest.raises(TkitError):
        UnigramModel([("a", 0.0, 1)])
    with pytest.raises(TkitError):
        UnigramModel([(3, 0.0)])
    with pytest.raises(TkitError):
        UnigramModel([("a", 0.0)]).sample("a", -1.0, np.random.default_rng(0))


# ---- brute force references ----------------------------------------------------------------------------------

def _segmentations(text: str, pieces: dict[str, float]):
    """Every segmentation of `text` into pieces, with its score."""
    if not text:
        yield (), 0.0
        return
    for k in range(1, len(text) + 1):
        head = text[:k]
        if head in pieces:
            for rest, score in _segmentations(text[k:], pieces):
                yield (head, *rest), pieces[head] + score


_ALPHABET = "ab▁"
_piece_scores = st.dictionaries(st.text(_ALPHABET, min_size=2, max_size=4), st.floats(-8.0, -0.1), max_size=12)
_char_scores = st.tuples(*[st.floats(-8.0, -0.1) for _ in _ALPHABET])


@settings(max_examples=60, deadline=None)
@given(_piece_scores, _char_scores, st.text(_ALPHABET, min_size=1, max_size=9))
def test_viterbi_finds_a_best_segmentation(pieces, chars, text) -> None:
    scores = dict(zip(_ALPHABET, chars)) | pieces
    m = UnigramModel([("<unk>", 0.0)] + list(scores.items()))
    got = [text[s:e] for _, s, e in m.tokenize(text)]
    best = max(score for _, score in _segmentations(text, scores))
    assert "".join(got) == text
    assert math.isclose(sum(scores[p] for p in got), best, abs_tol=1e-9)


def _table(joined: str, vocab: list[str], max_len: int = 4) -> np.ndarray:
    """table[p, L-1] = id of the piece joined[p:p+L] (brute force)."""
    index = {p: i for i, p in enumerate(vocab)}
    table = np.full((len(joined), max_len), -1, dtype=np.int32)
    for p in range(len(joined)):
        for ln in range(1, max_len + 1):
            w = joined[p:p + ln]
            table[p, ln - 1] = index.get(w, -1) if "\0" not in w and len(w) == ln else -1
    return table


def _lattice(segments: list[str], counts: list[float], vocab: list[str]):
    """A CorpusLattice over `segments` with `vocab` as the pieces, and its table."""
    begin = np.cumsum([0] + [len(s) + 1 for s in segments[:-1]]).astype(np.int64)
    length = np.array([len(s) for s in segments], dtype=np.int64)
    table = _table("".join(s + "\0" for s in segments), vocab)
    return CorpusLattice(begin, length, np.array(counts, dtype=np.float64), table), table


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("ab▁", min_size=1, max_size=8), min_size=1, max_size=4), _piece_scores, _char_scores)
def test_forward_backward_marginals_are_exact(segments, pieces, chars) -> None:
    scores = dict(zip(_ALPHABET, chars)) | {p: s for p, s in pieces.items() if len(p) <= 4}
    vocab = list(scores)
    counts = [float(i + 1) for i in range(len(segments))]
    lat, _ = _lattice(segments, counts, vocab)
    score = np.array([scores[p] for p in vocab])
    post, log_z = lat.posteriors(score)
    nodes = lat.nodes
    # Every character is covered by exactly one piece of a segmentation: its covering posteriors sum to 1.
    for s, b in enumerate(lat.begin):
        for k in range(b, b + len(segments[s])):
            cover = (nodes.start <= k) & (nodes.end > k)
            assert math.isclose(post[cover].sum(), 1.0, rel_tol=1e-4)
    # Expected counts and log Z equal brute-force enumeration.
    expected, _ = lat.expected_counts(score)
    brute = np.zeros(len(vocab))
    for s, seg in enumerate(segments):
        paths = list(_segmentations(seg, scores))
        z = np.logaddexp.reduce([sc for _, sc in paths])
        assert math.isclose(log_z[s], z, rel_tol=1e-5, abs_tol=1e-4)
        for path, sc in paths:
            for p in path:
                brute[vocab.index(p)] += counts[s] * math.exp(sc - z)
    np.testing.assert_allclose(expected, brute, rtol=1e-4, atol=1e-5)
    # Viterbi counts are those of a best segmentation of each segment: their total score is the best one.
    vit = lat.viterbi_counts(score)
    best_total = sum(counts[s] * max(sc for _, sc in _segmentations(seg, scores)) for s, seg in enumerate(segments))
    assert math.isclose(float(np.dot(vit, score)), best_total, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=40, deadline=None)
@given(_piece_scores, _char_scores)
def test_second_best_is_best_segmentation_without_the_piece(pieces, chars) -> None:
    scores = dict(zip(_ALPHABET, chars)) | {p: s for p, s in pieces.items() if len(p) <= 4}
    vocab = list(scores)
    long = [p for p in vocab if len(p) > 1]
    if not long:
        return
    lat, table = _lattice(long, [1.0] * len(long), vocab)
    rep = np.zeros(len(vocab), dtype=np.int64)  # an occurrence of each piece: its own segment
    rep[[vocab.index(p) for p in long]] = lat.begin
    length = np.array([len(p) for p in vocab])
    cand = np.array([vocab.index(p) for p in long])
    score = np.array([scores[p] for p in vocab])
    alt, owner, alt_piece = second_best(table, rep, length, score, np.ones(len(vocab), dtype=bool), cand)
    for i, p in enumerate(long):
        others = [(path, sc) for path, sc in _segmentations(p, scores) if path != (p,)]
        best = max(sc for _, sc in others)
        assert math.isclose(alt[i], best, abs_tol=1e-9)
        got = [vocab[k] for k in alt_piece[owner == i]]
        assert "".join(reversed(got)) == p and math.isclose(sum(scores[g] for g in got), best, abs_tol=1e-9)


# ---- sampling ------------------------------------------------------------------------------------------------

def test_sampling_is_reproducible_and_follows_the_distribution() -> None:
    scores = {"a": -1.0, "b": -1.5, "ab": -2.0, "ba": -2.2, "aba": -2.9}
    m = UnigramModel([("<unk>", 0.0)] + list(scores.items()))
    alpha = 0.7
    draws = [tuple(t[0] for t in m.sample("abab", alpha, np.random.default_rng(s))) for s in range(3)]
    assert draws == [tuple(t[0] for t in m.sample("abab", alpha, np.random.default_rng(s))) for s in range(3)]
    rng = np.random.default_rng(123)
    n = 4000
    seen: dict[tuple[str, ...], int] = {}
    for _ in range(n):
        path = tuple("abab"[s:e] for _, s, e in m.sample("abab", alpha, rng))
        seen[path] = seen.get(path, 0) + 1
    paths = list(_segmentations("abab", scores))
    z = sum(math.exp(alpha * sc) for _, sc in paths)
    for path, sc in paths:
        p = math.exp(alpha * sc) / z
        assert abs(seen.get(path, 0) / n - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-3, path


def test_sampling_with_large_alpha_is_viterbi() -> None:
    m = UnigramModel(_vocab(True, False), byte_fallback=True)
    rng = np.random.default_rng(0)
    for line in list(_lines(162000, 162100)) + ["😀 日本"]:
        chunk = SP + line.replace(" ", SP)
        assert m.sample(chunk, 200.0, rng) == m.tokenize(chunk)
    assert m.sample("", 1.0, rng) == []


def test_sampling_with_small_alpha_varies() -> None:
    m = UnigramModel(_vocab(False, False))
    rng = np.random.default_rng(0)
    chunk = SP + "wherefore" + SP + "art" + SP + "thou" + SP + "Romeo"
    outs = {tuple(t[0] for t in m.sample(chunk, 0.1, rng)) for _ in range(30)}
    assert len(outs) > 5
    for out in itertools.islice(outs, 5):
        assert "".join(m.id_to_token(i) for i in out) == chunk


def test_marginals_stay_exact_on_long_segments() -> None:
    """Rounding must not build up along a 1,500-character segment (the backward pass compounds it)."""
    from tokenizers_kit.unigram_seeds import find_seeds, pack_segments

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghij"), size=rng.integers(2, 7))) for _ in range(200)]
    segments = ["".join(rng.choice(words, size=400)) for _ in range(3)]
    packed = pack_segments(segments, np.ones(3))
    seeds = find_seeds(packed, max_len=16, seed_size=10**6)
    lat = CorpusLattice(packed.begin, packed.length, packed.count, seeds.table)
    post, _ = lat.posteriors(seeds.log_prob)
    nodes = lat.nodes
    cover = np.zeros(lat.n_pos)
    for ln in range(1, 17):
        m = nodes.end - nodes.start == ln
        for k in range(ln):
            np.add.at(cover, nodes.start[m] + k, post[m])
    np.testing.assert_allclose(cover[packed.text > 0], 1.0, atol=1e-6)


def test_tokenize_part_flags_near_ties() -> None:
    """The pipeline cuts lines before "▁" itself and encodes a line whole when a part reports a near tie."""
    m = UnigramModel([("<unk>", 0.0), (SP, -2.0), ("a", -1.0), ("aa", -2.0), (SP + "b", -3.0)])
    assert m.cuts_at_space
    tokens, tied = m.tokenize_part(SP + "aaa")  # a+aa and aa+a score the same
    assert tied and [t[0] for t in tokens] == [1, 2, 3]
    tokens, tied = m.tokenize_part(SP + "b")
    assert not tied and tokens == ((4, 0, 2),)
    assert not UnigramModel([("<unk>", 0.0), (SP, -1.0), ("a" + SP, -1.0)]).cuts_at_space
