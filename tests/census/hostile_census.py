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
    "-o: device, FIFO, symlink, hard link, mode survive; -o never an input; unwritable dir named first": [
        "tests/tokenizers_kit/test_output_files.py", "tests/cli/test_output_is_not_an_input.py"],
    "lossless: SentencePiece-style symbols (▁, <0xNN>, specials) and any UTF-8 file byte for byte (CRLF, no final \\n)": [
        "tests/tokenizers_kit/test_lossless_sp.py", "tests/cli/test_round_trip_bytes.py",
        "tests/tokenizers_kit/test_roundtrip.py"],
    "GPT-2 / tiktoken files get tokenizer.json's checks (ids, ranks, BOM, CRLF, base64, JSON)": [
        "tests/tokenizers_kit/test_foreign_file_checks.py", "tests/tokenizers_kit/test_hostile_ids.py"],
    "regexes from files run under a time limit": ["tests/tokenizers_kit/test_hostile_patterns.py"],
    "sizes from files checked first (.arpa.gz bombs, ids 10^12, .npz headers/configs, tiktoken recovery)": [
        "tests/ngram/test_arpa_bombs.py", "tests/ngram/test_npz_sizes.py", "tests/neural/test_model_file_checks.py",
        "tests/tokenizers_kit/test_loader_size_class.py", "tests/tokenizers_kit/test_recover_merges.py"],
    "requests beyond reason (--order, --hidden-size & co, --max-tokens streams)": [
        "tests/cli/test_ngram_limits.py", "tests/neural/test_memory_budget.py", "tests/ngram/test_stream_text.py",
        "tests/ngram/test_fallback_notes.py"],
    "long lines in bounded memory, exact (tokenize and detokenize)": [
        "tests/tokenizers_kit/test_long_lines.py", "tests/tokenizers_kit/test_unigram_stream.py",
        "tests/cli/test_detokenize_windows.py", "tests/cli/test_long_line_memory.py"],
    "FIFO / <(cat file) inputs read once": ["tests/cli/test_pipes_as_inputs.py"],
    "--resume from damaged or disagreeing checkpoints": ["tests/cli/test_resume_damaged_checkpoint.py"],
    "tracebacks and misleading messages: options, detokenize, model paths, BOM, diverged runs": [
        "tests/cli/test_bad_inputs_say_what.py"],
    "SIGTERM / Ctrl-C: exit 143 / 130, no worker tracebacks, no temp files": ["tests/cli/test_signals.py"],
    "Python API: types and ranges checked at the boundary": ["tests/test_api_boundary.py"],
    "fuzz: tokenizer.json loader": ["tests/tokenizers_kit/test_fuzz_tokenizer_json.py",
                                    "tests/tokenizers_kit/test_fuzz_findings.py"],
    "fuzz: GPT-2 vocab/merges and tiktoken loaders": ["tests/tokenizers_kit/test_fuzz_foreign_files.py"],
    "fuzz: ARPA and .arpa.gz loader": ["tests/ngram/test_arpa_fuzz.py"],
    "fuzz: n-gram .npz loader": ["tests/ngram/test_ngram_npz_fuzz.py", "tests/ngram/test_npzfile.py"],
    "fuzz: neural .npz models and checkpoints": ["tests/neural/test_npz_fuzz.py"],
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
