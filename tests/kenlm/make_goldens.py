"""Regenerate tests/fixtures/kenlm_binary/goldens.json with the real `kenlm` module (run by hand, where kenlm is
installed: `python tests/kenlm/make_goldens.py`). See tests/fixtures/kenlm_binary/README.md for the files."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import kenlm

from tests.kenlm.cases import FIXTURES, files, sentences_for


def golden(path: Path) -> dict:
    model = kenlm.Model(str(path))
    out: dict = {"order": model.order, "sentences": {}}
    for sentence in sentences_for(path.name):
        out["sentences"][sentence] = {
            f"{int(bos)}{int(eos)}": {"full": [list(t) for t in model.full_scores(sentence, bos, eos)],
                                      "score": model.score(sentence, bos, eos)}
            for bos in (True, False) for eos in (True, False)}
    return out


def main() -> None:
    data = {p.name: golden(p) for p in files()}
    with gzip.open(FIXTURES / "goldens.json.gz", "wt", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main()
