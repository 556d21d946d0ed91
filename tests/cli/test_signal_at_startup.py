"""A signal while tkit is still importing (a loaded machine can take seconds to get there) ends in the same one
line and exit code as one during work, never a traceback from inside the import machinery."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Imported before tkit's own modules: keeps the interpreter inside its startup imports until the signal lands.
SLOW_IMPORT = "import time\nwhile True:\n    time.sleep(0.01)\n"


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_signal_during_startup_imports(tmp_path, sig, code, word):
    (tmp_path / "tkit_slow_import.py").write_text(SLOW_IMPORT, encoding="utf-8")
    # the command modules import numpy etc.; a sitecustomize-free hook: make `click` resolve to the slow module
    shim = tmp_path / "click"
    shim.mkdir()
    (shim / "__init__.py").write_text("import tkit_slow_import\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--help"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert proc.poll() is None, "the startup ended before the signal"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert [line for line in err.splitlines() if line.strip()] == [f"tkit: error: {word}"], err
