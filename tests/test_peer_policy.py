"""The suite cannot pass by checking less: under CI=true a missing peer or any skip fails the run
(tests/peers.py, tests/conftest.py). Checked by running pytest on small generated test files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BODIES = {
    "missing_peer": "from tests.peers import require_peer\ndef test_x():\n    require_peer('{peer}')\n",
    "plain_skip": "import pytest\ndef test_x():\n    pytest.skip('no reason')\n",
    "skipif": "import pytest\n@pytest.mark.skipif(True, reason='r')\ndef test_x():\n    pass\n",
    "passes": "def test_x():\n    assert 1 + 1 == 2\n",
}


def run_pytest(tmp_path: Path, body: str, **env: str) -> int:
    (tmp_path / "test_generated.py").write_text(body, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "TKIT_PEERS_UNAVAILABLE")}
    environ.update(env)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
           "--rootdir", str(tmp_path), "-p", "tests.conftest", str(tmp_path / "test_generated.py")]
    return subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120).returncode


@pytest.mark.parametrize("kind", ["missing_peer", "plain_skip", "skipif"])
def test_under_ci_anything_unchecked_fails(tmp_path, kind):
    assert run_pytest(tmp_path, BODIES[kind].format(peer="tkit_no_such_peer_module"), CI="true") == 1


def test_locally_a_missing_peer_skips(tmp_path):
    assert run_pytest(tmp_path, BODIES["missing_peer"].format(peer="tkit_no_such_peer_module")) == 0


def test_a_green_run_stays_green_under_ci(tmp_path):
    assert run_pytest(tmp_path, BODIES["passes"], CI="true") == 0


def test_only_a_peer_declared_unavailable_may_skip(tmp_path):
    body = BODIES["missing_peer"].format(peer="tkit_no_such_peer_module")
    assert run_pytest(tmp_path, body, CI="true", TKIT_PEERS_UNAVAILABLE="tkit_no_such_peer_module") == 0
    assert run_pytest(tmp_path, body, CI="1", TKIT_PEERS_UNAVAILABLE="torch") == 1
