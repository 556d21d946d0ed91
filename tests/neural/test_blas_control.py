"""BLAS thread control: the loaded BLAS is found on this build, parallel regions run with one BLAS thread in
every thread and restore the setting after, for per-thread and process-wide setters alike."""
import threading

import numpy as np
import pytest

from neural import blas_control, thread_pool
from neural.blas_control import BlasControl, control, one_blas_thread


def test_numpy_blas_is_found_and_controllable():
    ctl = control()
    assert ctl.known, f"no thread control found for {ctl.filepath}"
    assert ctl.filepath and ctl.internal_api


def test_region_sets_one_thread_and_restores():
    ctl = control()
    if ctl.get_global is None:
        pytest.skip("this BLAS reports no thread count")
    before = ctl.get_global()
    with one_blas_thread():
        assert ctl.get_global() == 1
        with one_blas_thread():                   # nested
            assert ctl.get_global() == 1
        assert ctl.get_global() == 1
    assert ctl.get_global() == before


def test_workers_run_with_one_blas_thread(monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", "2")
    ctl = control()
    if thread_pool.workers() < 2 or ctl.get_global is None:
        pytest.skip("no controllable BLAS")
    seen = thread_pool.run_parallel([ctl.get_global, ctl.get_global])
    assert seen == [1, 1]
    a = np.random.default_rng(0).standard_normal((300, 300))
    np.testing.assert_allclose(thread_pool.par_matmul(a, a), a @ a, rtol=1e-10, atol=1e-12)


class _FakeBlas:
    """A process-wide setter only (as the scipy-openblas NumPy 2.5 ships), recording its calls."""

    def __init__(self, n: int = 4) -> None:
        self.n, self.calls = n, []

    def set(self, n: int) -> None:
        self.calls.append(n)
        self.n = n

    def get(self) -> int:
        return self.n


@pytest.fixture
def global_only(monkeypatch):
    fake = _FakeBlas()
    monkeypatch.setattr(blas_control, "control", lambda: BlasControl("fake.so", "openblas", None, None,
                                                                     fake.set, fake.get))
    return fake


def test_process_wide_setter_is_held_while_any_region_is_open(global_only):
    fake = global_only
    entered, release = threading.Event(), threading.Event()

    def other_thread():
        with one_blas_thread():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=other_thread)
    with one_blas_thread():
        assert fake.n == 1
        t.start()
        entered.wait(5)
    assert fake.n == 1                            # the other thread's region is still open
    release.set()
    t.join()
    assert fake.n == 4 and fake.calls == [1, 4]   # set once, restored once


def test_region_restores_after_an_exception(global_only):
    with pytest.raises(RuntimeError), one_blas_thread():
        raise RuntimeError("boom")
    assert global_only.n == 4


def test_per_thread_setter_touches_only_this_thread(monkeypatch):
    local = threading.local()
    calls = []

    def set_local(n):
        calls.append(n)
        previous, local.n = getattr(local, "n", 0), n
        return previous

    monkeypatch.setattr(blas_control, "control", lambda: BlasControl("fake.so", "openblas", set_local, None,
                                                                     None, None))
    with one_blas_thread():
        assert local.n == 1
    assert local.n == 0 and calls == [1, 0]
