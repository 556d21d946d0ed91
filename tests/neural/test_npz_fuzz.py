"""Corrupt neural model files and checkpoints (mutations of valid tiny ones, drawn by hypothesis in
npz_fuzz_worker.py) give TkitError or a sound model, never another exception, within a time bound and under
an address-space limit (a child process with RLIMIT_AS, so a hostile size cannot take the machine)."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

LIMIT_AS = 4 << 30
EXAMPLES = 80
CASE_SECONDS = 2.0
NEVER_LOADS = ("nan", "object", "header", "bomb", "truncate")  # a file damaged this way must be refused
ROOT = Path(__file__).resolve().parents[2]


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = {t: subprocess.Popen([sys.executable, "-m", "tests.neural.npz_fuzz_worker", t, str(EXAMPLES),
                                  str(tmp / f"{t}.json")], cwd=ROOT, env=env, preexec_fn=_limit,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for t in ("transformer", "rnn", "checkpoint")}
    out = {}
    for target, proc in procs.items():
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, log[-2000:]
        out[target] = json.loads((tmp / f"{target}.json").read_text())
    return out


@pytest.mark.parametrize("target", ["transformer", "rnn", "checkpoint"])
def test_every_corrupt_file_gives_tkit_error(reports, target, record_property):
    report = reports[target]
    record_property("cases", sum(v["tried"] for v in report.values()))  # for tests/census (run in a child)
    escapes = {k: v["escapes"][:3] for k, v in report.items() if v["escapes"]}
    assert not escapes, escapes
    assert all(v["passed"] == v["tried"] for v in report.values())
    assert sum(v["tried"] for v in report.values()) == EXAMPLES
    assert {k for k, v in report.items() if v["tried"]} >= {"truncate", "byteflip", "dtype", "shape", "nan",
                                                              "meta_type", "huge", "missing", "header"}


@pytest.mark.parametrize("target", ["transformer", "rnn", "checkpoint"])
def test_damage_that_must_be_refused_is_refused_quickly(reports, target):
    report = reports[target]
    assert all(report[k]["loaded"] == 0 for k in NEVER_LOADS), {k: report[k] for k in NEVER_LOADS}
    assert max(v["slowest_s"] for v in report.values()) < CASE_SECONDS
