"""Print `name==lower-bound` for every runtime dependency in pyproject.toml: the oldest versions the metadata
allows, as pip constraints. Fails if a dependency has no lower bound (then "oldest" would mean nothing)."""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
for requirement in pyproject["project"]["dependencies"]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", requirement)
    if not match:
        sys.exit(f"lowest_pins: {requirement!r} has no `>=` lower bound")
    print(f"{match.group(1)}=={match.group(2)}")
