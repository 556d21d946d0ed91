"""`tkit train cnn` and `tkit train rnn --cell ugrnn` end to end: model file, sample, eval, checkpoint and
resume (to the same weights as an uninterrupted run), and the bad inputs of the new options as one-line errors
with no output file."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural import load_model
from neural.cnn_lm import CNNLanguageModel
from tests.cli.clirunner import assert_one_line_error, run_tkit

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 30
TINY = ["--channels", "16", "--n-layer", "2", "--kernel-size", "3", "--block-size", "16", "--batch-size", "4"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_train_cnn_then_sample_and_eval(tmp_path, corpus):
    out, log = tmp_path / "m.npz", tmp_path / "loss.csv"
    r = run_tkit("train", "cnn", str(corpus), *TINY, "--steps", "20", "--warmup", "0", "--val-every", "10",
                 "--log", str(log), "-o", str(out))
    assert r.code == 0, r.err
    assert "trained causal CNN 2x16" in r.err and "20 steps" in r.err and r.out == ""
    model = load_model(out)
    assert isinstance(model, CNNLanguageModel) and model.config["dilations"] == "1,2"  # 1,2,4,8 cut to 2 layers
    assert len(log.read_text().splitlines()) == 21 and (tmp_path / "loss.svg").exists()
    s = run_tkit("sample", str(out), "--prompt", "To be", "--max-tokens", "30", "--seed", "1")
    assert s.code == 0, s.err
    assert s.out.startswith("To be") and len(s.out) > len("To be")
    n = run_tkit("sample", str(out), "--prompt", "To be", "--top-k-next", "3", "--json")
    assert n.code == 0, n.err
    assert len(json.loads(n.out)["next"]) == 3
    e = run_tkit("eval", str(out), str(corpus), "--json")
    assert e.code == 0, e.err
    report = json.loads(e.out)
    assert report["tokens"] == len(TEXT) - 1 and report["cross_entropy"] < np.log(len(model.vocab))


def test_resume_of_a_cnn_checkpoint_reaches_the_uninterrupted_weights(tmp_path, corpus):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    args = ["train", "cnn", str(corpus), *TINY, "--dilations", "1,3", "--val-every", "4", "--dropout", "0.1"]
    assert run_tkit(*args, "--steps", "12", "-o", str(whole)).code == 0
    ckpt = tmp_path / "run.ckpt.npz"
    assert run_tkit(*args, "--steps", "8", "--checkpoint", str(ckpt), "-o", str(part)).code == 0
    r = run_tkit("train", "cnn", str(corpus), "--resume", str(ckpt), "--steps", "12", "--checkpoint", str(ckpt),
                 "--dilations", "1,3", "-o", str(part))
    assert r.code == 0, r.err  # an option that agrees with the checkpoint is accepted
    a, b = load_model(whole), load_model(part)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6, err_msg=name)


def test_resume_refuses_other_options_and_the_wrong_command(tmp_path, corpus):
    out, ckpt = tmp_path / "m.npz", tmp_path / "m.ckpt.npz"
    assert run_tkit("train", "cnn", str(corpus), *TINY, "--steps", "2", "-o", str(out)).code == 0
    assert_one_line_error(run_tkit("train", "cnn", str(corpus), "--resume", str(ckpt), "--channels", "32",
                                   "-o", str(tmp_path / "n.npz")), "--channels 16 (not 32)")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), "--resume", str(ckpt),
                                   "-o", str(tmp_path / "n.npz")), "tkit-cnn")
    assert not (tmp_path / "n.npz").exists()


BAD = [
    (["--dilations", "1,x"], "comma-separated"),
    (["--dilations", ""], "comma-separated"),
    (["--dilations", "0,1"], "positive"),
    (["--dilations", "-1"], "comma-separated"),
    (["--n-layer", "2", "--dilations", "1,2,4"], "at most one per layer"),
    (["--kernel-size", "100000", "--dilations", "1000"], "receptive field"),
    (["--kernel-size", "0"], "--kernel-size"),
    (["--channels", "0"], "--channels"),
    (["--channels", "x"], "--channels"),
    (["--n-layer", "-2"], "--n-layer"),
    (["--channels", "10000000"], "--channels"),
    (["--block-size", "5000"], "block size"),
]


@pytest.mark.parametrize("args,fragment", BAD)
def test_bad_model_options_are_one_line_errors(tmp_path, corpus, args, fragment):
    out = tmp_path / "m.npz"
    assert_one_line_error(run_tkit("train", "cnn", str(corpus), *args, "-o", str(out)), fragment)
    assert not out.exists() and not (tmp_path / "m.ckpt.npz").exists()


@settings(max_examples=20, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789,- x.")), max_size=12))
def test_any_dilations_text_trains_or_is_a_one_line_error(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("dil")
    corpus = tmp / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp / "m.npz"
    r = run_tkit("train", "cnn", str(corpus), "--channels", "4", "--n-layer", "3", "--block-size", "8",
                 "--batch-size", "2", "--steps", "1", "--val-every", "0", "--dilations", text, "-o", str(out))
    if r.code == 0:
        assert load_model(out).config["dilations"] == text
    else:
        assert_one_line_error(r)
        assert not out.exists()


def test_train_rnn_ugrnn_then_resume_sample_and_eval(tmp_path, corpus):
    out, ckpt = tmp_path / "u.npz", tmp_path / "u.ckpt.npz"
    args = ["train", "rnn", str(corpus), "--cell", "ugrnn", "--embedding-size", "8", "--hidden-size", "16",
            "--block-size", "8", "--batch-size", "4", "--val-every", "3"]
    assert run_tkit(*args, "--steps", "6", "-o", str(out)).code == 0
    r = run_tkit("train", "rnn", str(corpus), "--resume", str(ckpt), "--steps", "9", "-o", str(out))
    assert r.code == 0, r.err
    assert "9 steps" in r.err
    model = load_model(out)
    assert model.config["cell"] == "ugrnn"
    assert run_tkit("sample", str(out), "--prompt", "To", "--max-tokens", "10", "--seed", "2").code == 0
    e = run_tkit("eval", str(out), str(corpus), "--json")
    assert e.code == 0 and json.loads(e.out)["tokens"] == len(TEXT) - 1


def test_an_unknown_cell_is_a_usage_error(tmp_path, corpus):
    r = run_tkit("train", "rnn", str(corpus), "--cell", "ugru", "-o", str(tmp_path / "m.npz"))
    assert r.code == 2 and "ugrnn" in r.err


def test_the_cell_choices_are_the_cells():
    """The CLI lists the cells literally (importing neural.rnn would slow every tkit start): keep in step."""
    from neural.rnn import CELLS

    help_text = run_tkit("train", "rnn", "--help").out
    choices = help_text.split("--cell [")[1].split("]")[0]
    assert choices.split("|") == list(CELLS)
