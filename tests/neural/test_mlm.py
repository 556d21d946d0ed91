"""The masked LM: BERT's corruption (properties over generated batches), float64 gradient checks, forward and
backward parity with a bidirectional torch twin, bidirectionality itself, fill-mask and the masked eval."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.gradcheck import check_loss
from neural.masking import IGNORE, mask_tokens, wrap
from neural.mlm import MaskedLM, MLMConfig, evaluate_masked
from neural.module import no_grad
from ngram.vocab import Vocabulary
from tests.peers import require_peer
from tokenizers_kit.simple import CharTokenizer

TOKENS = ["[CLS]", "[SEP]", "[MASK]", *"abcdefgh"]


def tiny_mlm(dtype=np.float64, jitter=0.1, seed=0, **overrides):
    cfg = dict(vocab_size=len(TOKENS), n_layer=2, n_head=2, n_embd=8, block_size=7, seed=seed, cls_id=0, sep_id=1,
               mask_id=2, mask_prob=0.3)
    cfg.update(overrides)
    model = MaskedLM(MLMConfig(**cfg), Vocabulary(TOKENS), CharTokenizer()).to(dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.parameters():
        p.data += (rng.standard_normal(p.shape) * jitter).astype(dtype)
    return model


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 6), t=st.integers(1, 40), prob=st.floats(0.01, 0.99), seed=st.integers(0, 2**20))
def test_masking_rules(b, t, prob, seed):
    rng = np.random.default_rng(seed)
    special = np.zeros(12, dtype=bool)
    special[:3] = True
    ids = rng.integers(0, 12, (b, t))
    inp, tgt = mask_tokens(ids, np.random.default_rng(seed), prob, 2, special)
    chosen = tgt != IGNORE
    assert not chosen[special[ids]].any()                      # specials are never chosen
    np.testing.assert_array_equal(tgt[chosen], ids[chosen])    # targets are the original ids
    np.testing.assert_array_equal(inp[~chosen], ids[~chosen])  # the rest is untouched
    has_ordinary = (~special[ids]).any(axis=1)
    assert (chosen.any(axis=1) == has_ordinary).all()          # every row with a word has a loss
    changed = chosen & (inp != ids)
    assert not special[inp[changed & (inp != 2)]].any()        # random replacements are ordinary tokens


def test_masking_proportions():
    special = np.zeros(1000, dtype=bool)
    special[:3] = True
    ids = np.random.default_rng(0).integers(3, 1000, (200, 500))
    inp, tgt = mask_tokens(ids, np.random.default_rng(1), 0.15, 2, special)
    chosen = tgt != IGNORE
    assert abs(chosen.mean() - 0.15) < 0.005
    masked, kept = (inp[chosen] == 2).mean(), (inp[chosen] == ids[chosen]).mean()
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1 - 0.001) < 0.01  # random can hit the same id (1/997)
    assert abs(1 - masked - kept - 0.1) < 0.01


def test_wrap_frames_each_window():
    out = wrap(np.arange(12).reshape(2, 6) + 10, 0, 1)
    np.testing.assert_array_equal(out[:, 0], 0)
    np.testing.assert_array_equal(out[:, -1], 1)
    np.testing.assert_array_equal(out[:, 1:-1], np.arange(12).reshape(2, 6)[:, :4] + 10)


def _batch(seed, b=3, t=7):
    rng = np.random.default_rng(seed)
    inp = rng.integers(3, len(TOKENS), (b, t))
    tgt = np.where(rng.random((b, t)) < 0.4, rng.integers(3, len(TOKENS), (b, t)), IGNORE)
    tgt[:, 1] = inp[:, 1]
    return inp, tgt


@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck(bias):
    model = tiny_mlm(bias=bias)
    inp, tgt = _batch(0)
    errors = check_loss(lambda: model.masked_loss(inp, tgt), model.backward, list(model.named_parameters()),
                        max_entries=24)
    assert max(errors.values()) < 1e-6, errors


def test_bidirectional_and_unchosen_positions_do_not_count():
    model = tiny_mlm()
    inp, tgt = _batch(1, b=1)
    with no_grad():
        h = model.hidden(inp)
        later = inp.copy()
        later[0, -1] = 3 if inp[0, -1] != 3 else 4
        h2 = model.hidden(later)
        assert np.abs(h[0, 0] - h2[0, 0]).max() > 1e-6         # position 0 sees the last token
        loss = model.masked_loss(inp, tgt)
        logits = model.logits(inp).reshape(-1, len(TOKENS)).astype(np.float64)
    chosen = tgt.reshape(-1) != IGNORE
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -logp[chosen, tgt.reshape(-1)[chosen]].mean()   # the mean over the chosen positions only
    assert abs(loss - expected) < 1e-10


def _torch_loss(torch, tm, inp, tgt):
    """The torch twin's weights run without the causal mask, the loss on targets != -1 only."""
    from torch.nn import functional as F

    x = tm.wte(inp) + tm.wpe(torch.arange(inp.shape[1]))
    for blk in tm.blocks:
        a, h = blk.attn, blk.ln_1(x)
        b, t, c = h.shape
        q, k, v = (z.view(b, t, a.h, c // a.h).transpose(1, 2) for z in a.c_attn(h).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        x = x + a.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        x = x + blk.c_proj(F.gelu(blk.c_fc(blk.ln_2(x)), approximate="tanh"))
    logits = tm.ln_f(x) @ tm.wte.weight.T
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), ignore_index=IGNORE)


@pytest.mark.parametrize(("batch", "parallel"), [(3, False), (16, True)])
@pytest.mark.parametrize("bias", [False, True])
def test_torch_parity(bias, batch, parallel, monkeypatch):
    torch = require_peer("torch")
    from tests.neural import torch_gpt as tg

    monkeypatch.setenv("TKIT_THREADS", "2")
    model = tiny_mlm(bias=bias)
    tm = tg.from_tkit(model)
    windows = np.random.default_rng(3).integers(3, len(TOKENS), (batch, 7))
    inp, tgt = model.corrupt(windows, np.random.default_rng(4))
    t_loss = _torch_loss(torch, tm, torch.from_numpy(inp), torch.from_numpy(tgt))
    t_loss.backward()
    model.zero_grad()
    if parallel:  # the training step: corrupted once, rows split across threads, weighted by chosen counts
        model.masking.rng = np.random.default_rng(4)
        loss = model.loss_and_backward(windows, windows)
    else:
        loss = model.masked_loss(inp, tgt)
        model.backward()
    assert abs(loss - t_loss.item()) <= 1e-10 * abs(loss)
    tparams = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        expected = tg.tkit_grad_layout(name, tparams[tg.torch_name(name)].grad.numpy())
        assert np.abs(p.grad - expected).max() <= 1e-5 * max(np.abs(expected).max(), 1e-12), name


def test_masked_eval_counts_and_bounds():
    model = tiny_mlm(dtype=np.float32)
    ids = np.random.default_rng(0).integers(3, len(TOKENS), 200)
    r = evaluate_masked(model, ids)
    assert r["masked_tokens"] > 0 and 0 <= r["masked_accuracy"] <= 1
    assert r == evaluate_masked(model, ids)  # a fixed masking seed: the same report twice
    assert abs(r["masked_cross_entropy"] - np.log(len(TOKENS))) < 1.0


@pytest.mark.parametrize(("change", "fragment"), [({"mask_id": 11}, "mask_id 11 is not below"),
                                                  ({"cls_id": -1}, "cls_id"),
                                                  ({"block_size": 2}, "block_size"),
                                                  ({"mask_prob": 1.5}, "mask_prob"),
                                                  ({"n_layer": 2**31 - 1}, "implies|needs")])
def test_model_record_checked_before_building(change, fragment, tmp_path):
    from neural.trainable import WEIGHT_PREFIX
    from tokenizers_kit.errors import ModelFileError

    model = tiny_mlm(dtype=np.float32)
    meta = {**model.file_meta(), "config": {**model.config, **change}}
    arrays = {WEIGHT_PREFIX + k: v for k, v in model.state_arrays().items()}
    with pytest.raises(ModelFileError, match=fragment):
        MaskedLM.from_meta_arrays(meta, arrays)
