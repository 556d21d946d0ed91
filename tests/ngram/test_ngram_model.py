"""The Python API: fit from token lists, text or files; score/logprob/perplexity; generate; save/load."""
from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest

from ngram import NgramModel, load_ngram, train_ngram
from ngram.decoding import top_next
from ngram.evaluate import evaluate_files
from ngram.smoothing import NAMES
from tests.ngram.ngram_helpers import FIXTURES
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.simple import CharTokenizer

TEXT = "to be or not to be\nthat is the question\nwhether tis nobler in the mind to suffer\n"


def test_fit_forms_agree(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(TEXT)
    a = NgramModel.fit([line.split() for line in TEXT.splitlines()], order=3)
    b = NgramModel.fit_text(TEXT, order=3)
    c = NgramModel.fit_files(str(path), order=3, tokenizer="whitespace")
    for m in (b, c):
        assert m.vocab.tokens == a.vocab.tokens
        assert m.score("to be or not") == pytest.approx(a.score("to be or not"))
    with pytest.raises(TypeError):
        NgramModel.fit(["not tokenized"], order=2)
    with pytest.raises(TkitError, match="order"):
        NgramModel.fit([["a"]], order=0)


def test_kenlm_like_helpers():
    model = NgramModel.fit_text(TEXT, order=3)
    words = model.word_scores("to be or")
    assert words.shape == (4,) and model.score("to be or") == pytest.approx(words.sum())
    assert model.score("to be", bos=False, eos=False) == pytest.approx(
        model.logprob("to") + model.logprob("be", ["to"]))
    assert model.logprob("be", ["<s>", "to"], base=math.e) == pytest.approx(
        model.logprob("be", ["<s>", "to"]) * math.log(10))
    assert model.logprob("zebra") == model.logprob("<unk>")  # OOV is <unk>
    ppl = model.perplexity("to be or not to be\nthat is")
    lines = ["to be or not to be", "that is"]
    n = sum(len(x.split()) + 1 for x in lines)
    assert ppl == pytest.approx(10 ** (-sum(model.score(x) for x in lines) / n))
    with pytest.raises(TkitError):
        model.perplexity("")


def test_generate_and_decoding_integration():
    model = train_ngram(FIXTURES / "shakespeare_words.txt", order=3)
    a = model.generate(40, seed=3)
    assert a == model.generate(40, seed=3) and a != model.generate(40, seed=4)
    assert "\n" in a  # </s> ends sentences
    beam = model.generate(20, prompt="to be", beam=3)
    assert beam == model.generate(20, prompt="to be", beam=3)
    top = top_next(model, [1, *model.encode_text("i pray you")], 5)
    assert len(top) == 5 and top[0][1] >= top[-1][1]
    probs = np.exp(model.next_logprobs_batch([[1], [1, 5], [5, 6, 7]]))
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_evaluate_module_uses_vectorised_scores(tmp_path):
    model = train_ngram(FIXTURES / "shakespeare_words.txt", order=3)
    report = evaluate_files(model, [str(FIXTURES / "shakespeare_words.test.txt")])
    assert report.tokens == 3862 and report.oov == 136
    assert report.perplexity == pytest.approx(121.3205, abs=1e-3)  # kenlm's figure
    mle = NgramModel.fit_files(str(FIXTURES / "shakespeare_words.txt"), order=2, smoothing="mle")
    assert evaluate_files(mle, [str(FIXTURES / "shakespeare_words.test.txt")]).to_dict()["perplexity"] is None


@pytest.mark.parametrize("smoothing", NAMES)
def test_npz_round_trip_every_smoothing(smoothing, tmp_path):
    model = NgramModel.fit_text(TEXT * 3, order=4, smoothing=smoothing, tokenizer=CharTokenizer(), prune=[0, 0, 1])
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_ngram(path)
    assert loaded.name == model.name and loaded.tokenizer.name == "char" and loaded.prune == [0, 0, 1, 1]
    for ctx in ([1], [1, 5, 6], [7, 8, 9]):
        assert np.array_equal(loaded.next_logprobs(ctx), model.next_logprobs(ctx))
    assert loaded.score("to be") == model.score("to be")


def test_arpa_model_saves_as_npz(tmp_path):
    model = load_ngram(FIXTURES / "toy0.o3.arpa")
    model.save(tmp_path / "t.npz")
    again = load_ngram(tmp_path / "t.npz")
    assert again.score("a b a") == pytest.approx(model.score("a b a"))
    assert again.name == model.name == "3-gram backoff (ARPA)"


def test_refusals(tmp_path):
    sb = NgramModel.fit_text(TEXT, order=2, smoothing="stupid-backoff")
    with pytest.raises(TkitError, match="save it as .npz"):
        sb.save(tmp_path / "m.arpa")
    with pytest.raises(TkitError, match="extension"):
        sb.save(tmp_path / "m.bin")
    assert not list(tmp_path.iterdir())


def test_corrupt_model_files(tmp_path):
    good = tmp_path / "good.npz"
    NgramModel.fit_text(TEXT, order=2).save(good)
    data = good.read_bytes()
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load_ngram(truncated)
    pickled = tmp_path / "pickle.npz"
    np.savez(pickled, __tkit_meta__=np.array('{"format": "tkit-ngram"}'), evil=np.array([object()], dtype=object))
    with pytest.raises(ModelFileError, match="pickle"):
        load_ngram(pickled)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a tkit model"):
        load_ngram(foreign)
    # a tkit file whose arrays were tampered with
    tampered = tmp_path / "tampered.npz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for item in zin.namelist():
            payload = zin.read(item)
            if item == "keys_2.npy":
                buf = io.BytesIO()
                np.save(buf, np.zeros(3, dtype=np.uint64))
                payload = buf.getvalue()
            zout.writestr(item, payload)
    with pytest.raises(ModelFileError, match="corrupt"):
        load_ngram(tampered)
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError):
        load_ngram(text)
