"""`foreign.recover_merges` (the fast replay on ids) against its plain twin (reference_recover.py) on generated
rank files: valid ones grown by concatenating tokens, ones with ranks swapped or tokens that cannot be built, and
long tokens that take the heap path. Hostile files (very long tokens) stay bounded."""
from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenizers_kit.reference_recover import recover_merges_reference
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.foreign import MAX_TOKEN_BYTES, recover_merges, tiktoken_ranks
from tokenizers_kit.tokenizer import Tokenizer
from tokenizers_kit.training import train_tokenizer

LONGEST = 200  # the reference is quadratic or worse in a token's length: keep generated tokens this short


@st.composite
def rank_tables(draw: st.DrawFn) -> dict[bytes, int]:
    """Bytes of a small alphabet, then tokens made by joining two earlier ones, ranked in order of creation;
    a few rank swaps and stray tokens make some tables impossible to replay."""
    alphabet = draw(st.lists(st.integers(0, 255), min_size=1, max_size=5, unique=True))
    tokens = [bytes([b]) for b in alphabet]
    for i, j in draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=80)):
        new = tokens[i % len(tokens)] + tokens[j % len(tokens)]
        if len(new) <= LONGEST and new not in tokens:
            tokens.append(new)
    if draw(st.booleans()):  # a run of one byte, long enough for the heap path
        run = bytes([alphabet[0]])
        while len(run) * 2 <= LONGEST:
            run *= 2
            if run not in tokens:
                tokens.append(run)
    ranks = {t: r for r, t in enumerate(tokens)}
    for i, j in draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=3)):
        a, b = tokens[i % len(tokens)], tokens[j % len(tokens)]
        ranks[a], ranks[b] = ranks[b], ranks[a]
    for extra in draw(st.lists(st.binary(min_size=2, max_size=6), max_size=2)):
        ranks.setdefault(extra, len(tokens) + len(ranks))
    return ranks


def outcome(recover, ranks: dict[bytes, int]) -> object:
    try:
        return recover(ranks)
    except ModelFileError as err:
        return str(err)


@settings(max_examples=300, deadline=None)
@given(rank_tables())
def test_fast_recovery_equals_the_reference(ranks):
    assert outcome(recover_merges, ranks) == outcome(recover_merges_reference, ranks)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.text(alphabet="ab cd\néé=", min_size=1, max_size=60), min_size=1, max_size=20))
def test_trained_tokenizers_recover_their_own_merges(lines):
    tok = train_tokenizer(["".join(lines) * 3], "bpe", vocab_size=300)
    ranks = tiktoken_ranks(tok)
    assert recover_merges(ranks) == recover_merges_reference(ranks)


def write_ranks(path, ranks: dict[bytes, int]) -> None:
    path.write_text("".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in ranks.items()), encoding="ascii")


def byte_ranks() -> dict[bytes, int]:
    return {bytes([b]): b for b in range(256)}


def test_long_runs_load_quickly(tmp_path):
    """Tokens a, aa, aaaa, ... up to the length cap: the plain replay needs minutes, this a moment."""
    ranks = byte_ranks()
    run = b"a"
    while len(run) * 2 <= MAX_TOKEN_BYTES:
        run *= 2
        ranks[run] = len(ranks)
    write_ranks(tmp_path / "runs.tiktoken", ranks)
    start = time.perf_counter()
    tok = Tokenizer.from_tiktoken(tmp_path / "runs.tiktoken")
    assert time.perf_counter() - start < 10
    assert tok.encode_ids("a" * 6) == [ranks[b"aaaa"], ranks[b"aa"]]


def test_a_chain_of_prefixes_loads_in_time_linear_in_the_file(tmp_path):
    """Every prefix of one long string is a token: the plain replay is cubic in the length, this linear in the
    file's size."""
    s = b"ab" + bytes(range(99, 255)) * 2
    ranks = byte_ranks() | {s[:k]: 254 + k for k in range(2, len(s) + 1)}
    write_ranks(tmp_path / "chain.tiktoken", ranks)
    start = time.perf_counter()
    Tokenizer.from_tiktoken(tmp_path / "chain.tiktoken")
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("length", [MAX_TOKEN_BYTES + 1, 10 * MAX_TOKEN_BYTES])
def test_overlong_tokens_are_refused_before_any_work(tmp_path, length):
    write_ranks(tmp_path / "long.tiktoken", byte_ranks() | {b"a" * length: 256})
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=f"at most {MAX_TOKEN_BYTES:,}"):
        Tokenizer.from_tiktoken(tmp_path / "long.tiktoken")  # refused by the reader, line by line
    with pytest.raises(ModelFileError, match=f"at most {MAX_TOKEN_BYTES:,}"):
        recover_merges(byte_ranks() | {b"a" * length: 256})  # and by the replay itself
    assert time.perf_counter() - start < 2
