"""Parity with PyTorch (those tests are skipped when torch is absent): same weights, same batch, same
carried-in state -> the same loss and gradients (float64 on both sides), for the LSTM, GRU and Elman language
models. Batches of 16 and 32 rows run the recurrence split across the worker threads, batch 3 runs it in one
thread, so both paths are compared with torch, not only with each other."""
import numpy as np
import pytest

from neural import thread_pool
from neural.gradcheck import rel_error
from neural.rnn_lm import RNNLanguageModel
from ngram.vocab import Vocabulary
from tests.peers import require_peer
from tokenizers_kit.simple import CharTokenizer

V, E, L, T = 11, 6, 2, 7
KINDS = ["lstm", "gru", "elman"]
CASES = [(3, 8), (16, 8), (32, 20)]     # (B, H): below and above the row count where threads start


@pytest.fixture
def threads(monkeypatch):
    monkeypatch.setenv("TKIT_THREADS", "2")


def _torch():
    return require_peer("torch")


def _pair(kind, hidden):
    """Our model (float64) and a torch Embedding/RNN/Linear holding the same weights."""
    torch = _torch()
    ours = RNNLanguageModel.from_config(
        {"cell": kind, "embedding_size": E, "hidden_size": hidden, "n_layer": L, "seed": 5},
        Vocabulary([chr(97 + i) for i in range(V)]), CharTokenizer()).to(np.float64)
    rng = np.random.default_rng(1)
    for p in ours.parameters():                     # move off the init so every weight matters
        p.data += rng.uniform(-0.3, 0.3, p.shape)
    emb = torch.nn.Embedding(V, E).double()
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[kind]
    rnn = module(E, hidden, num_layers=L, batch_first=True).double()
    head = torch.nn.Linear(hidden, V).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(ours.wte.weight.data))
        for i, cell in enumerate(ours.rnn.layers):
            getattr(rnn, f"weight_ih_l{i}").copy_(torch.from_numpy(cell.w_ih.data.T))
            getattr(rnn, f"weight_hh_l{i}").copy_(torch.from_numpy(cell.w_hh.data.T))
            getattr(rnn, f"bias_ih_l{i}").copy_(torch.from_numpy(cell.b.data))
            b_hh = cell.b_hh.data if kind == "gru" else np.zeros_like(cell.b.data)  # ours: b = b_ih + b_hh
            getattr(rnn, f"bias_hh_l{i}").copy_(torch.from_numpy(b_hh))
        head.weight.copy_(torch.from_numpy(ours.head.weight.data.T))
        head.bias.copy_(torch.from_numpy(ours.head.bias.data))
    return ours, (emb, rnn, head)


def _grad_pairs(kind, ours, torch_mods):
    emb, rnn, head = torch_mods
    yield "wte", ours.wte.weight.grad, emb.weight.grad.numpy()
    for i, cell in enumerate(ours.rnn.layers):
        yield f"w_ih{i}", cell.w_ih.grad, getattr(rnn, f"weight_ih_l{i}").grad.numpy().T
        yield f"w_hh{i}", cell.w_hh.grad, getattr(rnn, f"weight_hh_l{i}").grad.numpy().T
        yield f"b{i}", cell.b.grad, getattr(rnn, f"bias_ih_l{i}").grad.numpy()
        if kind == "gru":
            yield f"b_hh{i}", cell.b_hh.grad, getattr(rnn, f"bias_hh_l{i}").grad.numpy()
    yield "head.w", ours.head.weight.grad, head.weight.grad.numpy().T
    yield "head.b", ours.head.bias.grad, head.bias.grad.numpy()


@pytest.mark.parametrize(("batch", "hidden"), CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_loss_and_gradients_match_pytorch(kind, batch, hidden, threads):
    torch = _torch()
    ours, (emb, rnn, head) = _pair(kind, hidden)
    if batch >= 2 * thread_pool.MIN_ROWS and thread_pool.workers() < 2:
        pytest.skip("the BLAS thread count cannot be controlled here: the recurrence stays serial")
    rng = np.random.default_rng(2)
    x = rng.integers(0, V, size=(batch, T))
    y = rng.integers(0, V, size=(batch, T))
    ours.reset_state(batch)
    carried = [tuple(rng.standard_normal((batch, hidden)) for _ in s) for s in ours.rnn.state]
    ours.rnn.state = [tuple(a.copy() for a in s) for s in carried]

    ours.zero_grad()
    loss = ours.loss(x, y)
    ours.backward()

    state = [torch.from_numpy(np.stack([s[j] for s in carried])) for j in range(len(carried[0]))]
    out, final = rnn(emb(torch.from_numpy(x)), tuple(state) if kind == "lstm" else state[0])
    ref = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), torch.from_numpy(y).reshape(-1))
    ref.backward()

    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for name, a, b in _grad_pairs(kind, ours, (emb, rnn, head)):
        assert rel_error(a, b) < 1e-10, name
    # the state carried into the next window is torch's final state
    final = final if kind == "lstm" else (final,)
    for j, f in enumerate(final):
        np.testing.assert_allclose(np.stack([s[j] for s in ours.rnn.state]), f.detach().numpy(), rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch", [3, 16])
def test_float32_training_path_matches_pytorch_float64_closely(kind, batch, threads):
    """The float32 kernels (exp- and tanh-based sigmoids) stay close to an exact float64 reference."""
    torch = _torch()
    ours64, (emb, rnn, head) = _pair(kind, 8)
    ours = ours64.to(np.float32)
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, V, size=(batch, T)), rng.integers(0, V, size=(batch, T))
    ours.reset_state(batch)
    ours.zero_grad()
    loss = ours.loss(x, y)
    ours.backward()
    out, _ = rnn(emb(torch.from_numpy(x)))
    ref = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), torch.from_numpy(y).reshape(-1))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    for name, a, b in _grad_pairs(kind, ours, (emb, rnn, head)):
        assert rel_error(a.astype(np.float64), b) < 1e-4, name


def test_threaded_and_serial_losses_agree(monkeypatch):
    """Needs no torch: the same batch of 16 rows split across threads or not gives the same loss."""
    def run(n):
        monkeypatch.setenv("TKIT_THREADS", n)
        model = RNNLanguageModel.from_config({"cell": "lstm", "embedding_size": E, "hidden_size": 8, "seed": 5},
                                             Vocabulary([chr(97 + i) for i in range(V)]), CharTokenizer())
        model = model.to(np.float64)
        x = np.random.default_rng(4).integers(0, V, size=(16, T))
        model.reset_state(16)
        return model.loss(x, np.roll(x, -1, axis=1))

    assert run("2") == pytest.approx(run("1"), rel=1e-12)
