"""The live peers that parity tests compare tkit with, and what a missing one means.

Under CI (`CI=true`) a missing peer FAILS the test that needs it: a green run must mean every comparison ran.
Elsewhere it skips, with a reason that `-rs` prints at the end of the run. Only peers go through here: tkit's
own modules are imported plainly, so a broken tkit import is an error, never a skip.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

# import name -> how to get it
INSTALL_HINT = {
    "tokenizers": "pip install -e '.[test]'",
    "sentencepiece": "pip install -e '.[test]'",
    "tiktoken": "pip install -e '.[test]'",
    "torch": "pip install -e '.[test]' (torch==2.13.0, the CPU wheel)",
    "kenlm": "pip install -e '.[test]' (builds from source)",
    "nltk": "pip install -e '.[peers]'",
}


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_peer(name: str) -> ModuleType:
    """The peer module `name` (e.g. "tokenizers", "nltk.lm"); fails the test under CI when it is missing,
    skips it loudly elsewhere."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        problem = str(exc)
    top = name.split(".")[0]
    message = f"peer {top!r} is not importable ({problem}); install it: {INSTALL_HINT.get(top, 'pip install ' + top)}"
    if under_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
