"""Shared pieces of the model-file fuzzers: a time bound per example, and the check that loading a corrupt
file either works (and the model then scores text) or raises TkitError, nothing else."""
from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

import numpy as np

from tokenizers_kit.errors import TkitError

SECONDS_PER_EXAMPLE = 10


class TooSlow(Exception):
    pass


@contextlib.contextmanager
def time_bound(seconds: float = SECONDS_PER_EXAMPLE) -> Iterator[None]:
    """Raise TooSlow in the test when the block runs longer than `seconds` (a hang fails, not blocks)."""
    def on_alarm(signum, frame):  # noqa: ANN001 (signal handler)
        raise TooSlow(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def loads_or_refuses(load: Callable[[], object]) -> str:
    """"ok" when the file loads and the model scores a sentence (not NaN); "refused" on TkitError; anything else
    (another exception, a hang, a warning turned error) propagates and fails the test."""
    with time_bound():
        try:
            model = load()
        except TkitError as err:
            assert "\n" not in str(err), str(err)
            return "refused"
        with np.errstate(all="ignore"):
            score = model.score("a b c")  # type: ignore[attr-defined]
        assert not np.isnan(score), "a model that loads must not score NaN"
    return "ok"
