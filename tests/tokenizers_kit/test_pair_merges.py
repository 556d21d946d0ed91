"""The shared merge step: after `merge_pair` the pair counts equal a full recount (its own pair's count aside,
which the caller owns), and the words equal a plain left-to-right merge."""
from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenizers_kit.trainers.pair_merges import merge_pair
from tokenizers_kit.trainers.words import count_pairs


def plain_merge(word: str, pair: str, cn: str) -> str:
    out, i = [], 0
    while i < len(word):
        if word.startswith(pair, i):
            out.append(cn)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def recount(words: list[str], counts: list[int]) -> Counter[str]:
    pc: Counter[str] = Counter()
    for w, n in zip(words, counts):
        for i in range(len(w) - 1):
            pc[w[i : i + 2]] += n
    return pc


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.tuples(st.text(alphabet="abcX", min_size=1, max_size=10), st.integers(1, 5)), min_size=1,
                     max_size=8),
       pair=st.sampled_from(["ab", "aa", "ba", "bb", "ca"]))
def test_counts_after_a_merge_equal_a_recount(data: list[tuple[str, int]], pair: str) -> None:
    """"X" plays the merged symbol; words that already hold it take the explicit scan."""
    words = [w for w, _ in data]
    counts = [n for _, n in data]
    pc_init, where = count_pairs(words, counts)
    pc = defaultdict(int, pc_init)
    fresh = not any("X" in w for w in words)
    pos = where.get(pair, []) * 2  # listed twice: the second visit finds nothing to merge
    done = merge_pair(words, counts, pos, pair, "X", pc, fresh=fresh, tally=True)
    pc[pair] -= done.occurrences
    expected_words = [plain_merge(w, pair, "X") for w, _ in data]
    assert words == expected_words
    want = recount(expected_words, counts)
    assert {p: c for p, c in pc.items() if c} == {p: c for p, c in want.items() if c}
    assert done.occurrences == sum(n * (len(w) - len(nw)) for (w, n), nw in zip(data, expected_words))
    # The index stays complete: every word where a pair now occurs more often is filed under it.
    for wi, ((old, n), new) in enumerate(zip(data, words)):
        for p, c in recount([new], [n]).items():
            if c > recount([old], [n])[p]:
                assert wi in done.gained[p]


def test_keep_refuses_new_pairs() -> None:
    words, counts = ["cab", "abd"], [2, 3]
    pc = defaultdict(int, count_pairs(words, counts)[0])
    done = merge_pair(words, counts, [0, 1], "ab", "X", pc, fresh=True, keep=lambda sym: sym != "c", tally=True)
    assert words == ["cX", "Xd"]
    assert set(done.gained) == {"Xd"} and pc["cX"] == 0 and pc["ca"] == 0 and pc["Xd"] == 3
    assert sorted(done.lost) == ["bd", "ca"]
