"""BPE training: golden examples, exact parity with HF `tokenizers`' BpeTrainer, determinism, bad input."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.peers import require_peer
from tests.tokenizers_kit.reference_merge import merge_everywhere
from tokenizers_kit.bytes_map import byte_alphabet, text_to_symbols
from tokenizers_kit.errors import TkitError
from tokenizers_kit.trainers.bpe import BPETrainer

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def shakespeare_lines(start: int, stop: int) -> list[str]:
    with open(SHAKESPEARE, encoding="utf-8", newline="") as f:
        return f.read().split("\n")[start:stop]


def byte_level_counts(lines: list[str]) -> dict[str, int]:
    """Word counts as HF's ByteLevel pre-tokenizer (GPT-2 regex, no prefix space) makes them, line by line."""
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(GPT2_SPLIT.findall(line))
    return {text_to_symbols(w): n for w, n in counts.items()}


def hf_byte_level_bpe(lines: list[str], vocab_size: int, **options) -> dict:
    tk = require_peer("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tk.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<pad>"],
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        **options,
    )
    tok.train_from_iterator(lines, trainer)
    return json.loads(tok.to_str())["model"]


def train_ours(word_counts: dict[str, int], vocab_size: int, **options) -> dict:
    trainer = BPETrainer(vocab_size, special_tokens=["<|endoftext|>", "<pad>"], initial_alphabet=byte_alphabet(),
                         **options)
    return trainer.train(word_counts).to_dict()


@pytest.fixture(scope="module")
def slice_lines() -> list[str]:
    return shakespeare_lines(0, 20000)


# ---- golden examples ---------------------------------------------------------------------------------


def test_wikipedia_aaabdaaabac() -> None:
    """Z = aa, Y = ab, X = ZY (https://en.wikipedia.org/wiki/Byte_pair_encoding)."""
    model = BPETrainer(7).train({"aaabdaaabac": 1})
    assert model.merges == [("a", "a"), ("a", "b"), ("aa", "ab")]
    assert model.get_vocab() == {"a": 0, "b": 1, "c": 2, "d": 3, "aa": 4, "ab": 5, "aaab": 6}
    assert [t[0] for t in model.tokenize("aaabdaaabac")] == [6, 3, 6, 0, 2]  # X d X a c


def test_hf_unit_test_example() -> None:
    """The expectation in HF's own trainer.rs `test_train` (min_frequency 2)."""
    words = {"roses": 1, "are": 2, "red": 1, "voilets": 1, "blue": 1, "BERT": 1, "is": 2, "big": 1, "and": 1,
             "so": 1, "GPT-2": 1}
    model = BPETrainer(30000, min_frequency=2).train(words)
    chars = "-2BEGPRTabdegilnorstuv"
    expected = {c: i for i, c in enumerate(chars)} | {"re": 22, "are": 23, "is": 24}
    assert model.get_vocab() == expected
    assert model.merges == [("r", "e"), ("a", "re"), ("i", "s")]


def test_hf_max_token_length_example() -> None:
    """HF trainer.rs `bpe_test_max_token_length_direct_assert`: no learned token longer than 2 chars."""
    words = {w: 2 for w in ["sin", "Sin", "Lon", "Ano", "짧은한", "긴한글", "短字符", "长字符", "短い文", "長い文", "so", "GP"]}
    vocab = BPETrainer(30000, max_token_length=2).train(words).get_vocab()
    expected = {"短": 12, "n": 6, "i": 5, "s": 8, "字符": 23, "長": 14, "긴": 17, "い文": 22, "L": 2, "in": 21, "o": 7,
                "은한": 29, "S": 4, "P": 3, "so": 27, "符": 13, "文": 11, "字": 10, "짧": 19, "GP": 25, "글": 16, "G": 1,
                "An": 24, "长": 15, "A": 0, "Lo": 26, "긴한": 28, "い": 9, "한": 20, "은": 18}
    assert vocab == expected


def test_overlapping_pairs_counted_and_merged_left_to_right() -> None:
    model = BPETrainer(2).train({"aaa": 1})
    assert model.merges == [("a", "a")]
    assert [t[0] for t in model.tokenize("aaa")] == [1, 0]  # "aa" "a", not "a" "aa"


def test_counts_beyond_32_bits() -> None:
    """HF stores pair counts as i32 (issue #2058); ours are Python ints."""
    model = BPETrainer(6).train({"ab": 3_000_000_000, "cd": 2_999_999_999})
    assert model.merges == [("a", "b"), ("c", "d")]


# ---- parity with HF ----------------------------------------------------------------------------------


def test_byte_level_parity_with_hf(slice_lines: list[str]) -> None:
    ours = train_ours(byte_level_counts(slice_lines), 1500)
    theirs = hf_byte_level_bpe(slice_lines, 1500)
    assert list(ours["vocab"].items()) == list(theirs["vocab"].items())
    assert ours["merges"] == theirs["merges"]


@pytest.mark.parametrize("options", [{"min_frequency": 40}, {"max_token_length": 4}])
def test_options_parity_with_hf(slice_lines: list[str], options: dict) -> None:
    lines = slice_lines[:8000]
    ours = train_ours(byte_level_counts(lines), 1200, **options)
    theirs = hf_byte_level_bpe(lines, 1200, **options)
    assert list(ours["vocab"].items()) == list(theirs["vocab"].items())
    assert ours["merges"] == theirs["merges"]


def test_limit_alphabet_parity_with_hf(slice_lines: list[str]) -> None:
    """Plain (not byte-level) BPE, dropping the rarest chars. The limit is put where char counts differ, since
    HF breaks count ties in hash order."""
    tk = require_peer("tokenizers")
    lines = slice_lines[:8000]
    words: Counter[str] = Counter()
    for line in lines:
        words.update(regex.findall(r"\w+|[^\w\s]+", line))  # HF's Whitespace pre-tokenizer
    chars: Counter[str] = Counter()
    for w, n in words.items():
        for ch in w:
            chars[ch] += n
    ascending = sorted(chars.values())
    cut = next(i for i in range(5, len(ascending)) if ascending[i - 1] != ascending[i])
    limit = len(ascending) - cut
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    tok.train_from_iterator(lines, tk.trainers.BpeTrainer(vocab_size=600, limit_alphabet=limit, show_progress=False))
    theirs = json.loads(tok.to_str())["model"]
    ours = BPETrainer(600, limit_alphabet=limit).train(dict(words)).to_dict()
    assert list(ours["vocab"].items()) == list(theirs["vocab"].items())
    assert ours["merges"] == theirs["merges"]


@settings(max_examples=120, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcé", min_size=1, max_size=9), st.integers(1, 6), min_size=1,
                             max_size=12),
       extra=st.integers(0, 30))
def test_random_corpora_like_hf(words: dict[str, int], extra: int) -> None:
    """Small random corpora (many count ties, repeated and overlapping pairs) train exactly as HF does."""
    tk = require_peer("tokenizers")
    vocab_size = len(set("".join(words))) + extra
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator([" ".join([w] * n) for w, n in words.items()],
                            tk.trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False))
    theirs = json.loads(tok.to_str())["model"]
    ours = BPETrainer(vocab_size).train(words).to_dict()
    assert list(ours["vocab"].items()) == list(theirs["vocab"].items())
    assert ours["merges"] == theirs["merges"]


def test_min_frequency_stops_early(slice_lines: list[str]) -> None:
    model = BPETrainer(100_000, min_frequency=50).train(byte_level_counts(slice_lines[:5000]))
    assert model.get_vocab_size() < 100_000
    assert len(model.merges) == model.get_vocab_size() - len(set("".join(byte_level_counts(slice_lines[:5000]))))


# ---- determinism, progress, options ------------------------------------------------------------------


def test_deterministic_and_independent_of_word_order(slice_lines: list[str]) -> None:
    counts = byte_level_counts(slice_lines[:5000])
    shuffled = list(counts.items())
    random.Random(0).shuffle(shuffled)
    first = train_ours(counts, 800)
    assert train_ours(counts, 800) == first
    assert train_ours(dict(shuffled), 800) == first


def test_prefix_and_suffix_tokens_are_deterministic() -> None:
    counts = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    items = list(counts.items())
    a = BPETrainer(30, continuing_subword_prefix="##", end_of_word_suffix="</w>").train(counts).to_dict()
    b = BPETrainer(30, continuing_subword_prefix="##", end_of_word_suffix="</w>").train(dict(items[::-1])).to_dict()
    assert a == b
    assert "##u" in a["vocab"] and "g</w>" in a["vocab"] or "##g</w>" in a["vocab"]
    assert a["continuing_subword_prefix"] == "##" and a["end_of_word_suffix"] == "</w>"


def test_progress_reports_merges() -> None:
    seen: list[tuple[int, int]] = []
    BPETrainer(7, progress=lambda done, total: seen.append((done, total))).train({"aaabdaaabac": 1})
    assert seen[-1] == (3, 3)


def test_special_tokens_come_first() -> None:
    vocab = BPETrainer(10, special_tokens=["<s>", "</s>", "<s>"]).train({"ab": 3}).get_vocab()
    assert vocab["<s>"] == 0 and vocab["</s>"] == 1 and vocab["a"] == 2 and vocab["ab"] == 4


# ---- bad input ---------------------------------------------------------------------------------------


def test_vocab_smaller_than_alphabet_is_an_error() -> None:
    with pytest.raises(TkitError, match="smaller than the 300 special tokens and alphabet"):
        BPETrainer(100, initial_alphabet=byte_alphabet(), special_tokens=[f"<{i}>" for i in range(44)]).train(
            {"ab": 1})


@pytest.mark.parametrize("counts", [{}, None])
def test_empty_corpus_is_an_error(counts) -> None:
    with pytest.raises(TkitError):
        BPETrainer(100).train(counts)


@pytest.mark.parametrize("kwargs", [{"vocab_size": 0}, {"vocab_size": 10, "min_frequency": -1},
                                    {"vocab_size": 10, "max_token_length": 0}])
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(TkitError):
        BPETrainer(**kwargs)


# ---- the readable twin ---------------------------------------------------------------------------------


def reference_bpe(words: dict[str, int], vocab_size: int, min_frequency: int = 0) -> tuple[dict, list]:
    """minbpe-style: recount every pair after every merge, take the most frequent (ties: the smallest
    (left id, right id)), merge it left to right in every word. The fast trainer must agree."""
    vocab = {ch: i for i, ch in enumerate(sorted(set("".join(words))))}
    inverse = {i: t for t, i in vocab.items()}
    segs = [([vocab[ch] for ch in w], n) for w, n in words.items()]
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size:
        stats: Counter[tuple[int, int]] = Counter()
        for seg, n in segs:
            for pair in zip(seg, seg[1:]):
                stats[pair] += n
        if not stats:
            break
        a, b = min(stats, key=lambda p: (-stats[p], p))
        if stats[a, b] < max(min_frequency, 1):
            break
        token = inverse[a] + inverse[b]
        new = vocab.setdefault(token, len(vocab))
        inverse[new] = token
        merges.append((inverse[a], inverse[b]))
        merge_everywhere(segs, a, b, new)
    return vocab, merges


@settings(max_examples=200, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcd", min_size=1, max_size=9), st.integers(1, 9), min_size=1,
                             max_size=12),
       extra=st.integers(0, 30), min_frequency=st.sampled_from([0, 0, 2, 4]))
def test_incremental_merges_match_the_recounting_twin(words: dict[str, int], extra: int, min_frequency: int) -> None:
    """The incremental counts, the pair -> words index and the lazy heap pick exactly what a full recount picks
    (repeated and overlapping pairs, tokens that an earlier merge already made)."""
    vocab_size = len(set("".join(words))) + extra
    model = BPETrainer(vocab_size, min_frequency=min_frequency).train(words)
    vocab, merges = reference_bpe(words, vocab_size, min_frequency)
    assert model.get_vocab() == vocab
    assert model.merges == merges
