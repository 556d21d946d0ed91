"""The training loop: it learns, resumes exactly, saves on Ctrl-C, logs; and the data batching."""
import json
import os
import signal

import numpy as np
import pytest

from neural import rnn_lm
from neural.checkpoint import load_checkpoint
from neural.data import StreamBatcher, random_batch, split_stream
from neural.trainer import (
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    write_history_plot,
    write_loss_log,
)
from neural.transformer import TransformerConfig, TransformerLM
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.simple import CharTokenizer

TEXT = ("the quick brown fox jumps over the lazy dog.\n" * 40 + "a stitch in time saves nine.\n" * 30)


def make_model(dropout=0.0):
    vocab = Vocabulary(sorted(set(TEXT)))
    cfg = TransformerConfig(vocab_size=len(vocab), n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=dropout)
    return TransformerLM(cfg, vocab, CharTokenizer())


def make_data(model):
    return split_stream(model.vocab.encode(list(TEXT)), 0.1)


CFG = dict(steps=12, batch_size=4, lr=3e-3, min_lr=3e-4, warmup=3, val_every=4, eval_batches=2)


def curve(history):
    return [(r["step"], r["train_loss"], r["val_loss"]) for r in history]


def test_training_reduces_loss():
    model = make_model()
    train, val = make_data(model)
    cfg = TrainConfig(**{**CFG, "steps": 100, "lr": 1e-2, "min_lr": 1e-3, "val_every": 50})
    result = Trainer(model, train, val, cfg).run()
    first = result.history[0]["train_loss"]
    last = np.mean([r["train_loss"] for r in result.history[-10:]])
    assert result.steps == 100 and last < first - 1.5
    assert result.val_loss is not None and result.val_loss < first - 1.5


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_interrupt_then_resume_gives_the_same_loss_curve(tmp_path, dropout):
    model = make_model(dropout)
    train, val = make_data(model)
    full = Trainer(model, train, val, TrainConfig(**CFG)).run()

    ckpt_path = tmp_path / "c.npz"

    def stop_at_5(info):
        if info.step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted):
        Trainer(make_model(dropout), train, val, TrainConfig(**CFG), ckpt_path, stop_at_5).run()
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt.trainer["step"] == 5
    resumed = Trainer.resume(ckpt, train, val, ckpt_path)
    out = resumed.run()
    assert curve(out.history) == curve(full.history)
    np.testing.assert_array_equal(resumed.model.wte.weight.data, model.wte.weight.data)


def test_ctrl_c_saves_a_loadable_checkpoint(tmp_path):
    model = make_model()
    train, val = make_data(model)
    ckpt_path = tmp_path / "c.npz"

    def on_step(info):
        if info.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer(model, train, val, TrainConfig(**CFG), ckpt_path, on_step)
    # Python's own Ctrl-C handler before the run, whatever an earlier test in this process left behind
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(TrainingInterrupted, match="interrupted at step 3/12.*--resume"):
            trainer.run()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the trainer restored it
    finally:
        signal.signal(signal.SIGINT, outer)
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt.trainer["step"] == 3 and len(ckpt.trainer["history"]) == 3
    np.testing.assert_array_equal(ckpt.model.wte.weight.data, model.wte.weight.data)


def test_resume_refuses_other_data(tmp_path):
    model = make_model()
    train, val = make_data(model)
    ckpt_path = tmp_path / "c.npz"
    Trainer(model, train, val, TrainConfig(**{**CFG, "steps": 2}), ckpt_path).run()
    with pytest.raises(TkitError, match="different text"):
        Trainer.resume(load_checkpoint(ckpt_path), train[::-1].copy(), val, ckpt_path)


def test_loss_log_csv_jsonl_and_svg(tmp_path):
    model = make_model()
    train, val = make_data(model)
    result = Trainer(model, train, val, TrainConfig(**{**CFG, "steps": 8})).run()
    write_loss_log(tmp_path / "log.csv", result.history)
    write_loss_log(tmp_path / "log.jsonl", result.history)
    write_history_plot(tmp_path / "loss.svg", result.history, "t < 1 & ok")
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0] == "step,lr,train_loss,val_loss,elapsed_s" and len(lines) == 9
    assert lines[1].split(",")[3] == "" and lines[4].split(",")[3] != ""  # val every 4 steps
    rows = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert rows[3]["val_loss"] == pytest.approx(result.history[3]["val_loss"]) and rows[0]["val_loss"] is None
    svg = (tmp_path / "loss.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 3 and "t &lt; 1 &amp; ok" in svg


def test_random_batch_shapes_and_shift():
    tokens = np.arange(100)
    x, y = random_batch(tokens, 5, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 8) and np.all(y == x + 1)
    with pytest.raises(CorpusError):
        random_batch(np.arange(8), 1, 8, np.random.default_rng(0))


def test_stream_batcher_rows_are_contiguous():
    tokens = np.arange(1000)
    b = StreamBatcher(tokens, batch_size=4, block_size=10)
    x1, y1, new1 = b.next()
    x2, _, new2 = b.next()
    assert new1 and not new2
    assert np.all(x2[:, 0] == x1[:, -1] + 1)  # row b continues where it stopped
    assert np.all(y1 == x1 + 1) and x1[1, 0] == 249  # rows are (n-1)//B = 249 long
    for _ in range(b.windows - 2):
        b.next()
    x3, _, new3 = b.next()  # wrapped: a new epoch
    assert new3 and np.array_equal(x3, x1)


def test_split_is_the_tail():
    train, val = split_stream(np.arange(100), 0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))


def test_stateful_rnn_interrupt_then_resume_same_curve(tmp_path):
    """TBPTT: the data cursor and the carried hidden state are checkpointed too."""
    vocab = Vocabulary(sorted(set(TEXT)))

    def make():
        cfg = rnn_lm.RNNConfig(vocab_size=len(vocab), cell="lstm", embedding_size=8, hidden_size=12, block_size=8)
        return rnn_lm.RNNLanguageModel(cfg, vocab, CharTokenizer())

    model = make()
    train, val = split_stream(vocab.encode(list(TEXT)), 0.1)
    cfg = dict(CFG, optimizer="adam", weight_decay=0.0, grad_clip=5.0)
    full = Trainer(model, train, val, TrainConfig(**cfg)).run()
    ckpt_path = tmp_path / "r.npz"

    def stop_at_6(info):
        if info.step == 6:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted):
        Trainer(make(), train, val, TrainConfig(**cfg), ckpt_path, stop_at_6).run()
    resumed = Trainer.resume(load_checkpoint(ckpt_path), train, val, ckpt_path)
    assert curve(resumed.run().history) == curve(full.history)
