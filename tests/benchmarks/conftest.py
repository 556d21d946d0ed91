"""The machine a benchmark run measured, into pytest-benchmark's JSON (`machine_info`): report.py prints it
above the tables."""
from __future__ import annotations

import os
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest

PEERS = ("numpy", "tokenizers", "tiktoken", "sentencepiece", "kenlm", "nltk", "torch", "gensim")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@pytest.hookimpl(optionalhook=True)  # a plain pytest run without pytest-benchmark must not choke on it
def pytest_benchmark_update_machine_info(config, machine_info):
    beside = Path(sys.executable).parent / "lmplz"
    machine_info["tkit"] = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PEERS},
        "lmplz": bool(shutil.which("lmplz") or beside.exists()),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
