"""Bad inputs get one line that names the real problem (no traceback, no misleading reason): generated model
files of the wrong kind, id files with non-ids, out-of-range settings."""
from __future__ import annotations

import os
import pickle  # noqa: S403 -- only to WRITE a hostile file that tkit must refuse to load
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.clirunner import assert_one_line_error, run_tkit

ARPA = "\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-0.5\t</s>\n-0.5\ta\t-0.2\n\n\\end\\\n"


def write_model(path, kind: str, payload: bytes) -> None:
    if kind == "random":
        path.write_bytes(b"junk" + payload)  # never starts with PK
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"weights": list(payload)}))
    elif kind == "npy":
        np.save(path.with_suffix(".tmp.npy"), np.frombuffer(payload or b"x", dtype=np.uint8))
        os.replace(path.with_suffix(".tmp.npy"), path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zip_not_tkit":
        np.savez(path.with_suffix(".tmp"), x=np.zeros(2))
        os.replace(str(path.with_suffix(".tmp")) + ".npz", path)


EXPECTED = {"random": "not a zip archive", "pickle": "pickle", "npy": "not a zip archive",
            "empty": "not a zip archive", "zip_not_tkit": "not a tkit model"}


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(sorted(EXPECTED)), payload=st.binary(max_size=64),
       command=st.sampled_from(["sample", "eval"]))
def test_wrong_model_files_are_named_for_what_they_are(tmp_path_factory, kind, payload, command):
    tmp = tmp_path_factory.mktemp("m")
    model = tmp / "m.npz"
    write_model(model, kind, payload)
    (tmp / "t.txt").write_text("a b\n", encoding="utf-8")
    args = ["sample", str(model)] if command == "sample" else ["eval", str(model), str(tmp / "t.txt")]
    result = run_tkit(*args)
    assert_one_line_error(result, EXPECTED[kind])
    if kind != "pickle":
        assert "pickle" not in result.err


@pytest.mark.parametrize("what", ["directory", "fifo", "missing"])
def test_model_paths_that_are_not_files(tmp_path, what):
    path = tmp_path / "m.npz"
    if what == "directory":
        path.mkdir()
    elif what == "fifo":
        os.mkfifo(path)
    expected = {"directory": "is a directory", "fifo": "not a regular file", "missing": "does not exist"}[what]
    assert_one_line_error(run_tkit("sample", str(path)), expected)
    assert_one_line_error(run_tkit("sample", str(tmp_path / "m.arpa")) if what == "missing" else
                          run_tkit("sample", str(path)), expected)


def test_an_arpa_file_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "m.arpa"
    path.write_bytes("\ufeff".encode() + ARPA.encode())
    result = run_tkit("sample", str(path), "--top-k-next", "1", "--json")
    assert result.code == 0, result.err


NOT_IDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6).filter(
    lambda s: s.strip() and not all(c in string.digits + "-" for c in s.strip()) and not s.isspace())


@settings(max_examples=40, deadline=None)
@given(token=NOT_IDS.map(lambda s: s.split()[0] if s.split() else s))
def test_detokenize_refuses_non_ids(tmp_path_factory, token):
    tmp = tmp_path_factory.mktemp("d")
    ids = tmp / "ids.txt"
    ids.write_text(f"65 {token} 66\n", encoding="utf-8")
    assert_one_line_error(run_tkit("detokenize", "--tokenizer", "char", str(ids)), "not an integer id")


@pytest.mark.parametrize("code_point", [-1, 0xD800, 0xDFFF, 0x110000, 10**30])
def test_detokenize_refuses_non_characters(tmp_path, code_point):
    ids = tmp_path / "ids.txt"
    ids.write_text(f"65 {code_point}\n", encoding="utf-8")
    assert_one_line_error(run_tkit("detokenize", "--tokenizer", "char", str(ids)))


@pytest.mark.parametrize("option, value", [("--temperature", "nan"), ("--temperature", "inf"), ("--top-p", "nan"),
                                           ("--seed", "-1")])
def test_sampling_settings_out_of_range(tmp_path, option, value):
    path = tmp_path / "m.arpa"
    path.write_text(ARPA, encoding="utf-8")
    assert_one_line_error(run_tkit("sample", str(path), option, value), option.strip("-").replace("-", "_")
                          if option == "--seed" else "finite")


@pytest.mark.parametrize("k", ["inf", "nan", "-1"])
def test_add_k_needs_a_finite_k(tmp_path, k):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b a\n", encoding="utf-8")
    result = run_tkit("train", "ngram", str(corpus), "-n", "2", "--smoothing", "add-k", "--k", k, "--tokenizer",
                      "whitespace", "-o", str(tmp_path / "m.npz"))
    assert_one_line_error(result, "--k")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("what, expected", [("missing", "does not exist"), ("directory", "is a directory"),
                                            ("empty", "holds no words"), ("latin1", "invalid UTF-8")])
def test_limit_vocab_file_errors_name_the_option(tmp_path, what, expected):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b\n", encoding="utf-8")
    vocab = tmp_path / "vocab"
    if what == "directory":
        vocab.mkdir()
    elif what == "empty":
        vocab.write_text(" \n", encoding="utf-8")
    elif what == "latin1":
        vocab.write_bytes("café".encode("latin-1"))
    result = run_tkit("train", "ngram", str(corpus), "-n", "2", "--tokenizer", "whitespace", "--limit-vocab-file",
                      str(vocab), "-o", str(tmp_path / "m.arpa"))
    assert_one_line_error(result, expected)
    assert "corpus" not in result.err


TINY_GPT = ["--n-layer", "1", "--n-head", "1", "--n-embd", "8", "--block-size", "8", "--batch-size", "2"]


@pytest.mark.parametrize("option, value", [("--lr", "inf"), ("--lr", "nan"), ("--min-lr", "inf"),
                                           ("--dropout", "nan"), ("--grad-clip", "inf")])
def test_training_settings_must_be_finite(tmp_path, option, value):
    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be\n" * 30, encoding="utf-8")
    result = run_tkit("train", "transformer", str(corpus), *TINY_GPT, "--steps", "2", option, value,
                      "-o", str(tmp_path / "m.npz"))
    assert_one_line_error(result, "finite")
    assert not list(tmp_path.glob("m*.npz"))


def test_a_diverged_run_never_replaces_a_good_checkpoint(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be that is the question\n" * 40, encoding="utf-8")
    ckpt = tmp_path / "run.ckpt.npz"
    good = run_tkit("train", "transformer", str(corpus), *TINY_GPT, "--steps", "2", "--checkpoint", str(ckpt),
                    "-o", str(tmp_path / "good.npz"))
    assert good.code == 0, good.err
    bad = run_tkit("train", "transformer", str(corpus), *TINY_GPT, "--steps", "30", "--lr", "1e30", "--warmup", "0",
                   "--val-every", "1", "--checkpoint", str(ckpt), "-o", str(tmp_path / "bad.npz"))
    assert_one_line_error(bad, "diverged", "kept")
    assert not (tmp_path / "bad.npz").exists()
    from neural import load_model

    kept = load_model(ckpt)  # the last checkpoint written is a sound one, never the NaN state
    assert all(np.isfinite(p.data).all() for p in kept.parameters())
    assert run_tkit("sample", str(ckpt), "--max-tokens", "5", "--seed", "0").code == 0
