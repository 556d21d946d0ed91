"""LoRA: the adapted layer's gradients (float64 finite differences), the whole model's adapter gradients,
merging, a frozen base, adapter files, and parity with HF peft on the torch twin."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.adapter_files import apply_adapter, base_hash, save_adapter
from neural.gradcheck import check_loss, numerical_grad, rel_error
from neural.layers import Linear
from neural.lora import freeze, make_lora
from neural.lora_model import TARGETS, lora_from_base
from neural.module import Module, no_grad
from neural.optim import AdamW
from tests.neural.tiny import tiny_transformer
from tests.peers import require_peer
from tokenizers_kit.errors import ModelFileError

TARGET_SETS = ["attn", "mlp", "attn,mlp"]


def _jitter_adapters(model, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():
        p.data += rng.standard_normal(p.shape) * scale


@settings(max_examples=15, deadline=None)
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 6), rank=st.integers(1, 4), bias=st.booleans(),
       alpha=st.floats(0.5, 32), lead=st.lists(st.integers(1, 3), min_size=1, max_size=2), seed=st.integers(0, 99))
def test_lora_linear_gradcheck(n_in, n_out, rank, bias, alpha, lead, seed):
    rng = np.random.default_rng(seed)
    lin = Linear(n_in, n_out, bias=bias, rng=rng)
    make_lora(lin, rank, alpha, rng)
    freeze(lin)
    lin.to(np.float64)
    for p in (lin.lora_A, lin.lora_B):
        p.data += rng.standard_normal(p.shape)
    x = rng.standard_normal((*lead, n_in))
    r = rng.standard_normal((*lead, n_out))

    def f() -> float:
        with no_grad():
            return float((lin(x) * r).sum())

    lin.lora_A.zero_grad()
    lin.lora_B.zero_grad()
    lin(x)
    dx = lin.backward(r)
    assert rel_error(dx, numerical_grad(f, x)) < 1e-7
    assert rel_error(lin.lora_A.grad, numerical_grad(f, lin.lora_A.data)) < 1e-7
    assert rel_error(lin.lora_B.grad, numerical_grad(f, lin.lora_B.data)) < 1e-7
    assert lin.weight.grad.size == 0  # frozen: no gradient buffer, nothing accumulated


@pytest.mark.parametrize("targets", TARGET_SETS)
@pytest.mark.parametrize("bias", [False, True])
def test_model_adapter_gradients(targets, bias):
    model = lora_from_base(tiny_transformer(bias=bias), 2, 5.0, targets, seed=1)
    _jitter_adapters(model)
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 8, (3, 6)), rng.integers(0, 8, (3, 6))
    errors = check_loss(lambda: model.loss(x, y), model.backward, list(model.named_parameters()), max_entries=24)
    assert max(errors.values()) < 1e-6, errors
    names = {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()}
    assert names == {f"blocks.{i}.{p}" for i in range(2) for t in targets.split(",") for p in TARGETS[t]}


@settings(max_examples=12, deadline=None)
@given(rank=st.integers(1, 8), alpha=st.floats(0.25, 64), targets=st.sampled_from(TARGET_SETS),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_merged_model_equals_adapted_model(rank, alpha, targets, bias, seed):
    model = lora_from_base(tiny_transformer(bias=bias, seed=seed % 7), rank, alpha, targets, seed=seed)
    _jitter_adapters(model, seed)
    ids = np.random.default_rng(seed).integers(0, 8, (2, 6))
    with no_grad():
        a = model.logits(ids)
        b = model.merged().logits(ids)
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


def test_fresh_adapters_start_at_the_base_and_peft_init():
    base = tiny_transformer(n_embd=16, n_head=2)
    model = lora_from_base(base, 4, 8.0, "attn,mlp", seed=3)
    ids = np.random.default_rng(0).integers(0, 8, (2, 6))
    with no_grad():
        np.testing.assert_array_equal(model.logits(ids), base.logits(ids))  # B = 0
    for name, p in model.named_parameters():
        if name.endswith("lora_A"):
            bound = 1 / np.sqrt(p.shape[0])
            assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.5 * bound
        else:
            assert not p.data.any()


def test_training_moves_only_the_adapters():
    base = tiny_transformer(dtype=np.float32)
    model = lora_from_base(base, 2, 4.0, "attn,mlp", seed=0)
    before = {n: a.copy() for n, a in model.state_arrays().items()}
    opt = AdamW(list(model.named_parameters()), 1e-2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.integers(0, 8, (16, 6)), rng.integers(0, 8, (16, 6))  # 16 rows: the data-parallel step
        opt.zero_grad()
        model.loss_and_backward(x, y)
        opt.step()
    after = model.state_arrays()
    trained = {n for n in after if not np.array_equal(after[n], before[n])}
    assert trained == {n for n, _ in model.named_parameters()}
    assert opt.flat.size < sum(a.size for a in after.values()) / 4  # optimizer state for the adapters only
    frozen = [p for n, p in Module.named_parameters(model) if "lora_" not in n]
    assert frozen and all(p.grad.size == 0 for p in frozen)


def test_adapter_file_round_trip_and_refused_on_another_base(tmp_path):
    base = tiny_transformer(dtype=np.float32)
    model = lora_from_base(base, 3, 6.0, "attn", seed=0, base_hash=base_hash(base))
    _jitter_adapters(model, scale=0.05)
    path = tmp_path / "a.npz"
    save_adapter(path, model)
    merged = apply_adapter(base, path)
    ids = np.random.default_rng(0).integers(0, 8, (2, 6))
    with no_grad():
        np.testing.assert_array_equal(merged.logits(ids), model.merged().logits(ids))
    other = tiny_transformer(dtype=np.float32, seed=1)
    with pytest.raises(ModelFileError, match="another base"):
        apply_adapter(other, path)
    nudged = tiny_transformer(dtype=np.float32)
    nudged.ln_f.weight.data[0] += 1e-3  # one weight changed: another base
    with pytest.raises(ModelFileError, match="another base"):
        apply_adapter(nudged, path)


# ---- HF peft on the torch twin ----------------------------------------------------------------------------

PEFT_TARGETS = {"attn": r".*\.attn\.(c_attn|c_proj)", "mlp": r".*blocks\.\d+\.(c_fc|c_proj)",
                "attn,mlp": r".*(attn\.c_attn|attn\.c_proj|blocks\.\d+\.c_fc|blocks\.\d+\.c_proj)"}


def _peft_key(tg, name):
    layer, which = name.rsplit(".", 1)
    return f"base_model.model.{tg.torch_name(layer)}.{which}.default.weight"


def _copy_adapters(torch, tg, model, named):
    """Our A (in, r) and B (r, out) into peft's lora_A (r, in) and lora_B (out, r)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            named[_peft_key(tg, name)].copy_(torch.from_numpy(np.ascontiguousarray(p.data.T)))


def _peft_twin(base, model, rank, alpha, targets):
    torch = require_peer("torch")
    peft = require_peer("peft")
    from tests.neural import torch_gpt as tg

    pm = peft.get_peft_model(tg.from_tkit(base), peft.LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=PEFT_TARGETS[targets])).to(torch.float64)
    named = dict(pm.named_parameters())
    _copy_adapters(torch, tg, model, named)
    return torch, tg, pm, named


@pytest.mark.parametrize("targets", TARGET_SETS)
@pytest.mark.parametrize(("rank", "alpha"), [(4, 8.0), (16, 16.0)])
@pytest.mark.parametrize("trained_b", [False, True])
def test_peft_parity(targets, rank, alpha, trained_b):
    """Same trainable count as peft, same first-step loss and adapter gradients (weights copied, A included;
    with B = 0 as initialised, and with a nonzero B so that A's gradient is nonzero too)."""
    base = tiny_transformer(n_embd=16, n_head=2, bias=True)
    model = lora_from_base(base, rank, alpha, targets, seed=5)
    if trained_b:
        _jitter_adapters(model, scale=0.1)
    torch, tg, pm, named = _peft_twin(base, model, rank, alpha, targets)
    trainable, _ = pm.get_nb_trainable_parameters()
    assert trainable == sum(p.size for _, p in model.named_parameters())
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 8, (3, 6)), rng.integers(0, 8, (3, 6))
    t_loss = pm(torch.from_numpy(x), torch.from_numpy(y))
    t_loss.backward()
    model.zero_grad()
    loss = model.loss(x, y)
    model.backward()
    assert abs(loss - t_loss.item()) <= 1e-5 * abs(loss)
    for name, p in model.named_parameters():
        expected = named[_peft_key(tg, name)].grad.numpy().T
        scale = max(np.abs(expected).max(), 1e-12)
        assert np.abs(p.grad - expected).max() <= 1e-5 * scale, name


@settings(max_examples=10, deadline=None)
@given(n_layer=st.integers(1, 3), heads=st.integers(1, 3), per_head=st.integers(1, 4), rank=st.integers(1, 5),
       targets=st.sampled_from(TARGET_SETS), bias=st.booleans())
def test_param_shapes_are_those_built(n_layer, heads, per_head, rank, targets, bias):
    """The shapes a LoRA checkpoint is checked against (before anything is built) are the built model's."""
    from neural.lora_model import LoRAConfig, LoRATransformerLM
    from ngram.vocab import Vocabulary
    from tokenizers_kit.simple import CharTokenizer

    cfg = LoRAConfig(vocab_size=5, n_layer=n_layer, n_head=heads, n_embd=heads * per_head, block_size=4,
                     bias=bias, lora_rank=rank, lora_targets=targets)
    model = LoRATransformerLM(cfg, Vocabulary(list("abcd") + ["<unk>"]), CharTokenizer())
    built = {n: p.shape for n, p in Module.named_parameters(model)}
    assert LoRATransformerLM.param_shapes(cfg) == built


def test_hostile_adapter_file_refused_before_building(tmp_path):
    from ngram.npzfile import save_npz

    base = tiny_transformer(dtype=np.float32)
    model = lora_from_base(base, 2, 4.0, "attn", seed=0, base_hash=base_hash(base))
    good = dict(model.config)
    cases = {"rank": ({**good, "lora_rank": 2**31 - 1}, "lacks adapter"),
             "alpha": ({**good, "lora_alpha": float("nan")}, "lora_alpha"),
             "targets": ({**good, "lora_targets": "everything"}, "unknown LoRA target"),
             "width": ({**good, "n_embd": 2**20, "n_head": 1}, "another base")}
    for name, (config, fragment) in cases.items():
        path = tmp_path / f"{name}.npz"
        save_npz(path, {}, {"format": "tkit-lora-adapter", "config": config, "base_hash": base_hash(base)})
        with pytest.raises(ModelFileError, match=fragment):
            apply_adapter(base, path)
    path = tmp_path / "shape.npz"
    arrays = {"a:" + n: np.zeros((a.shape[0] + 1, a.shape[1]), np.float32) for n, a in model.adapter_arrays().items()}
    save_npz(path, arrays, {"format": "tkit-lora-adapter", "config": good, "base_hash": base_hash(base)})
    with pytest.raises(ModelFileError, match="shape"):
        apply_adapter(base, path)
