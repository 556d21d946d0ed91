"""`tkit train word2vec` and `tkit similar` from the command line: outputs, JSON shapes, and one-line errors
with no output file left behind."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neural.vectors_io import load_vectors
from tests.cli.clirunner import assert_one_line_error, run_tkit


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    topics = [[f"a{i}" for i in range(30)], [f"b{i}" for i in range(30)]]
    path = tmp_path_factory.mktemp("w2v") / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(topics[n % 2], 8)) for n in range(600)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["v.txt", "v.bin"])
def vectors(request, corpus):
    out = corpus.parent / request.param
    result = run_tkit("train", "word2vec", str(corpus), "--dim", "12", "--epochs", "2", "--min-count", "1",
                      "--sample", "0", "-o", str(out))
    assert result.code == 0, result.err
    assert "trained skip-gram word2vec on 4,800 tokens (vocabulary 60, dim 12, 2 epochs)" in result.err
    return out


def test_the_vectors_file_holds_every_word(vectors):
    wv = load_vectors(vectors)
    assert sorted(wv.words) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(30)])
    assert wv.dim == 12


def test_table_text_and_json(vectors):
    words = ["a1", "a2", "b1"]
    text = run_tkit("similar", str(vectors), *words)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].split() == words and len(lines) == 4
    data = json.loads(run_tkit("similar", str(vectors), *words, "--json").out)
    table = np.array(data["similarity"])
    assert data["words"] == words and table.shape == (3, 3)
    np.testing.assert_allclose(np.diag(table), 1, atol=1e-5)
    np.testing.assert_allclose(table, table.T, atol=1e-6)
    assert table[0, 1] > table[0, 2]          # same topic nearer than the other topic
    for row, line in zip(table, lines[1:]):
        np.testing.assert_allclose([float(x) for x in line.split()[1:]], row, atol=6e-4)


def test_most_similar_and_analogy(vectors):
    data = json.loads(run_tkit("similar", str(vectors), "--most-similar", "a3", "--top", "5", "--json").out)
    found = [n["word"] for n in data["neighbours"]]
    assert data["word"] == "a3" and len(found) == 5 and "a3" not in found
    assert all(w.startswith("a") for w in found)
    sims = [n["similarity"] for n in data["neighbours"]]
    assert sims == sorted(sims, reverse=True)
    text = run_tkit("similar", str(vectors), "--analogy", "a1", "b1", "a2", "--top", "4")
    assert text.code == 0, text.err
    words = [line.split("\t")[1] for line in text.out.splitlines()]
    assert len(words) == 4 and not {"a1", "b1", "a2"} & set(words)


def test_unknown_words_are_named(vectors):
    assert_one_line_error(run_tkit("similar", str(vectors), "a1", "zzz", "qq"), "'zzz'", "'qq'")
    assert_one_line_error(run_tkit("similar", str(vectors), "--most-similar", "nope"), "'nope'")
    assert_one_line_error(run_tkit("similar", str(vectors), "--analogy", "a1", "x", "a2"), "'x'")


@pytest.mark.parametrize("args", [[], ["a1", "--most-similar", "a2"], ["--most-similar", "a1", "--analogy", "a", "b", "c"]])
def test_exactly_one_mode(vectors, args):
    result = run_tkit("similar", str(vectors), *args)
    assert_one_line_error(result, "one of them")
    assert result.code == 2


def test_bad_vectors_files(tmp_path):
    assert_one_line_error(run_tkit("similar", str(tmp_path / "missing.txt"), "a"), "no such file")
    bad = tmp_path / "bad.txt"
    bad.write_text("3 2\nking 0.1 0.2\nqueen 0.3 0.4\n", encoding="utf-8")
    assert_one_line_error(run_tkit("similar", str(bad), "king"), "declares 3 rows")
    assert_one_line_error(run_tkit("similar", str(tmp_path), "a"), "directory")


def test_training_errors_leave_no_output(tmp_path, corpus):
    out = tmp_path / "v.txt"
    cases = [
        (["--tokenizer", "char"], "whitespace"),                 # a space token cannot be stored
        (["--min-count", "100000"], "--min-count"),
    ]
    for extra, fragment in cases:
        result = run_tkit("train", "word2vec", str(corpus), *extra, "-o", str(out))
        assert_one_line_error(result, fragment)
        assert not out.exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_one_line_error(run_tkit("train", "word2vec", str(empty), "-o", str(out)))
    assert_one_line_error(run_tkit("train", "word2vec", str(corpus), "-o", str(tmp_path / "no" / "v.txt")), "does not exist")
    assert_one_line_error(run_tkit("train", "word2vec", str(corpus), "-o", str(corpus)), "also an input")
    for option in (["--dim", "0"], ["--sample", "nan"], ["--alpha", "0"], ["--workers", "0"]):
        result = run_tkit("train", "word2vec", str(corpus), *option, "-o", str(out))
        assert_one_line_error(result, option[0])
        assert result.code == 2
    assert not out.exists()


def test_workers_and_cbow_train(tmp_path, corpus):
    out = tmp_path / "v.bin"
    result = run_tkit("--quiet", "train", "word2vec", str(corpus), "--cbow", "--workers", "2", "--dim", "8",
                      "--epochs", "1", "--min-count", "1", "-o", str(out))
    assert result.code == 0 and result.err == "", result.err
    assert len(load_vectors(out)) == 60
