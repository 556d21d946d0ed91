"""Output files: never half-written, never lost.

A regular file is written to a temporary file beside it and `os.replace`d into place, so a crash, a Ctrl-C or
an error half-way leaves the old file (or no file). What stands at the output path survives the way the
shell's `>` would treat it: a symlink is followed (its target is rewritten, the link stays a link); a device,
FIFO or socket is written into directly (replacing `/dev/null` with a regular file would be data loss); an
existing file keeps its permission bits (and owner, when we may set it); a file with other hard links is
rewritten in place once the new content is complete, so the links keep sharing it. An output that is one of
the inputs is refused before any work (`check_output_dir(path, inputs)`).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from tokenizers_kit import stop_request
from tokenizers_kit.errors import TkitError


def output_target(path: str | os.PathLike[str]) -> Path:
    """The file that writing `path` really changes: a symlink's target (followed all the way), else path."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _same_file(a: Path, b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one does not exist (yet), or is "-"
        return False


def check_output_dir(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Fail early, before long work: the output's directory must exist, the output must not be a directory
    or one of the `inputs` (which writing it would destroy)."""
    target = output_target(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise TkitError(f"output directory {str(parent)!r} does not exist: create it first or choose another -o path")
    if target.is_dir():
        raise TkitError(f"output {str(path)!r} is a directory: give a file name")
    existing = _existing(target)
    if existing is None or stat.S_ISREG(existing.st_mode):  # the temporary file must be creatable there
        try:
            tempfile.TemporaryFile(dir=parent).close()
        except OSError as err:
            raise TkitError(f"cannot write in the output directory {str(parent)!r} ({err.strerror}): choose "
                            "another -o path") from None
    for source in inputs:
        if source is not None and str(source) != "-" and _same_file(target, source):
            raise TkitError(f"output {str(path)!r} is also an input ({source}): writing it would destroy the "
                            "input; choose another -o path")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _existing(target: Path) -> os.stat_result | None:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield the path to write: a temporary path beside the target, which replaces it on success; or, for a
    device/FIFO/socket, the target itself."""
    target = check_output_dir(path)
    before = _existing(target)
    if before is not None and not stat.S_ISREG(before.st_mode):
        yield target  # a device, FIFO or socket: write into it, as `>` does
        return
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes 0600 files: give an existing file's mode, else the user's usual permissions
        os.chmod(tmp, stat.S_IMODE(before.st_mode) if before else 0o666 & ~_umask())
        if before is not None and (before.st_uid, before.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, before.st_uid, before.st_gid)
        yield tmp
        stop_request.raise_if_pending()  # a Ctrl-C or SIGTERM whose exception was swallowed: no output
        if before is not None and before.st_nlink > 1:
            shutil.copyfile(tmp, target)  # keep the inode its other names share
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs) -> Iterator[IO]:
    """`open` for writing that only creates `path` once the block has finished without error."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "\n")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
