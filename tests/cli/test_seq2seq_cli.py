"""`tkit train seq2seq`, `tkit translate` and `tkit eval` on pairs, end to end: outputs, resume, and the bad
inputs (malformed pair lines, too-long sides, models of another kind) as one-line errors naming the line."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neural.seq2seq import load_seq2seq
from tests.cli.clirunner import assert_one_line_error, run_tkit

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "8", "--steps", "12",
        "--val-every", "6"]


def reversal_lines(n, seed=0, low=2, high=7):
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdef"), rng.integers(low, high))) for _ in range(n)]
    return [f"{w}\t{w[::-1]}" for w in words]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("s2s")
    pairs = d / "pairs.tsv"
    pairs.write_text("\n".join(reversal_lines(200)) + "\n", encoding="utf-8")
    out = d / "m.npz"
    r = run_tkit("train", "seq2seq", str(pairs), *TINY, "--max-target-len", "8", "--log", str(d / "loss.csv"),
                 "-o", str(out))
    assert r.code == 0, r.err
    return d, pairs, out, r


def test_train_writes_model_checkpoint_and_logs(trained):
    d, _, out, r = trained
    assert "trained transformer seq2seq" in r.err and "12 steps" in r.err and r.out == ""
    model = load_seq2seq(out)
    assert model.cfg.max_target_len == 8 and model.cfg.max_source_len == 6   # the longest source seen
    assert (d / "m.ckpt.npz").exists() and (d / "loss.svg").exists()
    assert len((d / "loss.csv").read_text().splitlines()) == 13


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_rnn_archs_train_and_translate(tmp_path, arch):
    pairs = tmp_path / "p.tsv"
    pairs.write_text("\n".join(reversal_lines(50)) + "\n", encoding="utf-8")
    out = tmp_path / "m.npz"
    r = run_tkit("train", "seq2seq", str(pairs), "--arch", arch, "--hidden-size", "16", "--n-embd", "8",
                 "--steps", "5", "-o", str(out))
    assert r.code == 0, r.err
    t = run_tkit("translate", str(out), "--beam", "2", stdin="abc\nfed\n")
    assert t.code == 0, t.err
    assert len(t.out.splitlines()) == 2


def test_translate_gives_one_line_per_input_line(trained, tmp_path):
    _, _, out, _ = trained
    lines = ["abc", "", "fed cab", "a"]
    for beam in ("1", "3"):
        r = run_tkit("translate", str(out), "--beam", beam, "--length-penalty", "0.6", stdin="\n".join(lines) + "\n")
        assert r.code == 0, r.err
        got = r.out.split("\n")[:-1]
        assert len(got) == len(lines) and got[1] == ""
        assert got[2].count(" | ") == 1          # no space in the sources: word by word
        assert all(set(w) <= set("abcdef") for g in got for w in g.split(" | "))
    o = tmp_path / "out.txt"
    r = run_tkit("translate", str(out), "-", "-o", str(o), "--max-tokens", "2", stdin="abcdef\n")
    assert r.code == 0 and r.out == "" and 1 <= len(o.read_text().strip()) <= 2


def test_eval_reports_pair_scores(trained):
    _, pairs, out, _ = trained
    r = run_tkit("eval", str(out), str(pairs), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["pairs"] == 200 and 0 <= report["exact_match"] <= 1 and report["token_error_rate"] >= 0
    assert report["cross_entropy"] > 0 and abs(report["perplexity"] - np.exp(report["cross_entropy"])) < 1e-9


def test_resume_continues_the_run(trained, tmp_path):
    d, pairs, _, _ = trained
    out = tmp_path / "m2.npz"
    r = run_tkit("train", "seq2seq", str(pairs), "--resume", str(d / "m.ckpt.npz"), "--steps", "15",
                 "--checkpoint", str(tmp_path / "c.npz"), "-o", str(out))
    assert r.code == 0, r.err
    assert "for 15 steps" in r.err
    bad = run_tkit("train", "seq2seq", str(pairs), "--resume", str(d / "m.ckpt.npz"), "--n-embd", "32",
                   "-o", str(tmp_path / "m3.npz"))
    assert_one_line_error(bad, "--n-embd 16 (not 32)")


BAD_LINES = {
    "no tab": ("abc", "no tab"),
    "empty source": ("\tcba", "source side is empty"),
    "empty target": ("abc\t  ", "target side is empty"),
    "two tabs": ("a\tb\tc", "more than one tab"),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(BAD_LINES)), at=st.integers(0, 30), command=st.sampled_from(["train", "eval"]))
def test_a_malformed_pair_line_is_one_error_naming_file_and_line(trained, tmp_path, kind, at, command):
    _, _, model, _ = trained
    lines = reversal_lines(30, seed=at)
    lines.insert(at, BAD_LINES[kind][0])
    path = tmp_path / f"bad-{kind.replace(' ', '_')}-{at}.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / f"never-{at}.npz"
    if command == "train":
        r = run_tkit("train", "seq2seq", str(path), *TINY, "-o", str(out))
    else:
        r = run_tkit("eval", str(model), str(path), "--json")
    assert_one_line_error(r, f"{path}:{at + 1}", BAD_LINES[kind][1])
    assert not out.exists() and r.out == ""


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.integers(1, 5), at=st.integers(0, 9), side=st.sampled_from(["source", "target"]))
def test_a_side_longer_than_the_model_allows_names_the_line(trained, tmp_path, extra, at, side):
    _, _, model, _ = trained
    limit = {"source": 6, "target": 8}[side]
    long = "a" * (limit + extra)
    lines = reversal_lines(10, seed=at)
    lines[at] = f"{long}\tab" if side == "source" else f"ab\t{long}"
    path = tmp_path / f"long-{side}-{at}-{extra}.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_one_line_error(run_tkit("eval", str(model), str(path)), f"{path}:{at + 1}", f"the {side} has")


def test_translate_refuses_a_too_long_line_and_writes_nothing(trained, tmp_path):
    _, _, model, _ = trained
    o = tmp_path / "o.txt"
    r = run_tkit("translate", str(model), "-", "-o", str(o), stdin="abc\nabcdefabcdef\n")
    assert_one_line_error(r, "stdin:2", "more than the model's 6")
    assert not o.exists()


def test_translate_refuses_other_models(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("a b c\nb c a\n" * 20, encoding="utf-8")
    lm = tmp_path / "lm.npz"
    assert run_tkit("train", "ngram", str(text), "--order", "2", "--smoothing", "add-k", "--tokenizer", "whitespace",
                    "-o", str(lm)).code == 0
    assert_one_line_error(run_tkit("translate", str(lm), stdin="abc\n"), str(lm), "not a sequence-to-sequence")
    assert_one_line_error(run_tkit("translate", str(text), stdin="abc\n"), "not a sequence-to-sequence")
    assert_one_line_error(run_tkit("translate", str(tmp_path / "missing.npz"), stdin="abc\n"), "does not exist")


def test_usage_mistakes(trained, tmp_path):
    _, pairs, _, _ = trained
    out = str(tmp_path / "x.npz")
    r = run_tkit("train", "seq2seq", str(pairs), "-t", "char", "--source-tokenizer", "char", "-o", out)
    assert_one_line_error(r, "not both")
    assert_one_line_error(run_tkit("train", "seq2seq", str(pairs), "--block-size", "8", "-o", out), "--max-target-len")
    assert_one_line_error(run_tkit("train", "seq2seq", str(pairs), "--arch", "gru", "--dropout", "0.1", "-o", out),
                          "dropout")
