"""Post-processors: HF's objects read, applied to single sequences and saved back unchanged; bad ones are
one-line errors."""
from __future__ import annotations

import json

import pytest

from tests.peers import require_peer
from tests.tokenizers_kit.trained import held_out, trained_path
from tokenizers_kit.encoding import Encoding
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.post_processors import (
    POST_PROCESSORS,
    BertProcessing,
    ByteLevel,
    RobertaProcessing,
    Sequence,
    TemplateProcessing,
    post_processor_from_dict,
)
from tokenizers_kit.tokenizer import Tokenizer

TEMPLATE = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                       "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}},
}
OBJECTS = [
    TEMPLATE,
    {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
     "add_prefix_space": True},
    {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    {"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                         "use_regex": True}, TEMPLATE]},
]


@pytest.mark.parametrize("data", OBJECTS, ids=[d["type"] for d in OBJECTS])
def test_objects_round_trip(data: dict) -> None:
    assert post_processor_from_dict(json.loads(json.dumps(data))).to_dict() == data


def test_single_sequence_gets_its_special_tokens() -> None:
    enc = Encoding([7, 8], ["a", "b"], [(0, 1), (1, 2)])
    for proc in (post_processor_from_dict(TEMPLATE), BertProcessing(("[SEP]", 2), ("[CLS]", 1)),
                 Sequence([ByteLevel(), post_processor_from_dict(TEMPLATE)])):
        out = proc.process(enc)
        assert (out.ids, out.tokens, out.offsets) == ([1, 7, 8, 2], ["[CLS]", "a", "b", "[SEP]"],
                                                     [(0, 0), (0, 1), (1, 2), (0, 0)])
    assert RobertaProcessing(("</s>", 2), ("<s>", 0)).process(enc).ids == [0, 7, 8, 2]
    assert ByteLevel().process(enc) == enc


def test_registry_knows_hf_processors() -> None:
    assert set(POST_PROCESSORS.builders) == {"TemplateProcessing", "BertProcessing", "RobertaProcessing",
                                             "ByteLevel", "Sequence"}
    assert isinstance(post_processor_from_dict(TEMPLATE), TemplateProcessing)
    assert post_processor_from_dict(None) is None


@pytest.mark.parametrize("data, message", [
    ({"type": "Nope"}, "unsupported post_processor type 'Nope'"),
    ({"type": "BertProcessing", "sep": ["[SEP]"], "cls": ["[CLS]", 1]}, "'sep' must be a \\[token, id\\] pair"),
    ({**TEMPLATE, "special_tokens": {}}, "names no entry of 'special_tokens'"),
    ([1], "must be an object"),
])
def test_bad_objects_are_one_line_errors(data: object, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        post_processor_from_dict(data)


def test_a_loaded_template_applies_and_saves_back(tmp_path) -> None:
    data = json.loads(trained_path("wordpiece").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    data["post_processor"] = {**TEMPLATE, "special_tokens": {
        "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
        "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]}}}
    tok = Tokenizer.from_str(json.dumps(data))
    text = held_out()[0]
    enc = tok.encode(text)
    plain = tok.encode(text, add_special_tokens=False)
    assert enc.ids == [vocab["[CLS]"], *plain.ids, vocab["[SEP]"]]
    assert json.loads(tok.to_str()) == data
    tk = require_peer("tokenizers")
    hf = tk.Tokenizer.from_str(tok.to_str())
    assert hf.encode(text).ids == enc.ids


@pytest.mark.parametrize("name", ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel"])
def test_hf_written_processors_apply_like_hf(name: str) -> None:
    tk = require_peer("tokenizers")
    hf = tk.Tokenizer.from_file(str(trained_path("wordpiece")))
    cls_id, sep_id = hf.token_to_id("[CLS]"), hf.token_to_id("[SEP]")
    hf.post_processor = {
        "TemplateProcessing": lambda: tk.processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]),
        "BertProcessing": lambda: tk.processors.BertProcessing(("[SEP]", sep_id), ("[CLS]", cls_id)),
        "RobertaProcessing": lambda: tk.processors.RobertaProcessing(("[SEP]", sep_id), ("[CLS]", cls_id)),
        "ByteLevel": lambda: tk.processors.ByteLevel(),
    }[name]()
    ours = Tokenizer.from_str(hf.to_str())
    assert json.loads(ours.to_str())["post_processor"] == json.loads(hf.to_str())["post_processor"]
    for text in held_out()[:50]:
        assert ours.encode(text).ids == hf.encode(text).ids
