"""Issue 12, beyond one machine: the scale benchmark's corpus (tests/benchmarks/test_bench_scale.py, order-5
modified Kneser-Ney on about 20M tokens; TKIT_SCALE_COPIES) trained with `--scheduler local:1`, `local:2` and
`local:3` (the client's estimate within `--memory 1G`) beside the single-process run in memory and within
`--memory 1G`, each as a process of its own. All on this one machine (its cores
are shared by the workers, the client and the estimate), so the figures show the overhead of the distributed
path and how it scales with workers here, not what many machines give. Every run must write the very same
ARPA file as the single-process run.

Memory, read by the run itself at its end (getrusage): the client's own peak RSS (for the single process, the
whole run), and the largest peak of its child processes (the LocalCluster's workers, once they have exited).
The load average is recorded beside, as the machine is shared."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.benchmarks.common import record
from tests.benchmarks.test_bench_ngram import ROOT
from tests.benchmarks.test_bench_scale import COPIES, write_corpus
from tests.peers import require_peer

WORKERS = (1, 2, 3)
CLIENT_MEMORY = "1G"  # the client's --memory for its estimate

# the CLI, then its own and its children's peak RSS (KB) into the file named first
MEASURED = ("import json, resource, sys\n"
            "from cli.main import main\n"
            "try:\n"
            "    main(sys.argv[2:])\n"
            "finally:\n"
            "    usage = {'self_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
            "             'children_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n"
            "    open(sys.argv[1], 'w').write(json.dumps(usage))\n")


def run_with_rusage(args: list[str], report: Path) -> dict[str, float]:
    """Wall seconds and the peaks (MB) of one CLI run in a fresh interpreter.

    Started under /usr/bin/time when it exists: Linux keeps a process's peak across exec, so a child forked
    straight from this (large) pytest process would report this process's size as its own."""
    import subprocess

    cmd = [sys.executable, "-c", MEASURED, str(report), *args]
    timer = Path("/usr/bin/time")
    if timer.exists():
        cmd = [str(timer), "-f", "%M", "-o", f"{report}.time", *cmd]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    usage = json.loads(report.read_text())
    return {"s": wall, "client_peak_mb": usage["self_kb"] / 1024, "workers_peak_mb": usage["children_kb"] / 1024,
            "load": os.getloadavg()[0]}


@pytest.fixture(scope="module")
def scale_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask-scale") / "renamed_copies.txt"
    return path, write_corpus(path, COPIES)


@pytest.mark.slow
def test_dask_local_workers_vs_single_process(benchmark, scale_corpus, tmp_path):
    require_peer("distributed")
    corpus, tokens = scale_corpus
    base = ["-q", "train", "ngram", str(corpus), "-n", "5", "--tokenizer", "whitespace"]
    single = tmp_path / "single.arpa"
    runs = []
    benchmark.pedantic(lambda: runs.append(run_with_rusage([*base, "-o", str(single)], tmp_path / "single.json")),
                       rounds=1, iterations=1)
    figures = {"copies": COPIES, "tokens": tokens, "client_memory": CLIENT_MEMORY,
               **{f"single_{k}": v for k, v in runs[0].items() if k != "workers_peak_mb"}}
    expected = single.read_bytes()
    bounded = run_with_rusage([*base, "-o", str(single), "--memory", CLIENT_MEMORY, "--temp-dir", str(tmp_path)],
                              tmp_path / "bounded.json")
    assert single.read_bytes() == expected, f"--memory {CLIENT_MEMORY} wrote another ARPA"
    figures.update({f"bounded_{k}": v for k, v in bounded.items() if k != "workers_peak_mb"})
    for n in WORKERS:
        out = tmp_path / f"local{n}.arpa"
        got = run_with_rusage([*base, "-o", str(out), "--scheduler", f"local:{n}", "--memory", CLIENT_MEMORY,
                               "--temp-dir", str(tmp_path)], tmp_path / f"local{n}.json")
        assert out.read_bytes() == expected, f"local:{n} wrote another ARPA"
        out.unlink()
        figures.update({f"local{n}_{k}": v for k, v in got.items()})
        figures[f"local{n}_time_ratio"] = got["s"] / runs[0]["s"]
    record(benchmark, **figures)
