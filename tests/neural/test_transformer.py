"""The Transformer LM: whole-model gradient checks (tied weights), persistence, KV-cache decoding, scoring."""
import numpy as np
import pytest

from neural import load_model
from neural.gradcheck import assert_loss_grads, assert_module_grads
from neural.layers import log_softmax
from neural.transformer import Block, TransformerConfig
from ngram.decoding import SamplingConfig, beam_search, sample_stream
from tests.neural.tiny import tiny_transformer
from tokenizers_kit.errors import ModelFileError


@pytest.mark.parametrize("bias", [False, True])
def test_block_grads(bias):
    rng = np.random.default_rng(0)
    cfg = TransformerConfig(vocab_size=8, n_layer=2, n_head=2, n_embd=8, block_size=5, bias=bias)
    block = Block(cfg, rng, rng).to(np.float64)
    for p in block.parameters():
        p.data += rng.standard_normal(p.shape) * 0.1
    assert_module_grads(block, rng.standard_normal((2, 4, 8)))


@pytest.mark.parametrize("positional,bias", [("learned", False), ("sinusoidal", True)])
def test_whole_model_grads_tied(positional, bias):
    model = tiny_transformer(positional=positional, bias=bias)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 8, (2, 5)), rng.integers(0, 8, (2, 5))
    names = [n for n, _ in model.named_parameters()]
    assert "wte.weight" in names and not any("lm_head" in n for n in names)  # tied: one parameter
    assert_loss_grads(lambda: model.loss(x, y), model.backward, list(model.named_parameters()))


def test_whole_model_grads_with_dropout_fixed_masks():
    model = tiny_transformer(dropout=0.2)
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 8, (2, 4)), rng.integers(0, 8, (2, 4))

    def loss():
        model.dropout_rng.bit_generator.state = np.random.default_rng(9).bit_generator.state
        return model.loss(x, y)

    assert_loss_grads(loss, model.backward, list(model.named_parameters()))


def test_init_matches_nanogpt():
    model = tiny_transformer(dtype=np.float32, jitter=0.0, n_layer=8, n_embd=64, n_head=4, block_size=64,
                             bias=True)
    params = dict(model.named_parameters())
    assert all(p.data.dtype == np.float32 for p in params.values())
    assert abs(params["wte.weight"].data.std() - 0.02) < 0.004
    assert abs(params["blocks.0.mlp.c_fc.weight"].data.std() - 0.02) < 0.002
    assert abs(params["blocks.0.attn.c_proj.weight"].data.std() - 0.02 / 4) < 0.0005  # 0.02/sqrt(2*8)
    assert np.all(params["blocks.0.mlp.c_fc.bias"].data == 0)
    assert not params["blocks.0.ln_1.weight"].decay and params["blocks.0.attn.c_attn.weight"].decay


def test_initial_loss_is_log_vocab():
    model = tiny_transformer(dtype=np.float32, jitter=0.0)
    rng = np.random.default_rng(0)
    loss = model.loss(rng.integers(0, 8, (4, 6)), rng.integers(0, 8, (4, 6)))
    assert abs(loss - np.log(8)) < 0.05
    model.clear_caches()


def test_save_load_identical_logits(tmp_path):
    model = tiny_transformer(dtype=np.float32)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_model(path)
    ctx = [1, 2, 3, 0, 5]
    np.testing.assert_array_equal(model.next_logprobs(ctx), loaded.next_logprobs(ctx))
    assert loaded.config == model.config and loaded.vocab.tokens == model.vocab.tokens


def test_float16_file_loads_as_float32(tmp_path):
    model = tiny_transformer(dtype=np.float32)
    path = tmp_path / "half.npz"
    model.save(path, dtype=np.float16)
    loaded = load_model(path)
    assert loaded.dtype == np.float32
    np.testing.assert_allclose(model.next_logprobs([1, 2]), loaded.next_logprobs([1, 2]), atol=2e-3)


def test_load_rejects_mismatched_weights(tmp_path):
    model = tiny_transformer(dtype=np.float32)
    path = tmp_path / "bad.npz"
    model.save(path, extra_meta={"config": {**model.config, "n_embd": 16}})
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)


def test_kv_cache_decoding_equals_full_recomputation():
    model = tiny_transformer()  # block 6: decoding 10 tokens slides the window
    state = model.start([1, 2])
    ids = [1, 2]
    for token in [3, 4, 5, 6, 7, 0, 1, 2, 3, 4]:
        state = model.advance(state, token)
        ids.append(token)
        np.testing.assert_allclose(state.logprobs, model.next_logprobs(ids), rtol=1e-9, atol=1e-12)
    # branching from an earlier state (beam search) does not disturb the original
    s0 = model.start([1, 2, 3])
    a, b = model.advance(s0, 4), model.advance(s0, 5)
    np.testing.assert_allclose(a.logprobs, model.next_logprobs([1, 2, 3, 4]), rtol=1e-9)
    np.testing.assert_allclose(b.logprobs, model.next_logprobs([1, 2, 3, 5]), rtol=1e-9)


def test_next_logprobs_batch_pads_correctly():
    model = tiny_transformer()
    contexts = [[1], [2, 3, 4], [5, 6, 7, 0, 1, 2, 3, 4]]  # the last is longer than the block: cropped
    batch = model.next_logprobs_batch(contexts)
    for row, ctx in zip(batch, contexts):
        np.testing.assert_allclose(row, model.next_logprobs(ctx), rtol=1e-9)
        assert abs(np.exp(row).sum() - 1) < 1e-9


def test_sequence_logprobs_windows():
    """Each token is scored with the context its window gives; brute force over the same windows."""
    model = tiny_transformer()  # block 6, stride 3
    ids = np.random.default_rng(3).integers(0, 8, 20)
    lp = model.sequence_logprobs(ids)
    assert lp.shape == (19,)
    for i in range(1, 20):  # target ids[i]; first window: full prefix; later: window start s
        if i <= 6:
            ctx = ids[:i]
        else:
            s = 3 * ((i - 6 + 2) // 3)  # the window whose scored half holds position i-1
            ctx = ids[s:i]
        np.testing.assert_allclose(lp[i - 1], model.next_logprobs(ctx)[ids[i]], rtol=1e-9, atol=1e-12)
        assert len(ctx) >= min(i, 4)  # at least block/2 + 1 tokens of context after the first block


def test_sampling_and_beam_through_shared_decoding():
    model = tiny_transformer(dtype=np.float32)
    rng = np.random.default_rng(0)
    out = list(sample_stream(model, [1, 2], SamplingConfig(max_tokens=12, temperature=0.8, top_k=5), rng))
    assert len(out) == 12 and all(0 <= t < 8 for t in out)
    best = beam_search(model, [1, 2], beam=3, max_tokens=5)
    assert len(best) == 5
    greedy = list(sample_stream(model, [1, 2], SamplingConfig(max_tokens=5, greedy=True), rng))

    def total(seq):
        return float(sum(model.next_logprobs([1, 2, *seq[:i]])[t] for i, t in enumerate(seq)))

    assert total(best) >= total(greedy) - 1e-6


def test_eval_mode_disables_dropout():
    model = tiny_transformer(dtype=np.float32, dropout=0.5)
    a = model.next_logprobs([1, 2, 3])
    b = model.next_logprobs([1, 2, 3])
    np.testing.assert_array_equal(a, b)
    assert model.training  # restored after inference
    np.testing.assert_allclose(np.exp(log_softmax(a)).sum(), 1, rtol=1e-9)


def test_sequence_logprobs_threaded_windows_match_serial(monkeypatch):
    """Enough windows for the eval to split them across threads: same scores as one thread, and as
    next_logprobs over each window's context."""
    model = tiny_transformer()  # block 6, stride 3: 300 tokens give ~100 windows
    ids = np.random.default_rng(4).integers(0, 8, 300)
    threaded = model.sequence_logprobs(ids)
    monkeypatch.setenv("TKIT_THREADS", "1")
    serial = model.sequence_logprobs(ids)
    np.testing.assert_allclose(threaded, serial, rtol=1e-9, atol=1e-12)
    for i in (150, 151, 152, 299):
        s = 3 * ((i - 6 + 2) // 3)
        np.testing.assert_allclose(threaded[i - 1], model.next_logprobs(ids[s:i])[ids[i]], rtol=1e-9)
