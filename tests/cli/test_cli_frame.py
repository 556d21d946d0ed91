"""The CLI frame: version, usage errors in one line with exit 2, user errors with exit 1."""
from __future__ import annotations

import subprocess
import sys

from tests.cli.clirunner import assert_one_line_error, run_tkit


def test_version_and_help():
    result = run_tkit("--version")
    assert result.code == 0 and "tkit, version" in result.out
    help_ = run_tkit("--help")
    assert help_.code == 0
    for verb in ("eval", "sample", "train"):
        assert verb in help_.out


def test_usage_errors_are_one_line_with_exit_2():
    result = run_tkit("sample")
    assert_one_line_error(result, "Missing argument 'MODEL'")
    assert result.code == 2
    assert run_tkit("no-such-verb").code == 2


def test_missing_model_file_is_exit_1(tmp_path):
    result = run_tkit("sample", str(tmp_path / "nope.npz"))
    assert_one_line_error(result, "does not exist")
    assert result.code == 1


def test_non_tkit_model_file(tmp_path):
    bogus = tmp_path / "m.npz"
    bogus.write_bytes(b"PK\x03\x04 not really a zip")
    result = run_tkit("sample", str(bogus))
    assert_one_line_error(result, "not a tkit model file")


def test_console_script_runs_as_a_process():
    proc = subprocess.run([sys.executable, "-m", "cli.main", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "tkit, version" in proc.stdout
