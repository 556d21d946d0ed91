"""WordPiece: training by unigram log-likelihood gain (default) or by count(ab) / (count(a) count(b)), and
encoding exactly as HF `tokenizers`."""
from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tests.tokenizers_kit.reference_merge import merge_everywhere
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.models.wordpiece import WordPieceModel
from tokenizers_kit.trainers import wordpiece
from tokenizers_kit.trainers.wordpiece import WordPieceTrainer, likelihood_gain

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
HF_WHITESPACE = regex.compile(r"\w+|[^\w\s]+")  # HF's Whitespace pre-tokenizer


def lines_of_shakespeare(start: int, stop: int | None) -> list[str]:
    with open(SHAKESPEARE, encoding="utf-8", newline="") as f:
        return f.read().split("\n")[start:stop]


def word_counts(lines: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(HF_WHITESPACE.findall(line))
    return dict(counts)


def hf_tokenizer(model: WordPieceModel):
    tk = require_peer("tokenizers")
    return tk.Tokenizer.from_str(json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None, "model": model.to_dict(),
    }))


def encode_hf_chunks(model: WordPieceModel, hf, text: str) -> list[int]:
    return [t[0] for piece, _ in hf.pre_tokenizer.pre_tokenize_str(text) for t in model.tokenize(piece)]


@pytest.fixture(scope="module")
def wp_model() -> WordPieceModel:
    return WordPieceTrainer(3000, special_tokens=["[UNK]", "[CLS]", "[SEP]"]).train(
        word_counts(lines_of_shakespeare(0, 30000)))


@pytest.fixture(scope="module")
def hf_wp(wp_model: WordPieceModel):
    return hf_tokenizer(wp_model)


# ---- training ----------------------------------------------------------------------------------------


def test_merges_by_score_not_by_count() -> None:
    """The HF course corpus: BPE would merge (##u, ##g) first (count 20); WordPiece scores (##g, ##s) highest
    (5 / (20 * 5)), then all ##u pairs tie at 1/36 and the smallest pair ids (b, ##u) win."""
    corpus = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    vocab = WordPieceTrainer(17, score="ratio").train(corpus).get_vocab()
    base = ["[UNK]", *"bghnpsu", *("##" + c for c in "bghnpsu")]
    assert list(vocab) == [*base, "##gs", "bu"]


def reference_wordpiece(words: dict[str, int], vocab_size: int, min_frequency: int = 0,
                        score: str = "ratio") -> dict[str, int]:
    """Brute force: recount everything after every merge; ratio: compare exact fractions; likelihood: the gain
    from the recounted units (k = non-overlapping merges, m = the token's current count, N = all units)."""
    chars = sorted(set("".join(words)))
    vocab = {"[UNK]": 0}
    for tok in [*chars, *("##" + c for c in chars)]:
        vocab.setdefault(tok, len(vocab))
    segs = [([vocab[w[0]]] + [vocab["##" + c] for c in w[1:]], n) for w, n in words.items()]
    inverse = {i: t for t, i in vocab.items()}
    while len(vocab) < vocab_size:
        sym: Counter[int] = Counter()
        pairs: Counter[tuple[int, int]] = Counter()
        for seg, n in segs:
            for s in seg:
                sym[s] += n
            for pair in zip(seg, seg[1:]):
                pairs[pair] += n
        live = [p for p, c in pairs.items() if c >= max(min_frequency, 1)]
        if not live:
            break
        if score == "ratio":
            a, b = max(live, key=lambda p: (Fraction(pairs[p], sym[p[0]] * sym[p[1]]), (-p[0], -p[1])))
        else:
            total = sum(sym.values())

            def gain(p: tuple[int, int]) -> float:
                x, y = p
                k = pairs[p] if x != y else sum(n * merges_in(seg, x, y) for seg, n in segs)
                m = sym[vocab[inverse[x] + inverse[y][2:]]] if inverse[x] + inverse[y][2:] in vocab else 0
                return likelihood_gain(sym[x], sym[y], k, m, total, x == y)

            a, b = max(live, key=lambda p: (gain(p), (-p[0], -p[1])))
        token = inverse[a] + inverse[b][2:]
        new = vocab.setdefault(token, len(vocab))
        inverse[new] = token
        merge_everywhere(segs, a, b, new)
    return vocab


def merges_in(seg: list[int], a: int, b: int) -> int:
    """How many times merging (a, b) left to right, without overlap, fires in seg."""
    i = k = 0
    while i < len(seg) - 1:
        if seg[i] == a and seg[i + 1] == b:
            k += 1
            i += 2
        else:
            i += 1
    return k


@settings(max_examples=150, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcd", min_size=1, max_size=8), st.integers(1, 6), min_size=1,
                             max_size=10),
       extra=st.integers(0, 25), min_frequency=st.sampled_from([0, 0, 2, 4]))
def test_lazy_queue_matches_brute_force(words: dict[str, int], extra: int, min_frequency: int) -> None:
    """The incremental counts and the two-level lazy heap pick exactly the pair a full recount picks."""
    size = 1 + 2 * len(set("".join(words))) + extra
    ours = WordPieceTrainer(size, min_frequency=min_frequency, score="ratio").train(words).get_vocab()
    assert ours == reference_wordpiece(words, size, min_frequency)


@settings(max_examples=200, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcd", min_size=1, max_size=9), st.integers(1, 9), min_size=1,
                             max_size=12),
       extra=st.integers(0, 30), min_frequency=st.sampled_from([0, 0, 2, 4]), tight=st.booleans(),
       cold=st.sampled_from([0.0, 0.5, 0.5, math.inf]))
def test_likelihood_queue_matches_brute_force(words: dict[str, int], extra: int, min_frequency: int,
                                              tight: bool, cold: float) -> None:
    """Likelihood score: the lazy heap (keys from count floors or ceilings, exact keys rekeyed when c_a or c_b
    fall, pushes when the made token's count rises, N falling) picks exactly the pair a full recount picks,
    including self pairs (aaa merges once) and tokens that already exist. tight: floor = count, so every
    count fall rekeys (the other extreme from the default 3/4 floors); cold: 0 gives ceiling keys only to
    pairs that cannot gain, inf to every pair (the default gives them to pairs below half the last best)."""
    size = 1 + 2 * len(set("".join(words))) + extra
    queue = wordpiece._GainQueue
    try:
        queue.FLOOR_SHARE = 10**9 if tight else 4
        queue.COLD_SHARE = cold
        ours = WordPieceTrainer(size, min_frequency=min_frequency, score="likelihood").train(words).get_vocab()
    finally:
        queue.FLOOR_SHARE, queue.COLD_SHARE = 4, 0.5
    assert ours == reference_wordpiece(words, size, min_frequency, score="likelihood")


def test_likelihood_vocab_is_pinned(wp_model: WordPieceModel) -> None:
    """The likelihood trainer's output on 30,000 lines, vocab 3000, as the first (slower) queue made it: speed
    work on the queue must not move a single merge (float ties included)."""
    digest = hashlib.sha256(json.dumps(list(wp_model.get_vocab().items())).encode()).hexdigest()
    assert digest == "76fbd685741b6f8b3048d71476353799fb24399ce420eb146c91ae1b0b232280"


def test_likelihood_vocab_is_pinned_on_the_whole_corpus() -> None:
    """The benchmark's job (all of data/shakespeare.txt, vocab 8192): ~8,000 merges, so the pools of cold pairs
    are flushed and refilled many times; the vocabulary is the one the queue made before the pools."""
    model = WordPieceTrainer(8192, special_tokens=["[UNK]"]).train(word_counts(lines_of_shakespeare(0, None)))
    digest = hashlib.sha256(json.dumps(list(model.get_vocab().items())).encode()).hexdigest()
    assert digest == "34721d1962dc36cce69173c5e7184e7e04c1d84cd6625ddee5fd3a2d3a5ba7b4"


def test_likelihood_queue_matches_brute_force_on_real_words() -> None:
    counts = word_counts(lines_of_shakespeare(0, 400))
    ours = WordPieceTrainer(260, score="likelihood").train(counts).get_vocab()
    assert ours == reference_wordpiece(counts, 260, score="likelihood")


@settings(max_examples=300, deadline=None)
@given(ca=st.integers(1, 10**6), cb=st.integers(1, 10**6), k=st.integers(1, 10**6), m=st.integers(0, 10**6),
       rest=st.integers(0, 10**7), self_pair=st.booleans())
def test_likelihood_gain_is_the_log_likelihood_difference(ca, cb, k, m, rest, self_pair) -> None:
    """likelihood_gain == L(after) - L(before), L = sum c log(c / N), recomputed directly."""
    if self_pair:
        cb, k = ca, min(k, ca // 2) or 1
        ca = cb = max(ca, 2 * k)
        before = [ca, m, rest]
        after = [ca - 2 * k, m + k, rest]
    else:
        k = min(k, ca, cb)
        before = [ca, cb, m, rest]
        after = [ca - k, cb - k, m + k, rest]

    def loglik(cs: list[int]) -> float:
        total = sum(cs)
        return math.fsum(c * math.log(c / total) for c in cs if c)

    n = sum(before)
    direct = loglik(after) - loglik(before)
    assert likelihood_gain(ca, cb, k, m, n, self_pair) == pytest.approx(direct, rel=1e-9, abs=1e-6 * n)


def test_likelihood_learns_frequent_words_ratio_does_not() -> None:
    """Why likelihood is the default: the ratio favours rare pairs, so even "the" is not learned."""
    counts = word_counts([line.lower() for line in lines_of_shakespeare(0, 20000)])
    held_out = word_counts([line.lower() for line in lines_of_shakespeare(150000, 152000)])
    models = {s: WordPieceTrainer(2000, score=s).train(counts) for s in ("likelihood", "ratio")}
    assert {"the", "and", "thee"} <= set(models["likelihood"].get_vocab())
    assert "the" not in models["ratio"].get_vocab()
    tokens = {s: sum(n * len(m.tokenize(w)) for w, n in held_out.items()) for s, m in models.items()}
    assert tokens["likelihood"] < 0.75 * tokens["ratio"]


def test_default_score_is_likelihood_and_unknown_scores_are_errors() -> None:
    assert WordPieceTrainer(100).score == "likelihood"
    with pytest.raises(TkitError, match="unknown WordPiece score 'pmi'"):
        WordPieceTrainer(100, score="pmi")


def test_vocab_layout_and_size(wp_model: WordPieceModel) -> None:
    vocab = wp_model.get_vocab()
    assert len(vocab) == 3000 and sorted(vocab.values()) == list(range(3000))
    assert [wp_model.id_to_token(i) for i in range(3)] == ["[UNK]", "[CLS]", "[SEP]"]
    chars = {t for t in vocab if len(t) == 1}
    assert {"##" + c for c in chars} <= set(vocab)  # every char also as a continuation


def test_every_training_word_encodes_without_unk(wp_model: WordPieceModel) -> None:
    for word in list(word_counts(lines_of_shakespeare(0, 30000)))[:3000]:
        assert all(t[0] != 0 for t in wp_model.tokenize(word)), word


def test_deterministic_and_independent_of_word_order() -> None:
    counts = word_counts(lines_of_shakespeare(0, 5000))
    items = list(counts.items())
    random.Random(1).shuffle(items)
    first = WordPieceTrainer(900).train(counts).to_dict()
    assert WordPieceTrainer(900).train(counts).to_dict() == first
    assert WordPieceTrainer(900).train(dict(items)).to_dict() == first


def test_min_frequency_skips_rare_pairs() -> None:
    counts = word_counts(lines_of_shakespeare(0, 5000))
    model = WordPieceTrainer(100_000, min_frequency=30).train(counts)
    assert model.get_vocab_size() < 100_000
    # A token merged from a pair seen >= 30 times occurs >= 30 times in the corpus (as a word start, or
    # inside a word for ## tokens).
    learned = [t for t in model.get_vocab() if len(t.removeprefix("##")) > 1 and t != "[UNK]"]
    assert len(learned) > 50
    for token in learned[::10]:
        if token.startswith("##"):
            seen = sum(n * w[1:].count(token[2:]) for w, n in counts.items())
        else:
            seen = sum(n for w, n in counts.items() if w.startswith(token))
        assert seen >= 30, token


def test_unk_token_is_added_when_missing_from_specials() -> None:
    vocab = WordPieceTrainer(20, special_tokens=["[PAD]"], unk_token="<unk>").train({"ab": 2}).get_vocab()
    assert vocab["<unk>"] == 0 and vocab["[PAD]"] == 1


def test_progress_reports_merges() -> None:
    seen: list[tuple[int, int]] = []
    WordPieceTrainer(23, score="ratio", progress=lambda d, t: seen.append((d, t))).train({"hug": 10, "pug": 5, "hugs": 5})
    assert seen[-1] == (6, 6)  # only 6 pairs ever exist here; the bar still ends full


def test_vocab_smaller_than_alphabet_is_an_error() -> None:
    with pytest.raises(TkitError, match="smaller than the 7 special tokens and alphabet"):
        WordPieceTrainer(5).train({"abc": 1})


def test_empty_corpus_is_an_error() -> None:
    with pytest.raises(TkitError):
        WordPieceTrainer(50).train({})


# ---- encoding parity with HF -------------------------------------------------------------------------


def test_held_out_lines_encode_like_hf(wp_model: WordPieceModel, hf_wp) -> None:
    lines = lines_of_shakespeare(150000, 153000)
    theirs = [e.ids for e in hf_wp.encode_batch(lines)]
    ours = [encode_hf_chunks(wp_model, hf_wp, line) for line in lines]
    assert ours == theirs
    assert sum(map(len, ours)) > 10000


@pytest.mark.parametrize("text", ["naïve café", "emoji 🙂 here", "中文字符", "e\u0301", "x" * 150, "##ab ##", ""])
def test_hard_text_like_hf(wp_model: WordPieceModel, hf_wp, text: str) -> None:
    assert encode_hf_chunks(wp_model, hf_wp, text) == hf_wp.encode(text).ids


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcdefghilmnorstuwyABTHOW'#ñé🙂 ,.!"), max_size=40))
def test_any_text_like_hf(wp_model: WordPieceModel, hf_wp, text: str) -> None:
    assert encode_hf_chunks(wp_model, hf_wp, text) == hf_wp.encode(text).ids


def test_loads_what_hf_trains_and_encodes_alike() -> None:
    tk = require_peer("tokenizers")
    hf = tk.Tokenizer(tk.models.WordPiece(unk_token="[UNK]"))
    hf.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    hf.train_from_iterator(lines_of_shakespeare(0, 3000),
                           tk.trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[UNK]"], show_progress=False))
    ours = WordPieceModel.from_dict(json.loads(hf.to_str())["model"])
    for line in lines_of_shakespeare(3000, 3300):
        assert encode_hf_chunks(ours, hf, line) == hf.encode(line).ids


# ---- model behaviour ---------------------------------------------------------------------------------

VOCAB = {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "u": 4, "##n": 5, "a": 6}


def test_greedy_longest_match_and_unk() -> None:
    model = WordPieceModel(VOCAB, max_input_chars_per_word=10)
    assert model.tokenize("unaffable") == [(1, 0, 2), (2, 2, 5), (3, 5, 9)]
    assert model.tokenize("unx") == [(0, 0, 3)]  # one failing position makes the whole word unk
    assert model.tokenize("unaffableun") == [(0, 0, 11)]  # longer than max_input_chars_per_word
    assert model.tokenize("") == []


def test_missing_unk_is_a_clear_error() -> None:
    with pytest.raises(TkitError, match="unk token"):
        WordPieceModel({"a": 0}).tokenize("b")


def test_to_dict_layout_and_round_trip(wp_model: WordPieceModel) -> None:
    data = wp_model.to_dict()
    assert list(data) == ["type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"]
    again = WordPieceModel.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert again.tokenize("Hamlet") == wp_model.tokenize("Hamlet")


@pytest.mark.parametrize("data, message", [
    ("x", "must be a JSON object"),
    ({"type": "BPE", "vocab": {"a": 0}}, "expected a WordPiece model"),
    ({"type": "WordPiece", "vocab": []}, "'vocab' must be a non-empty object"),
    ({"type": "WordPiece", "vocab": {"a": 0, "b": 0}}, "share id 0"),
    ({"type": "WordPiece", "vocab": {"a": 0}, "max_input_chars_per_word": "100"}, "max_input_chars_per_word"),
    ({"type": "WordPiece", "vocab": {"a": 0}, "unk_token": None}, "unk_token"),
])
def test_bad_model_objects(data, message: str) -> None:
    with pytest.raises(ModelFileError, match=message) as err:
        WordPieceModel.from_dict(data)
    assert "\n" not in str(err.value)
