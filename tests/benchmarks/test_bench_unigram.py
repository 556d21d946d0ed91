"""Unigram training and encoding on data/shakespeare.txt: ours against sentencepiece and HF `tokenizers`.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_unigram.py -o addopts="" -s \
         --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

"ours" timings are the whole job as the peers do it: read the file, cut it into chunks and count them, train
(vocab 8000). Two chunkings, as `tkit train tokenizer` makes them:
- unigram (HF-style Metaspace): each line gets a leading "▁", spaces become "▁", a chunk starts at each "▁";
- sentencepiece: each whole line (leading "▁", spaces as "▁") is one chunk; byte fallback on.
sentencepiece runs with its defaults (model_type=unigram, its own NFKC normalization and 16 threads); HF with
the Metaspace pre-tokenizer. `test_summary` prints all figures of one run side by side, plus the held-out
token counts (train on the first 90% of lines, count tokens on the last 10%).
"""
from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tokenizers_kit.models.unigram import UnigramModel
from tokenizers_kit.trainers.unigram import UnigramTrainer

CORPUS = Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt"
VOCAB_SIZE = 8000
SP = "\u2581"
_WORD = re.compile(f"{SP}[^{SP}\n]*")


def read_lines() -> list[str]:
    with open(CORPUS, encoding="utf-8") as f:
        return f.read().split("\n")


def word_counts(lines: list[str]) -> dict[str, int]:
    """Metaspace(prepend always, split) chunks of every line, counted."""
    text = SP + "\n".join(lines).replace(" ", SP).replace("\n", "\n" + SP)
    return dict(Counter(_WORD.findall(text)))


def line_counts(lines: list[str]) -> dict[str, int]:
    return {SP + line.replace(" ", SP): n for line, n in Counter(lines).items() if line}


def train_ours(chunking: str, lines: list[str] | None = None) -> UnigramModel:
    lines = read_lines() if lines is None else lines
    if chunking == "unigram":
        return UnigramTrainer(VOCAB_SIZE).train(word_counts(lines))
    return UnigramTrainer(VOCAB_SIZE, byte_fallback=True).train(line_counts(lines))


def train_sentencepiece(path: Path = CORPUS, prefix: str | None = None):
    spm = pytest.importorskip("sentencepiece")
    prefix = prefix or str(Path(tempfile.mkdtemp()) / "sp")
    spm.SentencePieceTrainer.train(input=str(path), model_prefix=prefix, vocab_size=VOCAB_SIZE,
                                   model_type="unigram", minloglevel=2)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def train_hf():
    tk = pytest.importorskip("tokenizers")
    tok = tk.Tokenizer(tk.models.Unigram())
    tok.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always", split=True)
    trainer = tk.trainers.UnigramTrainer(vocab_size=VOCAB_SIZE, unk_token="<unk>", special_tokens=["<unk>"],
                                         show_progress=False)
    tok.train([str(CORPUS)], trainer)
    return tok


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
@pytest.mark.parametrize("chunking", ["unigram", "sentencepiece"])
def test_train_ours(benchmark, chunking: str) -> None:
    model = benchmark.pedantic(train_ours, args=(chunking,), rounds=3, iterations=1, warmup_rounds=0)
    assert model.get_vocab_size() == VOCAB_SIZE


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
def test_train_sentencepiece(benchmark) -> None:
    benchmark.pedantic(train_sentencepiece, rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
def test_train_hf(benchmark) -> None:
    benchmark.pedantic(train_hf, rounds=1, iterations=1, warmup_rounds=0)


# ---- encoding ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model() -> UnigramModel:
    return train_ours("unigram")


def _mb_per_s(benchmark) -> None:
    benchmark.extra_info["MB/s"] = round(CORPUS.stat().st_size / 1e6 / benchmark.stats.stats.min, 2)


@pytest.mark.benchmark(group="encode 5 MB: Unigram model layer, cold cache")
@pytest.mark.parametrize("chunking", ["words", "lines"])
def test_encode_ours(benchmark, model: UnigramModel, chunking: str) -> None:
    lines = read_lines()
    if chunking == "words":
        chunks = _WORD.findall("\n".join(SP + line.replace(" ", SP) for line in lines))
    else:
        chunks = [SP + line.replace(" ", SP) for line in lines if line]

    def run() -> int:
        model._cache.clear()
        tokenize = model.tokenize
        return sum(len(tokenize(c)) for c in chunks)

    benchmark.extra_info["tokens"] = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    _mb_per_s(benchmark)


@pytest.mark.benchmark(group="encode 5 MB: Unigram model layer, cold cache")
def test_encode_hf_batch(benchmark, model: UnigramModel) -> None:
    tk = pytest.importorskip("tokenizers")
    hf = tk.Tokenizer(tk.models.Unigram(model.vocab, model.unk_id, model.byte_fallback))
    hf.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always", split=True)
    lines = read_lines()
    benchmark.pedantic(lambda: hf.encode_batch(lines), rounds=3, iterations=1, warmup_rounds=0)
    _mb_per_s(benchmark)


@pytest.mark.benchmark(group="encode 5 MB: Unigram model layer, cold cache")
def test_encode_sentencepiece(benchmark) -> None:
    sp = train_sentencepiece()
    lines = read_lines()
    benchmark.pedantic(lambda: sp.encode(lines), rounds=3, iterations=1, warmup_rounds=0)
    _mb_per_s(benchmark)


# ---- one run, all figures ------------------------------------------------------------------------------------

def _best_of(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_summary(tmp_path: Path) -> None:
    """Training times (interleaved, best of 3), held-out token counts, encode speed: pytest -s prints them."""
    pytest.importorskip("sentencepiece")
    t_ours = {c: [] for c in ("unigram", "sentencepiece")}
    t_sp = []
    for _ in range(3):  # interleaved, so a busy machine slows all of them alike
        for c in t_ours:
            t_ours[c].append(_best_of(lambda c=c: train_ours(c), 1))
        t_sp.append(_best_of(train_sentencepiece, 1))
    t_hf = _best_of(train_hf, 1)
    print(f"\ntrain vocab {VOCAB_SIZE}: ours (unigram chunks) {min(t_ours['unigram']):.2f} s, "
          f"ours (sentencepiece chunks) {min(t_ours['sentencepiece']):.2f} s, "
          f"sentencepiece {min(t_sp):.2f} s, HF {t_hf:.2f} s")

    lines = read_lines()
    cut = int(len(lines) * 0.9)
    train, test = lines[:cut], lines[cut:]
    path = tmp_path / "train.txt"
    path.write_text("\n".join(train) + "\n", encoding="utf-8")
    sp = train_sentencepiece(path, str(tmp_path / "sp"))
    n_sp = sum(len(sp.encode(line)) for line in test)
    ours_w = train_ours("unigram", train)
    ours_l = train_ours("sentencepiece", train)
    n_w = sum(len(ours_w.tokenize(c)) for c in _WORD.findall("\n".join(SP + " ".join(l.split()).replace(" ", SP)
                                                                            for l in test if l.strip())))
    n_l = sum(len(ours_l.tokenize(SP + SP.join(line.split()))) for line in test if line.strip())
    print(f"held-out tokens ({len(test)} lines): sentencepiece {n_sp}, ours unigram chunks {n_w} "
          f"({n_w / n_sp:.4f}x), ours sentencepiece chunks {n_l} ({n_l / n_sp:.4f}x)")
