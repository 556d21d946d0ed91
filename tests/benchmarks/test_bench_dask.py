"""Issue 12, beyond one machine: the scale benchmark's corpus (tests/benchmarks/test_bench_scale.py, order-5
modified Kneser-Ney on about 20M tokens; TKIT_SCALE_COPIES) trained with `--scheduler local:1`, `local:2` and
`local:3` beside the single-process run, each as a process of its own. All on this one machine (its cores
are shared by the workers, the client and the estimate), so the figures show the overhead of the distributed
path and how it scales with workers here, not what many machines give. Every run must write the very same
ARPA file as the single-process run. Peak RSS is the largest single process of the run (/usr/bin/time reports
the most any one of the command's processes held, workers included), not their sum."""
from __future__ import annotations

import pytest

from tests.benchmarks.common import record
from tests.benchmarks.test_bench_ngram import TKIT, run_measured
from tests.benchmarks.test_bench_scale import COPIES, write_corpus
from tests.peers import require_peer

WORKERS = (1, 2, 3)


@pytest.fixture(scope="module")
def scale_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask-scale") / "renamed_copies.txt"
    return path, write_corpus(path, COPIES)


@pytest.mark.slow
def test_dask_local_workers_vs_single_process(benchmark, scale_corpus, tmp_path):
    require_peer("distributed")
    corpus, tokens = scale_corpus
    base = [*TKIT, "-q", "train", "ngram", str(corpus), "-n", "5", "--tokenizer", "whitespace"]
    single = tmp_path / "single.arpa"
    runs = []
    benchmark.pedantic(lambda: runs.append(run_measured([*base, "-o", str(single)])), rounds=1, iterations=1)
    figures = {"copies": COPIES, "tokens": tokens, "single_s": runs[0][0], "single_peak_mb": runs[0][1]}
    expected = single.read_bytes()
    for n in WORKERS:
        out = tmp_path / f"local{n}.arpa"
        seconds, peak = run_measured([*base, "-o", str(out), "--scheduler", f"local:{n}", "--temp-dir", str(tmp_path)])
        assert out.read_bytes() == expected, f"local:{n} wrote another ARPA"
        figures.update({f"local{n}_s": seconds, f"local{n}_peak_mb": peak,
                        f"local{n}_time_ratio": seconds / runs[0][0]})
    record(benchmark, **figures)
