"""BPE / WordPiece training and BPE model encoding on data/shakespeare.txt, ours against HF `tokenizers`.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_bpe_train.py -o addopts="" \
         --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Each "ours" timing is the whole job, as HF's is: read the file, pre-tokenize and count, train. The counting
here splits the whole text at once with a newline-safe form of the GPT-2 pattern, which yields exactly the
chunks of splitting line by line (as HF `train_from_files` does; checked below against HF's vocabulary).
Both sides: 1 warm-up round, then best of 3. Encoding: every round starts cold on both sides (ours clears its
caches, HF gets a fresh Tokenizer: its BPE cache would otherwise be warm from the previous round) and HF runs
`encode_batch_fast` (its fastest documented batch API: no offsets) on 2 threads, ours on one.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import regex

from tests.benchmarks.common import peer, record
from tokenizers_kit.bytes_map import byte_alphabet, text_to_symbols
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.trainers.bpe import BPETrainer
from tokenizers_kit.trainers.wordpiece import WordPieceTrainer

CORPUS = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
VOCAB_SIZE = 8192
BPE_SPECIALS = ["<|endoftext|>"]

# GPT-2's pattern with "\n" taken out of the whitespace runs and given its own alternative, so a match never
# crosses a line end and a whitespace run that reaches the line end keeps its "\n": on the whole text it finds
# the same chunks as the plain pattern does line by line. ASCII twin for the (faster) stdlib engine.
_WS = r"\t\n\x0b\x0c\r "
_WS_NO_NL = r"\t\x0b\x0c\r "
GPT2_LINES_ASCII = re.compile(rf"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^{_WS}A-Za-z0-9]+"""
                              rf"""|[{_WS_NO_NL}]*\n|[{_WS_NO_NL}]+(?![^{_WS}])|[{_WS_NO_NL}]+""")
GPT2_LINES = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
                           r"""|[^\S\n]*\n|[^\S\n]+(?!\S)|[^\S\n]+""")
HF_WHITESPACE_ASCII = re.compile(rf"[A-Za-z0-9_]+|[^A-Za-z0-9_{_WS}]+")
HF_WHITESPACE = regex.compile(r"\w+|[^\w\s]+")


def read_corpus() -> str:
    with open(CORPUS, encoding="utf-8", newline="") as f:
        return f.read()


def gpt2_word_counts(text: str) -> dict[str, int]:
    """Byte-level chunk counts of `text`, as HF's ByteLevel pre-tokenizer makes them line by line."""
    words = Counter((GPT2_LINES_ASCII if text.isascii() else GPT2_LINES).findall(text))
    return {text_to_symbols(w): n for w, n in words.items()}


def whitespace_word_counts(text: str) -> dict[str, int]:
    """HF Whitespace pre-tokenizer chunk counts. ASCII text: split on whitespace and count in C first (905k
    pieces, 74k distinct on Shakespeare), then run the regex once per distinct piece; the same counts, in the
    same first-seen order, as `plain_whitespace_word_counts` (str.split's ASCII whitespace is the regex's plus
    \\x1c-\\x1f, hence the guard)."""
    if not text.isascii() or any(c in text for c in "\x1c\x1d\x1e\x1f"):
        return plain_whitespace_word_counts(text)
    counts: Counter[str] = Counter()
    whole, findall = HF_WHITESPACE_ASCII.fullmatch, HF_WHITESPACE_ASCII.findall
    for piece, n in Counter(text.split()).items():
        if whole(piece):
            counts[piece] += n
        else:
            for chunk in findall(piece):
                counts[chunk] += n
    return dict(counts)


def plain_whitespace_word_counts(text: str) -> dict[str, int]:
    return dict(Counter((HF_WHITESPACE_ASCII if text.isascii() else HF_WHITESPACE).findall(text)))


def train_bpe_ours() -> BPEModel:
    counts = gpt2_word_counts(read_corpus())
    return BPETrainer(VOCAB_SIZE, special_tokens=BPE_SPECIALS, initial_alphabet=byte_alphabet()).train(counts)


def train_bpe_hf():
    tk = peer("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tk.trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=BPE_SPECIALS,
                                     initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([str(CORPUS)], trainer)
    return tok


def train_wordpiece_ours(score: str = "likelihood"):
    return WordPieceTrainer(VOCAB_SIZE, special_tokens=["[UNK]"], score=score).train(
        whitespace_word_counts(read_corpus()))


def train_wordpiece_hf():
    tk = peer("tokenizers")
    tok = tk.Tokenizer(tk.models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    tok.train([str(CORPUS)], tk.trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=["[UNK]"],
                                                          show_progress=False))
    return tok


@pytest.mark.benchmark(group="train BPE byte-level 8192 (read + pre-tokenize + count + train)")
def test_bpe_train_ours(benchmark) -> None:
    model = benchmark.pedantic(train_bpe_ours, rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, side="tkit", seconds=benchmark.stats.stats.min)
    theirs = json.loads(train_bpe_hf().to_str())["model"]
    ours = model.to_dict()
    assert list(ours["vocab"].items()) == list(theirs["vocab"].items())  # the very same vocabulary ...
    assert ours["merges"] == theirs["merges"]  # ... and merges, in the same order
    benchmark.extra_info["same_merges_as_hf"] = True


@pytest.mark.benchmark(group="train BPE byte-level 8192 (read + pre-tokenize + count + train)")
def test_bpe_train_hf(benchmark) -> None:
    tk = peer("tokenizers")
    benchmark.pedantic(train_bpe_hf, rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, side=f"HF tokenizers {tk.__version__}", seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train BPE byte-level 8192 (read + pre-tokenize + count + train)")
def test_bpe_train_sentencepiece(benchmark, tmp_path) -> None:
    """sentencepiece's BPE (its own normalization and pieces, not byte-level: a different model, for scale)."""
    spm = peer("sentencepiece")
    benchmark.pedantic(lambda: spm.SentencePieceTrainer.train(
        input=str(CORPUS), model_prefix=str(tmp_path / "bpe"), vocab_size=VOCAB_SIZE, model_type="bpe",
        num_threads=2, minloglevel=2), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, side=f"sentencepiece {spm.__version__} BPE, 2 threads", seconds=benchmark.stats.stats.min)


@pytest.mark.parametrize("text", ["a b,c  d--e\t\nf_g 'h' x1c\x1cy", "naïve café, déjà", "", " \n "])
def test_whitespace_counts_split_first_match_the_regex(text: str) -> None:
    assert list(whitespace_word_counts(text).items()) == list(plain_whitespace_word_counts(text).items())


def test_whitespace_counts_split_first_match_the_regex_on_the_corpus() -> None:
    text = read_corpus()
    assert list(whitespace_word_counts(text).items()) == list(plain_whitespace_word_counts(text).items())


@pytest.mark.benchmark(group="train WordPiece 8192 (read + pre-tokenize + count + train)")
@pytest.mark.parametrize("score", ["likelihood", "ratio"])
def test_wordpiece_train_ours(benchmark, score: str) -> None:
    model = benchmark.pedantic(train_wordpiece_ours, args=(score,), rounds=3, iterations=1, warmup_rounds=1)
    assert model.get_vocab_size() == VOCAB_SIZE
    record(benchmark, side=f"tkit, {score} score", seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train WordPiece 8192 (read + pre-tokenize + count + train)")
def test_wordpiece_train_hf(benchmark) -> None:
    tk = peer("tokenizers")
    tok = benchmark.pedantic(train_wordpiece_hf, rounds=3, iterations=1, warmup_rounds=1)
    assert tok.get_vocab_size() == VOCAB_SIZE
    record(benchmark, side=f"HF tokenizers {tk.__version__}", seconds=benchmark.stats.stats.min)


# ---- encoding ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained() -> BPEModel:
    return train_bpe_ours()


@pytest.fixture(scope="module")
def chunks() -> list[str]:
    """The whole corpus pre-tokenized (GPT-2 split, per line) and byte-mapped: the model layer's input."""
    text = read_corpus()
    return [text_to_symbols(c) for c in (GPT2_LINES_ASCII if text.isascii() else GPT2_LINES).findall(text)]


def _model_mb_per_s(benchmark, seconds: float, side: str = "tkit") -> None:
    record(benchmark, side=side, seconds=seconds, **{"MB/s": round(CORPUS.stat().st_size / 1e6 / seconds, 2)})


@pytest.mark.benchmark(group="encode 5 MB: BPE model layer")
def test_model_encode_cold_cache(benchmark, trained: BPEModel, chunks: list[str]) -> None:
    """Every distinct chunk merged once (a fresh cache), then dict hits."""
    def run() -> int:
        trained._cache.clear()
        tokenize = trained.tokenize
        return sum(len(tokenize(c)) for c in chunks)

    n_tokens = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _model_mb_per_s(benchmark, benchmark.stats.stats.min)
    benchmark.extra_info["tokens"] = n_tokens


@pytest.mark.benchmark(group="encode 5 MB: BPE model layer")
def test_model_encode_ids_cold_cache(benchmark, trained: BPEModel, chunks: list[str]) -> None:
    def run() -> int:
        trained._ids_cache.clear()
        out: list[int] = []
        extend, tokenize_ids = out.extend, trained.tokenize_ids
        for c in chunks:
            extend(tokenize_ids(c))
        return len(out)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _model_mb_per_s(benchmark, benchmark.stats.stats.min)


@pytest.mark.benchmark(group="encode 5 MB: pre-tokenize + BPE model (one thread) vs HF encode_batch_fast (2 threads)")
def test_pretokenize_and_encode_ours(benchmark, trained: BPEModel) -> None:
    text = read_corpus()
    split = (GPT2_LINES_ASCII if text.isascii() else GPT2_LINES).findall

    def run() -> int:
        trained._ids_cache.clear()
        out: list[int] = []
        extend, tokenize_ids, cache = out.extend, trained.tokenize_ids, trained._ids_cache
        for c in split(text):
            ids = cache.get(c)  # the raw chunk is only byte-mapped on a miss
            if ids is None:
                ids = cache[c] = tokenize_ids(text_to_symbols(c))
            extend(ids)
        return len(out)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _model_mb_per_s(benchmark, benchmark.stats.stats.min)


@pytest.mark.benchmark(group="encode 5 MB: pre-tokenize + BPE model (one thread) vs HF encode_batch_fast (2 threads)")
def test_encode_batch_fast_hf(benchmark, trained: BPEModel) -> None:
    tk = peer("tokenizers")
    vocab = dict(trained.get_vocab().items())

    def fresh():  # a new Tokenizer each round: no BPE cache left warm by the previous round
        hf = tk.Tokenizer(tk.models.BPE(vocab, trained.merges))
        hf.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        return (hf,), {}

    lines = read_corpus().splitlines(keepends=True)
    benchmark.pedantic(lambda hf: hf.encode_batch_fast(lines), setup=fresh, rounds=3, iterations=1, warmup_rounds=1)
    _model_mb_per_s(benchmark, benchmark.stats.stats.min, f"HF tokenizers {tk.__version__} encode_batch_fast")
