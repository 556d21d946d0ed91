"""The one loop the brute-force BPE and WordPiece references in the tests share."""
from __future__ import annotations


def merge_everywhere(segs: list[tuple[list[int], int]], a: int, b: int, new: int) -> None:
    """Replace each adjacent (a, b) in every segment by `new`, left to right, in place."""
    for seg, _ in segs:
        i = 0
        while i < len(seg) - 1:
            if seg[i] == a and seg[i + 1] == b:
                seg[i : i + 2] = [new]
            i += 1
