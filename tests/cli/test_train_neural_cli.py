"""`tkit train transformer` / `tkit train rnn` end to end: model file, logs, resume, errors."""
import json

import numpy as np
import pytest

from neural import load_model
from tests.cli.clirunner import assert_one_line_error, run_tkit

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 30
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_train_transformer_then_sample_and_eval(tmp_path, corpus):
    out = tmp_path / "m.npz"
    log = tmp_path / "loss.csv"
    r = run_tkit("train", "transformer", str(corpus), *TINY, "--steps", "20", "--val-every", "10",
                 "--log", str(log), "-o", str(out))
    assert r.code == 0, r.err
    assert "trained transformer" in r.err and "20 steps" in r.err and r.out == ""
    model = load_model(out)
    assert model.vocab.tokens[-1] == "<unk>" and model.config["n_embd"] == 16
    assert len(log.read_text().splitlines()) == 21
    assert (tmp_path / "loss.svg").read_text().startswith("<svg")
    assert (tmp_path / "m.ckpt.npz").exists()
    s = run_tkit("sample", str(out), "--prompt", "To be", "--max-tokens", "20", "--seed", "1")
    assert s.code == 0, s.err
    e = run_tkit("eval", str(out), str(corpus), "--json")
    assert e.code == 0, e.err
    report = json.loads(e.out)
    assert report["tokens"] == len(TEXT) - 1 and report["cross_entropy"] < np.log(len(model.vocab))


def test_resume_continues_to_more_steps(tmp_path, corpus):
    out, ckpt = tmp_path / "m.npz", tmp_path / "run.ckpt.npz"
    args = ["train", "transformer", str(corpus), *TINY, "--val-every", "5", "--checkpoint", str(ckpt)]
    assert run_tkit(*args, "--steps", "10", "-o", str(out)).code == 0
    r = run_tkit("train", "transformer", str(corpus), "--resume", str(ckpt), "--steps", "15",
                 "--n-layer", "1", "--checkpoint", str(ckpt), "--log", str(tmp_path / "l.jsonl"), "-o", str(out))
    assert r.code == 0, r.err  # an option that agrees with the checkpoint is accepted (one that differs: an error)
    assert "15 steps" in r.err
    rows = (tmp_path / "l.jsonl").read_text().splitlines()
    assert len(rows) == 15 and json.loads(rows[-1])["step"] == 15  # the log holds the whole run


def test_train_rnn(tmp_path, corpus):
    out = tmp_path / "r.npz"
    r = run_tkit("train", "rnn", str(corpus), "--cell", "gru", "--embedding-size", "8", "--hidden-size", "16",
                 "--block-size", "8", "--batch-size", "4", "--steps", "6", "--val-every", "3", "-o", str(out))
    assert r.code == 0, r.err
    assert load_model(out).config["cell"] == "gru"


def test_half_precision_file(tmp_path, corpus):
    out = tmp_path / "h.npz"
    assert run_tkit("train", "transformer", str(corpus), *TINY, "--steps", "2", "--half", "-o", str(out)).code == 0
    with np.load(out) as f:
        assert f["w:wte.weight"].dtype == np.float16
    assert load_model(out).dtype == np.float32


def test_user_mistakes_are_one_line_errors(tmp_path, corpus):
    out = tmp_path / "m.npz"
    assert_one_line_error(run_tkit("train", "transformer", str(tmp_path / "none.txt"), "-o", str(out)))
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), "--block-size", "5000", "-o", str(out)),
                          "block size")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), "--n-embd", "10", "--n-head", "4",
                                   "-o", str(out)), "divisible")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), "-o", str(tmp_path / "no" / "m.npz")),
                          "does not exist")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), "--resume", str(corpus), "-o", str(out)))
    assert not out.exists()


def test_resume_with_the_wrong_command(tmp_path, corpus):
    out, ckpt = tmp_path / "m.npz", tmp_path / "m.ckpt.npz"
    assert run_tkit("train", "transformer", str(corpus), *TINY, "--steps", "2", "-o", str(out)).code == 0
    assert_one_line_error(run_tkit("train", "rnn", str(corpus), "--resume", str(ckpt), "-o", str(out)),
                          "tkit-transformer")


def test_ctrl_c_saves_checkpoint_and_exits_with_one_line(tmp_path, corpus):
    """A real SIGINT to a real `tkit` process: a loadable checkpoint, a one-line message, exit 1."""
    import signal
    import subprocess
    import sys
    import time

    out, ckpt = tmp_path / "m.npz", tmp_path / "m.ckpt.npz"
    log = tmp_path / "loss.csv"
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "train", "transformer", str(corpus), *TINY,
                             "--steps", "100000", "--log", str(log), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not log.exists() and time.time() < deadline:  # the first checkpoint (step 250) writes the log
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    lines = [x for x in err.splitlines() if x.strip()]
    assert proc.returncode == 130 and len(lines) == 1, err  # as any Ctrl-C
    assert lines[0].startswith("tkit: error: interrupted at step") and "--resume" in lines[0]
    assert not out.exists()
    model = load_model(ckpt)  # the checkpoint opens as a model too
    assert model.config["n_embd"] == 16
