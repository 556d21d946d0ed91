"""Terminal output in one place: messages on stderr, rich progress bars only on a terminal, quiet mode."""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_state = {"quiet": False}
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = quiet


def is_quiet() -> bool:
    return _state["quiet"]


def show_progress() -> bool:
    """Bars only when a person is watching: stderr is a terminal and --quiet is off."""
    return not _state["quiet"] and sys.stderr.isatty()


def info(message: str) -> None:
    """A one-line message (summary, warning) on stderr, unless --quiet."""
    if not _state["quiet"]:
        stderr.print(message, markup=False)


def warn(message: str) -> None:
    """Warnings are shown even when piped; only --quiet hides them."""
    info(f"warning: {message}")


class Tracker(Protocol):
    def advance(self, amount: float = 1) -> None: ...
    def update(self, completed: float | None = None, description: str | None = None) -> None: ...


class _NullTracker:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, completed: float | None = None, description: str | None = None) -> None:
        pass


class _RichTracker:
    def __init__(self, progress: Progress, task_id: int) -> None:
        self._progress, self._task = progress, task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)

    def update(self, completed: float | None = None, description: str | None = None) -> None:
        kwargs = {}
        if completed is not None:
            kwargs["completed"] = completed
        if description is not None:
            kwargs["description"] = description
        self._progress.update(self._task, **kwargs)


@contextlib.contextmanager
def progress(description: str, total: float | None) -> Iterator[Tracker]:
    """A rich progress bar on a terminal; a no-op when piped or quiet."""
    if not show_progress():
        yield _NullTracker()
        return
    columns = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=stderr, transient=True) as bar:
        yield _RichTracker(bar, bar.add_task(description, total=total))


class Stopwatch:
    """Wall time since creation, for the one-line summaries."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
