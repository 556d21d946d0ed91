"""`tkit build-binary`: the files it writes load in the real `kenlm` module and score exactly as the ARPA they
came from (and as ngram.kenlm scores them); bad inputs give one error line and no output file."""
from __future__ import annotations

import gzip

import pytest

import ngram.kenlm as ours
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.kenlm.cases import FIXTURES, sentences_for
from tests.peers import require_peer

SOURCES = ["w2.arpa.gz", "w3.arpa.gz", "w5.arpa.gz", "w3nounk.arpa.gz"]


def _scores(model, sentences) -> list:
    return [(list(model.full_scores(s, b, e)), model.score(s, b, e)) for s in sentences
            for b in (True, False) for e in (True, False)]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("options", [[], ["-p", "2.0"]], ids=["default", "p2"])
def test_real_kenlm_loads_ours_and_scores_as_the_arpa(tmp_path, source, options):
    kenlm = require_peer("kenlm")
    out = tmp_path / "model.probing"
    result = run_tkit("build-binary", *options, "probing", str(FIXTURES / source), str(out))
    assert result.code == 0, result.err
    sentences = sentences_for(source)
    want = _scores(kenlm.Model(str(FIXTURES / source)), sentences)
    assert _scores(kenlm.Model(str(out)), sentences) == want
    assert _scores(ours.Model(str(out)), sentences) == want


@pytest.mark.parametrize("source", SOURCES)
def test_trie_loads_in_real_kenlm_and_scores_as_the_arpa(tmp_path, source):
    kenlm = require_peer("kenlm")
    out = tmp_path / "model.trie"
    result = run_tkit("build-binary", "trie", str(FIXTURES / source), str(out))
    assert result.code == 0, result.err
    sentences = sentences_for(source)
    want = _scores(kenlm.Model(str(FIXTURES / source)), sentences)
    assert _scores(kenlm.Model(str(out)), sentences) == want
    assert _scores(ours.Model(str(out)), sentences) == want
    assert _scores(ours.Model(str(out)), sentences) == _scores(ours.Model(str(FIXTURES / source)), sentences)


@pytest.mark.parametrize("source, options, fixture", [
    *[(s, [], s.split(".")[0] + ".trie") for s in SOURCES], ("utf8", [], "utf8.trie"),
    ("w3.arpa.gz", ["-a", "22"], "w3.a22.trie"), ("w5.arpa.gz", ["-a", "22"], "w5.a22.trie"),
    ("w5.arpa.gz", ["-a", "0"], "w5.a0.trie"), ("w3.arpa.gz", ["-q", "8", "-b", "8"], "w3.q8b8.trie"),
    ("w5.arpa.gz", ["-q", "8"], "w5.q8.trie"), ("w5.arpa.gz", ["-q", "4", "-b", "3"], "w5.q4b3.trie"),
    ("w5.arpa.gz", ["-q", "8", "-a", "255"], "w5.q8a255.trie"),
    ("w2.arpa.gz", ["-q", "8", "-a", "22"], "w2.q8a22.trie"),
    ("utf8", ["-q", "8", "-a", "22"], "utf8.q8a22.trie")])
def test_trie_is_byte_identical_to_kenlms_build_binary(tmp_path, source, options, fixture):
    """The committed fixtures were written by KenLM's build_binary [-q Q -b B] [-a N] trie from these ARPA
    files: ours is the same file, byte for byte."""
    arpa = FIXTURES.parent / "kenlm" / "limit_chars.o4.arpa" if source == "utf8" else FIXTURES / source
    out = tmp_path / "ours.trie"
    assert run_tkit("build-binary", *options, "trie", str(arpa), str(out)).code == 0
    assert out.read_bytes() == (FIXTURES / fixture).read_bytes()


def test_utf8_words_and_default_kind(tmp_path):
    kenlm = require_peer("kenlm")
    arpa = tmp_path / "utf8.arpa"
    arpa.write_bytes((FIXTURES.parent / "kenlm" / "limit_chars.o4.arpa").read_bytes())
    out = tmp_path / "utf8.bin"
    assert run_tkit("build-binary", str(arpa), str(out)).code == 0
    sentences = sentences_for("utf8")
    assert _scores(kenlm.Model(str(out)), sentences) == _scores(kenlm.Model(str(arpa)), sentences)
    assert ours.Model(str(out)).vocabulary()[:1] == ["<unk>"]


@pytest.mark.parametrize("args, needle", [
    (["array", "{arpa}", "{out}"], "array"),
    (["-a", "256", "trie", "{arpa}", "{out}"], "0..255"),
    (["-a", "8", "probing", "{arpa}", "{out}"], "tries only"),
    (["-q", "0", "trie", "{arpa}", "{out}"], "1..25"),
    (["-b", "26", "trie", "{arpa}", "{out}"], "1..25"),
    (["-q", "8", "probing", "{arpa}", "{out}"], "tries only"),
    (["-p", "1.0", "{arpa}", "{out}"], "multiplier"),
    (["{missing}", "{out}"], "cannot be read"),
    (["{bad}", "{out}"], "ARPA"),
    (["{noctx}", "{out}"], "context"),
])
def test_bad_inputs_one_line_and_no_output(tmp_path, args, needle):
    text = gzip.decompress((FIXTURES / "w2.arpa.gz").read_bytes()).decode()
    (tmp_path / "w2.arpa").write_text(text)
    (tmp_path / "bad.arpa").write_text("hello\n")
    # a trigram model missing the bigram that is the first trigram's context
    w3 = gzip.decompress((FIXTURES / "w3.arpa.gz").read_bytes()).decode().split("\n")
    start = w3.index("\\3-grams:") + 1
    context = " ".join(w3[start].split("\t")[1].split()[:2])
    kept = [ln for ln in w3 if not (ln.count("\t") >= 1 and ln.split("\t")[1] == context)]
    kept = [f"ngram 2={int(ln.split('=')[1]) - 1}" if ln.startswith("ngram 2=") else ln for ln in kept]
    (tmp_path / "noctx.arpa").write_text("\n".join(kept))
    paths = {"arpa": tmp_path / "w2.arpa", "out": tmp_path / "out.bin", "missing": tmp_path / "nope.arpa",
             "bad": tmp_path / "bad.arpa", "noctx": tmp_path / "noctx.arpa"}
    result = run_tkit("build-binary", *[a.format(**paths) for a in args])
    assert_one_line_error(result, needle)
    assert not (tmp_path / "out.bin").exists()
