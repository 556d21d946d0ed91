"""train_tokenizer's orchestration: chunk counting (serial == parallel), special tokens in the corpus, inputs."""
from __future__ import annotations

import pytest

from tests.tokenizers_kit.trained import held_out, train_file
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.training import (
    DEFAULT_SPECIALS,
    as_paths,
    build_pipeline,
    count_chunks,
    resolve_specials,
    train_tokenizer,
)


@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "unigram", "sentencepiece", "char"])
def test_parallel_counting_equals_serial(algo):
    pipeline = build_pipeline(algo)
    specials = resolve_specials(algo, None)
    serial = count_chunks(str(train_file()), pipeline, specials, processes=1)
    parallel = count_chunks([str(train_file()), str(train_file())], pipeline, specials, processes=2)
    assert parallel.counts == {k: 2 * v for k, v in serial.counts.items()}
    assert parallel.lines == 2 * serial.lines and parallel.bytes == 2 * serial.bytes


def test_bpe_counts_lines_with_their_newline_as_hf_does():
    counts = count_chunks(iter(["a b", "  c"]), build_pipeline("bpe")).counts
    # "a b\n" -> a, Ġb, Ċ ; "  c\n" -> Ġ, Ġc, Ċ  (GPT-2 regex per line, symbols after the byte map)
    assert counts == {"a": 1, "Ġb": 1, "Ċ": 2, "Ġ": 1, "Ġc": 1}


def test_special_tokens_in_the_corpus_are_not_counted_as_text():
    counts = count_chunks(iter(["x<|endoftext|>y"]), build_pipeline("bpe"), ["<|endoftext|>"]).counts
    assert "<" not in "".join(counts) and counts == {"x": 1, "y": 1, "Ċ": 1}


def test_whole_block_counting_equals_line_by_line_for_wordpiece():
    pipeline = build_pipeline("wordpiece", lowercase=True)
    lines = held_out()[:500] + ["Ünïcödé\u00a0spaces\u3000and 中文 ctrl\x01"]
    fast = count_chunks(iter(lines), pipeline).counts
    pipeline.whole_blocks = False
    assert count_chunks(iter(lines), pipeline).counts == fast


def test_sentencepiece_chunks_are_cut_before_each_meta_space():
    counts = count_chunks(iter([" a  bc"]), build_pipeline("sentencepiece")).counts
    assert counts == {"▁": 1, "▁a": 1, "▁bc": 1}  # no dummy prefix: " a  bc" is "▁a▁▁bc"


def test_specials_defaults_and_required_unknown_token():
    assert resolve_specials("wordpiece", None) == list(DEFAULT_SPECIALS["wordpiece"])
    assert resolve_specials("unigram", ["<s>", "<s>"]) == ["<unk>", "<s>"]
    assert resolve_specials("bpe", []) == []
    with pytest.raises(TkitError):
        resolve_specials("bpe", [""])


def test_inputs_paths_or_texts(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("hello\n", encoding="utf-8")
    assert as_paths(str(f)) == [str(f)] and as_paths([f]) == [str(f)]
    assert as_paths(["just some text", "more"]) is None
    with pytest.raises(CorpusError, match="does not exist"):
        as_paths([str(f), str(tmp_path / "missing.txt")])
    with pytest.raises(CorpusError):
        train_tokenizer(iter(["", "  "]), "unigram", vocab_size=50)


def test_char_min_frequency_sends_rare_characters_to_unk():
    tok = train_tokenizer(iter(["aaab", "aac"]), "char", min_frequency=2)
    assert sorted(tok.get_vocab()) == ["\n", "<unk>", "a"]
    assert tok.decode(tok.encode_ids("ab"), skip_special_tokens=False) == "a<unk>"


def test_unknown_options_are_errors():
    with pytest.raises(TkitError, match="unknown algorithm"):
        build_pipeline("bytepair")
    with pytest.raises(TkitError, match="gpt2 or gpt4"):
        build_pipeline("bpe", pattern="gpt5")
    with pytest.raises(TkitError, match="unigram or bpe"):
        train_tokenizer(iter(["abc"]), "sentencepiece", vocab_size=400, sp_model="wordpiece")
