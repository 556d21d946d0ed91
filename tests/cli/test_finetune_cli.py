"""`tkit finetune` end to end: merged and adapter-only outputs, the adapter on its base and refused on another,
resume, and one-line errors (with no output written) for bad inputs."""
import json

import numpy as np
import pytest

from neural import load_model
from neural.transformer import TransformerConfig, TransformerLM
from ngram.vocab import Vocabulary
from tests.cli.clirunner import assert_one_line_error, run_tkit
from tokenizers_kit.simple import CharTokenizer

PLAYS = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 20
SONNET = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n" * 20
QUICK = ["--steps", "6", "--batch-size", "4", "--val-every", "3", "--eval-batches", "2"]


def _base(path, seed=0):
    chars = sorted(set(PLAYS + SONNET))
    cfg = TransformerConfig(vocab_size=len(chars) + 1, n_layer=1, n_head=2, n_embd=16, block_size=16, seed=seed)
    TransformerLM(cfg, Vocabulary([*chars, "<unk>"]), CharTokenizer()).save(path)
    return path


@pytest.fixture
def setup(tmp_path):
    text = tmp_path / "sonnets.txt"
    text.write_text(SONNET, encoding="utf-8")
    return _base(tmp_path / "base.npz"), text


def _eval(*args):
    r = run_tkit("eval", *args, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["cross_entropy"]


@pytest.mark.parametrize("targets", ["attn", "mlp", "attn,mlp"])
def test_merged_output_loads_everywhere_and_adapter_matches_it(tmp_path, setup, targets):
    base, text = setup
    merged, adapter = tmp_path / "m.npz", tmp_path / "a.npz"
    r = run_tkit("finetune", str(base), str(text), "--lora-rank", "4", "--lora-targets", targets, *QUICK,
                 "-o", str(merged))
    assert r.code == 0, r.err
    n_adapted = {"attn": 2, "mlp": 2, "attn,mlp": 4}[targets]
    ins_outs = {"attn": (16 * 4 + 4 * 48) + (16 * 4 + 4 * 16), "mlp": (16 * 4 + 4 * 64) + (64 * 4 + 4 * 16)}
    expected = sum(ins_outs[t] for t in targets.split(","))
    assert f"{expected:,} trainable of" in r.err and n_adapted
    assert type(load_model(merged)) is TransformerLM
    r = run_tkit("finetune", str(base), str(text), "--lora-rank", "4", "--lora-targets", targets, *QUICK,
                 "--adapter-only", "-o", str(adapter))
    assert r.code == 0, r.err
    assert _eval(str(merged), str(text)) == pytest.approx(_eval(str(base), "--adapter", str(adapter), str(text)),
                                                          rel=1e-6)
    assert _eval(str(merged), str(text)) < _eval(str(base), str(text))  # it learned something
    s = run_tkit("sample", str(base), "--adapter", str(adapter), "--max-tokens", "5", "--seed", "0")
    assert s.code == 0, s.err


def test_full_finetuning_trains_every_weight(tmp_path, setup):
    base, text = setup
    r = run_tkit("finetune", str(base), str(text), "--lora-rank", "0", *QUICK, "-o", str(tmp_path / "f.npz"))
    assert r.code == 0, r.err
    total = load_model(base).num_parameters()
    assert f"{total:,} trainable of {total:,}" in r.err
    before, after = load_model(base).state_arrays(), load_model(tmp_path / "f.npz").state_arrays()
    assert all(not np.array_equal(before[k], after[k]) for k in before)


def test_adapter_refused_on_another_base(tmp_path, setup):
    base, text = setup
    adapter = tmp_path / "a.npz"
    assert run_tkit("finetune", str(base), str(text), *QUICK, "--adapter-only", "-o", str(adapter)).code == 0
    other = _base(tmp_path / "other.npz", seed=1)
    assert_one_line_error(run_tkit("sample", str(other), "--adapter", str(adapter)), "another base")
    assert_one_line_error(run_tkit("eval", str(other), str(text), "--adapter", str(adapter)), "another base")


def test_resume_equals_an_uninterrupted_run(tmp_path, setup):
    base, text = setup
    one, two, ckpt = tmp_path / "one.npz", tmp_path / "two.npz", tmp_path / "run.ckpt.npz"
    common = [str(base), str(text), "--batch-size", "4", "--val-every", "3", "--eval-batches", "2"]
    assert run_tkit("finetune", *common, "--steps", "6", "-o", str(one)).code == 0
    assert run_tkit("finetune", *common, "--steps", "3", "--checkpoint", str(ckpt), "-o", str(two)).code == 0
    r = run_tkit("finetune", *common, "--steps", "6", "--resume", str(ckpt), "--checkpoint", str(ckpt),
                 "-o", str(two))
    assert r.code == 0, r.err
    a, b = load_model(one).state_arrays(), load_model(two).state_arrays()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _ngram(tmp_path, text):
    out = tmp_path / "ng.npz"
    r = run_tkit("train", "ngram", str(text), "--order", "2", "--smoothing", "mle", "--tokenizer", "char",
                 "-o", str(out))
    assert r.code == 0, r.err
    return out


BAD = {
    "rank 0 with --adapter-only": (["--lora-rank", "0", "--adapter-only"], "--adapter-only needs LoRA"),
    "unknown target": (["--lora-targets", "attn,ffn"], "unknown LoRA target 'ffn'"),
    "empty targets": (["--lora-targets", ","], "unknown LoRA target"),
    "negative rank": (["--lora-rank", "-1"], "--lora-rank"),
    "zero alpha": (["--lora-alpha", "0"], "--lora-alpha"),
    "nan lr": (["--lr", "nan"], "--lr"),
    "not .npz": (["-o", "OUT.txt"], ".npz"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_options_one_line_and_no_output(tmp_path, setup, case):
    base, text = setup
    extra, fragment = BAD[case]
    out = tmp_path / "out.npz"
    args = ["finetune", str(base), str(text), *QUICK, "-o", str(out), *extra]
    args = [a.replace("OUT.txt", str(tmp_path / "out.txt")) for a in args]
    assert_one_line_error(run_tkit(*args), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.npz", "sonnets.txt"]


def test_wrong_base_kinds(tmp_path, setup):
    base, text = setup
    bases = {"an n-gram model": _ngram(tmp_path, text), "a text file": text}
    adapter = tmp_path / "a.npz"
    assert run_tkit("finetune", str(base), str(text), *QUICK, "--adapter-only", "-o", str(adapter)).code == 0
    bases["an adapter file"] = adapter
    rnn = tmp_path / "rnn.npz"
    assert run_tkit("train", "rnn", str(text), "--hidden-size", "8", "--embedding-size", "4", "--steps", "1",
                    "--block-size", "8", "--batch-size", "2", "-o", str(rnn)).code == 0
    bases["an RNN"] = rnn
    for what, path in bases.items():
        r = run_tkit("finetune", str(path), str(text), *QUICK, "-o", str(tmp_path / "out.npz"))
        assert_one_line_error(r)
        assert not (tmp_path / "out.npz").exists(), what
    assert_one_line_error(run_tkit("sample", str(rnn), "--adapter", str(adapter)), "Transformer")
