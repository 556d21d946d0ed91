"""Malformed KenLM binaries: every truncation, and corrupted header fields and section headers, give one
ModelFileError (also an OSError, as kenlm raises) whose message is one line, or load a model that scores
without any other exception. Nothing is sized by a field before the file's length has been checked."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngram.kenlm as kenlm
from tests.kenlm.cases import FIXTURES
from tokenizers_kit.errors import ModelFileError

KINDS = ["w3.probing", "w3.trie", "w5.q8a255.trie", "w3.q8b8.trie"]
SENTENCE = "the king of the <s> zzq ."


def _load_and_score(path) -> str | None:
    try:
        model = kenlm.Model(str(path))
        model.score(SENTENCE)
        list(model.full_scores(SENTENCE, bos=False))
        state, out = kenlm.State(), kenlm.State()
        model.BeginSentenceWrite(state)
        for word in SENTENCE.split():
            model.BaseScore(state, word, out)
            state, out = out, state
    except ModelFileError as err:
        assert isinstance(err, OSError) and "\n" not in str(err)
        return str(err)
    return None


@pytest.mark.parametrize("name", KINDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True))
def test_every_truncation_is_one_error(tmp_path, name, cut):
    data = (FIXTURES / name).read_bytes()
    path = tmp_path / "cut"
    path.write_bytes(data[:int(cut * len(data))])
    message = _load_and_score(path)
    assert message is not None


FIELDS = {  # offset, struct format of header fields a corruption may hit
    "order": (88, "<B"), "multiplier": (92, "<f"), "model_type": (96, "<i"), "search_version": (104, "<I"),
    "count0": (108, "<Q"), "count1": (116, "<Q"), "count2": (124, "<Q")}


@pytest.mark.parametrize("name", KINDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(FIELDS)), value=st.integers(0, 2 ** 64 - 1))
def test_corrupt_header_fields_fail_cleanly(tmp_path, name, field, value):
    data = bytearray((FIXTURES / name).read_bytes())
    offset, fmt = FIELDS[field]
    size = struct.calcsize(fmt)
    data[offset:offset + size] = (value % (1 << (8 * size))).to_bytes(size, "little")
    path = tmp_path / "bad"
    path.write_bytes(bytes(data))
    _load_and_score(path)  # either loads and scores, or one clean error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(136, 200_000), value=st.integers(0, 255), name=st.sampled_from(KINDS))
def test_corrupt_body_bytes_fail_cleanly(tmp_path, at, value, name):
    data = bytearray((FIXTURES / name).read_bytes())
    data[at % len(data)] = value
    path = tmp_path / "bad"
    path.write_bytes(bytes(data))
    _load_and_score(path)


@pytest.mark.parametrize("prefix, needle", [
    (b"mmap lm http://kheafield.com/code incomplete\n" + bytes(200), "did not finish"),
    (b"mmap lm http://kheafield.com/code format version 4\n" + bytes(200), "version 4"),
    (b"mmap lm http://kheafield.com/code format version 5\n\0\0\0\0\0" + bytes(200), "byte order"),
    (b"\x1f\x8b\x08" + bytes(50), None),
    (b"", None)])
def test_recognition_errors(tmp_path, prefix, needle):
    path = tmp_path / "m.bin"
    path.write_bytes(prefix)
    with pytest.raises(OSError, match=needle) as info:
        kenlm.Model(str(path))
    assert isinstance(info.value, ModelFileError) and "\n" not in str(info.value)


def test_an_order_above_the_file_is_refused(tmp_path):
    data = bytearray((FIXTURES / "w3.probing").read_bytes())
    data[88] = 6  # the header now claims order 6: its counts run into the vocabulary table
    (tmp_path / "m").write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        kenlm.Model(str(tmp_path / "m"))


def test_missing_file_is_one_error(tmp_path):
    with pytest.raises(OSError, match="Cannot read model"):
        kenlm.Model(str(tmp_path / "absent.bin"))
