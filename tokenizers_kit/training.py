"""Training orchestration: the pipeline of each `--algo`, fast chunk counting, then the trainer.

    count_chunks(source, pipeline)      normalize + pre-tokenize line by line, count distinct chunks
    train_from_counts(counts, ...)      run the BPE / WordPiece / Unigram trainer, wrap it in a Tokenizer
    train_tokenizer(source, algo, ...)  both

The five algorithms, as users of HF `tokenizers` / sentencepiece expect them:
- bpe: GPT-2 byte-level BPE (ByteLevel pre-tokenizer with the GPT-2 regex, or GPT-4's with pattern="gpt4";
  all 256 byte symbols in the alphabet, so there is never an unknown token and decode is lossless);
- wordpiece: BERT (BertNormalizer, BertPreTokenizer, "##" continuations, WordPiece decoder);
- unigram: HF-style Unigram with the Metaspace pre-tokenizer (spaces -> "▁", split before each "▁");
- sentencepiece: no whitespace pre-split; the normalizer turns spaces into "▁" and nothing else, Unigram (or
  BPE) with byte fallback, and a decoder that turns "▁" back into spaces and byte pieces into bytes (Gemma's
  HF layout; sentencepiece with add_dummy_prefix=false). Decode is lossless for any text without "\n":
  * no dummy "▁" prefix: HF prepends it to every segment between special tokens but strips only one, so
    "x <s> y" would come back with an extra space (Llama's layout); without it nothing is added to strip.
    The price is that a line's first word has no "▁" form (a few per cent more tokens);
  * byte pieces are never matched from text (`trainers.unigram` scores them below any spelling by
    characters; `trainers.bpe` never merges into one), so "<0x41>" stays text;
  * a literal "▁" is spelled with its byte pieces (`tokenizers_kit.literal_meta`), so it is not read back as
    a space (HF's own encoder gives the "▁" piece there; its decoder reads tkit's ids back exactly).
  No NFKC by default: NFKC is not invertible (e.g. "ﬁ" -> "fi"); pass normalization="nfkc" to get
  sentencepiece's behaviour at that price;
- char: one token per character (a BPE model with no merges, so HF loads it), "<unk>" for unseen characters.

Normalization (`normalization=`): "none" keeps every character and every space; "nfc"/"nfkc" the Unicode form;
"nmt_nfkc" is sentencepiece's rule of that name (NFKC, control characters dropped, other spaces and "▁" -> " ");
"sentencepiece" is sentencepiece's default normalizer: nmt_nfkc plus remove_extra_whitespaces (no leading or
trailing " ", runs of " " collapsed to one). Both are HF stages (NFKC, Replace with a regex) so HF loads them;
they apply to unigram and sentencepiece only (the others keep their own conventions, e.g. BPE's newline tokens).

Memory: counting holds one table of distinct chunks (`memory=` bounds it: partial tables spill to disk as
sorted runs, `tokenizers_kit.chunk_runs`); the result, the distinct chunks with counts, is what every trainer
starts from, and each trainer's state grows with it, not with the corpus: BPE and WordPiece hold each distinct
word as a string of symbols plus the pair index (pair -> words holding it, about one entry per symbol of the
distinct words); Unigram holds the lattice nodes of every distinct segment (up to max piece length per
character of the distinct segments, in narrow dtypes) and runs them in blocks of segments, so only one
block's working arrays come on top (fixed-size blocks: `memory=` leaves the result as it is). Only
`min_frequency` with unigram/sentencepiece shrinks that input exactly (rarer words are dropped while counting).

Lines: "bpe" and "char" count each line with its "\\n" (as HF `train_from_files` does), so newlines get
tokens; the other algorithms drop line endings (a "\\n" glued to the last word would only add junk pieces).
"""
from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import regex

from tokenizers_kit import decoders as dec
from tokenizers_kit import normalizers as nrm
from tokenizers_kit import pre_tokenizers as pre
from tokenizers_kit.added_tokens import AddedToken, AddedVocabulary
from tokenizers_kit.bytes_map import byte_alphabet
from tokenizers_kit.checks import ArgumentError
from tokenizers_kit.chunk_runs import SpillingCounts, finish_counts, parse_memory
from tokenizers_kit.corpus import READ_BLOCK, iter_text_blocks
from tokenizers_kit.errors import CorpusError, TkitError
from tokenizers_kit.pool import auto_processes, ordered_map
from tokenizers_kit.tokenizer import Tokenizer

ALGOS = ("bpe", "wordpiece", "unigram", "sentencepiece", "char")
DEFAULT_VOCAB_SIZE = 8000
DEFAULT_SPECIALS = {
    "bpe": ("<|endoftext|>",),
    "wordpiece": ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"),
    "unigram": ("<unk>",),
    "sentencepiece": ("<unk>", "<s>", "</s>"),
    "char": ("<unk>",),
}
UNK_TOKEN = {"wordpiece": "[UNK]", "unigram": "<unk>", "sentencepiece": "<unk>", "char": "<unk>"}
NORMALIZATIONS = ("none", "nfc", "nfkc", "nmt_nfkc", "sentencepiece")
SP_NORMALIZATIONS = ("nmt_nfkc", "sentencepiece")  # sentencepiece's own rules: for unigram/sentencepiece only
SP_MODELS = ("unigram", "bpe")
KEEP_NEWLINES = {"bpe", "char"}
PARALLEL_MIN_BYTES = 16 << 20  # below this, starting worker processes costs more than they save
META = "▁"

# (stage, done, total): stage is "count" (bytes read) or "train" (trainer steps).
ProgressFn = Callable[[str, float, float | None], None]


@dataclass
class Pipeline:
    """The stages around the model for one algorithm, plus how to count training chunks."""

    algo: str
    normalizer: nrm.Normalizer | None
    pre_tokenizer: pre.PreTokenizer | None
    decoder: dec.Decoder
    keep_newlines: bool
    sentencepiece: bool = False  # chunks = "▁"-led words of the normalized line
    # Normalizing and splitting a whole block gives the same chunks as line by line (char-local normalizer,
    # a pre-tokenizer that drops "\n" like any space): one regex call per 4 MB instead of per line.
    whole_blocks: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # build_pipeline's keywords (to rebuild it)

    def stages(self) -> dict[str, Any]:
        return {"normalizer": self.normalizer, "pre_tokenizer": self.pre_tokenizer, "decoder": self.decoder}


def _sequence(items: list[nrm.Normalizer]) -> nrm.Normalizer | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else nrm.Sequence(items)


def build_pipeline(algo: str, *, lowercase: bool = False, pattern: str = "gpt2",
                   normalization: str = "none") -> Pipeline:
    if algo not in ALGOS:
        raise TkitError(f"unknown algorithm {algo!r}: choose one of {', '.join(ALGOS)}")
    if pattern not in pre.PATTERNS:
        raise TkitError(f"unknown split pattern {pattern!r}: choose gpt2 or gpt4")
    if normalization not in NORMALIZATIONS:
        raise TkitError(f"unknown normalization {normalization!r}: choose one of {', '.join(NORMALIZATIONS)}")
    if normalization in SP_NORMALIZATIONS and algo not in ("unigram", "sentencepiece"):
        raise ArgumentError(f"--normalization {normalization} is sentencepiece's and applies to --algo unigram or "
                            f"sentencepiece, not {algo}: use nfkc (or none) with --algo {algo}")
    settings = {"lowercase": lowercase, "pattern": pattern, "normalization": normalization}
    pipeline = _build(algo, lowercase, pattern, normalization)
    pipeline.settings = settings
    return pipeline


def _build(algo: str, lowercase: bool, pattern: str, normalization: str) -> Pipeline:
    unicode = {"none": [], "nfc": [nrm.NFC()], "nfkc": [nrm.NFKC()],
               "nmt_nfkc": nrm.sentencepiece_normalizers(False),
               "sentencepiece": nrm.sentencepiece_normalizers(True)}[normalization]
    lower = [nrm.Lowercase()] if lowercase else []
    if algo == "bpe":
        if pattern == "gpt2":
            pt: pre.PreTokenizer = pre.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            pt = pre.Sequence([pre.Split({"Regex": pre.PATTERNS[pattern]}, "Isolated"),
                               pre.ByteLevel(add_prefix_space=False, use_regex=False)])
        return Pipeline(algo, _sequence(unicode + lower), pt, dec.ByteLevel(add_prefix_space=False), True)
    if algo == "wordpiece":
        bert = nrm.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                  lowercase=lowercase)
        return Pipeline(algo, _sequence(unicode + [bert]), pre.BertPreTokenizer(), dec.WordPiece("##", True), False,
                        whole_blocks=True)
    if algo == "unigram":
        return Pipeline(algo, _sequence(unicode + lower), pre.Metaspace(META, "always", True),
                        dec.Metaspace(META, "always", True), False)
    if algo == "sentencepiece":
        norm = unicode + lower + [nrm.Replace(" ", META)]
        decoder = dec.Sequence([dec.Replace(META, " "), dec.ByteFallback(), dec.Fuse()])
        return Pipeline(algo, _sequence(norm), None, decoder, False, sentencepiece=True)
    return Pipeline(algo, _sequence(unicode + lower), None, dec.Fuse(), True)  # char


# ---- counting ------------------------------------------------------------------------------------------

@dataclass
class ChunkCounts:
    """Distinct pre-tokenized chunks (already transformed, e.g. byte-level symbols) -> count."""

    counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    chars: int = 0
    bytes: int = 0
    blank: bool = True  # only whitespace so far
    min_count: int = 0  # chunks seen fewer times were left out (count_chunks' min_count)


_SP_CHUNK = regex.compile(f"{META}?[^{META}]+|{META}")  # cut before each "▁", as the Unigram model does


class _BlockCounter:
    """Counts the chunks of text blocks for one pipeline (pool workers inherit it by fork)."""

    def __init__(self, pipeline: Pipeline, specials: Sequence[str]) -> None:
        self.pipeline = pipeline
        self.added = AddedVocabulary(AddedToken(s, i) for i, s in enumerate(specials))
        self.norm = pipeline.normalizer.normalize_str if pipeline.normalizer is not None else None
        pt = pipeline.pre_tokenizer
        if pt is not None:
            self.split = pt.split
        elif pipeline.sentencepiece:
            self.split = lambda text, first=True: _SP_CHUNK.findall(text)
        elif pipeline.algo == "char":
            self.split = lambda text, first=True: list(text)
        else:
            self.split = lambda text, first=True: [text] if text else []
        self.fast = pt.fast_split() if pt is not None else self.split

    def lines(self, block: str) -> list[str]:
        parts = block.split("\n")
        last = parts.pop()
        if self.pipeline.keep_newlines:
            parts = [p + "\n" for p in parts]
        else:
            parts = [p[:-1] if p.endswith("\r") else p for p in parts]
        if last:
            parts.append(last)
        return parts

    def segments(self, line: str) -> Iterator[tuple[str, bool]]:
        """Ordinary text of a line (special tokens cut out), normalized, with its `first` flag."""
        pieces = self.added.split_raw(line) if self.added.has_raw else [(0, len(line), None)]
        for s, e, tok in pieces:
            if tok is None:
                seg = line[s:e]
                yield (self.norm(seg) if self.norm is not None else seg), s == 0

    def __call__(self, block: str) -> tuple[Counter, int, int, bool]:
        """(chunk counts, lines, chars, whether the block is blank)."""
        return self.count(block), len(self.lines(block)), len(block), not block.strip()

    def count(self, block: str) -> Counter:
        raw = self.added.raw_pattern
        if raw is None or not raw.search(block):  # no special token in the block: the fast paths
            if self.pipeline.whole_blocks:
                return Counter(self.fast(self.norm(block) if self.norm is not None else block))
            lines = self.lines(block)
            texts = map(self.norm, lines) if self.norm is not None else lines
            return Counter(chain.from_iterable(map(self.fast, texts)))
        split = self.split
        return Counter(chain.from_iterable(
            split(seg, first) for line in self.lines(block) for seg, first in self.segments(line)))


def _iter_blocks(source: str | os.PathLike[str] | Iterable[str]) -> Iterator[tuple[str, int]]:
    """(text block, bytes read) from files (validated UTF-8, via tokenizers_kit.corpus) or texts."""
    paths = as_paths(source)
    if paths is not None:
        for p in paths:
            for block in iter_text_blocks(p):
                yield block, len(block.encode("utf-8")) if p == "-" else _approx_bytes(block)
        return
    batch: list[str] = []
    size = 0
    for text in source:  # type: ignore[union-attr]
        if not isinstance(text, str):
            raise TkitError(f"training input must be file paths or strings, got {type(text).__name__}")
        batch.append(text if text.endswith("\n") else text + "\n")
        size += len(text)
        if size >= 1 << 20:
            yield "".join(batch), size
            batch, size = [], 0
    if batch:
        yield "".join(batch), size


def as_paths(source: Any) -> list[str] | None:
    """File paths if `source` names files (a path, or a list/tuple of paths that exist), None if it is texts
    (any other iterable of strings). A list mixing existing and missing files is an error."""
    if isinstance(source, (str, os.PathLike)):
        return [os.fspath(source)]
    if isinstance(source, (list, tuple)) and source and all(isinstance(p, (str, os.PathLike)) for p in source):
        names = [os.fspath(p) for p in source]
        exists = [n == "-" or os.path.exists(n) for n in names]
        if all(exists):
            return names
        if any(exists) or any(isinstance(p, os.PathLike) for p in source):
            missing = names[exists.index(False)]
            raise CorpusError(f"corpus file {missing!r} does not exist: check the path")
    return None


def _approx_bytes(block: str) -> int:
    return len(block) if block.isascii() else len(block.encode("utf-8"))


def count_chunks(source: str | os.PathLike[str] | Iterable[str], pipeline: Pipeline,
                 special_tokens: Sequence[str] = (), *, progress: ProgressFn | None = None,
                 processes: int | None = None, memory: str | int | None = None, temp_dir: str | None = None,
                 min_count: int = 0) -> ChunkCounts:
    """Count the distinct chunks the model will see. Files above PARALLEL_MIN_BYTES are counted by a pool of
    processes (`pool.auto_processes`, one block each at a time); the result does not depend on the split.

    `memory` (bytes, or a size such as "500M"): hold the partial counts within that budget, spilling sorted
    runs to `temp_dir` (`tokenizers_kit.chunk_runs`); the result is the same dict. `min_count`: leave out
    chunks seen fewer times (exact only where the trainer drops them too: `prunable_min_count`)."""
    budget = None if memory is None else parse_memory(memory)
    counter = _BlockCounter(pipeline, special_tokens)
    table: Counter | SpillingCounts = Counter() if budget is None else SpillingCounts(budget, temp_dir)
    result = ChunkCounts()
    blocks = _iter_blocks(source)
    if processes is None:
        processes = _auto_processes(source)
    sizes: deque[int] = deque()  # bytes of the blocks handed out and not yet counted (results come in order)

    def handed_out() -> Iterator[str]:
        for block, nbytes in blocks:
            sizes.append(nbytes)
            yield block

    try:
        for c, n_lines, n_chars, blank in ordered_map(counter, handed_out(), processes):
            if isinstance(table, Counter):
                table.update(c)
            else:
                table.add(c)
            result.blank = result.blank and blank
            result.lines += n_lines
            result.chars += n_chars
            result.bytes += sizes.popleft()
            if progress:
                progress("count", result.bytes, None)
        # The model sees transformed chunks (byte-level symbols).
        transform = pipeline.pre_tokenizer.transform if pipeline.pre_tokenizer is not None else None
        if isinstance(table, Counter):
            result.counts = _finish_counts(table.items(), transform, min_count)
        else:
            result.counts = table.result(transform, min_count)
    finally:
        if isinstance(table, SpillingCounts):
            table.close()
    result.min_count = min_count
    return result


def _finish_counts(items: Iterable[tuple[str, int]], transform: Callable[[str], str] | None,
                   min_count: int) -> dict[str, int]:
    if transform is None and min_count <= 1:
        return dict(items)
    return finish_counts(items, transform, min_count)


def prunable_min_count(algo: str, min_frequency: int) -> int:
    """The count below which chunks can be left out while counting without changing the tokenizer: the
    Unigram-based trainers ignore rarer words; BPE and WordPiece count every word's pairs and characters."""
    return min_frequency if algo in ("unigram", "sentencepiece") else 0


def _auto_processes(source: Any) -> int:
    paths = as_paths(source)
    if paths is None:
        return 1
    size = sum(os.path.getsize(p) for p in paths if p != "-" and os.path.isfile(p))
    return auto_processes(size, PARALLEL_MIN_BYTES, READ_BLOCK)  # one block per task


# ---- training ------------------------------------------------------------------------------------------

def resolve_specials(algo: str, special_tokens: Sequence[str] | None) -> list[str]:
    """The user's special tokens (or the algorithm's defaults), with the unknown token first if needed."""
    chosen = list(DEFAULT_SPECIALS[algo] if special_tokens is None else special_tokens)
    unk = UNK_TOKEN.get(algo)
    if unk is not None and unk not in chosen:
        chosen.insert(0, unk)
    out: list[str] = []
    for s in chosen:
        if not isinstance(s, str) or not s:
            raise TkitError(f"special token {s!r} must be a non-empty string")
        if s not in out:
            out.append(s)
    return out


def _alphabet(counts: dict[str, int], min_frequency: int = 0) -> list[str]:
    chars: dict[str, int] = {}
    for chunk, n in counts.items():
        for ch in chunk:
            chars[ch] = chars.get(ch, 0) + n
    return sorted(c for c, n in chars.items() if n >= min_frequency)


def _too_small(vocab_size: int, needed: int, what: str) -> TkitError:
    return TkitError(f"vocab size {vocab_size} is smaller than the {needed} tokens the alphabet needs ({what}): "
                     f"use --vocab-size {needed} or more")


def train_from_counts(counts: ChunkCounts, pipeline: Pipeline, *, vocab_size: int | None = None,
                      min_frequency: int = 0, special_tokens: Sequence[str] | None = None,
                      sp_model: str = "unigram", wordpiece_score: str = "likelihood",
                      progress: ProgressFn | None = None) -> Tokenizer:
    algo = pipeline.algo
    if not counts.counts and not counts.blank and counts.min_count > 1:
        raise TkitError(f"no word occurs {counts.min_count} times: lower --min-frequency")
    if not counts.counts or counts.blank:
        raise CorpusError("the corpus has no text to train on (it is empty or only whitespace): give a file with "
                          "some text in it")
    specials = resolve_specials(algo, special_tokens)
    if vocab_size is not None and (not isinstance(vocab_size, int) or vocab_size < 1):
        raise TkitError(f"--vocab-size must be a positive integer, got {vocab_size!r}")
    if min_frequency < 0:
        raise TkitError(f"--min-frequency must be 0 or more, got {min_frequency}")
    step = (lambda done, total: progress("train", done, total)) if progress else None
    size = vocab_size if vocab_size is not None else DEFAULT_VOCAB_SIZE
    model: Any
    if algo == "bpe":
        from tokenizers_kit.trainers.bpe import BPETrainer

        needed = len(specials) + 256
        if size < needed:
            raise _too_small(size, needed, f"{len(specials)} special + 256 byte symbols")
        model = BPETrainer(size, min_frequency=min_frequency, special_tokens=specials,
                           initial_alphabet=byte_alphabet(), progress=step).train(counts.counts)
    elif algo == "wordpiece":
        from tokenizers_kit.trainers.wordpiece import WordPieceTrainer

        model = WordPieceTrainer(size, min_frequency=min_frequency, special_tokens=specials,
                                 score=wordpiece_score, progress=step).train(counts.counts)
    elif algo == "char":
        model = _train_char(counts.counts, specials, vocab_size, min_frequency)
    else:
        model = _train_sentencepiece_like(counts, algo, specials, size, min_frequency, sp_model, step)
    added = [AddedToken(s, model.token_to_id(s), special=True) for s in specials if model.token_to_id(s) is not None]
    return Tokenizer(model, added_tokens=added, name=algo, **pipeline.stages())


def _train_char(counts: dict[str, int], specials: list[str], vocab_size: int | None, min_frequency: int) -> Any:
    from tokenizers_kit.models.bpe import BPEModel

    alphabet = [c for c in _alphabet(counts, min_frequency) if c not in specials]
    needed = len(specials) + len(alphabet)
    if vocab_size is not None and vocab_size < needed:
        raise _too_small(vocab_size, needed, f"{len(specials)} special + {len(alphabet)} characters")
    vocab = {tok: i for i, tok in enumerate([*specials, *alphabet])}
    return BPEModel(vocab, [], unk_token=UNK_TOKEN["char"])


def _train_sentencepiece_like(counts: ChunkCounts, algo: str, specials: list[str], size: int, min_frequency: int,
                              sp_model: str, step: Any) -> Any:
    chunk_counts = counts.counts
    if min_frequency > 1:
        chunk_counts = {c: n for c, n in chunk_counts.items() if n >= min_frequency}
        if not chunk_counts:
            raise TkitError(f"no word occurs {min_frequency} times: lower --min-frequency")
    byte_fallback = algo == "sentencepiece"
    alphabet = _alphabet(chunk_counts)
    if sp_model not in SP_MODELS:
        raise TkitError(f"unknown sentencepiece model {sp_model!r}: choose unigram or bpe")
    if algo == "sentencepiece" and sp_model == "bpe":
        from tokenizers_kit.models.bpe import byte_token
        from tokenizers_kit.trainers.bpe import BPETrainer

        byte_tokens = [byte_token(b) for b in range(256)]
        needed = len(specials) + 256 + len(alphabet)
        if size < needed:
            raise _too_small(size, needed, f"{len(specials)} special + 256 byte + {len(alphabet)} characters")
        # The byte pieces sit after the specials, as sentencepiece orders them; they are vocabulary entries,
        # not added tokens, so "<0x41>" in text is ordinary text.
        return BPETrainer(size, min_frequency=min_frequency, special_tokens=[*specials, *byte_tokens],
                          unk_token=UNK_TOKEN[algo], byte_fallback=True, progress=step).train(chunk_counts)
    from tokenizers_kit.models.unigram import byte_piece
    from tokenizers_kit.trainers.unigram import UnigramTrainer, spelling_chars

    if byte_fallback:  # the characters that spell specials and byte pieces are always pieces (see the trainer)
        reserved = [*specials, *(byte_piece(b) for b in range(256))]
        alphabet = sorted(set(alphabet).union(spelling_chars(reserved)) - set(reserved))
    needed = len(specials) + (256 if byte_fallback else 0) + len(alphabet)
    if size < needed:
        what = f"{len(specials)} special + " + ("256 byte + " if byte_fallback else "") + f"{len(alphabet)} characters"
        raise _too_small(size, needed, what)
    trainer = UnigramTrainer(size, special_tokens=specials, unk_token=UNK_TOKEN[algo], byte_fallback=byte_fallback,
                             progress=step)
    return trainer.train(chunk_counts)


def train_tokenizer(source: str | os.PathLike[str] | Iterable[str], algo: str = "bpe", *,
                    vocab_size: int | None = None, min_frequency: int = 0,
                    special_tokens: Sequence[str] | None = None, lowercase: bool = False, pattern: str = "gpt2",
                    normalization: str = "none", sp_model: str = "unigram", wordpiece_score: str = "likelihood",
                    progress: ProgressFn | None = None, processes: int | None = None,
                    memory: str | int | None = None, temp_dir: str | None = None) -> Tokenizer:
    """Train a tokenizer on files (paths) or an iterable of texts. See the module docstring for `algo`;
    `memory`/`temp_dir`: count within that budget (`count_chunks`), the same tokenizer."""
    pipeline = build_pipeline(algo, lowercase=lowercase, pattern=pattern, normalization=normalization)
    specials = resolve_specials(algo, special_tokens)
    counts = count_chunks(source, pipeline, specials, progress=progress, processes=processes, memory=memory,
                          temp_dir=temp_dir, min_count=prunable_min_count(algo, min_frequency))
    return train_from_counts(counts, pipeline, vocab_size=vocab_size, min_frequency=min_frequency,
                             special_tokens=specials, sp_model=sp_model, wordpiece_score=wordpiece_score,
                             progress=progress)
