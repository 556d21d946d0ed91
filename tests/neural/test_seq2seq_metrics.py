"""The G2P scores: edit distance against a brute-force definition, and WER/PER on a worked example."""
from __future__ import annotations

from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from neural.seq2seq_data import Pair
from neural.seq2seq_eval import decoded_scores, edit_distance, group_references

tokens = st.lists(st.sampled_from(["K", "AE1", "T", "D", "AO1", "G"]), max_size=7)


def levenshtein(a: tuple, b: tuple) -> int:
    """The recursive definition: drop the first token of either side, or match/substitute both."""
    @lru_cache(maxsize=None)
    def d(i: int, j: int) -> int:
        if i == len(a) or j == len(b):
            return len(a) - i + len(b) - j
        return min(d(i + 1, j) + 1, d(i, j + 1) + 1, d(i + 1, j + 1) + (a[i] != b[j]))
    return d(0, 0)


@settings(max_examples=200, deadline=None)
@given(a=tokens, b=tokens)
def test_edit_distance_is_levenshtein(a, b):
    assert edit_distance(a, b) == levenshtein(tuple(a), tuple(b)) == edit_distance(b, a)


def test_wer_and_per_on_a_worked_example():
    # cat: exact; dog: one insertion against its closest reference (D AO1 G, 3 phonemes);
    # read: a substitution against either reference (3 phonemes each); so WER 2/3, PER 2/9
    refs = [[["K", "AE1", "T"]], [["D", "AO1", "G"], ["D", "AA1", "G"]],
            [["R", "IY1", "D"], ["R", "EH1", "D"]]]
    hyps = [["K", "AE1", "T"], ["D", "AO1", "G", "Z"], ["R", "AY1", "D"]]
    exact, per = decoded_scores(hyps, refs)
    assert (exact, per) == (1 / 3, 2 / 9)


def test_alternatives_of_one_word_are_grouped_into_one_source():
    pairs = [Pair(list("read"), ["R", "IY1", "D"], "f:1"), Pair(list("cat"), ["K", "AE1", "T"], "f:2"),
             Pair(list("read"), ["R", "EH1", "D"], "f:3")]
    assert group_references(pairs) == {tuple("read"): [["R", "IY1", "D"], ["R", "EH1", "D"]],
                                       tuple("cat"): [["K", "AE1", "T"]]}
