"""`--scheduler` for the counting commands: the option, the cluster and its work folder, one bar per stage."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from cli import console
from tokenizers_kit.cluster import (
    SCHEDULER_HELP,
    connect,
    parse_scheduler,
    shared_workdir,
    worker_count,
)


def scheduler_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--scheduler", metavar="tcp://HOST:PORT|local[:N]", help=SCHEDULER_HELP)(func)


@contextlib.contextmanager
def cluster(scheduler: str, temp_dir: str | None, files: Sequence[str]) -> Iterator[tuple[Any, str]]:
    """(Dask client, a work folder every worker sees), both gone at the end."""
    choice = parse_scheduler(scheduler)  # a bad address fails before Dask is even imported
    with connect(choice) as client, shared_workdir(temp_dir, files, choice.local) as workdir:
        yield client, workdir


@contextlib.contextmanager
def client_of(scheduler: str) -> Iterator[Any]:
    """A Dask client alone (for tasks that write no files)."""
    with connect(parse_scheduler(scheduler)) as client:
        yield client


def describe(client: Any) -> str:
    n = worker_count(client)
    return f"{n} Dask worker{'s' if n != 1 else ''}"


class StageBars:
    """A progress callback (stage, tasks done, tasks): one bar per stage, replaced when the stage changes."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._stage: str | None = None
        self._bar: console.Tracker | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage or self._bar is None:
            self.close()
            self._bar = self._stack.enter_context(console.progress(f"{stage} (tasks)", total))
            self._stage = stage
        self._bar.update(completed=done)

    def close(self) -> None:
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self._bar = None


@contextlib.contextmanager
def stage_bars() -> Iterator[StageBars]:
    bars = StageBars()
    try:
        yield bars
    finally:
        bars.close()


def refuse_memory(memory: str | None) -> None:
    if memory is not None:
        raise click.UsageError("with --scheduler, --memory bounds the client's estimate of (modified) "
                               "Kneser-Ney written as ARPA; here each worker holds one range of the corpus and "
                               "the client the whole table: drop --memory")
