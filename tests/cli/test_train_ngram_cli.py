"""`tkit train ngram`: lmplz's ARPA through the command line, every smoothing, and one-line errors."""
from __future__ import annotations

import pytest

from ngram import load_ngram
from ngram.smoothing import NAMES, SMOOTHINGS
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tests.ngram.ngram_helpers import FIXTURES
from tests.ngram.test_ngram_kenlm import assert_same_arpa


def test_lmplz_equivalent_with_fallback_warnings(tmp_path):
    out = tmp_path / "toy0.arpa"
    result = run_tkit("train", "ngram", str(FIXTURES / "toy0.txt"), "--order", "3", "--smoothing",
                      "modified-kneser-ney", "--tokenizer", "whitespace", "-o", str(out))
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "orders 1-3" in warnings[0] and "fallback 0.5 1 1.5" in warnings[0]
    assert "trained 3-gram modified-kneser-ney on 2 lines" in result.err
    assert_same_arpa(out, FIXTURES / "toy0.o3.arpa")


def test_lmplz_equivalent_words_order3_and_memory_budget(tmp_path):
    out = tmp_path / "w.arpa.gz"
    args = ["train", "ngram", str(FIXTURES / "shakespeare_words.txt"), "-n", "3", "--tokenizer", "whitespace"]
    assert run_tkit(*args, "-o", str(out), "--memory", "1M").code == 0
    assert_same_arpa(out, FIXTURES / "shakespeare_words.o3.arpa.gz")


def test_strict_discounts_fail_like_lmplz(tmp_path):
    result = run_tkit("train", "ngram", str(FIXTURES / "toy1.txt"), "-n", "3", "--tokenizer", "whitespace",
                      "--strict-discounts", "-o", str(tmp_path / "m.arpa"))
    assert_one_line_error(result, "discount")
    assert not (tmp_path / "m.arpa").exists()


@pytest.mark.parametrize("smoothing", NAMES)
def test_every_smoothing_trains(smoothing, tmp_path):
    ext = ".arpa" if SMOOTHINGS[smoothing].arpa else ".npz"
    out = tmp_path / f"m{ext}"
    extra = {"add-k": ["--k", "0.1"], "kneser-ney": ["--discount", "0.7"], "stupid-backoff": ["--alpha", "0.5"],
             "modified-kneser-ney": ["--discount-fallback", "0.4", "0.9", "1.3", "--prune", "0 1"]}
    result = run_tkit("train", "ngram", str(FIXTURES / "shakespeare_chars.txt"), "-n", "4", "--smoothing", smoothing,
                      "--tokenizer", "whitespace", "-o", str(out), *extra.get(smoothing, []))
    assert result.code == 0, result.err
    model = load_ngram(out)
    assert model.order == 4 and model.score("T O _ B E") < 0


@pytest.mark.parametrize("args, fragment", [
    (["missing.txt", "-n", "2", "--tokenizer", "whitespace", "-o", "OUT"], "does not exist"),
    (["EMPTY", "-n", "2", "--tokenizer", "whitespace", "-o", "OUT"], "empty"),
    (["BAD", "-n", "2", "--tokenizer", "whitespace", "-o", "OUT"], "byte offset 4"),
    (["CORPUS", "-n", "0", "--tokenizer", "whitespace", "-o", "OUT"], "--order"),
    (["CORPUS", "-n", "2", "--smoothing", "good-turing", "--tokenizer", "whitespace", "-o", "OUT"], "good-turing"),
    (["CORPUS", "-n", "2", "--tokenizer", "whitespace", "-o", "nodir/m.arpa"], "does not exist"),
    (["CORPUS", "-n", "2", "--smoothing", "add-k", "--tokenizer", "whitespace", "-o", "OUT"], "save it as .npz"),
    (["CORPUS", "-n", "2", "--tokenizer", "whitespace", "-o", "m.bin"], "extension"),
    (["CORPUS", "-n", "2", "--k", "2", "--tokenizer", "whitespace", "-o", "OUT"], "--k does not apply"),
    (["CORPUS", "-n", "3", "--prune", "1 1", "--tokenizer", "whitespace", "-o", "OUT"], "unigrams"),
    (["CORPUS", "-n", "2", "--tokenizer", "nosuch", "-o", "OUT"], "nosuch"),
    (["RESERVED", "-n", "2", "--tokenizer", "whitespace", "-o", "OUT"], "--skip-symbols"),
])
def test_errors_leave_no_output(args, fragment, tmp_path):
    files = {"EMPTY": "", "CORPUS": "a b c\nb c\n", "RESERVED": "a <s> b\n"}
    names = {k: tmp_path / f"{k}.txt" for k in files}
    for key, text in files.items():
        names[key].write_text(text)
    (tmp_path / "BAD.txt").write_bytes(b"abc \xff\n")
    names.update({"BAD": tmp_path / "BAD.txt", "OUT": tmp_path / "m.arpa", "missing.txt": tmp_path / "missing.txt",
                  "nodir/m.arpa": tmp_path / "nodir" / "m.arpa", "m.bin": tmp_path / "m.bin"})
    result = run_tkit("train", "ngram", *[str(names.get(a, a)) for a in args])
    assert_one_line_error(result, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["BAD.txt", *(f"{k}.txt" for k in files)])


def test_trained_models_evaluate_as_kenlm(tmp_path):
    """`tkit eval` on a model from `tkit train ngram`: KenLM's perplexity on the held-out fixture."""
    import json

    out = tmp_path / "m.npz"
    assert run_tkit("train", "ngram", str(FIXTURES / "shakespeare_words.txt"), "-n", "3", "--tokenizer",
                    "whitespace", "-o", str(out)).code == 0
    result = run_tkit("eval", str(out), str(FIXTURES / "shakespeare_words.test.txt"), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["perplexity"] == pytest.approx(121.3205, abs=1e-3)
    assert (report["tokens"], report["oov"]) == (3862, 136)
    top = run_tkit("sample", str(out), "--prompt", "good my", "--top-k-next", "3", "--json")
    assert top.code == 0, top.err
    assert len(json.loads(top.out)["next"]) == 3


@pytest.mark.parametrize("damage, fragment", [
    ("truncate", "truncated"),
    ("pickle", "pickle"),
    ("foreign", "not a tkit model"),
    ("arpa-counts", "promises"),
])
def test_damaged_model_files_are_refused(damage, fragment, tmp_path):
    import numpy as np

    good = tmp_path / "good.npz"
    assert run_tkit("train", "ngram", str(FIXTURES / "toy1.txt"), "-n", "2", "--tokenizer", "whitespace",
                    "-o", str(good)).code == 0
    bad = tmp_path / ("bad.arpa" if damage.startswith("arpa") else "bad.npz")
    if damage == "truncate":
        bad.write_bytes(good.read_bytes()[:300])
    elif damage == "pickle":
        np.savez(bad, __tkit_meta__=np.array('{"format": "tkit-ngram"}'), x=np.array([{}], dtype=object))
    elif damage == "foreign":
        np.savez(bad, x=np.arange(3))
    else:
        bad.write_text((FIXTURES / "toy1.o3.arpa").read_text().replace("ngram 2=7", "ngram 2=8"))
    for args in (["eval", str(bad), str(FIXTURES / "toy1.txt")], ["sample", str(bad), "--max-tokens", "3"]):
        assert_one_line_error(run_tkit(*args), fragment)
