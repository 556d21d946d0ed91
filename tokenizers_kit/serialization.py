"""tokenizer.json in and out (HF's schema, reference §3), and reading any tokenizer file by its content.

Reading gives the Tokenizer's keyword arguments (its "parts"), which `Tokenizer.from_str` / `from_file` turn
into a Tokenizer: this module sits below tokenizer.py and never imports it. `read_tokenizer_file` accepts: a
tokenizer.json (written by tkit or HF: BPE, WordPiece, Unigram models), a GPT-2 `vocab.json` with
`merges.txt` beside it, or a tiktoken `base64 rank` file. Every problem is a ModelFileError with one line
that names the file and says what is wrong.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers_kit import decoders as dec
from tokenizers_kit import foreign
from tokenizers_kit import normalizers as nrm
from tokenizers_kit import pre_tokenizers as pre
from tokenizers_kit.added_tokens import AddedToken
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.json_fields import parse_json
from tokenizers_kit.models import MODELS
from tokenizers_kit.post_processors import post_processor_from_dict

if TYPE_CHECKING:  # annotations only: tokenizer.py imports this module
    from tokenizers_kit.tokenizer import Tokenizer


def model_from_dict(data: Any) -> Any:
    """HF "model" object -> model instance, dispatched on "type" (inferred from the fields if absent, as
    HF's untagged deserializer does)."""
    if not isinstance(data, dict):
        raise ModelFileError(f"the tokenizer \"model\" must be an object, not {type(data).__name__}: "
                             "the file is corrupt")
    kind = data.get("type")
    if kind is None:
        if isinstance(data.get("vocab"), list):
            kind = "Unigram"
        elif "merges" in data:
            kind = "BPE"
        elif "continuing_subword_prefix" in data or "max_input_chars_per_word" in data:
            kind = "WordPiece"
        else:
            raise ModelFileError("unsupported model type: the model has no \"type\" and its fields fit no model "
                                 f"tkit reads ({MODELS.names()}): the file is corrupt")
    return MODELS.build(data, kind)


def tokenizer_to_dict(tok: Tokenizer) -> dict[str, Any]:
    """HF's top-level key order. No extra keys: HF's loader rejects unknown top-level keys."""
    data: dict[str, Any] = {
        "version": "1.0",
        "truncation": tok.truncation,
        "padding": tok.padding,
        "added_tokens": tok.added.to_list(),
        "normalizer": tok.normalizer.to_dict() if tok.normalizer is not None else None,
        "pre_tokenizer": tok.pre_tokenizer.to_dict() if tok.pre_tokenizer is not None else None,
        "post_processor": tok.post_processor.to_dict() if tok.post_processor is not None else None,
        "decoder": tok.decoder.to_dict() if tok.decoder is not None else None,
        "model": tok.model.to_dict(),
    }
    return data


def tokenizer_to_str(tok: Tokenizer, pretty: bool = True) -> str:
    return json.dumps(tokenizer_to_dict(tok), ensure_ascii=False, indent=2 if pretty else None) + \
        ("\n" if pretty else "")


def tokenizer_parts(data: Any, source: str = "tokenizer") -> dict[str, Any]:
    """A tokenizer.json object -> the Tokenizer's keyword arguments (`name` inferred from the layout)."""
    try:
        return _tokenizer_parts(data, source)
    except RecursionError:  # stages nested in Sequences without end
        raise ModelFileError(f"{source} nests its stages too deeply: the file is corrupt") from None


def _tokenizer_parts(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict) or "model" not in data:
        raise ModelFileError(f"{source} is not a tokenizer.json (no \"model\" object): give a file written by "
                             "`tkit train tokenizer` or HF tokenizers")
    version = data.get("version", "1.0")
    if version != "1.0":
        raise ModelFileError(f"{source}: unknown tokenizer.json version {version!r} (tkit reads \"1.0\")")
    model = model_from_dict(data["model"])
    raw_added = data.get("added_tokens") or []
    if not isinstance(raw_added, list):
        raise ModelFileError(f"{source}: \"added_tokens\" must be a list: the file is corrupt")
    added = [AddedToken.from_dict(t) for t in raw_added]
    for t in added:  # HF: a token the model knows keeps the model's id
        model_id = model.token_to_id(t.content)
        if model_id is not None and model_id != t.id:
            raise ModelFileError(f"{source}: added token {t.content!r} has id {t.id} but the model gives it "
                                 f"id {model_id}: the file is corrupt")
    for key in ("truncation", "padding"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ModelFileError(f"{source}: {key!r} must be an object or null: the file is corrupt")
    parts: dict[str, Any] = {
        "model": model,
        "normalizer": nrm.normalizer_from_dict(data.get("normalizer")),
        "pre_tokenizer": pre.pre_tokenizer_from_dict(data.get("pre_tokenizer")),
        "decoder": dec.decoder_from_dict(data.get("decoder")),
        "added_tokens": added,
        "post_processor": post_processor_from_dict(data.get("post_processor")),
        "truncation": data.get("truncation"),
        "padding": data.get("padding"),
    }
    parts["name"] = infer_algo(model, parts["normalizer"], parts["pre_tokenizer"], parts["decoder"])
    return parts


def infer_algo(model: Any, normalizer: Any, pre_tokenizer: Any, decoder: Any) -> str:
    """Which `tkit train tokenizer --algo` layout a tokenizer has ("file" if none): tokenizer.json has no
    room for our own metadata, so the layout itself tells."""
    data = model.to_dict()
    kind, pt = data.get("type"), pre_tokenizer
    if kind == "BPE" and isinstance(pt, (pre.ByteLevel, pre.Sequence)) and isinstance(decoder, dec.ByteLevel):
        return "bpe"
    if kind == "WordPiece" and isinstance(pt, pre.BertPreTokenizer):
        return "wordpiece"
    if kind == "Unigram" and isinstance(pt, pre.Metaspace):
        return "unigram"
    norms = normalizer.normalizers if isinstance(normalizer, nrm.Sequence) else [normalizer]
    spaces = (nrm.Prepend, nrm.Replace)  # Llama's layout, or tkit's (spaces -> "▁", no dummy prefix)
    if pt is None and any(isinstance(n, spaces) for n in norms) and data.get("byte_fallback"):
        return "sentencepiece"
    if kind == "BPE" and pt is None and not data.get("merges"):
        return "char"
    return "file"


def tokenizer_str_parts(text: str, source: str = "tokenizer") -> dict[str, Any]:
    """tokenizer.json text -> the Tokenizer's keyword arguments."""
    return tokenizer_parts(parse_json(text, source), source)


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ModelFileError(f"tokenizer file {str(path)!r} does not exist: check the path "
                             "(or train one with `tkit train tokenizer`)")
    if path.is_dir():
        raise ModelFileError(f"tokenizer {str(path)!r} is a directory: give the tokenizer.json file inside it")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{path}: not a text tokenizer file (invalid UTF-8 at byte {err.start}): give a "
                             "tokenizer.json, a GPT-2 vocab.json or a tiktoken file") from None


def read_tokenizer_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A tokenizer file -> the Tokenizer's keyword arguments, its format recognised by content (and the
    extension, for tiktoken)."""
    p = Path(path)
    text = _read_text(p)
    stripped = text.lstrip()
    if not stripped:
        raise ModelFileError(f"tokenizer file {str(p)!r} is empty: re-create it with `tkit train tokenizer`")
    if stripped[0] in "{[":
        data = parse_json(text, str(p))
        if isinstance(data, dict) and "model" in data:
            return tokenizer_parts(data, str(p))
        if foreign.looks_like_gpt2_vocab(data):
            return foreign.gpt2_parts(p, vocab=data)
        raise ModelFileError(f"{p} is JSON but neither a tokenizer.json (no \"model\") nor a GPT-2 vocab.json "
                             "(token -> id): give a tokenizer file")
    if p.suffix == ".tiktoken" or foreign.looks_like_tiktoken(text):
        return foreign.tiktoken_parts(p, text=text)
    raise ModelFileError(f"{p} is not a tokenizer file tkit knows (tokenizer.json, GPT-2 vocab.json + "
                         "merges.txt, tiktoken base64-rank file)")

