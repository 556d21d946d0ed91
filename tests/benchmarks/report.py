"""Write the README's performance tables from the pytest-benchmark JSON of one `make bench` run.

    python tests/benchmarks/report.py build/bench/*.json [--readme README.md] [--stdout]

Every figure in the tables comes from the JSON files given (the benchmarks' `extra_info` and timing stats, ours
and the peer's from the same run); the tables replace whatever stands between `<!-- bench:start -->` and
`<!-- bench:end -->` in the README, headed by the date and the machine (cores, CPU model, Python, NumPy, the
peers' versions, recorded by tests/benchmarks/conftest.py). A row whose benchmarks did not run says so; a
benchmark no row knows about is listed at the end (with its stats and extra_info), so nothing measured is
dropped silently. Seconds are the best of the benchmark's rounds unless the row says "median".
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
NOT_RUN = "not run"
Bench = dict[str, Any]


class Run:
    """All benchmarks of the given JSON files, by `file_stem::test_name`; remembers which ones a row used."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.benches: dict[str, Bench] = {}
        self.machine: dict[str, Any] = {}
        self.datetime: str | None = None
        self.latest: str | None = None  # differs from `datetime` when the files come from more than one run
        for path in paths:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            self.machine = self.machine or data.get("machine_info", {})
            stamp = data.get("datetime")
            if stamp and (self.datetime is None or stamp < self.datetime):
                self.datetime = stamp
            if stamp and (self.latest is None or stamp > self.latest):
                self.latest = stamp
            for b in data.get("benchmarks", []):
                stem = Path(b.get("fullname", "").split("::")[0]).stem
                self.benches[f"{stem}::{b['name']}"] = b
        self.used: set[str] = set()

    def get(self, key: str) -> Bench | None:
        b = self.benches.get(key)
        if b is not None:
            self.used.add(key)
        return b

    def matching(self, pattern: str) -> list[str]:
        return sorted(k for k in self.benches if re.search(pattern, k))


# ---- formatting ------------------------------------------------------------------------------------------

def secs(b: Bench | None, key: str = "seconds") -> float | None:
    if b is None:
        return None
    return b.get("extra_info", {}).get(key, b["stats"]["min"])


def fs(x: float | None) -> str:
    if x is None:
        return NOT_RUN
    return f"{x * 1e3:.1f} ms" if x < 0.1 else f"{x:.2f} s"


def fnum(x: float | None, digits: int = 3) -> str:
    if x is None:
        return NOT_RUN
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def frate(x: float | None, unit: str) -> str:
    if x is None:
        return NOT_RUN
    if x >= 1e6:
        return f"{x / 1e6:.2f}M {unit}"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k {unit}"
    return f"{x:.3g} {unit}"


def ratio(ours: float | None, theirs: float | None, what: str = "ours/peer") -> str:
    if ours is None or theirs is None or theirs == 0:
        return ""
    return f" ({what} {ours / theirs:.2f})"


def xi(b: Bench | None, key: str, default: Any = None) -> Any:
    return default if b is None else b.get("extra_info", {}).get(key, default)


def mbps(b: Bench | None) -> str:
    return "" if b is None else f" ({xi(b, 'MB/s')} MB/s)"


# ---- the rows --------------------------------------------------------------------------------------------

Row = tuple[str, str, str]


def tokenizer_rows(r: Run) -> list[Row]:
    rows: list[Row] = []
    bt = "test_bench_bpe_train::"
    ours, hf = r.get(bt + "test_bpe_train_ours"), r.get(bt + "test_bpe_train_hf")
    sp_bpe = r.get(bt + "test_bpe_train_sentencepiece")
    same = " — same vocabulary and merges as HF" if xi(ours, "same_merges_as_hf") else ""
    rows.append(("BPE train, byte-level, vocab 8192 (read + pre-tokenize + count + train)", fs(secs(ours)) + same,
                 f"HF `tokenizers` {fs(secs(hf))}{ratio(secs(ours), secs(hf), 'ours/HF')}; "
                 f"sentencepiece BPE (not byte-level) {fs(secs(sp_bpe))}"))
    hf_wp = r.get(bt + "test_wordpiece_train_hf")
    for score in ("ratio", "likelihood"):
        b = r.get(f"{bt}test_wordpiece_train_ours[{score}]")
        rows.append((f"WordPiece train, vocab 8192, {score} score" + (" (default)" if score == "likelihood" else ""),
                     fs(secs(b)), f"HF {fs(secs(hf_wp))}{ratio(secs(b), secs(hf_wp), 'ours/HF')}"))
    u = "test_bench_unigram::"
    uo, us = r.get(u + "test_train_ours[unigram]"), r.get(u + "test_train_ours[sentencepiece]")
    sp, uhf = r.get(u + "test_train_sentencepiece"), r.get(u + "test_train_hf")
    rows.append(("Unigram train, vocab 8000 (read + chunk + count + train)",
                 f"{fs(secs(uo))} ({fs(secs(us))} sentencepiece-style)",
                 f"sentencepiece {fs(secs(sp))}, 2 threads{ratio(secs(uo), secs(sp), 'ours/sp')}; "
                 f"HF {fs(secs(uhf))}{ratio(secs(uo), secs(uhf), 'ours/HF')}"))
    pn, pk = r.get(u + "test_train_pipeline[sentencepiece]"), r.get(u + "test_train_pipeline[none]")
    spk = r.get(u + "test_train_sentencepiece_keep_whitespace")
    rows.append(("Unigram train 8000, whole `tkit train tokenizer --algo unigram` pipeline, like for like",
                 f"`--normalization sentencepiece` {fs(secs(pn))}; default (every space kept) {fs(secs(pk))}",
                 f"sentencepiece defaults {fs(secs(sp))}{ratio(secs(pn), secs(sp), 'ours/sp')}; "
                 f"`remove_extra_whitespaces=False` {fs(secs(spk))}{ratio(secs(pk), secs(spk), 'ours/sp')}"))
    e = "test_bench_encode::"
    t1, t2 = r.get(e + "test_encode_tkit[1]"), r.get(e + "test_encode_tkit[2]")
    hfe = r.get(e + "test_encode_hf_encode_batch_fast")
    tik = [b for b in (r.get(e + "test_encode_tiktoken_same_vocab[encode_ordinary_batch]"),
                       r.get(e + "test_encode_tiktoken_same_vocab[encode_ordinary]")) if b is not None]
    best_tik = min(tik, key=secs) if tik else None

    def api(b: Bench) -> str:
        name = b["name"].split("[")[-1].rstrip("]")
        return f"`{name}`" + (" on 2 threads" if "batch" in name else "")

    tik_api = api(best_tik) if best_tik else ""
    other_tik = "; ".join(f"{api(b)}: {fs(secs(b))}" for b in tik if b is not best_tik)
    spe = r.get(e + "test_encode_sentencepiece")
    rows.append(("encode the 5 MB file, byte-level BPE 8192, same vocabulary for all",
                 f"{fs(secs(t1))}, 1 process{mbps(t1)}; {fs(secs(t2))}, 2 processes{mbps(t2)}",
                 f"HF `encode_batch_fast` {fs(secs(hfe))}{mbps(hfe)}; tiktoken {tik_api} {fs(secs(best_tik))}"
                 f"{mbps(best_tik)}" + (f" ({other_tik})" if other_tik else "")))
    tsp = r.get(e + "test_encode_tkit_sentencepiece_unigram")
    rows.append(("encode the 5 MB file, unigram 8000 (each side its own model), 1 process",
                 f"{fs(secs(tsp))}{mbps(tsp)} (SentencePiece-style)",
                 f"sentencepiece, 2 threads, {fs(secs(spe))}{mbps(spe)}"))
    po, ph = r.get(bt + "test_pretokenize_and_encode_ours"), r.get(bt + "test_encode_batch_fast_hf")
    rows.append(("encode 5 MB in memory, pre-tokenize + BPE model, cold cache", f"{fs(secs(po))}{mbps(po)}, 1 thread",
                 f"HF `encode_batch_fast` {fs(secs(ph))}{mbps(ph)}, 2 threads"))
    mt, mi = r.get(bt + "test_model_encode_cold_cache"), r.get(bt + "test_model_encode_ids_cold_cache")
    rows.append(("encode 5 MB, BPE model layer alone on pre-cut chunks, cold cache",
                 f"tokens {fs(secs(mt))}{mbps(mt)}; ids {fs(secs(mi))}{mbps(mi)}", "—"))
    uw, ul = r.get(u + "test_encode_ours[words]"), r.get(u + "test_encode_ours[lines]")
    uh, usp = r.get(u + "test_encode_hf_batch"), r.get(u + "test_encode_sentencepiece")
    rows.append(("encode 5 MB, Unigram, cold cache (ours: the model layer on pre-cut chunks; peers: the whole "
                 "pipeline from lines)",
                 f"{fs(secs(uw))}{mbps(uw)} word chunks, {fs(secs(ul))}{mbps(ul)} line chunks; 1 thread",
                 f"HF `encode_batch_fast` {fs(secs(uh))}{mbps(uh)}; sentencepiece (own model) {fs(secs(usp))}"
                 f"{mbps(usp)}"))
    c = r.get(e + "test_compression_vs_peers")
    held = f" ({fnum(xi(c, 'held_lines'))} lines)" if c else ""
    rows.append((f"held-out bytes per token, BPE 8192 (train 90 % / test 10 % of lines){held}",
                 fnum(xi(c, "bpe_bytes_per_token_tkit"), 5),
                 f"HF trained alike: {fnum(xi(c, 'bpe_bytes_per_token_hf'), 5)}"))
    h = r.get(u + "test_held_out_tokens")

    def versus(name: str) -> str:
        ours, theirs = xi(h, f"tokens_tkit_{name}"), xi(h, f"tokens_sentencepiece_{name}")
        return fnum(ours) + (f" ({(ours / theirs - 1) * 100:+.2f} %)" if ours and theirs else "")

    rows.append(("held-out tokens, Unigram 8000, raw held-out lines, NFKC + whitespace collapsed on both sides",
                 f"`--normalization sentencepiece` {versus('collapsed')}",
                 f"sentencepiece defaults {fnum(xi(h, 'tokens_sentencepiece_collapsed'))}"))
    rows.append(("held-out tokens, Unigram 8000, raw held-out lines, every space kept on both sides",
                 f"default {versus('kept')}",
                 f"sentencepiece `remove_extra_whitespaces=False` {fnum(xi(h, 'tokens_sentencepiece_kept'))}"))
    ours_l, sp_k = xi(c, "sp_style_tokens_tkit"), xi(c, "sp_tokens_sentencepiece_keep_whitespace")
    rows.append(("held-out tokens, SentencePiece-style 8000, lossless (every space kept)",
                 fnum(ours_l) + (f" ({(ours_l / sp_k - 1) * 100:+.2f} %)" if ours_l and sp_k else ""),
                 f"sentencepiece with `remove_extra_whitespaces=False` {fnum(sp_k)} (its default: "
                 f"{fnum(xi(c, 'sp_tokens_sentencepiece'))})"))
    return rows


def tokenizer_scale_rows(r: Run) -> list[Row]:
    """Issue 12: BPE / WordPiece / Unigram training on 100 MB+ (renamed raw copies), each side a process."""
    rows: list[Row] = []
    t = "test_bench_tokenizer_scale::"
    names = {"bpe": "BPE byte-level, vocab 32000", "wordpiece": "WordPiece, vocab 8000",
             "unigram": "Unigram (Metaspace), vocab 8000"}
    for algo, label in names.items():
        b = r.get(f"{t}test_train_vs_hf[{algo}]")
        size = f"{fnum(xi(b, 'corpus_mb'))} MB (corpus ×{xi(b, 'copies')}, renamed words)" if b else "100 MB+"
        ours = (f"{fs(xi(b, 'tkit_s'))} ({fs(xi(b, 'tkit_cpu_s'))} CPU), {fnum(xi(b, 'tkit_peak_mb'), 4)} MB"
                + (" — same vocabulary as HF" if xi(b, "same_vocab_as_hf") else "")) if b else NOT_RUN
        peer = (f"HF `Tokenizer.train` {fs(xi(b, 'hf_s'))} ({fs(xi(b, 'hf_cpu_s'))} CPU), "
                f"{fnum(xi(b, 'hf_peak_mb'), 4)} MB{ratio(xi(b, 'tkit_s'), xi(b, 'hf_s'), 'time ours/HF')}"
                f"{ratio(xi(b, 'tkit_cpu_s'), xi(b, 'hf_cpu_s'), 'CPU ours/HF')}") if b else NOT_RUN
        if xi(b, "sp_s") is not None:
            peer += (f"; sentencepiece (every sentence, 2 threads) {fs(xi(b, 'sp_s'))} ({fs(xi(b, 'sp_cpu_s'))} CPU), "
                     f"{fnum(xi(b, 'sp_peak_mb'), 4)} MB{ratio(xi(b, 'tkit_s'), xi(b, 'sp_s'), 'time ours/sp')}")
        rows.append((f"train {label} on {size}: process wall time, peak RSS", ours, peer))
    for memory in ("none", "64M"):
        c = r.get(f"{t}test_counting_memory[{memory}]")
        how = "in memory" if memory == "none" else f"`--memory {memory}`"
        figures = "; ".join(f"{fnum(xi(c, name + '_mb'))} MB, {fnum(xi(c, name + '_distinct'))} distinct chunks: "
                            f"{fs(xi(c, name + '_s'))}, {fnum(xi(c, name + '_peak_mb'), 4)} MB"
                            for name in ("small", "large")) if c else NOT_RUN
        rows.append((f"counting Unigram chunks alone ({how}), peak RSS at two corpus sizes", figures, "—"))
    g = r.get(f"{t}test_unigram_memory_growth")
    growth = "; ".join(f"{fnum(xi(g, n + '_mb'))} MB, {fnum(xi(g, n + '_distinct'))} distinct chunks, "
                       f"{fnum(xi(g, n + '_nodes'))} lattice nodes in {xi(g, n + '_blocks')} blocks: "
                       f"{fs(xi(g, n + '_cpu_s'))} CPU, {fnum(xi(g, n + '_peak_mb'), 4)} MB"
                       for n in ("quarter", "half", "whole")) if g else NOT_RUN
    rows.append(("counting + Unigram trainer, peak RSS as distinct chunks grow", growth, "—"))
    return rows


def ngram_rows(r: Run) -> list[Row]:
    rows: list[Row] = []
    n = "test_bench_ngram::"
    a = r.get(n + "test_order5_arpa_vs_lmplz")
    if xi(a, "lmplz_s") is not None:
        peer = (f"`lmplz -o 5 -S 2G` {fs(xi(a, 'lmplz_s'))}, {fnum(xi(a, 'lmplz_peak_mb'))} MB (ours/lmplz "
                f"{xi(a, 'time_ratio'):.2f} in time, {xi(a, 'memory_ratio'):.2f} in memory)")
    else:
        peer = "`lmplz` not on PATH in this run" if a else NOT_RUN
    rows.append(("order-5 modified KN, text → ARPA (process wall time, peak RSS)",
                 f"{fs(xi(a, 'tkit_s'))}, {fnum(xi(a, 'tkit_peak_mb'))} MB" if a else NOT_RUN, peer))
    if xi(a, "arpa_matches_lmplz"):
        rows.append(("ARPA entries vs lmplz", "every log10 prob/backoff within 1e-4", "—"))
    s = r.get(n + "test_scale_10m_tokens")
    rows.append((f"same at {fnum(xi(s, 'tokens'))} tokens (corpus ×9)" if s else "same at 10.5M tokens (corpus ×9)",
                 f"{fs(xi(s, 'in_memory_s'))}, {fnum(xi(s, 'in_memory_peak_mb'))} MB in memory; "
                 f"{fs(xi(s, 'chunked_1G_s'))}, {fnum(xi(s, 'chunked_1G_peak_mb'))} MB with `--memory 1G`"
                 if s else NOT_RUN,
                 f"`lmplz` {fs(xi(s, 'lmplz_s'))}, {fnum(xi(s, 'lmplz_peak_mb'))} MB" if xi(s, "lmplz_s") else
                 ("`lmplz` not on PATH in this run" if s else NOT_RUN)))
    rows.extend(scale_rows(r))
    rows.append(dask_row(r))
    f = r.get(n + "test_fit_vs_nltk")
    rows.append((f"fit, order-3 Kneser-Ney, {fnum(xi(f, 'tokens'))} tokens (best of 3 after a warm-up, both sides)"
                 if f else "fit, order-3 Kneser-Ney, 300k tokens",
                 f"{fs(xi(f, 'tkit_fit_s'))} ({frate(xi(f, 'tkit_tokens_per_s'), 'tokens/s')}); counts only "
                 f"{fs(xi(f, 'tkit_count_s'))}" if f else NOT_RUN,
                 f"NLTK `nltk.lm` {fs(xi(f, 'nltk_fit_s'))}: {xi(f, 'fit_speedup', 0):.0f}× (counts only, like for "
                 f"like: {xi(f, 'count_speedup', 0):.0f}×)" if xi(f, "nltk_fit_s") else NOT_RUN))
    rows.append((f"scoring {fnum(xi(f, 'score_words'))} words and `</s>`, order 3, the same sentences" if f else
                 "scoring 10,000 words, order 3",
                 frate(xi(f, "tkit_score_words_per_s"), "words/s"),
                 f"NLTK `KneserNeyInterpolated.score` {frate(xi(f, 'nltk_score_words_per_s'), 'words/s')} (1 round): "
                 f"{xi(f, 'score_speedup', 0):,.0f}× slower" if xi(f, "nltk_score_words_per_s") else NOT_RUN))
    for order in (3, 5):
        k = r.get(f"{n}test_scoring_vs_kenlm[{order}]")
        rows.append((f"scoring {fnum(xi(k, 'words'))} words, order {order}, from text lines (best of 3 after a "
                     f"warm-up, both sides)" if k else f"scoring, order {order}",
                     f"{frate(xi(k, 'tkit_words_per_s'), 'words/s')} ({frate(xi(k, 'tkit_ids_words_per_s'), 'words/s')}"
                     f" from ids); perplexity of these lines {xi(k, 'tkit_perplexity', 0):.4f}" if k else NOT_RUN,
                     f"`kenlm.Model.score` {frate(xi(k, 'kenlm_words_per_s'), 'words/s')}; perplexity "
                     f"{xi(k, 'kenlm_perplexity', 0):.4f}" if xi(k, "kenlm_words_per_s") else NOT_RUN))
    return rows


KENLM_KINDS = {"arpa": "ARPA-loaded", "probing": "probing", "trie": "trie", "q8trie": "trie `-q 8 -b 8`"}


def kenlm_module_rows(r: Run) -> list[Row]:
    """Issue 15: ngram.kenlm vs the real kenlm module on the same files and sentences, per file kind: `score`
    and the `BaseScore` loop cold (first pass, fresh model) and warm (second pass), interleaved in one run."""
    rows: list[Row] = []
    for kind, label in KENLM_KINDS.items():
        k = r.get(f"test_bench_kenlm_module::test_kenlm_module[{kind}]")
        if k is None:
            rows.append((f"`ngram.kenlm` {label}", NOT_RUN, NOT_RUN))
            continue
        opened = "ours_open_ms" in k.get("extra_info", {})
        what = (f"`ngram.kenlm` {label} ({fnum(xi(k, 'file_mb'))} MB, order 5): `score` over {xi(k, 'words')} "
                f"words cold / warm; `BaseScore` loop cold / warm" + ("; open" if opened else ""))
        mine, peer_ = [], []
        for who, out in (("ours", mine), ("kenlm", peer_)):
            out.append(f"{frate(xi(k, f'{who}_cold_words_per_s'), 'words/s')} / "
                       f"{frate(xi(k, f'{who}_warm_words_per_s'), 'words/s')}; "
                       f"{fnum(xi(k, f'{who}_cold_base_us'))} / {fnum(xi(k, f'{who}_warm_base_us'))} µs/word"
                       + (f"; {fnum(xi(k, f'{who}_open_ms'))} ms" if opened else ""))
        times = (f" (time ours/kenlm: score {xi(k, 'cold_score_ratio', 0):.1f}× cold, "
                 f"{xi(k, 'warm_score_ratio', 0):.1f}× warm; BaseScore {xi(k, 'cold_base_ratio', 0):.1f}× cold, "
                 f"{xi(k, 'warm_base_ratio', 0):.1f}× warm)")
        rows.append((what, mine[0], f"`kenlm` {peer_[0]}{times}"))
    return rows


def scale_rows(r: Run) -> list[Row]:
    """Issue 12: one row per corpus size run (TKIT_SCALE_COPIES: 17 by default, about 20M tokens; 85 for 100M)."""
    keys = r.matching(r"^test_bench_scale::test_scale_order5_vs_lmplz\[\d+\]$")
    if not keys:
        return [scale_row(r, None)]
    return [scale_row(r, key) for key in sorted(keys, key=lambda k: int(k.rsplit("[", 1)[1].rstrip("]")))]


def scale_row(r: Run, key: str | None) -> Row:
    """One scale run (renamed copies), lmplz -S 1G vs tkit in memory (when run) and --memory 1G."""
    s = r.get(key) if key else None
    what = (f"order-5 modified KN, {fnum(xi(s, 'tokens'))} tokens, {fnum(xi(s, 'ngrams'))} distinct n-grams "
            f"(corpus ×{xi(s, 'copies')}, a fifth of the word types renamed per copy)" if s else
            "order-5 modified KN, ~20M tokens, ~27M distinct n-grams (renamed copies)")
    if s is None:
        return what, NOT_RUN, NOT_RUN
    lm, lm_cpu = xi(s, "lmplz_s"), xi(s, "lmplz_cpu_s")

    def side(key: str, how: str) -> str:
        return (f"{fs(xi(s, key + '_s'))} ({fs(xi(s, key + '_cpu_s'))} CPU), {fnum(xi(s, key + '_peak_mb'), 4)} MB "
                f"{how}{ratio(xi(s, key + '_s'), lm, 'time ours/lmplz')}"
                f"{ratio(xi(s, key + '_cpu_s'), lm_cpu, 'CPU ours/lmplz')}")

    whole = side("in_memory", "in memory") if xi(s, "in_memory_s") is not None else "in memory not run"
    ours = f"{whole}; {side('budget_1G', 'with `--memory 1G`')}"
    peer = (f"`lmplz -o 5 -S 1G --discount_fallback` {fs(lm)} ({fs(lm_cpu)} CPU), "
            f"{fnum(xi(s, 'lmplz_peak_mb'), 4)} MB; same n-gram counts (load {fnum(xi(s, 'load_avg'), 2)})"
            if lm is not None else "`lmplz` not on PATH in this run")
    return what, ours, peer


def dask_row(r: Run) -> Row:
    """Issue 12, Dask: the scale corpus with --scheduler local:1/2/3 (the client's estimate within --memory)
    beside the single-process run in memory and within the same --memory (one machine)."""
    s = r.get("test_bench_dask::test_dask_local_workers_vs_single_process")
    what = (f"same, `--scheduler local:N --memory {xi(s, 'client_memory')}` on this one machine "
            f"({fnum(xi(s, 'tokens'))} tokens; the same ARPA bytes as the single-process run)" if s
            else "same, `--scheduler local:1/2/3` on this one machine")
    if s is None:
        return what, NOT_RUN, NOT_RUN
    ours = "; ".join(f"local:{n} {fs(xi(s, f'local{n}_s'))} (×{xi(s, f'local{n}_time_ratio', 0):.2f} the single "
                     f"process), client {fnum(xi(s, f'local{n}_client_peak_mb'), 4)} MB, largest worker "
                     f"{fnum(xi(s, f'local{n}_workers_peak_mb'), 4)} MB" for n in (1, 2, 3))
    return what, ours, (f"tkit single process {fs(xi(s, 'single_s'))}, {fnum(xi(s, 'single_client_peak_mb'), 4)} MB; "
                        f"within --memory {xi(s, 'client_memory')} {fs(xi(s, 'bounded_s'))}, "
                        f"{fnum(xi(s, 'bounded_client_peak_mb'), 4)} MB (peaks from getrusage; load average "
                        f"{xi(s, 'local2_load', 0):.1f} on this machine)")


def _step_pairs(r: Run, stem: str) -> list[tuple[str, Bench | None, Bench | None]]:
    """tkit/torch benchmark pairs of a step-time file, matched by name (tkit <-> torch), whatever they are."""
    out = []
    for key in r.matching(rf"^{stem}::.*tkit"):
        other = key.replace("tkit", "torch")
        label = re.sub(r"^test_(bench_)?|tkit_?", "", key.split("::")[1]).replace("_", " ").strip()
        out.append((label, r.get(key), r.get(other)))
    return out


def _extras(b: Bench | None, skip: Iterable[str] = ()) -> str:
    info = {k: v for k, v in (b or {}).get("extra_info", {}).items() if k not in skip}
    return "; ".join(f"{k} {fnum(v, 4) if isinstance(v, float) else v}" for k, v in info.items())


def neural_rows(r: Run) -> list[Row]:
    rows: list[Row] = []
    g = r.get("test_bench_baby_gpt_agreement::test_baby_gpt_2000_steps_agrees_with_torch")
    rows.append(("nanoGPT CPU baby GPT, 2000 steps, same init and same batches (validation, 2,400 windows)",
                 f"{xi(g, 'tkit_val_loss'):.6f} nats/char (trained in {fs(xi(g, 'tkit_train_s'))})" if g else NOT_RUN,
                 f"PyTorch {xi(g, 'torch_val_loss'):.6f} (trained in {fs(xi(g, 'torch_train_s'))}); difference "
                 f"{xi(g, 'difference'):.1e}, asserted below {xi(g, 'tolerance'):g}" if g else NOT_RUN))
    for stem, what in (("test_bench_transformer", "baby GPT"), ("test_bench_lstm", "RNN LM"),
                       ("test_bench_ugrnn_cnn", "UGRNN / GRU / causal CNN LM")):
        for label, ours, theirs in _step_pairs(r, stem):
            def ms(b: Bench | None) -> str:
                if b is None:
                    return NOT_RUN
                st = b["stats"]
                return f"{st['median'] * 1e3:.1f} ms median (min {st['min'] * 1e3:.1f})"
            rat = ""
            if ours and theirs:
                rat = f": {ours['stats']['median'] / theirs['stats']['median']:.2f}×"
            extra_o, extra_t = _extras(ours), _extras(theirs)
            rows.append((f"{what}: {label} (forward + backward + update)",
                         ms(ours) + (f"; {extra_o}" if extra_o else ""),
                         f"PyTorch {ms(theirs)}{rat}" + (f"; {extra_t}" if extra_t else "")))
    return rows


def word2vec_rows(r: Run) -> list[Row]:
    b = r.get("test_bench_word2vec::test_word2vec_vs_gensim")
    if b is None:
        return [("word2vec skip-gram, Shakespeare lowercase words, 5 epochs", NOT_RUN, NOT_RUN)]
    g = xi(b, "gensim_seconds")
    one, two = xi(b, "tkit_seconds_1_worker"), xi(b, "tkit_seconds_2_workers")
    return [
        (f"word2vec skip-gram, {fnum(xi(b, 'tokens'))} lowercase word tokens, vocabulary {xi(b, 'vocabulary', 0):,}, "
         "dim 100, window 5, 5 negatives, 5 epochs (token lists to vectors)",
         f"{fs(one)} with 1 worker{ratio(one, g)}, {fs(two)} with 2 workers{ratio(two, g)}",
         f"gensim {fs(g)} (2 workers, best of two seeds)"),
        ("nearest-10 neighbours of the words ranked 51-150, overlap with gensim's (mean of two gensim seeds)",
         f"{fnum(xi(b, 'overlap_tkit_gensim_1_worker'))} (1 worker), {fnum(xi(b, 'overlap_tkit_gensim_2_workers'))} "
         "(2 workers)", f"gensim seed 1 vs seed 2: {fnum(xi(b, 'overlap_gensim_gensim'))}"),
    ]


def other_rows(r: Run) -> list[Row]:
    rows = []
    for key in sorted(set(r.benches) - r.used):
        b = r.benches[key]
        st = b["stats"]
        rows.append((f"`{key}`", f"min {fs(st['min'])}, median {fs(st['median'])}, {st['rounds']} rounds",
                     _extras(b) or "—"))
    return rows


# ---- the document ----------------------------------------------------------------------------------------

def table(title: str, rows: list[Row], head: tuple[str, str, str] = ("what", "tkit", "peer (same run)")) -> str:
    lines = [f"**{title}**", "", f"| {' | '.join(head)} |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def _stamp(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def header(r: Run) -> str:
    m = r.machine.get("tkit", {})
    versions = m.get("versions", {})
    peers = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "numpy" and v) or "none"
    missing = [k for k, v in versions.items() if v is None]
    when = "unknown date"
    if r.datetime:
        when = _stamp(r.datetime)
        if r.latest and _stamp(r.latest) != when:
            when = f"between {when} and {_stamp(r.latest)} (files of more than one benchmark run)"
    cpu = m.get("cpu_model") or r.machine.get("cpu", {}).get("brand_raw", "unknown CPU")
    load = m.get("load_average")
    return (f"Measured {when}: {m.get('cpus_usable', '?')} cores ({cpu}), {m.get('memory_gb', '?')} GB, "
            f"{r.machine.get('system', '')} {r.machine.get('release', '')}".rstrip() +
            f"; Python {m.get('python', r.machine.get('python_version', '?'))}, NumPy {versions.get('numpy', '?')}; "
            f"peers: {peers}" + (f" (not installed: {', '.join(missing)})" if missing else "") +
            f"; `lmplz` {'found' if m.get('lmplz') else 'not found'}" +
            (f"; load average {load[0]:.2f} when the first file started" if load else "") + ".")


def render(r: Run) -> str:
    parts = [header(r), "",
             "Each side gets the same input and the same rounds (a warm-up round, then best of 3, unless a row says "
             "otherwise); each peer runs its fastest documented API. Ratios are tkit time / peer time (below 1: "
             "tkit faster). Neural step times are medians of 20–30 steps after warm-up.", "",
             table("Tokenizers (`data/shakespeare.txt`, 5.05 MB)", tokenizer_rows(r)), "",
             table("Tokenizer training at scale (renamed copies of `data/shakespeare.txt`, raw text)",
                   tokenizer_scale_rows(r)), "",
             table("N-grams (`data/shakespeare.txt` lower-cased, words and punctuation split, one line a sentence)",
                   ngram_rows(r) + kenlm_module_rows(r)), "",
             table("Neural (character level; PyTorch CPU with 2 threads as the peer)", neural_rows(r),
                   ("what", "tkit", "peer")), "",
             table("Word vectors (`data/shakespeare.txt`, gensim 4.4 as the peer)", word2vec_rows(r))]
    others = other_rows(r)
    if others:
        parts += ["", table("Other benchmarks of the run", others, ("benchmark", "time", "figures"))]
    return "\n".join(parts)


def replace_between_markers(text: str, body: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README has no {START} ... {END} markers: add them where the tables go")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+", type=Path, help="pytest-benchmark --benchmark-json files of one run")
    ap.add_argument("--readme", type=Path, default=Path(__file__).resolve().parents[2] / "README.md")
    ap.add_argument("--stdout", action="store_true", help="print the tables instead of writing the README")
    args = ap.parse_args(argv)
    paths = [p for p in args.json if p.exists()]
    if not paths:
        print("report.py: no benchmark JSON found (did the benchmarks run?)", file=sys.stderr)
        return 1
    body = render(Run(paths))
    if args.stdout:
        print(body)
        return 0
    args.readme.write_text(replace_between_markers(args.readme.read_text(encoding="utf-8"), body), encoding="utf-8")
    print(body)
    print(f"report.py: {args.readme} updated from {len(paths)} file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
