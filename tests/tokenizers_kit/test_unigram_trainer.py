"""The Unigram trainer: exact vocab sizes, id layout, all characters kept, piece validity, determinism, bad
input, and compression against sentencepiece trained on the same lines."""
from __future__ import annotations

import functools
import math
import random
from pathlib import Path

import numpy as np
import pytest

from tests.peers import require_peer
from tokenizers_kit.errors import TkitError
from tokenizers_kit.models.unigram import UnigramModel, byte_piece
from tokenizers_kit.trainers.unigram import UnigramTrainer, digamma, split_segments
from tokenizers_kit.unigram_seeds import pack_segments, script_classes

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
SP = "\u2581"


@functools.lru_cache(maxsize=None)
def _lines(start: int, stop: int) -> tuple[str, ...]:
    with open(SHAKESPEARE, encoding="utf-8") as f:
        return tuple(f.read().split("\n")[start:stop])


def _words(lines) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        for w in line.split():
            counts[SP + w] = counts.get(SP + w, 0) + 1
    return counts


def _whole_lines(lines) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        if line.strip():
            chunk = SP + SP.join(line.split())
            counts[chunk] = counts.get(chunk, 0) + 1
    return counts


@functools.lru_cache(maxsize=None)
def _model(size: int = 1000, byte_fallback: bool = False) -> UnigramModel:
    return UnigramTrainer(size, special_tokens=["<s>", "<unk>", "</s>"], byte_fallback=byte_fallback).train(
        _words(_lines(0, 6000)))


def _chars(counts) -> set[str]:
    return {c for w in counts for c in w}


@pytest.mark.parametrize("size", [300, 1000, 2500])
def test_vocab_size_is_exact(size: int) -> None:
    model = UnigramTrainer(size).train(_words(_lines(0, 6000)))
    assert model.get_vocab_size() == size
    assert len(model.get_vocab()) == size  # no duplicate pieces


def test_id_layout_specials_then_bytes_then_pieces_by_score() -> None:
    model = _model(1000, byte_fallback=True)
    pieces = [p for p, _ in model.vocab]
    assert pieces[:3] == ["<s>", "<unk>", "</s>"] and model.unk_id == 1
    assert pieces[3:259] == [byte_piece(b) for b in range(256)]
    scores = [s for _, s in model.vocab[259:]]
    assert scores == sorted(scores, reverse=True)
    assert model.get_vocab_size() == 1000 and model.byte_fallback


def test_every_character_is_kept_and_pieces_are_valid() -> None:
    counts = _words(_lines(0, 6000))
    model = _model()
    vocab = model.get_vocab()
    assert _chars(counts) <= set(vocab)
    learned = [p for p, _ in model.vocab[3:]]
    assert all(1 <= len(p) <= 16 for p in learned)
    assert not any(SP in p[1:] for p in learned)  # "▁" only as a prefix
    for p in learned:  # one script per piece (sentencepiece's rule, on by default)
        body = [c for c in p if c != SP]
        assert len(set(script_classes(body).tolist())) <= 1, p
    assert all(math.isfinite(s) and s < 0 for _, s in model.vocab[3:])


def test_script_split_can_be_turned_off() -> None:
    model = UnigramTrainer(1000, split_by_script=False).train(_words(_lines(0, 6000)))
    mixed = [p for p, _ in model.vocab if any(c.isalpha() for c in p) and any(c in ",.;:!?'" for c in p)]
    assert mixed  # "lord," and the like are allowed now


def test_training_is_deterministic_whatever_the_dict_order() -> None:
    counts = _words(_lines(0, 3000))
    items = list(counts.items())
    random.Random(0).shuffle(items)
    a = UnigramTrainer(600).train(counts)
    b = UnigramTrainer(600).train(dict(items))
    assert a.vocab == b.vocab


def test_whole_lines_train_like_words() -> None:
    """Lines are cut before each "▁" for training, so line chunks and word chunks give the same pieces."""
    lines = _lines(0, 3000)
    a = UnigramTrainer(600).train(_words(lines))
    b = UnigramTrainer(600).train(_whole_lines(lines))
    assert {p for p, _ in a.vocab} == {p for p, _ in b.vocab}


def test_encoding_held_out_text_covers_it_without_unknowns() -> None:
    model = _model()
    for line in _lines(160000, 160500):
        for w in line.split():
            tokens = model.tokenize(SP + w)
            text = "".join(model.id_to_token(t) for t, _, _ in tokens)
            if all(c in model.get_vocab() for c in w):
                assert text == SP + w and model.unk_id not in [t for t, _, _ in tokens]


def test_vocab_too_small_for_the_alphabet_is_a_clear_error() -> None:
    counts = _words(_lines(0, 2000))
    n_chars = len(_chars(counts))
    with pytest.raises(TkitError, match="too small") as err:
        UnigramTrainer(n_chars).train(counts)  # + <unk> does not fit
    assert "\n" not in str(err.value)
    assert UnigramTrainer(n_chars + 1).train(counts).get_vocab_size() == n_chars + 1
    with pytest.raises(TkitError, match="byte"):
        UnigramTrainer(200, byte_fallback=True).train(counts)


def test_small_corpus_still_gets_the_asked_size_when_it_can() -> None:
    counts = {SP + "abracadabra": 3, SP + "cadabra": 2, SP + "abc": 1}
    model = UnigramTrainer(20).train(counts)
    assert model.get_vocab_size() == 20
    # Far more than the text has: as many as there are distinct valid substrings, no crash.
    big = UnigramTrainer(5000).train(counts)
    assert 20 < big.get_vocab_size() < 5000


@pytest.mark.parametrize("bad, match", [
    ({}, "empty"), ({"": 3, "▁a": 0}, "empty"), ({"a": -1}, "count"), ({"a": 1.5}, "count"), ({3: 1}, "string"),
    ([("a", 1)], "mapping"),
])
def test_bad_training_input(bad, match) -> None:
    with pytest.raises(TkitError, match=match):
        UnigramTrainer(100).train(bad)


@pytest.mark.parametrize("kwargs", [
    {"vocab_size": 0}, {"vocab_size": 1.5}, {"max_piece_length": 0}, {"shrinking_factor": 1.0},
    {"n_sub_iterations": 0}, {"seed_size": 0}, {"special_tokens": [""]}, {"unk_token": ""},
])
def test_bad_trainer_options(kwargs) -> None:
    with pytest.raises(TkitError):
        UnigramTrainer(**kwargs)


def test_hard_inputs_long_words_cjk_emoji() -> None:
    counts = {SP + "a" * 5000: 2, SP + "日本語のテキストです日本語": 3, SP + "😀😀🎉": 4,
              SP + "e\u0301\x01\t": 1, "no-prefix": 2}
    model = UnigramTrainer(320, byte_fallback=True).train(counts)  # (room for the byte pieces' characters)
    assert model.get_vocab_size() == 320
    assert _chars(counts) <= set(model.get_vocab())
    assert max(len(p) for p, _ in model.vocab[257:]) <= 16
    tokens = model.tokenize(SP + "a" * 5000)
    assert "".join(model.id_to_token(t) for t, _, _ in tokens) == SP + "a" * 5000


def test_no_space_text_trains_sentencepiece_style() -> None:
    rng = random.Random(0)
    words = ["日本", "東京", "大阪", "です", "ました", "テキスト", "学校", "先生"]
    counts: dict[str, int] = {}
    for _ in range(400):
        line = SP + "".join(rng.choice(words) for _ in range(rng.randint(3, 30)))
        counts[line] = counts.get(line, 0) + 1
    model = UnigramTrainer(320, byte_fallback=True).train(counts)  # (room for the byte pieces' characters)
    assert model.get_vocab_size() == 320
    learned = {p for p, _ in model.vocab[257:]}
    assert {"東京", "大阪", "テキスト"} & learned  # whole words found without spaces


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    UnigramTrainer(500, progress=lambda d, t: calls.append((d, t))).train(_words(_lines(0, 2000)))
    assert calls and all(d <= t for d, t in calls) and calls[-1][0] == calls[-1][1]


def test_split_segments_cuts_before_spaces() -> None:
    out = split_segments({SP + "a" + SP + SP + "b": 2, "x" + SP + "y": 1, "abcdefghij": 3, "": 4, "z": 0}, 4)
    assert out == {SP + "a": 2, SP: 2, SP + "b": 2, "x": 1, SP + "y": 1, "abcd": 3, "efgh": 3, "ij": 3}


def test_pack_segments_layout() -> None:
    packed = pack_segments(["ab", "b"], np.array([2.0, 1.0]))
    assert packed.chars == ["a", "b"]
    assert packed.text.tolist() == [1, 2, 0, 2, 0]
    assert packed.begin.tolist() == [0, 3] and packed.joined[3] == "b"


def test_digamma_known_values() -> None:
    np.testing.assert_allclose(digamma(np.array([1.0, 0.5, 10.0, 100.0])),
                               [-0.5772156649015329, -1.9635100260214235, 2.251752589066721, 4.600161852738087],
                               rtol=1e-9)


def test_compression_within_two_percent_of_sentencepiece(tmp_path: Path) -> None:
    spm = require_peer("sentencepiece")
    train, test = _lines(0, 20000), _lines(160000, 164000)
    path = tmp_path / "train.txt"
    path.write_text("\n".join(train) + "\n", encoding="utf-8")
    prefix = tmp_path / "sp"
    spm.SentencePieceTrainer.train(input=str(path), model_prefix=str(prefix), vocab_size=2000, model_type="unigram",
                                   character_coverage=1.0, minloglevel=2, num_threads=1)
    sp = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
    ours = UnigramTrainer(2000, special_tokens=["<unk>", "<s>", "</s>"]).train(_words(train))
    n_sp = sum(len(sp.encode(line)) for line in test)
    n_ours = sum(len(ours.tokenize(SP + w)) for line in test for w in line.split())
    print("unigram tokens, ours vs sentencepiece:", n_ours, n_sp, n_ours / n_sp)
    assert n_ours <= 1.02 * n_sp, (n_ours, n_sp)
