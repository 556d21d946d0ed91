"""ngram.kenlm against golden outputs of the real `kenlm` module on every committed KenLM file kind (probing,
-p 2.0, -v, trie, -q 8, -q 8 -b 8, -q 4 -b 3, -a 0/22/255, an ARPA without <unk>, a UTF-8 model, and the
.arpa.gz sources): every `full_scores` tuple and `score` for all bos/eos flags, compared bit for bit."""
from __future__ import annotations

import gzip
import json

import pytest

import ngram.kenlm as kenlm
from tests.kenlm.cases import FIXTURES, files

GOLDENS = json.loads(gzip.decompress((FIXTURES / "goldens.json.gz").read_bytes()).decode("utf-8"))


def _bits(value: float) -> str:
    return float(value).hex()  # tells -0.0 from +0.0


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name)
def test_full_scores_and_score_match_kenlm_bit_for_bit(path):
    golden = GOLDENS[path.name]
    model = kenlm.Model(str(path))
    assert model.order == golden["order"]
    checked = 0
    for sentence, flags in golden["sentences"].items():
        for key, want in flags.items():
            bos, eos = key[0] == "1", key[1] == "1"
            got = list(model.full_scores(sentence, bos, eos))
            assert [(_bits(p), n, o) for p, n, o in got] == [(_bits(p), n, o) for p, n, o in want["full"]], \
                (sentence, key)
            assert _bits(model.score(sentence, bos, eos)) == _bits(want["score"]), (sentence, key)
            checked += len(got)
    assert checked > 500


def test_every_fixture_has_a_golden():
    assert sorted(GOLDENS) == [p.name for p in files()]
