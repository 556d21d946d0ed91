"""`tkit demo` on the shipped corpus prints sampled lines (the end-to-end path: count, train, sample)."""
from __future__ import annotations

from tests.cli.clirunner import run_tkit


def test_demo_prints_at_least_five_sampled_lines():
    result = run_tkit("--quiet", "demo", "--order", "3", "--lines", "5", "--seed", "1")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("== 3-gram")))
    sampled = [line for line in lines[header + 1 : header + 6]]
    assert len(sampled) == 5 and all(len(line.split()) >= 5 for line in sampled)
    assert "Traceback" not in result.err
