"""The allocator policies the CLI sets (ngram.heap), checked by what they do to a process's resident memory: kept
(n-gram runs within a budget), a freed block up to a sixteenth of the budget stays resident for the next one and a
larger one leaves; returned (the Unigram trainer), it leaves at once; glibc's default is what both replace."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ngram.heap import keep_threshold
from tests.ngram.limited_run import ROOT

SCRIPT = """
import sys
import numpy as np
from ngram import heap
policy = sys.argv[1]
if policy == "return":
    assert heap.return_freed_memory()
elif policy.startswith("keep:"):
    assert heap.keep_freed_memory(int(policy[5:]) << 20)
def rss_kb():
    return int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmRSS")))
sizes_mb = [int(x) for x in sys.argv[2:]]
freed = []
for mb in sizes_mb:
    block = np.ones(mb << 17)  # mb MiB, every page touched
    held = rss_kb()
    del block
    freed.append((held - rss_kb()) // 1024)
print(*freed)
"""
GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _freed_mb(policy: str, *sizes_mb: int) -> list[int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, policy, *map(str, sizes_mb)], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return [int(x) for x in out.stdout.split()]


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt on Linux")
@pytest.mark.parametrize("budget_mb", [256, 1024])
@pytest.mark.parametrize("sizes", [(2, 8), (40, 24), (3, 100, 30)])
def test_kept_memory_stays_resident_up_to_a_sixteenth_of_the_budget(budget_mb, sizes):
    for freed, mb in zip(_freed_mb(f"keep:{budget_mb}", *sizes), sizes):
        if mb <= budget_mb // 16 - 1:
            assert freed <= 1, (budget_mb, sizes)  # kept for the next block
        else:
            assert freed >= mb - 1 - budget_mb // 16, (budget_mb, sizes)  # past the kept top: back to the system


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt on Linux")
@pytest.mark.parametrize("sizes", [(2, 8), (40, 64), (3, 200)])
def test_returned_memory_leaves_at_once(sizes):
    assert all(freed >= mb - 1 for freed, mb in zip(_freed_mb("return", *sizes), sizes))


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt on Linux")
def test_the_default_returns_a_large_block_the_kept_policy_keeps():
    assert _freed_mb("default", 40)[0] >= 39  # a 40 MiB block is mapped on its own by default, returned when freed
    assert _freed_mb("keep:1024", 40)[0] <= 1


def test_the_kept_top_follows_the_budget_within_its_bounds():
    assert keep_threshold(1 << 30) == 64 << 20
    assert keep_threshold(1 << 20) == 1 << 20  # a tiny budget still keeps a MiB
    assert keep_threshold(1 << 45) == 1 << 30  # mallopt's C int

