"""tkit .npz files: round trip, and refusal of anything that is not a sound tkit file (pickles above all)."""
from __future__ import annotations

import numpy as np
import pytest

from ngram.npzfile import load_npz, read_meta, save_npz
from tokenizers_kit.errors import ModelFileError


def test_round_trip(tmp_path):
    path = tmp_path / "m.npz"
    save_npz(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, {"format": "tkit-test", "n": 3})
    meta, arrays = load_npz(path, "tkit-test")
    assert meta == {"format": "tkit-test", "n": 3}
    np.testing.assert_array_equal(arrays["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert read_meta(path)["n"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temp files left


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __tkit_meta__=np.array('{"format": "tkit-ngram"}'), payload=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="pickled"):
        load_npz(path)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    good = tmp_path / "m.npz"
    save_npz(good, {"w": np.zeros(1000)}, {"format": "tkit-test"})
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="truncated"):
        load_npz(cut)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a tkit model"):
        load_npz(plain)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ModelFileError):
        load_npz(text)
    with pytest.raises(ModelFileError, match="not tkit-other"):
        load_npz(good, "tkit-other")
