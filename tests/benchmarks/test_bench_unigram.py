"""Unigram training and encoding on data/shakespeare.txt: ours against sentencepiece and HF `tokenizers`.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_unigram.py -o addopts="" -s \
         --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

"ours" timings are the whole job as the peers do it: read the file, cut it into chunks and count them, train
(vocab 8000). Two chunkings, as `tkit train tokenizer` makes them:
- unigram (HF-style Metaspace): each line gets a leading "▁", spaces become "▁", a chunk starts at each "▁";
- sentencepiece: each whole line (leading "▁", spaces as "▁") is one chunk; byte fallback on.
sentencepiece runs with its defaults (model_type=unigram, its own NFKC normalization) but 2 threads, the cores
we use (its default 16 threads only oversubscribe 2 cores); HF with the Metaspace pre-tokenizer. Every side:
1 warm-up round, best of 3. Encoding starts cold each round on every side (ours clears its cache, HF gets a
fresh Tokenizer) and the peers use their fastest batch APIs on 2 threads (HF `encode_batch_fast`,
sentencepiece `encode(list, num_threads=2)`).

Like for like on whitespace: sentencepiece's defaults apply NFKC and collapse runs of spaces (remove_extra_whitespaces),
tkit's `--algo unigram` keeps every space. `test_train_pipeline` times the whole `tkit train tokenizer` pipeline
both ways (`normalization="sentencepiece"` against sentencepiece's defaults, `"none"` against sentencepiece with
remove_extra_whitespaces=False), and `test_held_out_tokens` counts tokens on the same raw held-out text (train on
the first 90% of lines, encode the last 10% as they are, nothing collapsed by hand) for those two pairs.
"""
from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.benchmarks.common import peer, record
from tokenizers_kit.models.unigram import UnigramModel
from tokenizers_kit.trainers.unigram import UnigramTrainer
from tokenizers_kit.training import train_tokenizer

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


def train_sentencepiece(path: Path = CORPUS, prefix: str | None = None, remove_extra_whitespaces: bool = True):
    spm = peer("sentencepiece")
    prefix = prefix or str(Path(tempfile.mkdtemp()) / "sp")
    spm.SentencePieceTrainer.train(input=str(path), model_prefix=prefix, vocab_size=VOCAB_SIZE,
                                   model_type="unigram", num_threads=2, minloglevel=2,
                                   remove_extra_whitespaces=remove_extra_whitespaces)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def train_hf():
    tk = peer("tokenizers")
    tok = tk.Tokenizer(tk.models.Unigram())
    tok.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always", split=True)
    trainer = tk.trainers.UnigramTrainer(vocab_size=VOCAB_SIZE, unk_token="<unk>", special_tokens=["<unk>"],
                                         show_progress=False)
    tok.train([str(CORPUS)], trainer)
    return tok


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
@pytest.mark.parametrize("chunking", ["unigram", "sentencepiece"])
def test_train_ours(benchmark, chunking: str) -> None:
    model = benchmark.pedantic(train_ours, args=(chunking,), rounds=3, iterations=1, warmup_rounds=1)
    assert model.get_vocab_size() == VOCAB_SIZE
    record(benchmark, side=f"tkit, {chunking} chunks", seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
@pytest.mark.parametrize("normalization", ["sentencepiece", "none"])
def test_train_pipeline(benchmark, normalization: str) -> None:
    """`tkit train tokenizer --algo unigram --normalization ...` as a library call, file in, model out."""
    tok = benchmark.pedantic(train_tokenizer, args=(str(CORPUS), "unigram"),
                             kwargs={"vocab_size": VOCAB_SIZE, "normalization": normalization},
                             rounds=3, iterations=1, warmup_rounds=1)
    assert tok.get_vocab_size() == VOCAB_SIZE
    record(benchmark, side=f"tkit unigram, normalization {normalization}", seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
def test_train_sentencepiece_keep_whitespace(benchmark) -> None:
    spm = peer("sentencepiece")
    benchmark.pedantic(train_sentencepiece, kwargs={"remove_extra_whitespaces": False}, rounds=3, iterations=1,
                       warmup_rounds=1)
    record(benchmark, side=f"sentencepiece {spm.__version__}, remove_extra_whitespaces=False, 2 threads",
           seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
def test_train_sentencepiece(benchmark) -> None:
    spm = peer("sentencepiece")
    benchmark.pedantic(train_sentencepiece, rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, side=f"sentencepiece {spm.__version__}, 2 threads", seconds=benchmark.stats.stats.min)


@pytest.mark.benchmark(group="train Unigram 8000 (read + chunk + count + train)")
def test_train_hf(benchmark) -> None:
    tk = peer("tokenizers")
    benchmark.pedantic(train_hf, rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, side=f"HF tokenizers {tk.__version__}", seconds=benchmark.stats.stats.min)


# ---- encoding ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model() -> UnigramModel:
    return train_ours("unigram")


def _mb_per_s(benchmark, side: str) -> None:
    seconds = benchmark.stats.stats.min
    record(benchmark, side=side, seconds=seconds, **{"MB/s": round(CORPUS.stat().st_size / 1e6 / seconds, 2)})


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

    benchmark.extra_info["tokens"] = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _mb_per_s(benchmark, f"tkit, {chunking} chunks")


@pytest.mark.benchmark(group="encode 5 MB: Unigram model layer, cold cache")
def test_encode_hf_batch(benchmark, model: UnigramModel) -> None:
    tk = peer("tokenizers")

    def fresh():  # a new Tokenizer each round: no cache left warm by the previous round
        hf = tk.Tokenizer(tk.models.Unigram(model.vocab, model.unk_id, model.byte_fallback))
        hf.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always", split=True)
        return (hf,), {}

    lines = read_lines()
    benchmark.pedantic(lambda hf: hf.encode_batch_fast(lines), setup=fresh, rounds=3, iterations=1, warmup_rounds=1)
    _mb_per_s(benchmark, f"HF tokenizers {tk.__version__} encode_batch_fast")


@pytest.mark.benchmark(group="encode 5 MB: Unigram model layer, cold cache")
def test_encode_sentencepiece(benchmark) -> None:
    spm = peer("sentencepiece")
    sp = train_sentencepiece()
    lines = read_lines()
    benchmark.pedantic(lambda: sp.encode(lines, num_threads=2), rounds=3, iterations=1, warmup_rounds=1)
    _mb_per_s(benchmark, f"sentencepiece {spm.__version__} (its own model), 2 threads")


# ---- held-out token counts ----------------------------------------------------------------------------------

def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


@pytest.mark.benchmark(group="held-out compression")
def test_held_out_tokens(benchmark, tmp_path: Path) -> None:
    """Train on the first 90% of lines, count tokens on the raw last 10%, two like-for-like pairs: tkit unigram
    with sentencepiece's normalization against sentencepiece's defaults; tkit's lossless default against
    sentencepiece keeping whitespace. A quality figure: the timed call (tkit encoding the held-out lines once) is
    only there so the counts ride in the benchmark JSON; the training times are one run each."""
    peer("sentencepiece")
    lines = read_lines()
    cut = int(len(lines) * 0.9)
    train, test = lines[:cut], lines[cut:]
    path = tmp_path / "train.txt"
    path.write_text("\n".join(train) + "\n", encoding="utf-8")
    report: dict[str, float | int] = {"held_lines": len(test)}
    for name, normalization, remove in (("collapsed", "sentencepiece", True), ("kept", "none", False)):
        sp, sp_s = _timed(train_sentencepiece, path, str(tmp_path / f"sp-{name}"), remove_extra_whitespaces=remove)
        ours, ours_s = _timed(train_tokenizer, str(path), "unigram", vocab_size=VOCAB_SIZE,
                              normalization=normalization)
        if name == "collapsed":
            n_ours = sum(map(len, benchmark.pedantic(ours.encode_batch_ids, args=(test,), rounds=1)))
        else:
            n_ours = sum(map(len, ours.encode_batch_ids(test)))
        n_sp = sum(map(len, sp.encode(test)))
        report |= {f"tokens_tkit_{name}": n_ours, f"tokens_sentencepiece_{name}": n_sp,
                   f"ratio_{name}": n_ours / n_sp, f"train_s_tkit_{name}": round(ours_s, 3),
                   f"train_s_sentencepiece_{name}": round(sp_s, 3)}
    record(benchmark, **report)
