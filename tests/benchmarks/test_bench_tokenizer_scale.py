"""Tokenizer training at scale (issue 12; run by `make bench`, not by `make test`): BPE, WordPiece and Unigram
on 100 MB+ of text, `tkit train tokenizer` against HF `tokenizers` (`Tokenizer.train(files, trainer)`, the same
pre-tokenizer and vocabulary size) and sentencepiece for Unigram, each side a subprocess of its own (wall time
and peak RSS through /usr/bin/time, as test_bench_scale.py measures lmplz).

The corpus is data/shakespeare.txt written TKIT_TOKSCALE_COPIES times (default 20, about 100 MB) as raw text:
punctuation, case and line breaks kept, so every pre-tokenizer sees what it sees on real text. In each copy a
seeded fifth of the word types (runs of letters) is renamed for that copy by appending letters (`king` ->
`kingqc`), so distinct chunks keep growing with the corpus instead of only raising old counts. The n-gram scale
bench renames to `word_<copy>`; here that would not work: every tokenizer's pre-tokenizer cuts at "_" and
digits, so those names would fall apart into the same old chunks.

`test_counting_memory` measures counting alone (peak RSS of `count_chunks`, unbounded and under a --memory
budget) against distinct chunks at two corpus sizes. Wall and CPU seconds (user + system, the processes'
children included) are both recorded: on a shared machine the CPU seconds are the steadier comparison.
`test_unigram_memory_growth` measures counting + the Unigram trainer at a quarter, a half and all of the corpus,
with the sizes its memory follows (distinct chunks, segments, lattice nodes). Figures go to extra_info;
report.py prints them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import regex

from tests.benchmarks.common import peer, record
from tests.benchmarks.test_bench_ngram import CORPUS, ROOT, TKIT

COPIES = int(os.environ.get("TKIT_TOKSCALE_COPIES", "20"))
RENAMED = 0.2  # the share of word types renamed in each copy
SEED = 12
BPE_VOCAB = 32000
VOCAB = 8000  # WordPiece and Unigram
WORD = regex.compile(r"\p{L}+")


def copy_suffix(copy: int) -> str:
    """Letters only (so every pre-tokenizer keeps the renamed word whole): 0 -> "qa", 27 -> "qbb"."""
    out = ""
    copy += 1
    while copy:
        copy, r = divmod(copy - 1, 26)
        out = chr(ord("a") + r) + out
    return "q" + out


def write_corpus(path: Path, copies: int, seed: int = SEED) -> int:
    """The renamed copies of the raw text into `path`; returns the bytes written."""
    text = CORPUS.read_text(encoding="utf-8")
    types = sorted(set(WORD.findall(text)))
    with open(path, "w", encoding="utf-8") as out:
        for copy in range(copies):
            picked = np.random.default_rng([seed, copy]).random(len(types)) < RENAMED
            suffix = copy_suffix(copy)
            rename = {w: w + suffix for w, p in zip(types, picked) if p}
            out.write(WORD.sub(lambda m: rename.get(m.group(), m.group()), text))
    return path.stat().st_size


def run_measured(cmd: list[str], stdout: Path | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds user + system) of one child process and the processes it
    waited for, through /usr/bin/time (a child forked from this large pytest process would report its
    resident size). CPU seconds are the figure to trust on a shared machine: wall time grows with other load."""
    report = Path(str(stdout or "/tmp/tkit-tokscale") + ".time")
    start = time.perf_counter()
    with open(stdout or os.devnull, "wb") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", str(report), *cmd], stdout=out,
                              stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    assert proc.returncode == 0, cmd
    rss_kb, user, system = report.read_text().split()[-3:]
    return wall, int(rss_kb) / 1024, float(user) + float(system)


# ---- the peers' scripts (each runs in a process of its own) ----------------------------------------------------

_HF = {
    "bpe": """
        tok = tk.Tokenizer(tk.models.BPE())
        tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = tk.trainers.BpeTrainer(vocab_size={bpe_vocab}, special_tokens=["<|endoftext|>"],
                                         initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    """,
    "wordpiece": """
        tok = tk.Tokenizer(tk.models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = tk.normalizers.BertNormalizer(lowercase=False, strip_accents=None)
        tok.pre_tokenizer = tk.pre_tokenizers.BertPreTokenizer()
        trainer = tk.trainers.WordPieceTrainer(vocab_size={vocab}, special_tokens=["[UNK]", "[CLS]", "[SEP]",
                                               "[PAD]", "[MASK]"], show_progress=False)
    """,
    "unigram": """
        tok = tk.Tokenizer(tk.models.Unigram())
        tok.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement="\\u2581", prepend_scheme="always", split=True)
        trainer = tk.trainers.UnigramTrainer(vocab_size={vocab}, unk_token="<unk>", special_tokens=["<unk>"],
                                             show_progress=False)
    """,
}


def hf_script(algo: str, corpus: Path, out: Path) -> str:
    body = textwrap.dedent(_HF[algo]).format(bpe_vocab=BPE_VOCAB, vocab=VOCAB)
    return f"import tokenizers as tk\n{body}\ntok.train([{str(corpus)!r}], trainer)\ntok.save({str(out)!r})\n"


def sentencepiece_script(corpus: Path, prefix: Path) -> str:
    """sentencepiece's defaults except 2 threads (the cores we have) and every sentence (no sampling: the same
    input as the other sides); remove_extra_whitespaces=False keeps every space, like `--algo unigram`."""
    return (f"import sentencepiece as spm\nspm.SentencePieceTrainer.train(input={str(corpus)!r}, "
            f"model_prefix={str(prefix)!r}, vocab_size={VOCAB}, model_type='unigram', num_threads=2, minloglevel=2, "
            f"remove_extra_whitespaces=False, input_sentence_size=0, max_sentence_length=1 << 20, "
            f"train_extremely_large_corpus=True)\n")


def tkit_cmd(algo: str, corpus: Path, out: Path, *extra: str) -> list[str]:
    vocab = BPE_VOCAB if algo == "bpe" else VOCAB
    return [*TKIT, "-q", "train", "tokenizer", str(corpus), "--algo", algo, "--vocab-size", str(vocab),
            "-o", str(out), *extra]


def vocab_of(path: Path) -> dict[str, int]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]


@pytest.fixture(scope="module")
def scale_corpus(tmp_path_factory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("tokscale") / "renamed_copies.txt"
    return path, write_corpus(path, COPIES)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "unigram"])
def test_train_vs_hf(benchmark, scale_corpus, tmp_path, algo):
    tk = peer("tokenizers")
    corpus, size = scale_corpus
    ours_out = tmp_path / "ours.json"
    runs = []
    benchmark.pedantic(lambda: runs.append(run_measured(tkit_cmd(algo, corpus, ours_out))), rounds=1, iterations=1)
    script = tmp_path / "hf.py"
    hf_out = tmp_path / "hf.json"
    script.write_text(hf_script(algo, corpus, hf_out), encoding="utf-8")
    hf = run_measured([sys.executable, str(script)])
    ours = runs[0]
    figures = {"algo": algo, "corpus_mb": size / 1e6, "copies": COPIES, "tkit_s": ours[0], "tkit_peak_mb": ours[1],
               "tkit_cpu_s": ours[2], "hf_s": hf[0], "hf_peak_mb": hf[1], "hf_cpu_s": hf[2],
               "time_ratio": ours[0] / hf[0], "cpu_ratio": ours[2] / hf[2], "hf_version": tk.__version__,
               "vocab_size": len(vocab_of(ours_out)), "load_average": os.getloadavg()[0]}
    if algo == "bpe":  # the trainers are exact twins: the same vocabulary (merges are tested in the suite)
        figures["same_vocab_as_hf"] = vocab_of(ours_out) == vocab_of(hf_out)
        assert figures["same_vocab_as_hf"]
    if algo == "unigram":
        spm = peer("sentencepiece")
        sp_script = tmp_path / "sp.py"
        sp_script.write_text(sentencepiece_script(corpus, tmp_path / "sp"), encoding="utf-8")
        sp = run_measured([sys.executable, str(sp_script)])
        figures.update(sp_s=sp[0], sp_peak_mb=sp[1], sp_cpu_s=sp[2], sp_time_ratio=ours[0] / sp[0],
                       sp_version=spm.__version__)
    record(benchmark, **figures)


COUNT_SCRIPT = """
import sys, resource, time
from tokenizers_kit.training import build_pipeline, count_chunks, resolve_specials
algo, path, memory = sys.argv[1], sys.argv[2], sys.argv[3]
p = build_pipeline(algo)
start = time.perf_counter()
c = count_chunks([path], p, resolve_specials(algo, None), memory=None if memory == "none" else memory)
print(len(c.counts), time.perf_counter() - start)
"""


@pytest.mark.slow
@pytest.mark.parametrize("memory", ["none", "64M"])
def test_counting_memory(benchmark, scale_corpus, tmp_path, memory):
    """Peak RSS of counting alone (Unigram's Metaspace chunks, the most distinct), a fifth of the corpus and
    the whole, unbounded and bounded. The benchmark's time is the whole corpus's."""
    corpus, _ = scale_corpus
    small = tmp_path / "small.txt"
    write_corpus(small, max(1, COPIES // 5))
    script = tmp_path / "count.py"
    script.write_text(COUNT_SCRIPT, encoding="utf-8")
    figures: dict = {"memory": memory}

    def run(name: str, path: Path) -> None:
        out = tmp_path / f"{name}.out"
        wall, rss, cpu = run_measured([sys.executable, str(script), "unigram", str(path), memory], stdout=out)
        figures.update({f"{name}_mb": path.stat().st_size / 1e6, f"{name}_distinct": int(out.read_text().split()[0]),
                        f"{name}_s": wall, f"{name}_cpu_s": cpu, f"{name}_peak_mb": rss})

    run("small", small)
    benchmark.pedantic(run, args=("large", corpus), rounds=1, iterations=1)
    record(benchmark, **figures)


UNIGRAM_SCRIPT = """
import sys
from tokenizers_kit.training import build_pipeline, count_chunks, resolve_specials
from tokenizers_kit.trainers.unigram import UnigramTrainer
path, vocab = sys.argv[1], int(sys.argv[2])
p = build_pipeline("unigram")
c = count_chunks([path], p, resolve_specials("unigram", None))
t = UnigramTrainer(vocab, special_tokens=["<unk>"])
t.train(c.counts)
print(len(c.counts), int(t.stats["segments"]), int(t.stats["positions"]), int(t.stats["nodes"]),
      int(t.stats["blocks"]))
"""


@pytest.mark.slow
def test_unigram_memory_growth(benchmark, scale_corpus, tmp_path):
    """Peak RSS and CPU of counting + Unigram training (the trainer alone, no tokenizer.json) at a quarter, a
    half and all of the corpus, beside its distinct chunks, segments, packed positions and lattice nodes: how
    the trainer's memory grows with distinct chunks. The benchmark's time is the whole corpus's."""
    corpus, _ = scale_corpus
    script = tmp_path / "unigram.py"
    script.write_text(UNIGRAM_SCRIPT, encoding="utf-8")
    figures: dict = {}

    def run(name: str, path: Path) -> None:
        out = tmp_path / f"{name}.out"
        wall, rss, cpu = run_measured([sys.executable, str(script), str(path), str(VOCAB)], stdout=out)
        distinct, segments, positions, nodes, blocks = map(int, out.read_text().split())
        figures.update({f"{name}_mb": path.stat().st_size / 1e6, f"{name}_distinct": distinct,
                        f"{name}_segments": segments, f"{name}_positions": positions, f"{name}_nodes": nodes,
                        f"{name}_blocks": blocks, f"{name}_s": wall, f"{name}_cpu_s": cpu, f"{name}_peak_mb": rss})

    for name, copies in (("quarter", max(1, COPIES // 4)), ("half", max(1, COPIES // 2))):
        part = tmp_path / f"{name}.txt"
        write_corpus(part, copies)
        run(name, part)
    benchmark.pedantic(run, args=("whole", corpus), rounds=1, iterations=1)
    record(benchmark, **figures)


if __name__ == "__main__":  # write a corpus by hand: python -m tests.benchmarks.test_bench_tokenizer_scale OUT N
    print(write_corpus(Path(sys.argv[1]), int(sys.argv[2])), ROOT)
