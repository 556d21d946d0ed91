"""The live peers that parity tests compare tkit with, and what a missing one means.

Under CI (`CI=true`) a missing peer FAILS the test that needs it, and any skipped test fails the run
(tests/conftest.py): a green run must mean every comparison ran. The one exception is a peer that cannot be
installed on the Python under test and is named in TKIT_PEERS_UNAVAILABLE (`.ci/suite` sets it for kenlm
on 3.13, whose generated C++ no longer compiles there); its tests skip, saying so, and only those skips are
allowed. Elsewhere a missing peer skips, with a reason that `-rs` prints at the end of the run. Only peers go
through here: tkit's own modules are imported plainly, so a broken tkit import is an error, never a skip.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import numpy
import pytest

# import name -> how to get it
INSTALL_HINT = {
    "tokenizers": "pip install -e '.[test]'",
    "sentencepiece": "pip install -e '.[test]'",
    "tiktoken": "pip install -e '.[test]'",
    "torch": "pip install -e '.[test]' (torch==2.13.0, the CPU wheel)",
    "kenlm": "pip install -e '.[test]' (builds from source)",
    "peft": "pip install -e '.[test]' (peft>=0.21, with transformers)",
    "gensim": "pip install -e '.[test]'",
    "nltk": "pip install -e '.[peers]'",
    "distributed": "pip install -e '.[test]' (pulls the [dask] extra)",
    "pyctcdecode": "pip install -e '.[test]' (on Python 3.10, with NumPy < 2)",
}

# Peers that require NumPy < 2: declared unavailable wherever NumPy 2 runs (they are expected, and under CI
# required, only where NumPy 1 is: the py310-oldest suite, whose test extra installs them).
NEEDS_NUMPY_1 = {"pyctcdecode"}


UNAVAILABLE_PREFIX = "declared unavailable on this Python"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def declared_unavailable() -> set[str]:
    names = {name.strip() for name in os.environ.get("TKIT_PEERS_UNAVAILABLE", "").split(",") if name.strip()}
    if int(numpy.__version__.split(".")[0]) >= 2:
        names |= NEEDS_NUMPY_1
    return names


def require_peer(name: str) -> ModuleType:
    """The peer module `name` (e.g. "tokenizers", "nltk.lm"); fails the test under CI when it is missing,
    skips it loudly elsewhere."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        problem = str(exc)
    top = name.split(".")[0]
    if top in declared_unavailable():
        why = f"it requires NumPy < 2, this is {numpy.__version__}" if top in NEEDS_NUMPY_1 else "TKIT_PEERS_UNAVAILABLE"
        pytest.skip(f"peer {top!r} {UNAVAILABLE_PREFIX} ({why}): {problem}")
    message = f"peer {top!r} is not importable ({problem}); install it: {INSTALL_HINT.get(top, 'pip install ' + top)}"
    if under_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
