"""KenLM's binary file layout (format version 5): the header, and the byte size of every section as the
counts in the header determine it, so a reader can check them all against the file's length before it maps
a single table, and a writer lays out exactly what KenLM expects.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from tokenizers_kit.errors import ModelFileError

MAGIC = b"mmap lm http://kheafield.com/code format version 5\n\0\0\0\0\0"
INCOMPLETE = b"mmap lm http://kheafield.com/code incomplete\n"
VERSION_PREFIX = b"mmap lm http://kheafield.com/code format version "
# float 0, 1, -0.5; uint32 1, 0xFFFFFFFF, padding; uint64 1: KenLM's test of the machine's byte order and sizes
SANITY = MAGIC + struct.pack("<fffIIIQ", 0.0, 1.0, -0.5, 1, 0xFFFFFFFF, 0, 1)
SANITY_LEN = len(SANITY)  # 88
PROBING, REST_PROBING, TRIE, QUANT_TRIE, ARRAY_TRIE, QUANT_ARRAY_TRIE = range(6)
TYPE_NAMES = {"probing": PROBING, "rest_probing": REST_PROBING, "trie": TRIE, "quant_trie": QUANT_TRIE,
              "array_trie": ARRAY_TRIE, "quant_array_trie": QUANT_ARRAY_TRIE}
MAX_ORDER = 255  # the header stores the order in one byte


@dataclass(frozen=True)
class Header:
    order: int
    probing_multiplier: float
    model_type: int
    has_vocabulary: bool
    counts: tuple[int, ...]

    @property
    def size(self) -> int:
        return header_size(self.order)

    @property
    def is_trie(self) -> bool:
        return self.model_type >= TRIE

    @property
    def quantized(self) -> bool:
        return self.model_type in (QUANT_TRIE, QUANT_ARRAY_TRIE)

    @property
    def bhiksha(self) -> bool:
        return self.model_type in (ARRAY_TRIE, QUANT_ARRAY_TRIE)


def header_size(order: int) -> int:
    return (108 + 8 * order + 7) // 8 * 8


def is_binary(prefix: bytes) -> bool:
    """Whether a file starting with `prefix` is a KenLM binary (else KenLM reads it as ARPA); a file that only
    looks like one is refused with the reason."""
    if len(prefix) > SANITY_LEN and prefix[:SANITY_LEN] == SANITY:
        return True
    if prefix.startswith(INCOMPLETE):
        raise ModelFileError("this KenLM binary file did not finish building: build it again")
    if prefix.startswith(VERSION_PREFIX):
        if prefix[:len(MAGIC)] != MAGIC:
            version = prefix[len(VERSION_PREFIX):].split(b"\n")[0][:20].decode("ascii", "replace")
            raise ModelFileError(f"KenLM binary format version {version} is not supported (only 5): rebuild the "
                                 "file with build_binary or `tkit build-binary` from its ARPA")
        raise ModelFileError("a KenLM binary file whose test values do not match: it was built on a machine "
                             "with another byte order or word size, or it is corrupt; rebuild it from the ARPA")
    return False


def pack_header(h: Header) -> bytes:
    search_version = 1 if h.is_trie else 0
    body = SANITY + struct.pack("<B3xfiB3xI", h.order, h.probing_multiplier, h.model_type, h.has_vocabulary,
                                search_version)
    body += struct.pack(f"<{h.order}Q", *h.counts)
    return body.ljust(header_size(h.order), b"\0")


def parse_header(data: bytes | memoryview, file_size: int, name: str) -> Header:
    """The header of a file already recognised by `is_binary`; every field checked."""
    if file_size < 108:
        raise ModelFileError(f"{name} is a truncated KenLM binary file ({file_size} bytes): rebuild it")
    order, multiplier, model_type, has_vocab, search_version = struct.unpack_from("<B3xfiB3xI", data, SANITY_LEN)
    if order < 2:
        raise ModelFileError(f"{name}: the KenLM binary header says order {order}, but KenLM models have order "
                             "2 or more: the file is corrupt")
    if file_size < header_size(order):
        raise ModelFileError(f"{name} is a truncated KenLM binary file (its header alone needs "
                             f"{header_size(order)} bytes, it has {file_size}): rebuild it")
    if not (0 <= model_type <= 5):
        raise ModelFileError(f"{name}: unknown KenLM model type {model_type} in the header: the file is corrupt")
    if search_version != (1 if model_type >= TRIE else 0):
        raise ModelFileError(f"{name}: the KenLM search version {search_version} does not match model type "
                             f"{model_type}: the file is corrupt")
    if not (np.isfinite(multiplier) and multiplier > 1.0):
        raise ModelFileError(f"{name}: probing multiplier {multiplier} in the header must be above 1: "
                             "the file is corrupt")
    counts = struct.unpack_from(f"<{order}Q", data, 108)
    return Header(order, float(np.float32(multiplier)), model_type, bool(has_vocab), tuple(counts))


def buckets(count: int, multiplier: float) -> int:
    """KenLM's probing table size for `count` entries: the float32 product, truncated, and at least one spare."""
    product = np.float32(multiplier) * np.float32(count)
    return max(count + 1, int(product)) if np.isfinite(product) else count + 1 if count < 2 ** 62 else 2 ** 63


# ---- section sizes ---------------------------------------------------------------------------------------------
PROBING_VOCAB_ENTRY = 12
UNIGRAM_SIZE = {PROBING: 8, REST_PROBING: 12}
MIDDLE_SIZE = {PROBING: 16, REST_PROBING: 20}
LONGEST_SIZE = 12


def probing_vocab_size(c0: int, multiplier: float) -> int:
    return 8 + PROBING_VOCAB_ENTRY * buckets(c0, multiplier)


def trie_vocab_size(c0: int) -> int:
    return 8 + 8 * c0


def required_bits(n: int) -> int:
    """KenLM's RequiredBits: the bits to store values up to n (of n itself, not n - 1)."""
    return max(int(n).bit_length(), 0)


def bitpacked_size(entries: int, bits: int) -> int:
    """An array of entries + 1 records (the last holds only a `next` pointer), with 8 bytes for 64-bit reads."""
    return ((entries + 1) * bits + 7) // 8 + 8


def quant_size(order: int, prob_bits: int, backoff_bits: int) -> int:
    return 8 + 4 * ((order - 2) * ((1 << prob_bits) + (1 << backoff_bits)) + (1 << prob_bits))


def bhiksha_chop(entries: int, max_next: int, max_bits: int) -> int:
    """The high bits of the next pointers kept in an offset table: the count minimising the total size."""
    total = required_bits(max_next)
    best, best_cost = 0, None
    for chop in range(min(total, max_bits) + 1):
        cost = (max_next >> (total - chop)) * 64 - (entries + 1) * chop
        if best_cost is None or cost < best_cost:
            best, best_cost = chop, cost
    return best


def bhiksha_table_len(max_next: int, inline_bits: int) -> int:
    return (max_next >> inline_bits) + 1


def bhiksha_size(table_len: int) -> int:
    return 8 * (1 + table_len) + 7
