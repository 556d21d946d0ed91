"""On a real loopback cluster, distributed counting gives exactly the single-machine results: `tkit count`'s
table, the n-gram model (every smoothing, --prune, vocabulary limits, a tokenizer file) and tokenizer.json.
Corpora are generated: several files, CRLF, empty lines, no final newline, multi-byte characters, and byte
ranges from a few bytes (smaller than a line) up, so cuts fall everywhere."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngram.bounded_train import BOUNDED_SMOOTHINGS
from ngram.distributed import (
    count_ngrams_distributed,
    train_arpa_distributed,
    train_files_distributed,
)
from ngram.ngram_counts import count_ngrams
from ngram.train import train_files
from tokenizers_kit import load_text_tokenizer
from tokenizers_kit.distributed_counts import count_chunks_distributed
from tokenizers_kit.training import (
    build_pipeline,
    count_chunks,
    resolve_specials,
    train_from_counts,
)

WORDS = ["the", "The", "king", "ça", "naïve", "Ω", "dog.", "x\ty", "a", "b", "c", "d", "e", "\u2603"]
SMOOTHINGS = ["modified-kneser-ney", "kneser-ney", "witten-bell", "mle", "add-k", "stupid-backoff"]
RUN = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_corpus(folder: Path, seed: int, files: int = 3, lines: int = 40) -> list[str]:
    """Files of random lines over a small vocabulary (so n-grams repeat), about 1 KB each: CRLF in some files,
    empty lines, lines longer than the smallest ranges, the last file without its final newline."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(files):
        rows = [" ".join(rnd.choice(WORDS) for _ in range(rnd.choice([0, 1, 3, 8, 20]))) for _ in range(lines)]
        text = ("\r\n" if f % 2 else "\n").join(rows) + ("" if f == files - 1 else "\n")
        path = folder / f"part{f}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(str(path))
    return paths


@pytest.fixture
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("work"))


@RUN
@given(seed=st.integers(0, 10**6), order=st.integers(1, 5), range_bytes=st.sampled_from([60, 400, 1 << 20]),
       vocab_size=st.sampled_from([None, 6]))
def test_count_equals_local(client, tmp_path_factory, seed, order, range_bytes, vocab_size):
    paths = write_corpus(tmp_path_factory.mktemp("c"), seed)
    tok = load_text_tokenizer("whitespace")
    local = count_ngrams(paths, order, tok, vocab_size=vocab_size)
    dist = count_ngrams_distributed(client, paths, order, tok, str(tmp_path_factory.mktemp("w")),
                                    vocab_size=vocab_size, range_bytes=range_bytes)
    assert dist.vocab.tokens == local.vocab.tokens
    assert np.array_equal(dist.rows, local.rows) and np.array_equal(dist.counts, local.counts)
    assert b"".join(dist.lines()) == b"".join(local.lines())


def model_entries(model, path: Path) -> dict:
    """What a saved model says: the ARPA text, or the .npz arrays for the smoothings ARPA cannot hold."""
    if model.smoothing.name in ("add-k", "stupid-backoff"):
        model.save(path.with_suffix(".npz"))
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
            return {k: z[k].tolist() for k in z.files if k != "meta"}
    model.save(path.with_suffix(".arpa"))
    return {"arpa": path.with_suffix(".arpa").read_text(encoding="utf-8")}


@RUN
@given(seed=st.integers(0, 10**6), order=st.integers(1, 5), smoothing=st.sampled_from(SMOOTHINGS),
       range_bytes=st.sampled_from([60, 400, 1 << 20]), prune=st.sampled_from([None, [0, 1]]),
       limit=st.sampled_from([None, "vocab-size", "list"]))
def test_model_equals_local(client, tmp_path_factory, seed, order, smoothing, range_bytes, prune, limit):
    paths = write_corpus(tmp_path_factory.mktemp("c"), seed)
    if smoothing in ("kneser-ney", "witten-bell", "mle", "add-k", "stupid-backoff") and prune:
        prune = None  # --prune is KenLM's, for the Kneser-Ney family
    options = {"prune": prune if smoothing == "modified-kneser-ney" else None}
    if limit == "vocab-size":
        options["vocab_size"] = 7
    elif limit == "list":
        options["limit_vocab"] = ["the", "king", "a", "b", "Ω"]
    out = tmp_path_factory.mktemp("m")
    local = train_files(paths, order, smoothing, "whitespace", **options)
    dist = train_files_distributed(client, paths, str(tmp_path_factory.mktemp("w")), order, smoothing, "whitespace",
                                   range_bytes=range_bytes, **options)
    assert model_entries(dist, out / "dist") == model_entries(local, out / "local")


@settings(RUN, max_examples=12)
@given(seed=st.integers(0, 10**6), order=st.integers(1, 5), smoothing=st.sampled_from(sorted(BOUNDED_SMOOTHINGS)),
       range_bytes=st.sampled_from([60, 400, 1 << 20]), prune=st.sampled_from([None, [0, 1], [0, 0, 2]]),
       limit=st.sampled_from([None, "vocab-size", "list"]), memory=st.sampled_from(["2M", "64M"]))
def test_bounded_estimate_from_shares_equals_local(client, tmp_path_factory, seed, order, smoothing, range_bytes,
                                                   prune, limit, memory):
    """The Kneser-Ney family streamed from each order's shares into the bounded estimator (the client's
    `--memory`): the very ARPA bytes of the single-machine in-memory run."""
    paths = write_corpus(tmp_path_factory.mktemp("c"), seed)
    options: dict = {"prune": prune if smoothing == "modified-kneser-ney" else None}
    if limit == "vocab-size":
        options["vocab_size"] = 7
    elif limit == "list":
        options["limit_vocab"] = ["the", "king", "a", "b", "Ω"]
    out = tmp_path_factory.mktemp("m")
    train_files(paths, order, smoothing, "whitespace", **options).save(out / "local.arpa")
    summary = train_arpa_distributed(client, paths, str(tmp_path_factory.mktemp("w")), out / "dist.arpa", order,
                                     smoothing, "whitespace", memory=memory, range_bytes=range_bytes,
                                     temp_dir=str(out), **options)
    assert (out / "dist.arpa").read_bytes() == (out / "local.arpa").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["dist.arpa", "local.arpa"]  # the estimate's folder is gone
    assert summary.info["shares"] >= max(0, order - 1)


def test_model_with_a_tokenizer_file(client, tmp_path, workdir):
    paths = write_corpus(tmp_path / "c", 7)
    tok = train_from_counts(count_chunks(paths, build_pipeline("bpe"), ["<|endoftext|>"]), build_pipeline("bpe"),
                            vocab_size=300, special_tokens=["<|endoftext|>"])
    tok.save(tmp_path / "tok.json")
    local = train_files(paths, 3, tokenizer=str(tmp_path / "tok.json"))
    dist = train_files_distributed(client, paths, workdir, 3, tokenizer=str(tmp_path / "tok.json"), range_bytes=90)
    assert model_entries(dist, tmp_path / "d") == model_entries(local, tmp_path / "l")


@pytest.mark.parametrize("algo", ["bpe", "wordpiece", "unigram", "sentencepiece", "char"])
def test_tokenizer_equals_local(client, tmp_path, algo):
    paths = write_corpus(tmp_path / "c", 11)
    pipeline, specials = build_pipeline(algo), resolve_specials(algo, None)
    local = count_chunks(paths, pipeline, specials)
    dist = count_chunks_distributed(client, paths, pipeline, specials, range_bytes=70)
    assert list(dist.counts.items()) == list(local.counts.items())  # the same chunks, in the same order
    assert (dist.lines, dist.chars, dist.bytes, dist.blank) == (local.lines, local.chars, local.bytes, local.blank)
    size = {"bpe": 300, "sentencepiece": 400, "wordpiece": 120, "unigram": 60, "char": None}[algo]
    trained = [train_from_counts(c, pipeline, vocab_size=size, special_tokens=specials) for c in (local, dist)]
    a, b = (json.loads(t.to_str()) for t in trained)
    assert a == b
