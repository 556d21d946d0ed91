"""Corrupt causal CNN model files and checkpoints (the mutations of npz_fuzz_worker.py, drawn by hypothesis in
cnn_fuzz_worker.py) give TkitError or a sound, runnable model, never another exception, within a time bound and
under an address-space limit (a child process with RLIMIT_AS)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.neural.test_npz_fuzz import CASE_SECONDS, NEVER_LOADS, ROOT, _limit

TARGETS = ("cnn", "cnn_checkpoint")
EXAMPLES = 40  # per target: the mutation classes are the other loaders' (test_npz_fuzz.py runs 80 each)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cnnfuzz")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = {t: subprocess.Popen([sys.executable, "-m", "tests.neural.cnn_fuzz_worker", t, str(EXAMPLES),
                                  str(tmp / f"{t}.json")], cwd=ROOT, env=env, preexec_fn=_limit,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for t in TARGETS}
    out = {}
    for target, proc in procs.items():
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, log[-2000:]
        out[target] = json.loads((tmp / f"{target}.json").read_text())
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_every_corrupt_cnn_file_gives_tkit_error(reports, target, record_property):
    report = reports[target]
    record_property("cases", sum(v["tried"] for v in report.values()))
    escapes = {k: v["escapes"][:3] for k, v in report.items() if v["escapes"]}
    assert not escapes, escapes
    assert sum(v["tried"] for v in report.values()) == EXAMPLES
    assert all(report[k]["loaded"] == 0 for k in NEVER_LOADS), {k: report[k] for k in NEVER_LOADS}
    assert max(v["slowest_s"] for v in report.values()) < CASE_SECONDS
