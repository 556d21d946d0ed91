"""Fuzzing the ARPA loader (plain and .arpa.gz): hypothesis mutates a valid small model file — truncation,
byte flips, wrong counts, lines with too few or too many words, non-numeric / NaN / inf values, huge declared
counts, a BOM, CRLF, missing sections, duplicate n-grams, non-UTF-8 bytes — and every result must load (and
score text) or raise ModelFileError with one line, within a time bound."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ngram import NgramModel, load_ngram
from tests.ngram.fuzz_helpers import loads_or_refuses
from tests.ngram.test_ngram_arpa import SRILM

SENTENCES = [["a", "b", "c"], ["b", "c", "a", "a"], ["c", "b"], ["a", "é", "b"]]
VALUES = ["nan", "NaN", "inf", "-inf", "+inf", "1e999", "-1e999", "x", "", "0x1p3", "--1", "1,5", "-99", "-100",
          "99", "1e-320", "٣", "\u00a0-1"]
WORDS = ["a", "b", "zz", "<s>", "</s>", "<unk>", "\\", "\\s", "é", "a b"]


@lru_cache(maxsize=1)
def good_text() -> str:
    import tempfile

    model = NgramModel.fit(SENTENCES, order=3, smoothing="modified-kneser-ney")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.arpa"
        model.save(path)
        return path.read_text(encoding="utf-8")


# ---- mutations on lines (text level) --------------------------------------------------------------------------
def _line_mutation(draw, lines: list[str]) -> list[str]:
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "drop word", "add word", "value", "count",
                                 "blank", "header", "section"]))
    out = list(lines)
    fields = out[i].split("\t")
    if kind == "delete":
        del out[i]
    elif kind == "duplicate":
        out.insert(i, out[i])
    elif kind == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        out[i], out[j] = out[j], out[i]
    elif kind == "drop word" and len(fields) >= 2:
        words = fields[1].split(" ")
        fields[1] = " ".join(words[:-1])
        out[i] = "\t".join(fields)
    elif kind == "add word" and len(fields) >= 2:
        fields[1] += " " + draw(st.sampled_from(WORDS))
        out[i] = "\t".join(fields)
    elif kind == "value" and fields:
        k = draw(st.sampled_from([0, len(fields) - 1]))
        fields[k] = draw(st.sampled_from(VALUES) | st.text(max_size=4))
        out[i] = "\t".join(fields)
    elif kind == "count":
        counts = [j for j, ln in enumerate(out) if ln.startswith("ngram ")]
        j = draw(st.sampled_from(counts))
        order = out[j][6:].split("=")[0]
        value = draw(st.integers(-5, 30) | st.sampled_from([10**6, 10**9, 10**12, 2**63, 10**40]))
        out[j] = f"ngram {order}={value}"
    elif kind == "blank":
        out.insert(i, draw(st.sampled_from(["", " ", "\t", "\\", "\\end\\", "\\data\\", "\\9-grams:"])))
    elif kind == "header":
        out.insert(0, draw(st.sampled_from(["# tkit-tokenizer: {", "# tkit-tokenizer: 5", "# tkit-escape: backslash",
                                            '# tkit-tokenizer: "nonsense"', '# tkit-tokenizer: "char"'])))
    elif kind == "section":
        heads = [j for j, ln in enumerate(out) if ln.startswith("\\") and ln.endswith("-grams:")]
        j = draw(st.sampled_from(heads))
        out[j] = draw(st.sampled_from(["", "\\1-grams:", "\\4-grams:", "\\2-grams", "-grams:"]))
    return out


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kenlm"


@lru_cache(maxsize=1)
def seeds() -> tuple[str, ...]:
    """tkit's writing, two files lmplz wrote, and SRILM's conventions (-99, omitted backoffs, pruned contexts)."""
    kenlm = tuple((FIXTURES / name).read_text(encoding="utf-8") for name in ("toy0.o3.arpa", "toy1.o3.arpa"))
    return (good_text(), *kenlm, SRILM)


@st.composite
def mutated_text(draw) -> bytes:
    lines = draw(st.sampled_from(seeds())).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        lines = _line_mutation(draw, lines)
    data = "\n".join(lines).encode("utf-8")
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    return draw(_byte_mutation(data))


@st.composite
def _byte_mutation(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["none", "none", "truncate", "flip", "insert"]))
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    if kind in ("flip", "insert"):
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(buf) - 1))
            byte = draw(st.sampled_from([0x00, 0x80, 0xC3, 0xFF, 0x0A, 0x09, 0x20, 0x5C]) | st.integers(0, 255))
            if kind == "flip":
                buf[at] = byte
            else:
                buf.insert(at, byte)
        return bytes(buf)
    return data


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@FUZZ
@given(data=mutated_text())
def test_plain_arpa_loads_or_refuses(data, tmp_path):
    path = tmp_path / "m.arpa"
    path.write_bytes(data)
    event(loads_or_refuses(lambda: load_ngram(path)))


@FUZZ
@given(data=mutated_text(), gz=st.data())
def test_gzip_arpa_loads_or_refuses(data, gz, tmp_path):
    """The text mutations, then gzip, then possibly damage to the compressed bytes."""
    path = tmp_path / "m.arpa.gz"
    path.write_bytes(gz.draw(_byte_mutation(gzip.compress(data, mtime=0))))
    event(loads_or_refuses(lambda: load_ngram(path)))


def test_the_unmutated_files_load(tmp_path):
    """The fuzzers' seeds are sound, so the refusals they see come from the mutations."""
    path = tmp_path / "m.arpa"
    for text in seeds():
        path.write_text(text, encoding="utf-8")
        assert loads_or_refuses(lambda: load_ngram(path)) == "ok"
