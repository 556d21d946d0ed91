"""ARPA files: write -> read gives the same scores; SRILM conventions; escaping; one-line errors with line numbers."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngram import NgramModel, load_ngram
from ngram.arpa import read_arpa
from ngram.escape import escape_token, unescape_token
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.simple import CharTokenizer

ARPA_METHODS = ["modified-kneser-ney", "kneser-ney", "witten-bell", "mle"]
corpora = st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "é"]), max_size=6), min_size=1, max_size=6)


def all_scores(model: NgramModel, sentences: list[list[str]]) -> np.ndarray:
    ids = [np.concatenate(([1], model.vocab.encode(s), [2])) for s in sentences]
    return np.concatenate(model.sentences_logprobs(ids))


@pytest.mark.parametrize("method", ARPA_METHODS)
@given(sentences=corpora, order=st.integers(1, 4), probe=corpora)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_write_read_same_scores(method, sentences, order, probe, tmp_path):
    model = NgramModel.fit(sentences, order=order, smoothing=method)
    path = tmp_path / "m.arpa"
    model.save(path)
    loaded = load_ngram(path)
    assert loaded.vocab.tokens == model.vocab.tokens
    a, b = all_scores(model, probe + sentences), all_scores(loaded, probe + sentences)
    assert np.array_equal(np.isinf(a), np.isinf(b))
    assert np.allclose(a[np.isfinite(a)], b[np.isfinite(b)], atol=2e-6 * np.log(10))
    for ctx in ([1], [1, 3], [3]):
        ctx = [c % len(model.vocab) for c in ctx]
        assert np.allclose(model.next_logprobs(ctx), loaded.next_logprobs(ctx), atol=5e-6)


def test_gzip_and_tokenizer_header_round_trip(tmp_path):
    """The char tokenizer yields " " tokens: the file escapes them and names its tokenizer."""
    model = NgramModel.fit_text("to be or\nnot to be\n", order=3, tokenizer=CharTokenizer())
    path = tmp_path / "m.arpa.gz"
    model.save(path)
    text = gzip.open(path, "rt", encoding="utf-8").read()
    assert text.startswith('# tkit-tokenizer: "char"\n# tkit-escape: backslash\n')
    assert "\t\\s\t" in text and "\t \t" not in text
    loaded = load_ngram(path)
    assert loaded.tokenizer.name == "char" and " " in loaded.vocab
    assert loaded.score("to be") == pytest.approx(model.score("to be"), abs=1e-5)


@given(st.text(max_size=12))
def test_escaping_is_reversible(token):
    escaped = escape_token(token)
    assert unescape_token(escaped) == token
    assert not any(c.isspace() for c in escaped if c in " \t\n\r\v\f")


SRILM = """
Some text SRILM allows before the data section.
\\data\\
ngram 1=5
ngram 2=4
ngram 3=1

\\1-grams:
-99\t<s>\t-0.5
-0.8\t</s>
-0.6\ta\t-0.3
-0.7\tb\t-0.2
-1.2\t<unk>

\\2-grams:
-0.3\t<s> a\t-0.1
-0.4\ta b
-0.5\tb </s>
-99\ta a

\\3-grams:
-0.25\tb b </s>

\\end\\
"""


def test_srilm_conventions(tmp_path):
    """-99 is log 0, omitted backoffs are 0, and the missing context "b b" of "b b </s>" is filled in."""
    path = tmp_path / "s.arpa"
    path.write_text(SRILM)
    model = load_ngram(path)
    lp = lambda w, ctx: model.logprob(w, ctx)  # noqa: E731
    assert lp("a", ["<s>"]) == pytest.approx(-0.3)
    assert lp("</s>", ["b", "b"]) == pytest.approx(-0.25)
    assert lp("b", ["b"]) == pytest.approx(-0.2 - 0.7)  # the blank "b b" scores as before it was added
    assert lp("</s>", ["a", "b"]) == pytest.approx(-0.5)  # bo(a b) omitted = 0, then "b </s>"
    assert lp("b", ["<s>", "a"]) == pytest.approx(-0.1 - 0.4)  # bo(<s> a) + p(b | a)
    assert lp("a", ["a"]) == -np.inf
    assert lp("a", ["b"]) == pytest.approx(-0.2 - 0.6)
    assert model.score("a b") == pytest.approx(-0.3 + (-0.1 - 0.4) - 0.5)
    assert model.ngram_counts() == [5, 5, 1]  # one blank bigram added


def test_missing_unk_gets_kenlm_default(tmp_path):
    path = tmp_path / "m.arpa"
    path.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n0\t<s>\t-0.5\n-0.3\t</s>\n-0.3\ta\n\n\\end\\\n")
    model = load_ngram(path)
    assert any("no <unk>" in w for w in model.warnings)
    assert model.logprob("zzz") == pytest.approx(-100.0)


GOOD = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n-0.3\t</s>\t0\n-0.3\ta\t-0.1\n\n" \
       "\\2-grams:\n-0.2\t<s> a\n-0.2\ta </s>\n\n\\end\\\n"


@pytest.mark.parametrize("mutate, fragment", [
    (lambda s: s[: s.index("\\2-grams:") + 20], "truncated"),
    (lambda s: s.replace("ngram 2=2", "ngram 2=3"), "promises 3 2-grams"),
    (lambda s: s.replace("<s> a\n", "<s> zz\n"), "'zz'"),
    (lambda s: s.replace("-0.2\ta </s>", "x\ta </s>"), "'x' is not a number"),
    (lambda s: s.replace("-0.2\ta </s>", "-0.2\ta"), "found 2 fields"),
    (lambda s: s.replace("-0.3\ta\t", "0.3\ta\t"), "positive"),
    (lambda s: s.replace("\\end\\\n", ""), "\\end\\"),
    (lambda s: s.replace("\\data\\", "data"), "no \\data\\"),
    (lambda s: s.replace("ngram 1=4\n", "ngram 2=4\n"), "orders 1, 2"),
    (lambda s: s.replace("-0.2\t<s> a\n", "-0.2\ta </s>\n"), "twice"),
])
def test_bad_files_name_the_line(mutate, fragment, tmp_path):
    read_arpa_text(GOOD, tmp_path)  # the good file loads
    with pytest.raises(ModelFileError) as err:
        read_arpa_text(mutate(GOOD), tmp_path)
    message = str(err.value)
    assert fragment in message and "\n" not in message
    if fragment not in ("no \\data\\",):
        assert ", line " in message


def read_arpa_text(text: str, tmp_path):
    path = tmp_path / "x.arpa"
    path.write_text(text, encoding="utf-8")
    return read_arpa(path)


def test_not_an_arpa_file(tmp_path):
    path = tmp_path / "x.arpa.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ModelFileError, match="truncated|not"):
        load_ngram(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_ngram(tmp_path / "missing.arpa")
