"""The RNN language model: whole-model gradient checks, truncated BPTT, save/load, decoding with a carried
hidden state, stream scoring, and a short training run."""
import numpy as np
import pytest

import neural.rnn_lm as rnn_lm
from neural.gradcheck import assert_loss_grads
from neural.module import no_grad
from neural.optim import AdamW
from neural.rnn_lm import RNNLanguageModel
from ngram.decoding import SamplingConfig, beam_search, sample_stream
from ngram.vocab import Vocabulary
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import CharTokenizer

KINDS = ["elman", "gru", "lstm"]
TEXT = "to be, or not to be: that is the question.\n" * 3


def _model(kind="lstm", **over):
    vocab = Vocabulary(sorted(set(TEXT)))
    config = {"cell": kind, "embedding_size": 4, "hidden_size": 5, "n_layer": 2, "block_size": 3,
              "dropout": 0.0, "seed": 3, **over}
    return RNNLanguageModel.from_config(config, vocab, CharTokenizer())


def _batch(model, rng, b=2, t=3):
    ids = rng.integers(0, model.vocab_size, size=(b, t + 1))
    return ids[:, :-1], ids[:, 1:]


@pytest.mark.parametrize("kind", KINDS)
def test_whole_model_gradients(kind):
    """Every parameter of the LM (embedding, 2 stacked cells, head) against float64 finite differences, from
    a random carried-in state."""
    rng = np.random.default_rng(0)
    model = _model(kind).to(np.float64)
    x, y = _batch(model, rng)
    model.reset_state(2)
    carried = [tuple(rng.standard_normal(a.shape) for a in s) for s in model.rnn.state]

    def loss():
        model.rnn.state = [tuple(a.copy() for a in s) for s in carried]
        return model.loss(x, y)

    errs = assert_loss_grads(loss, model.backward, list(model.named_parameters()), tol=1e-6)
    assert len(errs) == len(model.parameters()) >= 8


def test_whole_model_gradients_with_dropout():
    rng = np.random.default_rng(1)
    model = _model("gru", dropout=0.25).to(np.float64)
    x, y = _batch(model, rng)

    def loss():
        model.reset_state(2)
        for i, mod in enumerate((model.drop_in, model.drop_out, *model.rnn.drops)):
            mod.rng = np.random.default_rng(i)
        return model.loss(x, y)

    assert_loss_grads(loss, model.backward, list(model.named_parameters()), tol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_tbptt_two_windows_equal_one_long_window(kind):
    """Carrying the state from window 1 into window 2 gives exactly the loss of the 2T-long window."""
    rng = np.random.default_rng(2)
    model = _model(kind).to(np.float64)
    x, y = _batch(model, rng, b=3, t=8)
    model.reset_state(3)
    with no_grad():
        whole = model.loss(x, y)
        model.reset_state(3)
        first, second = model.loss(x[:, :5], y[:, :5]), model.loss(x[:, 5:], y[:, 5:])
    assert (5 * first + 3 * second) / 8 == pytest.approx(whole, rel=1e-12)


def test_reset_state_forgets():
    rng = np.random.default_rng(3)
    model = _model()
    x, y = _batch(model, rng)
    model.reset_state(2)
    a = model.loss(x, y)
    b = model.loss(x, y)           # starts from a carried state
    model.reset_state(2)
    c = model.loss(x, y)
    assert a == c != b


def test_save_load_identical_logits(tmp_path):
    model = _model("gru")
    rng = np.random.default_rng(4)
    for p in model.parameters():
        p.data += rng.standard_normal(p.shape).astype(np.float32) * 0.1
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = RNNLanguageModel.load(path)
    ids = model.encode_text(TEXT)
    np.testing.assert_array_equal(loaded.sequence_logprobs(ids), model.sequence_logprobs(ids))
    np.testing.assert_array_equal(loaded.next_logprobs(ids[:10]), model.next_logprobs(ids[:10]))
    assert loaded.config == model.config and loaded.vocab.tokens == model.vocab.tokens
    from neural import load_model
    assert isinstance(load_model(path), RNNLanguageModel)


def test_loading_another_format_is_a_clear_error(tmp_path):
    from ngram.npzfile import save_npz
    path = tmp_path / "x.npz"
    save_npz(path, {"a": np.zeros(2)}, {"format": "tkit-transformer"})
    with pytest.raises(ModelFileError, match="not tkit-rnn"):
        RNNLanguageModel.load(path)


@pytest.mark.parametrize("kind", KINDS)
def test_decoding_with_carried_state_equals_recomputation(kind):
    model = _model(kind)
    ids = [int(i) for i in model.encode_text("to be, or not")]
    state = model.start(ids[:3])
    for i in range(3, len(ids)):
        np.testing.assert_allclose(state.logprobs, model.next_logprobs(ids[:i]), atol=1e-5)
        state = model.advance(state, ids[i])
    assert state.ids == tuple(ids)
    assert np.exp(state.logprobs).sum() == pytest.approx(1.0)


def test_sequence_logprobs_matches_next_logprobs_across_chunks(monkeypatch):
    monkeypatch.setattr(rnn_lm, "STREAM_CHUNK", 4)  # several chunks: the state must cross them
    model = _model("lstm").to(np.float64)
    ids = model.encode_text(TEXT[:15])
    lps = model.sequence_logprobs(ids)
    expected = [model.next_logprobs(ids[:i])[ids[i]] for i in range(1, ids.size)]
    np.testing.assert_allclose(lps, expected, rtol=1e-12)
    assert model.sequence_logprobs(ids[:1]).shape == (0,)


def test_long_streams_are_scored_as_warmed_up_parallel_segments(monkeypatch):
    """Above EXACT_MAX predictions the stream runs as segments side by side: segment 0 is exact, later ones
    start from WARMUP tokens of context, which for an LSTM changes the log-probs only slightly."""
    model = _model("lstm", hidden_size=16, n_layer=1).to(np.float64)
    ids = model.encode_text(TEXT * 3)                           # 131 tokens
    exact = model.sequence_logprobs(ids)
    for name, value in (("EXACT_MAX", 40), ("SEGMENT_MIN", 30), ("WARMUP", 25), ("MAX_SEGMENTS", 4),
                        ("STREAM_CHUNK", 7)):
        monkeypatch.setattr(rnn_lm, name, value)
    seg = model.sequence_logprobs(ids)
    length = -(-(ids.size - 1) // 4)
    np.testing.assert_allclose(seg[:length], exact[:length], rtol=1e-12)   # segment 0
    assert not np.array_equal(seg, exact)                                  # the others are approximations
    np.testing.assert_allclose(seg, exact, atol=2e-2)
    assert abs(seg.sum() - exact.sum()) / abs(exact.sum()) < 1e-3


def test_empty_context_and_samplers():
    model = _model()
    assert np.exp(model.next_logprobs([])).sum() == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    out = list(sample_stream(model, [0], SamplingConfig(max_tokens=20, top_k=5), rng))
    assert len(out) == 20 and all(0 <= i < model.vocab_size for i in out)
    assert len(beam_search(model, [0, 1], beam=3, max_tokens=5)) == 5
    state = model.advance(model.start([]), 2)  # from no context at all
    np.testing.assert_allclose(state.logprobs, model.next_logprobs([2]), atol=1e-6)


def test_config_keys_of_the_cli_and_bad_cell():
    vocab = Vocabulary(list("abc"))
    cfg = {"cell": "lstm", "embedding_size": 64, "hidden_size": 256, "n_layer": 1, "block_size": 64,
           "dropout": 0.0, "seed": 7}
    model = RNNLanguageModel.from_config(cfg, vocab, CharTokenizer())
    assert model.stateful and model.FORMAT == "tkit-rnn"
    assert {k: model.config[k] for k in cfg} == cfg
    assert model.num_parameters() == 3 * 64 + 64 * 1024 + 256 * 1024 + 1024 + 256 * 3 + 3
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    with pytest.raises(ValueError, match="unknown RNN cell"):
        RNNLanguageModel.from_config({**cfg, "cell": "rnn"}, vocab, CharTokenizer())


def test_hidden_state_round_trip():
    model = _model()
    rng = np.random.default_rng(5)
    x, y = _batch(model, rng)
    model.reset_state(2)
    model.loss(x, y)
    saved = {k: v.copy() for k, v in model.hidden_state_arrays().items()}
    after = model.loss(x, y)
    model.load_hidden_state_arrays(saved)
    assert model.loss(x, y) == after


@pytest.mark.parametrize("kind", KINDS)
def test_short_training_run_learns_the_text(kind):
    """Adam on a repeated line with TBPTT over contiguous streams: the loss falls far below uniform."""
    model = _model(kind, embedding_size=8, hidden_size=32, n_layer=1)
    ids = model.encode_text(TEXT * 4)
    b, t = 4, 16
    n = (ids.size - 1) // b
    xs, ys = ids[:n * b].reshape(b, n), ids[1:n * b + 1].reshape(b, n)
    opt = AdamW(list(model.named_parameters()), lr=1e-2)
    model.reset_state(b)
    losses = []
    for step in range(60):
        s = (step * t) % (n - t)
        if s < t:
            model.reset_state(b)
        model.zero_grad()
        losses.append(model.loss(xs[:, s:s + t], ys[:, s:s + t]))
        model.backward()
        opt.step()
    assert losses[0] > 2.5 and np.mean(losses[-5:]) < 1.2, losses[::10]


def test_checkpoint_resume_gives_the_uninterrupted_loss_curve(tmp_path):
    """The trainer checkpoints the carried hidden state (`hidden_state_arrays`) with everything else, so a
    run stopped at step 8 and resumed equals a run that never stopped (dropout on, 2 layers)."""
    from neural.checkpoint import load_checkpoint
    from neural.data import split_stream
    from neural.trainer import TrainConfig, Trainer

    probe = _model()
    ids = probe.encode_text(TEXT * 8)
    train, val = split_stream(ids, 0.1)
    cfg = {"cell": "lstm", "embedding_size": 4, "hidden_size": 8, "n_layer": 2, "block_size": 5,
           "dropout": 0.1, "seed": 3}

    def trainer(steps, path=None):
        tc = TrainConfig.from_dict({"steps": steps, "decay_steps": 12, "batch_size": 3, "lr": 3e-3,
                                    "optimizer": "adam", "weight_decay": 0, "val_every": 4, "eval_batches": 2,
                                    "warmup": 0, "grad_clip": 5.0})
        return Trainer(RNNLanguageModel.from_config(cfg, probe.vocab, CharTokenizer()), train, val, tc, path)

    whole = trainer(12)
    whole.run()
    ckpt = tmp_path / "run.ckpt.npz"
    trainer(8, ckpt).run()
    resumed = Trainer.resume(load_checkpoint(ckpt), train, val, steps=12)
    resumed.run()
    curve = [(r["train_loss"], r["val_loss"]) for r in whole.history]
    assert [(r["train_loss"], r["val_loss"]) for r in resumed.history] == curve
