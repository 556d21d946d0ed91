"""Opening a KenLM model file: a binary one is mapped (np.memmap) after every size its header implies is
checked against the file's length; an ARPA one is laid out as a PROBING image in memory, as KenLM does."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ngram.kenlm import binary_format as bf
from ngram.kenlm import probing, trie
from ngram.kenlm.arpa_source import read_arpa_source
from ngram.kenlm.probing_build import probing_image
from tokenizers_kit.errors import ModelFileError


@dataclass
class Opened:
    header: bf.Header
    buf: np.ndarray
    vocab: probing.ProbingVocab | trie.SortedVocab
    search: probing.ProbingSearch | trie.TrieSearch
    strings_offset: int  # where the vocabulary strings start (== len(buf) when there are none)


def open_model(path: str, name: str) -> Opened:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(bf.SANITY_LEN + 1)
    except OSError as err:
        raise ModelFileError(f"cannot read {name} ({err.strerror}): give a KenLM binary or ARPA file") from None
    if bf.is_binary(prefix):
        return open_buffer(np.memmap(path, dtype=np.uint8, mode="r"), size, name)
    image = probing_image(read_arpa_source(path), name)
    return open_buffer(np.frombuffer(image, dtype=np.uint8), len(image), name)


def open_buffer(buf: np.ndarray, size: int, name: str) -> Opened:
    header = bf.parse_header(buf, size, name)
    start = header.size
    if header.is_trie:
        need = trie.search_size(header, buf, start, size, name)
    else:
        need = probing.search_size(header)
    if start + need > size:
        raise ModelFileError(f"{name} is truncated or its header is corrupt: the header's counts need "
                             f"{start + need} bytes, the file has {size}; rebuild it")
    if header.is_trie:
        vocab = trie.SortedVocab(buf, start, header, name)
        search = trie.TrieSearch(buf, start + bf.trie_vocab_size(header.counts[0]), header, name)
    else:
        vocab = probing.ProbingVocab(buf, start, header, name)
        search = probing.ProbingSearch(buf, start + bf.probing_vocab_size(header.counts[0],
                                                                         header.probing_multiplier), header, name)
    _check_strings(buf, start + need, size, header, name)
    return Opened(header, buf, vocab, search, start + need)


def _check_strings(buf: np.ndarray, offset: int, size: int, header: bf.Header, name: str) -> None:
    """A file with vocabulary strings holds one NUL-terminated word per id, `<unk>` first."""
    if not header.has_vocabulary:
        return
    words = header.counts[0] if header.is_trie else int(np.ndarray((2,), "<u4", buf, _bound_at(header))[1])
    tail = buf[offset:size]
    if bytes(tail[:6]) != b"<unk>\0" or int(np.count_nonzero(tail == 0)) != words or int(tail[-1]) != 0:
        raise ModelFileError(f"{name}: the vocabulary strings at the end of the file are truncated or corrupt "
                             "(expected one per word): rebuild it")


def _bound_at(header: bf.Header) -> int:
    return header.size  # the probing vocabulary starts with its version and word count
