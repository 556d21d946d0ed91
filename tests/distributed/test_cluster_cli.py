"""`--scheduler` through the CLI, against a real loopback cluster: the same output files as the local run,
a worker SIGKILLed mid-run changes nothing, and every bad address or broken cluster is one line of error."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.distributed.loopback import ROOT, LoopbackCluster, dask_env

SHAKESPEARE = ROOT / "data" / "shakespeare.txt"


def corpus_files(folder: Path, files: int, lines: int) -> list[str]:
    """Consecutive slices of the shipped corpus, one range each."""
    text = SHAKESPEARE.read_text(encoding="utf-8").splitlines(keepends=True)
    folder.mkdir(exist_ok=True)
    out = []
    for f in range(files):
        path = folder / f"part{f}.txt"
        path.write_text("".join(text[1000 + f * lines:1000 + (f + 1) * lines]), encoding="utf-8")
        out.append(str(path))
    return out


def test_count_and_train_equal_local(cluster, tmp_path):
    files = corpus_files(tmp_path / "c", 3, 300)
    for extra in ([], ["--scheduler", cluster.address]):
        tag = "d" if extra else "l"
        count = run_tkit("count", *files, "--order", "3", "--tokenizer", "whitespace", "--top", "5",
                         "-o", str(tmp_path / f"{tag}.counts"), *extra)
        assert count.code == 0, count.err
        (tmp_path / f"{tag}.top").write_text(count.out)
        model = run_tkit("train", "ngram", *files, "--order", "4", "--tokenizer", "whitespace", "--prune", "0 1",
                         "-o", str(tmp_path / f"{tag}.arpa"), *extra)
        assert model.code == 0, model.err
        tok = run_tkit("train", "tokenizer", *files, "--algo", "unigram", "--vocab-size", "200",
                       "-o", str(tmp_path / f"{tag}.json"), *extra)
        assert tok.code == 0, tok.err
    assert "on 2 Dask workers" in count.err
    for suffix in ("counts", "top", "arpa", "json"):
        assert (tmp_path / f"d.{suffix}").read_bytes() == (tmp_path / f"l.{suffix}").read_bytes(), suffix


def test_local_cluster_equals_local(tmp_path):
    files = corpus_files(tmp_path / "c", 2, 200)
    local = run_tkit("train", "ngram", *files, "--order", "3", "--tokenizer", "whitespace", "-o", str(tmp_path / "l.arpa"))
    dist = run_tkit("train", "ngram", *files, "--order", "3", "--tokenizer", "whitespace", "-o", str(tmp_path / "d.arpa"),
                    "--scheduler", "local:2")
    assert local.code == dist.code == 0, dist.err
    assert "on 2 Dask workers" in dist.err
    assert (tmp_path / "d.arpa").read_bytes() == (tmp_path / "l.arpa").read_bytes()


def test_a_killed_worker_changes_nothing(cluster, tmp_path):
    """A third worker whose counting tasks are slow is SIGKILLed once it runs one; Dask reruns its tasks on
    the two others and the model is the local run's."""
    files = corpus_files(tmp_path / "c", 8, 300)
    started = tmp_path / "started"
    victim = cluster.add_worker("--preload", str(Path(__file__).with_name("slow_tasks.py")), nanny=False,
                                env={"TKIT_TEST_STARTED": str(started), "TKIT_TEST_DELAY": "3"})
    cluster.wait_workers(3)
    cmd = [sys.executable, "-m", "cli.main", "train", "ngram", *files, "--order", "4", "--tokenizer", "whitespace",
           "-o", str(tmp_path / "d.arpa"), "--scheduler", cluster.address]
    run = subprocess.Popen(cmd, cwd=str(ROOT), env=dask_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.02)
        assert started.exists(), "the slow worker never ran a task"
        assert run.poll() is None, "the job ended before the kill"
        os.kill(victim.pid, signal.SIGKILL)
        out, err = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, err
    local = run_tkit("train", "ngram", *files, "--order", "4", "--tokenizer", "whitespace", "-o", str(tmp_path / "l.arpa"))
    assert local.code == 0
    assert (tmp_path / "d.arpa").read_bytes() == (tmp_path / "l.arpa").read_bytes()


@pytest.mark.parametrize("address", ["tcp://nowhere", "tcp://127.0.0.1:99999", "http://127.0.0.1:8786", "local:0",
                                     "local:two", "127.0.0.1:8786", ""])
def test_bad_addresses_are_one_line(tmp_path, address):
    files = corpus_files(tmp_path / "c", 1, 20)
    result = run_tkit("count", *files, "--order", "2", "--tokenizer", "whitespace", "--scheduler", address)
    assert_one_line_error(result, "--scheduler")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_and_no_workers_are_bounded(tmp_path, monkeypatch):
    files = corpus_files(tmp_path / "c", 1, 20)
    monkeypatch.setenv("TKIT_DASK_TIMEOUT", "1")
    start = time.monotonic()
    result = run_tkit("train", "ngram", *files, "--order", "2", "--tokenizer", "whitespace", "-o",
                      str(tmp_path / "m.arpa"), "--scheduler", f"tcp://127.0.0.1:{free_port()}")
    assert_one_line_error(result, "cannot reach a Dask scheduler")
    (tmp_path / "bare").mkdir()
    bare = LoopbackCluster(tmp_path / "bare")  # a scheduler no worker joins
    try:
        result = run_tkit("train", "tokenizer", *files, "--algo", "bpe", "-o", str(tmp_path / "t.json"),
                          "--scheduler", bare.address)
        assert_one_line_error(result, "has no workers", "dask worker")
    finally:
        bare.close()
    assert time.monotonic() - start < 30
    assert not (tmp_path / "m.arpa").exists() and not (tmp_path / "t.json").exists()


def test_without_the_extra_the_error_says_how_to_install(tmp_path):
    files = corpus_files(tmp_path / "c", 1, 20)
    code = ("import sys; sys.modules['distributed'] = None; from cli.main import main; "
            "main(['count', *sys.argv[1:], '--order', '2', '--tokenizer', 'whitespace', '--scheduler', 'local:1'])")
    proc = subprocess.run([sys.executable, "-c", code, *files], cwd=str(ROOT), env=dask_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "tkit: error: --scheduler needs Dask's distributed scheduler, which is not installed: "
        "pip install 'tokenizers-kit[dask]'"]


def test_stdin_and_memory_are_refused(tmp_path):
    files = corpus_files(tmp_path / "c", 1, 20)
    result = run_tkit("count", "-", "--order", "2", "--tokenizer", "whitespace", "--scheduler", "local:1",
                      stdin="a b\n")
    assert_one_line_error(result, "stdin")
    result = run_tkit("count", *files, "--order", "2", "--tokenizer", "whitespace", "--scheduler", "local:1",
                      "--memory", "100M")
    assert_one_line_error(result, "--memory")


def test_memory_bounds_the_clients_estimate(cluster, tmp_path):
    """`--scheduler` with `--memory`: the Kneser-Ney family to ARPA, estimated by the client from the shares
    within the budget, writes the single-machine ARPA; where the estimate is in memory (.npz, other
    smoothings) --memory is refused, as is a budget too small for the order, before any work."""
    files = corpus_files(tmp_path / "c", 3, 300)
    for smoothing in ("modified-kneser-ney", "kneser-ney"):
        args = ["train", "ngram", *files, "--order", "4", "--tokenizer", "whitespace", "--smoothing", smoothing]
        local = run_tkit(*args, "-o", str(tmp_path / "l.arpa"))
        dist = run_tkit(*args, "-o", str(tmp_path / "d.arpa"), "--scheduler", cluster.address, "--memory", "20M",
                        "--temp-dir", str(tmp_path))
        assert local.code == dist.code == 0, dist.err
        assert "Dask workers" in dist.err and "estimated within --memory 20M" in dist.err, dist.err
        assert (tmp_path / "d.arpa").read_bytes() == (tmp_path / "l.arpa").read_bytes(), smoothing
    base = ["train", "ngram", *files, "--order", "3", "--tokenizer", "whitespace", "--scheduler", cluster.address]
    for extra in (["-o", str(tmp_path / "m.npz"), "--memory", "20M"],
                  ["-o", str(tmp_path / "m.arpa"), "--smoothing", "witten-bell", "--memory", "20M"]):
        assert_one_line_error(run_tkit(*base, *extra), "--memory")
    for budget in ("1K", "lots"):
        assert_one_line_error(run_tkit(*base, "-o", str(tmp_path / "m.arpa"), "--memory", budget), "--memory")
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "m.arpa").exists()
