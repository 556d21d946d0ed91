"""The census behind issue 11's closing note: for each class of hostile input, the tests that generate its cases,
how many cases they tried and how many behaved as promised. Run: `.venv/bin/python tests/census/hostile_census.py`
(prints a Markdown table; about as long as the tests it runs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# class -> pytest selectors (files, or file::test); every selector must collect at least one test.
CLASSES: dict[str, list[str]] = {
    "probe": ["tests/tokenizers_kit/test_hostile_ids.py", "tests/test_api_boundary.py"],
}


def run_class(selectors: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "census.json"
        env = dict(os.environ, TKIT_CENSUS_OUT=str(out), PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "pytest", *selectors, "-p", "tests.census.count_cases", "-p",
               "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib", "-q", "--hypothesis-show-statistics"]
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)
        return json.loads(out.read_text()) if out.exists() else []


def main() -> int:
    print("| class | tests | cases tried | cases passing | selectors |")
    print("|---|---|---|---|---|")
    bad = 0
    for name, selectors in CLASSES.items():
        results = run_class(selectors)
        tried = sum(r["tried"] for r in results)
        passing = sum(r["passing"] for r in results)
        bad += not results or tried != passing
        print(f"| {name} | {len(results)} | {tried} | {passing} | {' '.join(f'`{s}`' for s in selectors)} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
