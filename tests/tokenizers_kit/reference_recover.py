"""The plain twin of `tokenizers_kit.foreign.recover_merges` (minbpe's `recover_merges`): replay BPE on each
token's bytes, looking up every concatenation of two adjacent parts among the lower ranks. Quadratic or worse in
a token's length; the fast version is tested equal to it."""
from __future__ import annotations

from tokenizers_kit.errors import ModelFileError


def recover_merges_reference(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = [token[i:i + 1] for i in range(len(token))]
        while len(parts) > 2:  # BPE restricted to ranks below this token's rank
            best, best_rank = -1, rank
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < best_rank:
                    best, best_rank = i, r
            if best < 0:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        if len(parts) != 2:
            raise ModelFileError(f"tiktoken token {token[:60]!r} (rank {rank}) cannot be built from lower-ranked "
                                 "tokens: the file is not a BPE rank file")
        merges.append((parts[0], parts[1]))
    return merges
