"""Counting training chunks within a memory budget (`tokenizers_kit.chunk_runs`, `count_chunks(memory=...)`):
the spilled-and-merged count equals the plain Counter (its reference twin) in content and order, whatever the
blocks; the tokenizer trained from it is the same; the table stays within its budget; bad budgets are one-line
errors."""
from __future__ import annotations

import tracemalloc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tokenizers_kit import chunk_runs
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.chunk_runs import SpillingCounts, parse_memory
from tokenizers_kit.errors import TkitError
from tokenizers_kit.training import (
    build_pipeline,
    count_chunks,
    prunable_min_count,
    resolve_specials,
    train_from_counts,
    train_tokenizer,
)

ALGOS = ["bpe", "wordpiece", "unigram", "sentencepiece", "char"]
# Any code point, lone surrogates included (texts handed in as strings may hold them).
chunk = st.text(st.characters(blacklist_categories=()), min_size=1, max_size=6)
blocks = st.lists(st.dictionaries(chunk, st.integers(1, 1 << 40), max_size=12), max_size=12)
words = st.sampled_from(["the", "The", "king", "kings", "ünd", "naïve", "—", "a.b", "x\ty", "日本", "  ", "ok?"])
lines = st.lists(st.lists(words, max_size=8).map(" ".join), min_size=1, max_size=30)


def reference(block_counts: list[dict[str, int]]) -> dict[str, int]:
    """The unbounded count: one Counter updated block by block (count_chunks without a budget)."""
    total: Counter = Counter()
    for c in block_counts:
        total.update(c)
    return dict(total)


@pytest.fixture
def tiny_table(monkeypatch):
    """A table share so small that every block spills, and a fan-in of 2, so merges run in passes."""
    monkeypatch.setattr(chunk_runs, "TABLE_SHARE", 1e-9)
    monkeypatch.setattr(chunk_runs, "FAN_IN", 2)


@given(block_counts=blocks)
@settings(max_examples=150, deadline=None)
def test_spilled_counts_equal_the_counter_in_content_and_order(block_counts, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunk_runs, "TABLE_SHARE", 1e-9)
        mp.setattr(chunk_runs, "FAN_IN", 2)
        table = SpillingCounts(16 << 20, str(tmp_path_factory.getbasetemp()))
        for c in block_counts:
            table.add(c)
        spilled = len(table.runs)
        got = table.result()
    want = reference(block_counts)
    assert got == want and list(got) == list(want)
    assert spilled == sum(1 for c in block_counts if c)  # every block with chunks did go to disk


@given(block_counts=blocks, min_count=st.integers(0, 1 << 41))
@settings(max_examples=60, deadline=None)
def test_min_count_and_transform_as_the_unbounded_path_does(block_counts, min_count):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunk_runs, "TABLE_SHARE", 1e-9)
        table = SpillingCounts(16 << 20)
        for c in block_counts:
            table.add(c)
        got = table.result(str.lower, min_count)
    want: dict[str, int] = {}
    for k, n in reference(block_counts).items():
        if n >= min_count:
            want[k.lower()] = want.get(k.lower(), 0) + n
    assert got == want and list(got) == list(want)


@pytest.mark.parametrize("algo", ALGOS)
@given(text=lines)
@settings(max_examples=15, deadline=None)
def test_count_chunks_with_a_budget_equals_without(algo, text):
    pipeline = build_pipeline(algo)
    specials = resolve_specials(algo, None)
    # Several blocks: the iterable source batches about 1 MiB per block, so feed texts block by block.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunk_runs, "TABLE_SHARE", 1e-9)
        bounded = count_chunks(iter(text * 3), pipeline, specials, memory="16M").counts
    plain = count_chunks(iter(text * 3), pipeline, specials).counts
    assert bounded == plain and list(bounded) == list(plain)


@pytest.mark.parametrize("algo", ALGOS)
def test_the_tokenizer_trained_within_a_budget_is_the_same(algo, tiny_table, tmp_path):
    from tests.tokenizers_kit.trained import train_file

    path = str(train_file())
    kwargs = {"vocab_size": 600 if algo != "char" else None, "min_frequency": 2}
    plain = train_tokenizer(path, algo, **kwargs)
    bounded = train_tokenizer(path, algo, memory="16M", temp_dir=str(tmp_path), **kwargs)
    assert bounded.to_str() == plain.to_str()
    assert list(tmp_path.iterdir()) == []  # the runs are removed


def test_many_blocks_in_a_real_file_spill_and_merge_in_passes(tiny_table, tmp_path, monkeypatch):
    from tests.tokenizers_kit.trained import train_file

    corpus = tmp_path / "c.txt"
    text = train_file().read_text(encoding="utf-8")
    corpus.write_text("".join(text.replace("e", ch) for ch in "eéxyz"), encoding="utf-8")
    pipeline = build_pipeline("bpe")
    spills = []
    spill = SpillingCounts._spill
    monkeypatch.setattr(SpillingCounts, "_spill", lambda self: (spills.append(1), spill(self)))
    monkeypatch.setattr("tokenizers_kit.corpus.READ_BLOCK", 1 << 14)
    bounded = count_chunks(str(corpus), pipeline, memory="16M", processes=1)
    plain = count_chunks(str(corpus), pipeline, processes=1)
    assert len(spills) > 4  # several blocks, each spilled, merged two at a time
    assert bounded.counts == plain.counts and list(bounded.counts) == list(plain.counts)


def test_the_table_stays_within_its_budget_while_counting_and_merging():
    """tracemalloc's peak while adding blocks of new chunks (several times the budget in all) and streaming the
    merge: within the budget. Unbounded, the same counts take several budgets (checked, so this can fail)."""
    budget = 2 << 20  # below the CLI's floor, to keep the test fast; the mechanism is the same
    n_blocks, per_block = 20, 3000

    def block(b: int) -> dict[str, int]:
        return {f"chunk-{b}-{i:06d}-of-a-corpus": 1 + i % 3 for i in range(per_block)}

    tracemalloc.start()
    try:
        table = SpillingCounts(budget)
        for b in range(n_blocks):
            table.add(block(b))
        distinct = sum(1 for _ in table.merged())
        _, bounded_peak = tracemalloc.get_traced_memory()
        table.close()
        tracemalloc.reset_peak()
        plain: Counter = Counter()
        for b in range(n_blocks):
            plain.update(block(b))
        _, unbounded_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert distinct == n_blocks * per_block == len(plain)
    print(f"peak {bounded_peak} bytes within a budget of {budget}, {unbounded_peak} unbounded")
    assert unbounded_peak > 2 * budget  # the test is not vacuous
    assert bounded_peak < budget, (bounded_peak, budget)


@given(value=st.floats(16, 4096, allow_nan=False), unit=st.sampled_from(["M", "m", "MB", "MiB", "G", "g", "GB"]))
@settings(max_examples=40, deadline=None)
def test_parse_memory_reads_sizes(value, unit):
    text = f"{value:.3f}{unit}"
    scale = 1 << (30 if unit[0] in "Gg" else 20)
    want = int(float(f"{value:.3f}") * scale)
    if want < 16 << 20:
        with pytest.raises(ArgumentError):
            parse_memory(text)
    else:
        assert parse_memory(text) == want


bad_sizes = st.one_of(
    st.sampled_from(["", "lots", "-1G", "1.2.3M", "5X", "0", "15M", "1k", "nan", "1e9", "G", "16 M B"]),
    st.text(st.characters(blacklist_categories=("Nd",)), min_size=1, max_size=5),
    st.integers(0, (16 << 20) - 1).map(str),
)


@given(size=bad_sizes)
@settings(max_examples=40, deadline=None)
def test_bad_memory_values_are_one_line_errors_and_write_nothing(size, tmp_path_factory):
    out = tmp_path_factory.mktemp("bad") / "tok.json"
    from tests.tokenizers_kit.trained import train_file

    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "bpe", "--vocab-size", "300",
                      f"--memory={size}", "-o", str(out))
    assert_one_line_error(result, "--memory")
    assert not out.exists()


@pytest.mark.parametrize("make", ["missing", "file"])
def test_bad_temp_dir_is_a_one_line_error(make, tmp_path):
    from tests.tokenizers_kit.trained import train_file

    temp = tmp_path / "t"
    if make == "file":
        temp.write_text("x")
    out = tmp_path / "tok.json"
    result = run_tkit("train", "tokenizer", str(train_file()), "--algo", "bpe", "--vocab-size", "300",
                      "--memory", "64M", "--temp-dir", str(temp), "-o", str(out))
    assert_one_line_error(result, "--temp-dir")
    assert not out.exists()


def test_a_full_disk_while_spilling_is_a_tkit_error(tiny_table, tmp_path, monkeypatch):
    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    table = SpillingCounts(16 << 20, str(tmp_path))
    monkeypatch.setattr("builtins.open", no_space)
    with pytest.raises(TkitError, match="cannot write counting runs"):
        table.add({"a": 1})
    monkeypatch.undo()
    table.close()
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_memory_option():
    result = run_tkit("train", "tokenizer", "--help")
    assert "--memory SIZE" in result.out and "--temp-dir DIR" in result.out


def _trained_or_error(counts, pipeline, **kwargs) -> str:
    try:
        return train_from_counts(counts, pipeline, **kwargs).to_str()
    except TkitError as err:
        return f"error: {err}"


@pytest.mark.parametrize(("algo", "sp_model"), [("unigram", "unigram"), ("sentencepiece", "unigram"),
                                                ("sentencepiece", "bpe")])
@pytest.mark.parametrize("min_frequency", [2, 7, 10**9])
def test_pruning_while_counting_gives_the_same_tokenizer(algo, sp_model, min_frequency):
    """`prunable_min_count` leaves rare chunks out while counting; the trainer drops them anyway, so the
    tokenizer (or the error, when nothing is left) is the same as from the full count."""
    from tests.tokenizers_kit.trained import lines

    text = list(lines(0, 3000))
    pipeline = build_pipeline(algo)
    specials = resolve_specials(algo, None)
    kwargs = {"vocab_size": 400, "min_frequency": min_frequency, "special_tokens": specials, "sp_model": sp_model}
    full = count_chunks(iter(text), pipeline, specials)
    pruned = count_chunks(iter(text), pipeline, specials, min_count=prunable_min_count(algo, min_frequency))
    assert len(pruned.counts) < len(full.counts)  # something was left out
    assert _trained_or_error(pruned, pipeline, **kwargs) == _trained_or_error(full, pipeline, **kwargs)


@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "char"])
def test_no_pruning_where_it_would_change_the_result(algo):
    assert prunable_min_count(algo, 5) == 0


@pytest.mark.parametrize("algo", ["bpe", "unigram"])
def test_the_cli_writes_the_same_file_within_a_budget(algo, tiny_table, tmp_path):
    from tests.tokenizers_kit.trained import train_file

    spill = tmp_path / "spill"
    spill.mkdir()
    common = ["train", "tokenizer", str(train_file()), "--algo", algo, "--vocab-size", "400", "--min-frequency", "2"]
    plain, bounded = tmp_path / "plain.json", tmp_path / "bounded.json"
    assert run_tkit(*common, "-o", str(plain)).code == 0
    result = run_tkit(*common, "--memory", "16M", "--temp-dir", str(spill), "-o", str(bounded))
    assert result.code == 0, result.err
    assert bounded.read_bytes() == plain.read_bytes()
    assert list(spill.iterdir()) == []
