"""Input files that cannot be read twice: a FIFO, a shell's `<(cmd)`, a character device.

Training, counting and evaluation read their inputs more than once (sizes, a validation pass, a second
counting pass), and a FIFO gives its data once: the second read hangs or sees nothing. Such an input is
copied once into a temporary file, which the command reads instead and which is removed when the command
ends (however it ends). Regular files and `-` pass through untouched.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from typing import Any

import click

from tokenizers_kit.errors import CorpusError

COPY_BLOCK = 1 << 20


def _rereadable(path: str) -> bool:
    if path == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True  # missing or unreadable: the command's own checks say so
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def read_once(ctx: click.Context, param: click.Parameter, files: Any) -> Any:
    """A click callback for FILES arguments: pipes and devices become temporary regular files."""
    if not files:
        return files
    paths = list(files) if isinstance(files, tuple) else [files]
    if all(_rereadable(p) for p in paths):
        return files
    spool = tempfile.mkdtemp(prefix="tkit-input-")
    ctx.call_on_close(lambda: shutil.rmtree(spool, ignore_errors=True))
    out = []
    for n, path in enumerate(paths):
        if _rereadable(path):
            out.append(path)
            continue
        copy = os.path.join(spool, f"{n}-{os.path.basename(path) or 'input'}")
        try:
            with open(path, "rb") as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_BLOCK)
        except OSError as err:
            raise CorpusError(f"{path}: cannot be read ({err.strerror})") from None
        out.append(copy)
    return tuple(out) if isinstance(files, tuple) else out[0]
