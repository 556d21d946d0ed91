"""A stop the user asked for (Ctrl-C, SIGTERM), remembered beside the exception that carries it.

A signal handler's exception is raised wherever the main thread happens to be, and some places swallow it:
Python reports and ignores an exception raised inside an at-fork hook, a `__del__` method or a weakref callback.
The CLI's handlers therefore also record the signal here; an output file is only put in place
(`tokenizers_kit.atomic`) while no stop is pending, and the CLI checks again when the command returns, so a
lost exception still ends the run the way the signal asked, with no output written.
"""
from __future__ import annotations

import signal


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every `finally` and context manager runs
    (temporary files and spill folders are removed) before tkit exits."""


_pending: int | None = None


def request(signum: int) -> None:
    """Remember that signal `signum` asked this process to stop (called from the CLI's signal handlers)."""
    global _pending
    _pending = signum


def pending() -> int | None:
    return _pending


def clear() -> None:
    global _pending
    _pending = None


def exception_for(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def raise_if_pending() -> None:
    """Raise the pending stop's exception (KeyboardInterrupt or Terminated) again, if one was asked for."""
    if _pending is not None:
        raise exception_for(_pending)
