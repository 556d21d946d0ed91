"""The Tokenizer pipeline: added tokens -> normalizer -> pre-tokenizer -> model, and back through the decoder.

It follows HF `tokenizers.Tokenizer` (same stages, same tokenizer.json) and also implements tkit's
`TextTokenizer` protocol (`tokenize` / `detokenize` / `to_spec`) that the language models use.

Two encoding paths give the same ids:
- `encode(text)` -> Encoding(ids, tokens, offsets): tracks, for every character, where it came from in the
  original text, so offsets are character offsets into `text`;
- `encode_ids(text)` / `encode_lines(...)`: ids only, through a per-chunk cache keyed by the raw chunk (before
  the byte-level map), so a repeated word costs one dict lookup. This is the path `tkit tokenize` uses.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

import regex

from tokenizers_kit import foreign, serialization, unigram_stream, windowing
from tokenizers_kit.added_tokens import AddedToken, AddedVocabulary
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.checks import require_ids, require_str, require_strs
from tokenizers_kit.decoders import Decoder
from tokenizers_kit.encoding import Encoding
from tokenizers_kit.errors import ModelFileError
from tokenizers_kit.literal_meta import (
    META,
    literal_meta_ids,
    split_aligned,
    split_normalized,
)
from tokenizers_kit.models.base import SPARE_IDS, Model
from tokenizers_kit.models.unigram import UnigramModel
from tokenizers_kit.normalizers import Normalizer, Spans
from tokenizers_kit.post_processors import PostProcessor, post_processor_from_dict
from tokenizers_kit.pre_tokenizers import PreTokenizer

__all__ = ["Encoding", "Tokenizer"]  # Encoding lives in tokenizers_kit.encoding; importable from here too

CACHE_MAX_CHARS = 256  # chunks longer than this are not cached (rare, and costly to hash and keep)
CACHE_CAPACITY = 1 << 18  # entries; the cache is cleared when full (bounded memory on endless streams)


class _ChunkCache(dict):
    """chunk -> value, computed on a miss by `compute`; bounded."""

    def __init__(self, compute: Any, max_chars: int = CACHE_MAX_CHARS) -> None:
        super().__init__()
        self.compute, self.max_chars = compute, max_chars

    def __missing__(self, chunk: str) -> Any:
        value = self.compute(chunk)
        if len(chunk) <= self.max_chars:
            if len(self) >= CACHE_CAPACITY:
                self.clear()
            self[chunk] = value
        return value


_NON_META = regex.compile(r"▁+[^▁]*|[^▁]+")  # "▁"-led words (sentencepiece-style text without a pre-tokenizer)
_SP_CUT = regex.compile(r"▁[^▁]*|[^▁]+")  # cut before each "▁", as the Unigram model does
_OWN = object()  # "the pipeline's own normalizer" (None means none)


class Tokenizer:
    """A full tokenizer: HF-compatible pipeline, tokenizer.json in and out, fast cached encoding."""

    def __init__(
        self,
        model: Model,
        *,
        normalizer: Normalizer | None = None,
        pre_tokenizer: PreTokenizer | None = None,
        decoder: Decoder | None = None,
        added_tokens: Iterable[AddedToken] = (),
        post_processor: PostProcessor | dict | None = None,
        truncation: dict | None = None,
        padding: dict | None = None,
        name: str = "file",
    ) -> None:
        self.model = model
        self.normalizer = normalizer
        self.pre_tokenizer = pre_tokenizer
        self.decoder = decoder
        self.added = AddedVocabulary(added_tokens)
        ids = set(model.get_vocab().values()) | {t.id for t in self.added.tokens}
        if ids and max(ids) >= 2 * len(ids) + SPARE_IDS:  # tables are sized by the largest id
            raise ModelFileError(f"the tokenizer's largest id is {max(ids):,} for {len(ids):,} tokens (ids that "
                                 "sparse would size tables by the id): the file is corrupt")
        if isinstance(post_processor, dict):  # a tokenizer.json "post_processor" object
            post_processor = post_processor_from_dict(post_processor)
        self.post_processor = post_processor  # applied by encode(add_special_tokens=True)
        self.truncation = truncation  # kept verbatim so a loaded HF file saves back unchanged
        self.padding = padding
        self.name = name  # "file", or the `--algo` whose layout this is (TextTokenizer.name)
        self._reset_caches()

    # ---- construction helpers ------------------------------------------------------------------------

    def _reset_caches(self) -> None:
        self._subchunk = self._choose_subchunker()
        # Without a pre-tokenizer or a sub-chunker, chunks are whole lines: not worth keeping.
        keep = CACHE_MAX_CHARS if self.pre_tokenizer is not None or self._subchunk is not None else 0
        self._ids_cache = _ChunkCache(self._compute_ids, keep)
        self._text_cache = _ChunkCache(self._compute_text, keep)
        self._id_tokens: list[str | None] | None = None
        self._size: int | None = None
        self._split_first = self._make_first_splitter()
        self._windowable: tuple[str | None] | None = None
        info = self.model.to_dict() if type(self.model).__name__ == "UnigramModel" else {}
        self._unk_as_text = info.get("unk_id") if info.get("type") == "Unigram" else None
        # Ids that spell a literal "▁" where the decoder would read the "▁" piece as a space (literal_meta).
        self._meta_ids = literal_meta_ids(self.model, self.pre_tokenizer, self.decoder)

    def _make_first_splitter(self) -> Any:
        """text -> raw chunks for a segment at the start of the input (the common case), with no Python
        frames in between when possible (a compiled regex's findall)."""
        pt, sub = self.pre_tokenizer, self._subchunk
        if pt is None:
            if sub is None:
                return lambda text: [text] if text else []
            return sub
        split = pt.fast_split()
        if sub is None:
            return split
        return lambda text: [piece for c in split(text) for piece in sub(c)]

    def _choose_subchunker(self) -> Any:
        """An exact way to cut a pre-tokenized chunk smaller, so long chunks still hit the cache:
        - sentencepiece-style BPE (no pre-tokenizer) cuts before each run of "▁" when no vocabulary entry has a
          "▁" after another character: then no merge can cross such a cut, so the model's output is the
          concatenation of its outputs on the pieces (the Unigram model makes such cuts itself);
        - a BPE model with no merges (the `char` algorithm) encodes each character on its own."""
        self._may_fallback = False
        if self.pre_tokenizer is not None:
            return None
        info = self.model.to_dict()
        vocab = self.model.get_vocab()
        if info.get("type") == "BPE" and not info.get("merges") and not info.get("fuse_unk") \
                and info.get("continuing_subword_prefix") is None and info.get("end_of_word_suffix") is None:
            return list
        if info.get("type") == "BPE" and "▁" in vocab and not any("▁" in tok.lstrip("▁") for tok in vocab):
            return _NON_META.findall
        if getattr(self.model, "_cut_at_space", False) and hasattr(self.model, "_encode_cached"):
            # The Unigram model cuts lines before each "▁" itself and flags the parts whose Viterbi had a
            # near tie (then the line must be decoded whole); cutting here lets the parts hit our cache.
            self._may_fallback = True
            return _SP_CUT.findall
        return None

    @property
    def unk_token(self) -> str | None:
        return getattr(self.model, "unk_token", None)

    # ---- the fast ids path ---------------------------------------------------------------------------

    def _compute_ids(self, raw_chunk: str) -> tuple[int, ...] | None:
        """The ids of one raw chunk; None if it must be encoded together with its neighbours (a Unigram part
        with a near tie)."""
        if self._may_fallback:
            if self._long_unigram(raw_chunk):
                return None  # encoded whole, by the compact Viterbi (the model would flag it too)
            tokens, near_tie = self.model._encode_cached(raw_chunk)  # type: ignore[attr-defined]
            return None if near_tie else tuple(t[0] for t in tokens)
        chunk = self._long_whole_chunk(raw_chunk)
        if chunk is not None:
            return tuple(unigram_stream.unigram_ids(self.model, chunk))
        chunk = self.pre_tokenizer.transform(raw_chunk) if self.pre_tokenizer is not None else raw_chunk
        return tuple(t[0] for t in self.model.tokenize(chunk))

    def _long_whole_chunk(self, raw_chunk: str) -> str | None:
        """The model's input for a raw chunk that the Unigram model would Viterbi whole and that is long enough
        for the compact Viterbi (unigram_stream), else None."""
        if self._may_fallback or not self._long_unigram(raw_chunk):
            return None
        chunk = self.pre_tokenizer.transform(raw_chunk) if self.pre_tokenizer is not None else raw_chunk
        return None if self.model.cuts_at_space and chunk.find("\u2581", 1) > 0 else chunk

    def _compute_text(self, raw_chunk: str) -> str | None:
        chunk = self._long_whole_chunk(raw_chunk)
        if chunk is not None:
            return unigram_stream.unigram_text(self.model, chunk)
        ids = self._ids_cache[raw_chunk]
        return None if ids is None else " ".join(map(str, ids))

    def _whole_ids(self, text: str) -> list[int]:
        """Encode a normalized segment as one chunk (the fallback when a part had a near tie)."""
        if self._long_unigram(text):
            return unigram_stream.unigram_ids(self.model, text)
        return [t[0] for t in self.model.tokenize(text)]

    def _whole_text(self, text: str) -> str:
        """`_whole_ids` as space-separated ids."""
        if self._long_unigram(text):
            return unigram_stream.unigram_text(self.model, text)
        return " ".join(map(str, self._whole_ids(text)))

    def _long_unigram(self, chunk: str) -> bool:
        """A Unigram chunk long enough for the compact Viterbi (unigram_stream) instead of the model's."""
        return len(chunk) > unigram_stream.LONG_CHUNK and isinstance(self.model, UnigramModel)

    def _raw_chunks(self, text: str, first: bool) -> list[str]:
        """Normalized text -> raw chunks (pre-tokenized, not yet transformed)."""
        if first:
            return self._split_first(text)
        if not text:
            return []
        chunks = self.pre_tokenizer.split(text, first) if self.pre_tokenizer is not None else [text]
        if self._subchunk is not None:
            chunks = [piece for c in chunks for piece in self._subchunk(c)]
        return chunks

    def _normalized(self, seg: str, normalizer: Any = _OWN) -> list[str | None]:
        """The normalized segment (by `normalizer`, default the pipeline's), cut at each literal "▁" (None) when
        those are spelled in bytes."""
        normalizer = self.normalizer if normalizer is _OWN else normalizer
        norm = normalizer.normalize_str if normalizer is not None else None
        if self._meta_ids is not None and META in seg:
            return split_normalized(seg, norm)
        return [norm(seg) if norm is not None else seg]

    def _segments(self, text: str) -> Iterator[tuple[str | None, int | None, bool]]:
        """(normalized text, None, first) for ordinary text, (None, token_id, _) for added tokens."""
        raw = self.added.split_raw(text) if self.added.has_raw else [(0, len(text), None)]
        for start, end, tok in raw:
            if tok is not None:
                yield None, tok, False
                continue
            for k, seg in enumerate(self._normalized(text[start:end])):
                first = start == 0 and k == 0
                if seg is None:
                    yield from ((None, i, False) for i in self._meta_ids)  # type: ignore[union-attr]
                elif not self.added.has_normalized:
                    yield seg, None, first
                else:
                    for s, e, ntok in self.added.split_normalized(seg):
                        yield (None, ntok, False) if ntok is not None else (seg[s:e], None, first and s == 0)

    def _no_added(self, texts: Sequence[str]) -> bool:
        """True when no added token (nor a literal "▁" spelled in bytes) can occur in the texts: then each text
        is one normalized segment."""
        if self.added.has_normalized or (self._meta_ids is not None and any(META in t for t in texts)):
            return False
        raw = self.added.raw_pattern
        return raw is None or not any(map(raw.search, texts))

    def _seg_ids(self, seg: str, first: bool) -> list[int]:
        parts = list(map(self._ids_cache.__getitem__, self._raw_chunks(seg, first)))
        if self._may_fallback and None in parts:
            return self._whole_ids(seg)
        return list(chain.from_iterable(parts))

    def encode_ids(self, text: str) -> list[int]:
        """The ids of `text` (no offsets, no post-processing): the fast path."""
        require_str("text", text)
        if self._no_added((text,)):
            if self.normalizer is not None:
                text = self.normalizer.normalize_str(text)
            if not self._may_fallback:
                return list(chain.from_iterable(map(self._ids_cache.__getitem__, self._split_first(text))))
            return self._seg_ids(text, True)
        ids: list[int] = []
        for seg, tok, first in self._segments(text):
            if tok is not None:
                ids.append(tok)
            else:
                ids.extend(self._seg_ids(seg, first))
        return ids

    def encode_batch_ids(self, texts: Iterable[str]) -> list[list[int]]:
        return [self.encode_ids(t) for t in require_strs("texts", texts)]

    def encode_lines(self, lines: Sequence[str]) -> list[str]:
        """Each line's ids as one space-separated string (`tkit tokenize --format ids`), via a cache of the
        formatted ids of each chunk."""
        get, join, split = self._text_cache.__getitem__, " ".join, self._split_first
        if self._no_added(lines):
            texts: Iterable[str] = map(self.normalizer.normalize_str, lines) if self.normalizer is not None \
                else lines
            if not self._may_fallback:
                return [join(map(get, split(t))) for t in texts]
            out = []
            for t in texts:
                parts = list(map(get, split(t)))
                out.append(join(parts) if None not in parts else self._whole_text(t))
            return out
        out = []
        for line in lines:
            ids: list[int] = []
            for seg, tok, first in self._segments(line):
                if tok is not None:
                    ids.append(tok)
                else:
                    ids.extend(self._seg_ids(seg, first))
            out.append(join(map(str, ids)))
        return out

    # ---- long lines (tokenizers_kit.long_lines) ---------------------------------------------------------

    def windowable(self) -> str | None:
        """How a long line may be cut without changing its ids: "any" place, before a "space" that follows a
        non-space, or None (encode it whole). See tokenizers_kit.long_lines for the proof of each case."""
        if self._windowable is None:
            self._windowable = (windowing.cut_kind(self),)
        return self._windowable[0]

    def _continued_segments(self, text: str) -> Iterator[tuple[str | None, int | None]]:
        """(normalized text, None) or (None, added token id) for a part that continues a cut line."""
        rest = windowing.continuation_normalizer(self.normalizer)
        for start, end, tok in (self.added.split_raw(text) if self.added.has_raw else [(0, len(text), None)]):
            if tok is not None:
                yield None, tok
                continue
            norm = rest if start == 0 else self.normalizer  # a Prepend applies at the line's start only
            for seg in self._normalized(text[start:end], norm):
                if seg is None:  # a literal "▁" spelled in bytes
                    yield from ((None, i) for i in self._meta_ids)  # type: ignore[union-attr]
                    continue
                parts = self.added.split_normalized(seg) if self.added.has_normalized else [(0, len(seg), None)]
                for s, e, ntok in parts:
                    yield (None, ntok) if ntok is not None else (seg[s:e], None)

    def encode_ids_continued(self, text: str) -> list[int]:
        """The ids of `text` that continues a line cut at a safe place (`windowable`): the line's ids are the
        ids of its first part (`encode_ids`) followed by those of each continuing part."""
        require_str("text", text)
        ids: list[int] = []
        for seg, tok in self._continued_segments(text):
            ids.extend([tok] if seg is None else self._seg_ids(seg, False))
        return ids

    def encode_line_continued(self, text: str) -> str:
        """`encode_ids_continued` as space-separated ids (`encode_lines` for a continuing part)."""
        out = []
        for seg, tok in self._continued_segments(text):
            if seg is None:
                out.append(str(tok))
                continue
            parts = list(map(self._text_cache.__getitem__, self._raw_chunks(seg, False)))
            if None in parts:  # a Unigram part with a near tie: the segment is encoded whole, as encode_ids does
                parts = [self._whole_text(seg)]
            out.extend(filter(None, parts))
        return " ".join(out)

    # ---- the aligned path (offsets) ------------------------------------------------------------------

    def encode(self, text: str, add_special_tokens: bool = True) -> Encoding:
        """Ids, tokens and character offsets into `text`. Added/special tokens in the text are never split.
        With `add_special_tokens`, a post-processor from an HF file (e.g. BERT's [CLS] ... [SEP]) is applied;
        the tokenizers tkit trains have none."""
        require_str("text", text)
        enc = Encoding()
        for start, end, tok in (self.added.split_raw(text) if self.added.has_raw else [(0, len(text), None)]):
            if tok is not None:
                self._push(enc, tok, (start, end))
                continue
            for k, (seg, spans) in enumerate(self._normalized_aligned(text[start:end], start)):
                if seg is None:  # a literal "▁" spelled in bytes; `spans` is its span
                    for i in self._meta_ids:  # type: ignore[union-attr]
                        self._push(enc, i, spans)
                    continue
                pieces = self.added.split_normalized(seg) if self.added.has_normalized else [(0, len(seg), None)]
                for s, e, ntok in pieces:
                    if ntok is not None:
                        self._push(enc, ntok, (spans[s][0], spans[e - 1][1]))
                    else:
                        self._encode_aligned(enc, seg[s:e], spans[s:e], start == 0 and k == 0 and s == 0)
        if add_special_tokens and self.post_processor is not None:
            enc = self.post_processor.process(enc)
        return enc

    def _normalized_aligned(self, seg: str, start: int) -> list[tuple[str | None, Any]]:
        """`_normalized` with the span in the text of every character (`seg` starts at `start`)."""
        spans: Spans = [(i, i + 1) for i in range(start, start + len(seg))]
        norm = self.normalizer.normalize_aligned if self.normalizer is not None else None
        if self._meta_ids is not None and META in seg:
            return split_aligned(seg, spans, norm)
        return [norm(seg, spans) if norm is not None else (seg, spans)]

    def _push(self, enc: Encoding, tok: int, offsets: tuple[int, int]) -> None:
        enc.ids.append(tok)
        enc.tokens.append(self.id_to_token(tok) or "")
        enc.offsets.append(offsets)

    def _encode_aligned(self, enc: Encoding, text: str, spans: Spans, first: bool) -> None:
        if not text:
            return
        if self.pre_tokenizer is not None:
            chunks = self.pre_tokenizer.split_aligned(text, spans, first)
        else:
            chunks = [(text, spans)]
        for chunk, cspans in chunks:
            if self._subchunk is not None and not self._may_fallback:  # (the Unigram model cuts by itself)
                parts, pos = [], 0
                for piece in self._subchunk(chunk):
                    parts.append((piece, cspans[pos:pos + len(piece)]))
                    pos += len(piece)
            else:
                parts = [(chunk, cspans)]
            unk = self._unk_as_text
            for piece, pspans in parts:
                for tid, a, b in self.model.tokenize(piece):
                    self._push(enc, tid, (pspans[a][0], pspans[b - 1][1]) if b > a else (pspans[a][0],) * 2)
                    if tid == unk:  # HF's Unigram shows an unknown piece as its own text
                        enc.tokens[-1] = piece[a:b]

    def encode_batch(self, texts: Iterable[str], add_special_tokens: bool = True) -> list[Encoding]:
        return [self.encode(t, add_special_tokens) for t in require_strs("texts", texts)]

    # ---- decoding ------------------------------------------------------------------------------------

    def _id_token_table(self) -> list[str | None]:
        if self._id_tokens is None:
            size = self.get_vocab_size()
            table: list[str | None] = [None] * size
            for tok, idx in self.model.get_vocab().items():
                if idx < size:
                    table[idx] = tok
            for t in self.added.tokens:
                if t.id < size:
                    table[t.id] = t.content
            self._id_tokens = table
        return self._id_tokens

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text from ids (ids past the vocabulary are skipped, as HF does; a negative one is an error);
        specials dropped when skip_special_tokens."""
        table = self._id_token_table()
        n = len(table)
        tokens = []
        for i in require_ids("ids", ids, 1 << 62).tolist():
            tok = table[i] if i < n else None
            if tok is None or (skip_special_tokens and self.added.is_special_id(i)):
                continue
            tokens.append(tok)
        if self.decoder is None:
            return " ".join(tokens)
        return self.decoder.decode(tokens)

    def decode_batch(self, batch: Iterable[Sequence[int]], skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in batch]

    # ---- vocabulary ----------------------------------------------------------------------------------

    def token_to_id(self, token: str) -> int | None:
        idx = self.added.token_to_id(token)
        return idx if idx is not None else self.model.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        tok = self.added.id_to_token(token_id)
        return tok if tok is not None else self.model.id_to_token(token_id)

    def get_vocab(self, with_added_tokens: bool = True) -> dict[str, int]:
        vocab = self.model.get_vocab()
        if with_added_tokens:
            vocab.update({t.content: t.id for t in self.added.tokens})
        return vocab

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        """1 + the largest id (HF's definition), cached."""
        if not with_added_tokens:
            return self.model.get_vocab_size()
        if self._size is None:
            ids = set(self.model.get_vocab().values())
            ids.update(t.id for t in self.added.tokens)
            self._size = max(ids) + 1 if ids else 0
        return self._size

    @property
    def vocab_size(self) -> int:
        return self.get_vocab_size()

    def add_tokens(self, tokens: Iterable[str], special: bool = False) -> int:
        """Add tokens that are never split (ids after the vocabulary unless the model already has them)."""
        added = 0
        for content in tokens:
            if not content or self.added.token_to_id(content) is not None:
                continue
            idx = self.model.token_to_id(content)
            if idx is None:
                idx = self.get_vocab_size()
            self.added.add(AddedToken(content, idx, special=special, normalized=not special))
            added += 1
        self._reset_caches()
        return added

    def add_special_tokens(self, tokens: Iterable[str]) -> int:
        return self.add_tokens(tokens, special=True)

    @property
    def special_tokens(self) -> list[str]:
        return [t.content for t in self.added.tokens if t.special]

    # ---- TextTokenizer protocol (what the language models use) ----------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Token strings of `text`."""
        table = self._id_token_table()
        return [table[i] or "" for i in self.encode_ids(text)]

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Text of tokens. A token outside the vocabulary (a language model's `<unk>`, which sampling can
        produce) is written as itself, between the decoded text around it."""
        parts: list[str] = []
        run: list[int] = []
        for tok in tokens:
            idx = self.token_to_id(tok)
            if idx is None:
                if run:
                    parts.append(self.decode(run, skip_special_tokens=False))
                    run = []
                parts.append(tok)
            else:
                run.append(idx)
        if run or not parts:
            parts.append(self.decode(run, skip_special_tokens=False))
        return "".join(parts)

    def to_spec(self) -> str:
        return self.to_str()

    # ---- files ---------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return serialization.tokenizer_to_dict(self)

    def to_str(self, pretty: bool = True) -> str:
        return serialization.tokenizer_to_str(self, pretty)

    def save(self, path: str | os.PathLike[str], pretty: bool = True) -> None:
        """Write tokenizer.json atomically (a temporary file, then rename)."""
        text = self.to_str(pretty)
        with atomic_open(path, "w") as handle:
            handle.write(text)

    @classmethod
    def from_dict(cls, data: Any) -> Tokenizer:
        """From a parsed tokenizer.json object."""
        return cls(**serialization.tokenizer_parts(data))

    @classmethod
    def from_str(cls, text: str) -> Tokenizer:
        return cls(**serialization.tokenizer_str_parts(text))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Load tokenizer.json (tkit's or HF's), GPT-2 vocab.json (+ merges.txt beside it) or a tiktoken file."""
        return cls(**serialization.read_tokenizer_file(path))

    @classmethod
    def from_gpt2(cls, vocab_path: str | os.PathLike[str],
                  merges_path: str | os.PathLike[str] | None = None) -> Tokenizer:
        """GPT-2 vocab.json + merges.txt (by default the merges.txt beside the vocab)."""
        return cls(**foreign.gpt2_parts(vocab_path, merges_path))

    @classmethod
    def from_tiktoken(cls, path: str | os.PathLike[str], pattern: str | None = None) -> Tokenizer:
        """A tiktoken rank file; `pattern` is the split regex (default: by the file's name, see `foreign`)."""
        return cls(**foreign.tiktoken_parts(path, pattern=pattern))

    def __repr__(self) -> str:
        return f"Tokenizer(name={self.name!r}, model={type(self.model).__name__}, vocab_size={self.vocab_size})"
