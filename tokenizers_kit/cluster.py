"""`--scheduler`: where distributed counting runs, through Dask's distributed scheduler (an optional extra).

`tcp://HOST:PORT` connects to a running scheduler (`dask scheduler`, with `dask worker` processes joined to it);
`local[:N]` starts a LocalCluster of N worker processes on this machine (default: the usable cores). Dask is
imported only here and only when asked for, so tkit runs without it. Connecting, and waiting for a first
worker, are bounded by TKIT_DASK_TIMEOUT seconds.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.errors import TkitError

# Before Python 3.11 asyncio's TimeoutError (which Dask's waits raise) is not the builtin one.
TIMEOUTS = (OSError, TimeoutError, asyncio.TimeoutError)

INSTALL_HINT = "pip install 'tokenizers-kit[dask]'"
DEFAULT_TIMEOUT = 10.0
SCHEDULER_HELP = ("Count on a Dask cluster: tcp://HOST:PORT of a running `dask scheduler` (workers read the input "
                  "files at the same paths, so they must share them), or local[:N] for N worker processes here "
                  f"(default: the usable cores). Needs {INSTALL_HINT}.")
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(\d{1,5})$")
_LOCAL = re.compile(r"^local(?::(.*))?$")

# (stage, tasks done, tasks in the stage)
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SchedulerChoice:
    """A running scheduler's address, or how many local workers to start."""

    address: str | None = None
    local_workers: int | None = None

    @property
    def local(self) -> bool:
        return self.address is None


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def parse_scheduler(text: str) -> SchedulerChoice:
    """`tcp://host:port`, `tls://host:port`, `local` or `local:N`."""
    value = str(text).strip()
    local = _LOCAL.match(value)
    if local:
        n = local.group(1)
        if n is None:
            return SchedulerChoice(local_workers=usable_cores())
        if not n.isdigit() or int(n) < 1:
            raise ArgumentError(f"--scheduler {text!r}: local:N needs a number of workers N >= 1, e.g. local:2")
        return SchedulerChoice(local_workers=int(n))
    match = _ADDRESS.match(value)
    if not match:
        raise ArgumentError(f"--scheduler {text!r} is not a scheduler address: give tcp://HOST:PORT (as `dask "
                            "scheduler` prints it) or local[:N]")
    if not 1 <= int(match.group(3)) <= 65535:
        raise ArgumentError(f"--scheduler {text!r}: the port must be between 1 and 65535")
    return SchedulerChoice(address=value)


def import_distributed() -> Any:
    """The `distributed` package, or a TkitError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise TkitError(f"--scheduler needs Dask's distributed scheduler, which is not installed: {INSTALL_HINT}") \
            from None
    return distributed


def timeout_seconds() -> float:
    text = os.environ.get("TKIT_DASK_TIMEOUT", "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise ArgumentError(f"TKIT_DASK_TIMEOUT={text!r} is not a number of seconds") from None
    if not value > 0:
        raise ArgumentError(f"TKIT_DASK_TIMEOUT={text!r} must be a positive number of seconds")
    return value


@contextlib.contextmanager
def connect(scheduler: str | SchedulerChoice) -> Iterator[Any]:
    """A `distributed.Client` on the chosen cluster (a LocalCluster is started and stopped here)."""
    choice = scheduler if isinstance(scheduler, SchedulerChoice) else parse_scheduler(scheduler)
    distributed = import_distributed()
    for name in ("distributed", "tornado", "asyncio"):  # its INFO lines and shutdown chatter are not tkit's output
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with contextlib.ExitStack() as stack:
        if choice.local:
            with warnings.catch_warnings():  # e.g. "port 8787 is in use": its HTTP server finds another one
                warnings.simplefilter("ignore")
                cluster = distributed.LocalCluster(n_workers=choice.local_workers, threads_per_worker=1,
                                                   processes=True, dashboard_address=":0",
                                                   silence_logs=logging.CRITICAL)
            stack.callback(cluster.close)
            client = distributed.Client(cluster)
        else:
            client = _remote_client(distributed, choice.address or "", timeout_seconds())
        stack.callback(client.close)
        yield client


def _remote_client(distributed: Any, address: str, timeout: float) -> Any:
    try:
        client = distributed.Client(address, timeout=timeout)
    except TIMEOUTS as err:
        raise TkitError(f"cannot reach a Dask scheduler at {address} within {timeout:g} s ({_short(err)}): start "
                        f"one with `dask scheduler` and pass the address it prints, or check host and port") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TIMEOUTS:
        client.close()
        raise TkitError(f"the Dask scheduler at {address} has no workers (none joined within {timeout:g} s): start "
                        f"some with `dask worker {address}` on machines that share the input files") from None
    return client


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) < 120 else text[:117] + "..."


def worker_count(client: Any) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


def run_stage(client: Any, futures: Sequence[Any], stage: str, progress: StageProgress | None = None) -> list[Any]:
    """The results of `futures` in their order, reporting each task done; on a failure the other tasks are
    cancelled and the task's error raised (a TkitError as it is; a worker lost too often as a TkitError)."""
    distributed = import_distributed()
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    done = 0
    if progress:
        progress(stage, 0, len(futures))
    try:
        for future in distributed.as_completed(list(futures)):
            if future.status == "error":
                raise _task_error(future.exception(), stage)
            if future.status != "finished":  # cancelled: the scheduler went away or dropped the task
                raise TkitError(f"the Dask cluster dropped a task while {stage} (status {future.status}): check that "
                                "the scheduler is still running and run again")
            results[index[future.key]] = future.result()
            done += 1
            if progress:
                progress(stage, done, len(futures))
    except OSError as err:  # the connection to the scheduler broke
        raise TkitError(f"lost the connection to the Dask scheduler while {stage} ({_short(err)}): check that it "
                        "is still running and run again") from None
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    return results


def _task_error(err: BaseException, stage: str) -> BaseException:
    if isinstance(err, TkitError):
        return err
    if type(err).__name__ == "KilledWorker":
        return TkitError(f"Dask workers kept dying while {stage} ({_short(err)}): check the workers' memory "
                         "limits and logs")
    return err


@contextlib.contextmanager
def shared_workdir(temp_dir: str | os.PathLike[str] | None, inputs: Sequence[str], local: bool) -> Iterator[str]:
    """A fresh folder for the tasks' files, removed at the end. It must be visible to every worker: --temp-dir
    when given; else the system temp dir for a local cluster, or the first input's folder for a remote one
    (the workers share the inputs' paths)."""
    if temp_dir is not None:
        parent = os.path.abspath(temp_dir)
    elif local:
        parent = tempfile.gettempdir()
    else:
        parent = os.path.dirname(os.path.abspath(inputs[0]))
    try:
        path = tempfile.mkdtemp(prefix="tkit-dask-", dir=parent)
    except OSError as err:
        raise TkitError(f"cannot create a work folder in {parent!r} ({err.strerror}): pass --temp-dir DIR on a path "
                        "every worker shares and can write") from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
