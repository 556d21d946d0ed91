"""`stream_text` prints a sample as it is generated: its pieces always join to exactly the text of all the ids
(`ids_to_text`), for every tokenizer family and for sentence and stream models. Property-tested on random ids,
including byte-level tokens that split a character and ids that are specials."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngram import NgramModel
from ngram.decoding import ids_to_text, stream_text
from tests.neural.tiny import tiny_transformer
from tests.tokenizers_kit.trained import ALL, held_out, trained


@pytest.fixture(scope="module")
def models() -> dict:
    out = {"char-stream": tiny_transformer(dtype=np.float32)}
    text = "\n".join(held_out()[:400])
    for name in ALL:
        out[name] = NgramModel.fit_text(text, order=2, smoothing="witten-bell", tokenizer=trained(name))
    out["whitespace"] = NgramModel.fit_text(text, order=2, smoothing="witten-bell")
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(["char-stream", "whitespace", *ALL]),
       flush_every=st.integers(min_value=1, max_value=20), context=st.integers(min_value=1, max_value=10))
def test_pieces_join_to_the_whole_text(models, data, name, flush_every, context):
    model = models[name]
    ids = data.draw(st.lists(st.integers(min_value=0, max_value=len(model.vocab) - 1), max_size=120))
    pieces = list(stream_text(model, iter(ids), flush_every=flush_every, context=context))
    assert "".join(pieces) == ids_to_text(model, ids)


def test_it_streams(models):
    """Pieces come before the ids run out (here: an endless generator)."""
    model = models["char-stream"]

    def endless():
        while True:
            yield 1

    stream = stream_text(model, endless(), flush_every=4)
    assert [next(stream) for _ in range(3)] == [ids_to_text(model, [1] * 4)] + [ids_to_text(model, [1] * 4)] * 2


def test_a_context_that_decodes_to_nothing_keeps_the_word_before(models):
    """<unk> <s> <unk>, printed one id at a time with one id of context: the context <s> has no text, so the
    space before the second word depends on the word before it (a case `make fuzz` found)."""
    model = models["whitespace"]
    unk, bos = (int(i) for i in model.vocab.encode(["<unk>", "<s>"]))
    ids = [unk, bos, unk]
    assert "".join(stream_text(model, iter(ids), flush_every=1, context=1)) == ids_to_text(model, ids) != "<unk><unk>"
