"""What stands at an output path survives as the shell's `>` would leave it (tokenizers_kit.atomic): generated
cases over what exists there (nothing, a file of any mode, a symlink or a chain of them, a hard link, a FIFO,
a device), how it is written (text, binary) and whether the writer fails half-way."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenizers_kit.atomic import atomic_open, atomic_path, check_output_dir
from tokenizers_kit.errors import TkitError

KINDS = ["none", "file", "symlink", "symlink_chain", "hardlink"]
OLD, NEW = "old content\n", "new content ✓\n"


def make(tmp: Path, kind: str, mode: int) -> tuple[Path, Path | None]:
    """(the output path, the real file behind it or None)."""
    out = tmp / "out.txt"
    if kind == "none":
        return out, None
    real = tmp / "real.txt"
    real.write_text(OLD, encoding="utf-8")
    os.chmod(real, mode)
    if kind == "file":
        return real, real
    if kind == "hardlink":
        os.link(real, out)
    elif kind == "symlink":
        out.symlink_to(real)
    else:  # out -> mid -> real
        (tmp / "mid.txt").symlink_to(real)
        out.symlink_to(tmp / "mid.txt")
    return out, real


def write(out: Path, binary: bool, fail: bool) -> None:
    if binary:
        with atomic_path(out) as tmp:
            Path(tmp).write_bytes(NEW.encode())
            if fail:
                raise RuntimeError("half-way")
    else:
        with atomic_open(out) as handle:
            handle.write(NEW)
            if fail:
                raise RuntimeError("half-way")


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), mode=st.sampled_from([0o600, 0o640, 0o644, 0o664, 0o700, 0o755]),
       binary=st.booleans(), fail=st.booleans())
def test_what_stands_at_the_output_survives(tmp_path_factory, kind, mode, binary, fail):
    tmp = tmp_path_factory.mktemp("out")
    out, real = make(tmp, kind, mode)
    links_before = {p: os.readlink(p) for p in tmp.iterdir() if p.is_symlink()}
    if fail:
        with pytest.raises(RuntimeError):
            write(out, binary, fail)
    else:
        write(out, binary, fail)
    expected = OLD if fail else NEW
    if real is None:
        assert out.exists() == (not fail)
        if not fail:
            assert out.read_text(encoding="utf-8") == NEW
            assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~current_umask()
    else:
        assert real.read_text(encoding="utf-8") == expected
        assert stat.S_IMODE(real.stat().st_mode) == mode  # the file keeps its permissions
        assert {p: os.readlink(p) for p in tmp.iterdir() if p.is_symlink()} == links_before  # links stay links
        if kind == "hardlink":
            assert os.path.samefile(out, real) and real.stat().st_nlink == 2
            assert out.read_text(encoding="utf-8") == expected
    assert not [p for p in tmp.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


@pytest.mark.parametrize("binary", [False, True])
def test_a_fifo_is_written_into_not_replaced(tmp_path, binary):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is waiting, so the writer does not block
    try:
        write(fifo, binary, fail=False)
        got = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert got == NEW.encode() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("binary", [False, True])
def test_a_device_is_written_into_not_replaced(tmp_path, binary):
    device = tmp_path / "null"
    try:  # a private /dev/null (needs root, as CI has); never risk the system's own
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        device = Path("/dev/null")  # not root: nobody can replace it anyway
    before = os.stat(device)
    write(device, binary, fail=False)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(["file", "symlink", "symlink_chain", "hardlink"]), spelling=st.sampled_from(
    ["as_is", "dot_slash", "via_parent"]))
def test_an_output_that_is_an_input_is_refused(tmp_path_factory, kind, spelling):
    tmp = tmp_path_factory.mktemp("same")
    out, real = make(tmp, kind, 0o644)
    name = {"as_is": str(real), "dot_slash": str(real.parent / "." / real.name),
            "via_parent": str(real.parent / ".." / real.parent.name / real.name)}[spelling]
    with pytest.raises(TkitError, match="is also an input"):
        check_output_dir(out, inputs=["-", None, name])
    assert real.read_text(encoding="utf-8") == OLD
    check_output_dir(tmp / "other.txt", inputs=[name])  # a different output is fine


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_unwritable_output_directory_is_named_before_any_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = os.system(f"mount -t tmpfs -o ro,size=64k tmpfs {ro} 2>/dev/null") == 0  # root: a read-only fs
    if not mounted:
        os.chmod(ro, 0o500)  # not root: permissions suffice
    try:
        with pytest.raises(TkitError, match="cannot write in the output directory") as err:
            check_output_dir(ro / "m.arpa")
        assert ".tmp" not in str(err.value)
    finally:
        if mounted:
            os.system(f"umount {ro}")
        os.chmod(ro, 0o700)
