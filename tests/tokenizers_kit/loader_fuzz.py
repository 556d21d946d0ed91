"""What every tokenizer-file fuzz test checks (test_fuzz_*.py): a corrupt file loads or raises TkitError (one
line), nothing else, within a time bound; a file that loads also encodes and decodes a short text without any
exception but TkitError (a loaded-but-broken tokenizer is the worst outcome)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tokenizers_kit.errors import TkitError

TEXTS = ["Hello world 123, it's ünïcode — 日本語 🎉!", "", "  \t\n a", "<|endoftext|> x [CLS] y"]
SECONDS = 5.0


def load_and_use(load: Callable[[], Any]) -> str:
    """"loaded" or "refused"; any other exception propagates (the test fails on it), as does a slow load."""
    start = time.perf_counter()
    try:
        tok = load()
    except TkitError as err:
        assert "\n" not in str(err), f"a multi-line error: {err!s}"
        outcome = "refused"
    else:
        outcome = "loaded"
        for text in TEXTS:
            try:
                ids = tok.encode(text).ids
                tok.decode(ids)
                tok.decode(ids, skip_special_tokens=False)
            except TkitError:
                pass
    assert time.perf_counter() - start < SECONDS
    return outcome


def json_paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (keys and list indexes), the root included."""
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += json_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += json_paths(value, path + (i,))
    return out


def get_at(node: Any, path: tuple) -> Any:
    for step in path:
        node = node[step]
    return node


def set_at(node: Any, path: tuple, value: Any) -> Any:
    """`node` with the value at `path` replaced (the root when the path is empty)."""
    if not path:
        return value
    get_at(node, path[:-1])[path[-1]] = value
    return node


def delete_at(node: Any, path: tuple) -> Any:
    if path:
        del get_at(node, path[:-1])[path[-1]]
    return node
