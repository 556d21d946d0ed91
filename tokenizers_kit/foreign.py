"""Foreign tokenizer formats: GPT-2 `vocab.json` + `merges.txt`, and tiktoken `base64 rank` files.

Both become the parts of a byte-level BPE Tokenizer (a BPE model, ByteLevel pre-tokenizer and decoder):
`Tokenizer.from_file` / `from_gpt2` / `from_tiktoken` build it, so this module needs no Tokenizer. A tiktoken
file has ranks, not merges: the merges are recovered by replaying BPE on each token's bytes with only lower
ranks allowed (the two parts that remain are the merge; minbpe's `recover_merges`), so merge order == rank
order and HF-style BPE reproduces tiktoken's encoding.
"""
from __future__ import annotations

import base64
import binascii
import heapq
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regex

from tokenizers_kit.added_tokens import AddedToken
from tokenizers_kit.atomic import atomic_open
from tokenizers_kit.bytes_map import bytes_to_symbols, symbols_to_bytes
from tokenizers_kit.decoders import ByteLevel as ByteLevelDecoder
from tokenizers_kit.errors import ModelFileError, TkitError
from tokenizers_kit.json_fields import parse_json
from tokenizers_kit.models.base import check_ids
from tokenizers_kit.models.bpe import BPEModel
from tokenizers_kit.patterns import KNOWN_LINEAR
from tokenizers_kit.pre_tokenizers import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    ByteLevel,
    Sequence,
    Split,
)

if TYPE_CHECKING:  # annotations only: the Tokenizer is built above this module
    from tokenizers_kit.tokenizer import Tokenizer

# tiktoken's o200k_base pattern (tiktoken_ext/openai_public.py), for files named o200k*.
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+""",
])
KNOWN_LINEAR.add(O200K_PATTERN)  # runs without a time limit (tokenizers_kit.patterns)
_TIKTOKEN_LINE = regex.compile(r"^[A-Za-z0-9+/=]+ \d+$")


def _byte_level_pipeline(pattern: str) -> dict[str, Any]:
    if pattern == GPT2_PATTERN:
        pre = ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre = Sequence([Split({"Regex": pattern}, "Isolated"), ByteLevel(add_prefix_space=False, use_regex=False)])
    return {"pre_tokenizer": pre, "decoder": ByteLevelDecoder(add_prefix_space=False)}


def _bpe(vocab: dict[str, int], merges: list[tuple[str, str]], source: str) -> BPEModel:
    try:
        return BPEModel(vocab, merges)
    except TkitError as err:
        raise ModelFileError(f"{source}: {err}") from None


# ---- GPT-2 vocab.json + merges.txt ---------------------------------------------------------------------

def looks_like_gpt2_vocab(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in data.items())


def read_text_file(path: Path, what: str) -> str:
    """A text file of a tokenizer as str: UTF-8 with or without a BOM, or a one-line ModelFileError."""
    if not path.exists():
        raise ModelFileError(f"{path} does not exist: {what}")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{path}: invalid UTF-8 at byte offset {err.start}: not a tokenizer text file") from None
    except OSError as err:
        raise ModelFileError(f"{path}: cannot be read ({err.strerror})") from None


def file_lines(text: str) -> list[str]:
    """Lines split at "\n" only (a CRLF line loses its "\r"): str.splitlines would also split at \x85,
    \u2028 and other characters a token may hold."""
    lines = text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_merges_txt(path: Path) -> list[tuple[str, str]]:
    text = read_text_file(path, "a GPT-2 vocab.json needs its merges.txt in the same directory")
    lines = file_lines(text)
    while lines and not lines[-1]:
        lines.pop()  # trailing newlines
    merges = []
    for n, line in enumerate(lines, 1):
        if n == 1 and line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ModelFileError(f"{path}:{n}: a merge line is two tokens separated by one space, not "
                                 f"{line[:60]!r}: the file is corrupt")
        merges.append((parts[0], parts[1]))
    return merges


def gpt2_parts(vocab_path: str | os.PathLike[str], merges_path: str | os.PathLike[str] | None = None,
               vocab: dict[str, int] | None = None) -> dict[str, Any]:
    """The Tokenizer keywords for GPT-2 style files: vocab.json {token: id} and merges.txt (`#version` header,
    then "a b" lines). Vocabulary entries spelled `<|...|>` become special tokens (GPT-2's `<|endoftext|>`)."""
    vpath = Path(vocab_path)
    if vocab is None:
        vocab = parse_json(read_text_file(vpath, "give the GPT-2 vocab.json"), str(vpath))
        if not looks_like_gpt2_vocab(vocab):
            raise ModelFileError(f"{vpath}: a GPT-2 vocab.json maps tokens to integer ids")
    check_ids(vocab, f"{vpath}")
    mpath = Path(merges_path) if merges_path is not None else vpath.with_name(
        vpath.name.replace("vocab.json", "merges.txt") if "vocab.json" in vpath.name else "merges.txt")
    if not mpath.exists() and merges_path is None:
        mpath = vpath.with_name("merges.txt")
    merges = read_merges_txt(mpath)
    model = _bpe(vocab, merges, str(vpath))
    specials = [AddedToken(t, i, special=True) for t, i in sorted(vocab.items(), key=lambda kv: kv[1])
                if t.startswith("<|") and t.endswith("|>") and len(t) > 4]
    return {"model": model, "added_tokens": specials, "name": "bpe", **_byte_level_pipeline(GPT2_PATTERN)}


def save_gpt2(tokenizer: Tokenizer, vocab_path: str | os.PathLike[str],
              merges_path: str | os.PathLike[str]) -> None:
    """Write a byte-level BPE tokenizer as GPT-2 vocab.json + merges.txt."""
    data = tokenizer.model.to_dict()
    if data.get("type") != "BPE":
        raise TkitError("only a BPE tokenizer can be saved as GPT-2 vocab.json + merges.txt")
    vocab = tokenizer.get_vocab()
    with atomic_open(vocab_path, "w") as f:
        json.dump(dict(sorted(vocab.items(), key=lambda kv: kv[1])), f, ensure_ascii=False)
    with atomic_open(merges_path, "w") as f:
        f.write("#version: 0.2\n")
        for a, b in data["merges"]:
            if " " in a or " " in b:
                raise TkitError(f"merge ({a!r}, {b!r}) contains a space: merges.txt cannot hold it")
            f.write(f"{a} {b}\n")


# ---- tiktoken base64 ranks -----------------------------------------------------------------------------

def looks_like_tiktoken(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0].strip()
    return bool(_TIKTOKEN_LINE.match(first))


def read_tiktoken_ranks(path: Path, text: str | None = None) -> dict[bytes, int]:
    """`base64-token rank` lines (blank lines skipped, as tiktoken does); every malformed line, over-long token,
    repeated token or bad rank is a ModelFileError naming the line."""
    if text is None:
        text = read_text_file(path, "give a tiktoken rank file")
    longest = 4 * -(-MAX_TOKEN_BYTES // 3)  # base64 length of the longest token allowed
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(file_lines(text), 1):
        if not line.strip():
            continue
        parts = line.split() if line.isascii() else []  # str.split() would also split at U+0085 and the like
        if len(parts) != 2 or not parts[1].isdigit():
            raise ModelFileError(f"{path}:{n}: a tiktoken line is `base64-token rank`, not {line[:60]!r}: "
                                 "the file is corrupt")
        if len(parts[1]) > 20:  # checked before int(), which refuses thousands of digits with a ValueError
            raise ModelFileError(f"{path}:{n}: rank {parts[1][:20]}... is enormous: the file is corrupt")
        if len(parts[0]) > longest:
            raise ModelFileError(f"{path}:{n}: a token of about {len(parts[0]) * 3 // 4:,} bytes (at most "
                                 f"{MAX_TOKEN_BYTES:,}): the file is corrupt or hostile")
        try:
            token = base64.b64decode(parts[0], validate=True)
        except (ValueError, binascii.Error):
            raise ModelFileError(f"{path}:{n}: {parts[0][:60]!r} is not base64: the file is corrupt") from None
        if token in ranks:
            raise ModelFileError(f"{path}:{n}: token {token[:60]!r} is listed twice: the file is corrupt")
        ranks[token] = int(parts[1])
    if not ranks:
        raise ModelFileError(f"{path}: the tiktoken file has no ranks")
    check_ids(ranks, str(path))
    return ranks


MAX_TOKEN_BYTES = 1 << 14  # far above any real rank file's longest token; bounds the work per token
_SCAN_BYTES = 32  # tokens up to this long replay by a list scan (C-level min/index); longer ones by a heap


def recover_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merge that creates each multi-byte token, in rank order: BPE replayed on the token's bytes with only
    lower ranks allowed, until two parts remain (tests/tokenizers_kit/reference_recover.py is the plain twin).

    Why the replay may use only the merges recovered so far (pairs of ids) instead of looking up every
    concatenation of two parts: whenever the replay joins parts a and b into a lower-ranked token X, the merges
    inside X's span were X's own replay, so (a, b) is X's recovered merge. Ids instead of growing byte strings
    and a heap for long tokens make each token cost O(n log n) in its length, not O(n^2) or worse."""
    longest = max(map(len, ranks), default=0)
    if longest > MAX_TOKEN_BYTES:
        raise ModelFileError(f"a tiktoken token is {longest:,} bytes long (at most {MAX_TOKEN_BYTES:,}): "
                             "the file is corrupt or hostile")
    k = max(ranks.values(), default=0) + 257  # ids: the ranks, then one spare id per byte missing from `ranks`
    byte_id = [ranks.get(bytes([b]), k - 256 + b) for b in range(256)]
    token_of = {r: t for t, r in ranks.items()} | {k - 256 + b: bytes([b]) for b in range(256)}
    pairs: dict[int, int] = {}  # a * k + b -> the rank (= id) of the token that merge (a, b) makes
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        ids = list(map(byte_id.__getitem__, token))
        parts = _replay_scan(ids, pairs, k) if len(ids) <= _SCAN_BYTES else _replay_heap(ids, pairs, k)
        if len(parts) != 2:
            raise ModelFileError(f"tiktoken token {token[:60]!r} (rank {rank}) cannot be built from lower-ranked "
                                 "tokens: the file is not a BPE rank file")
        pairs[parts[0] * k + parts[1]] = rank
        merges.append((token_of[parts[0]], token_of[parts[1]]))
    return merges


def _replay_scan(ids: list[int], pairs: dict[int, int], k: int) -> list[int]:
    """BPE on a short id list down to two parts: merge the lowest-ranked pair (leftmost on ties), in place;
    after a merge only the two pairs beside it are looked up again."""
    none = len(pairs) * k + k  # above every rank: "no merge here"
    cands = [pairs.get(a * k + b, none) for a, b in zip(ids, ids[1:])]
    while len(ids) > 2:
        best = min(cands)
        if best == none:
            break
        i = cands.index(best)
        ids[i:i + 2] = [best]
        del cands[i]
        if i > 0:
            cands[i - 1] = pairs.get(ids[i - 1] * k + best, none)
        if i < len(cands):
            cands[i] = pairs.get(best * k + ids[i + 1], none)
    return ids


def _replay_heap(ids: list[int], pairs: dict[int, int], k: int) -> list[int]:
    """`_replay_scan` for long id lists: a linked list of parts and a heap of (rank, position), entries checked
    when popped (a merged-away part has id -1)."""
    n = len(ids)
    nxt, prv = list(range(1, n + 1)), list(range(-1, n - 1))
    nxt[-1] = -1
    heap = [(pairs[key], i) for i in range(n - 1) if (key := ids[i] * k + ids[i + 1]) in pairs]
    heapq.heapify(heap)
    left = n
    while heap and left > 2:
        rank, i = heapq.heappop(heap)
        j = nxt[i]
        if ids[i] < 0 or j < 0 or pairs.get(ids[i] * k + ids[j]) != rank:
            continue  # stale: a part of this pair was merged since
        ids[i], ids[j] = rank, -1
        nxt[i] = nxt[j]
        if nxt[i] >= 0:
            prv[nxt[i]] = i
        left -= 1
        for a, b in ((prv[i], i), (i, nxt[i])):
            if a >= 0 and b >= 0 and (r := pairs.get(ids[a] * k + ids[b])) is not None:
                heapq.heappush(heap, (r, a))
    return [t for t in ids if t >= 0]


def _guess_pattern(path: Path) -> str:
    name = path.name.lower()
    if "o200k" in name:
        return O200K_PATTERN
    if "cl100k" in name:
        return GPT4_PATTERN
    return GPT2_PATTERN


def tiktoken_parts(path: str | os.PathLike[str], text: str | None = None, pattern: str | None = None) -> dict[str, Any]:
    """The Tokenizer keywords for a tiktoken `.tiktoken` rank file, as a byte-level BPE tokenizer. The split
    pattern is not stored in the file: cl100k/o200k names get theirs, anything else the GPT-2 pattern (or pass
    `pattern`)."""
    p = Path(path)
    ranks = read_tiktoken_ranks(p, text)
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise ModelFileError(f"{p}: byte 0x{missing[0]:02x} has no rank ({len(missing)} single bytes missing): "
                             "a byte-level rank file must hold all 256 bytes")
    vocab = {bytes_to_symbols(tok): rank for tok, rank in ranks.items()}
    merges = [(bytes_to_symbols(a), bytes_to_symbols(b)) for a, b in recover_merges(ranks)]
    model = _bpe(vocab, merges, str(p))
    return {"model": model, "name": "bpe", **_byte_level_pipeline(pattern or _guess_pattern(p))}


def tiktoken_ranks(tokenizer: Tokenizer) -> dict[bytes, int]:
    """The mergeable ranks of a byte-level BPE tokenizer (token bytes -> id), as tiktoken wants them.
    Valid when ids follow merge order, which holds for tokenizers tkit trains (bytes first, then merges)."""
    data = tokenizer.model.to_dict()
    if data.get("type") != "BPE":
        raise TkitError("only a byte-level BPE tokenizer has tiktoken ranks")
    specials = {t.content for t in tokenizer.added.tokens}
    return {symbols_to_bytes(tok): idx for tok, idx in data["vocab"].items() if tok not in specials}


def save_tiktoken(tokenizer: Tokenizer, path: str | os.PathLike[str]) -> None:
    """Write `base64(token bytes) rank` lines (special tokens are not part of the format)."""
    ranks = tiktoken_ranks(tokenizer)
    with atomic_open(path, "w") as f:
        for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(tok).decode('ascii')} {rank}\n")
