"""Preloaded into one test worker (`dask worker --preload`): its window-counting tasks mark that they started
(a file) and then take a while, so that a test can SIGKILL the worker in the middle of a job. Tasks name their
function by module and name, so the worker runs this wrapper in place of the real one."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ngram.distributed import window_stage

_real = window_stage.count_range_windows


def _slow(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    Path(os.environ["TKIT_TEST_STARTED"]).touch()
    time.sleep(float(os.environ.get("TKIT_TEST_DELAY", "2")))
    return _real(*args, **kwargs)


window_stage.count_range_windows = _slow
