"""A real Dask cluster on loopback for the tests: `dask scheduler` and `dask worker` processes (no mock),
started in sessions of their own so that teardown can end each one with its children, bounded in time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def dask_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["DASK_DISTRIBUTED__LOGGING__DISTRIBUTED"] = "error"
    return env


def _dask(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # `python -m dask ...` is the `dask` command itself, run by the interpreter of the tests (its environment
    # has tkit and distributed, whatever is first on PATH)
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=dask_env(**(env or {})), cwd=str(ROOT), start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the session we started: the process and the worker it spawned
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


class LoopbackCluster:
    """`dask scheduler` on 127.0.0.1 (a free port, no dashboard) and workers of one thread each."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / "dask.log"
        self.scheduler_file = workdir / "scheduler.json"
        self.scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(self.scheduler_file), log=self.log)
        self.workers: list[subprocess.Popen] = []
        self.address = self._wait_address()

    def _wait_address(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                return json.loads(self.scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        raise RuntimeError("dask scheduler did not start in time")

    def add_worker(self, *extra: str, nanny: bool = True, env: dict[str, str] | None = None) -> subprocess.Popen:
        args = ["worker", self.address, "--nthreads", "1", "--nworkers", "1",
                "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0", *extra]
        if not nanny:
            args.append("--no-nanny")
        proc = _dask(*args, log=self.log, env=env)
        self.workers.append(proc)
        return proc

    def wait_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(n, timeout=START_TIMEOUT)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            _end(proc)
