"""The lattices of every distinct segment at once: forward-backward and Viterbi, vectorised over segments.

A lattice node is a piece occurrence [start, end) inside a segment. Positions are global indices into the
packed text (`unigram_seeds.PackedSegments`): segment s owns boundary positions begin[s] .. begin[s]+len[s].
The recursions run along the local position t = 1, 2, ... and handle all segments together: the nodes ending
at local position t (in any segment) are one slice of the node array, sorted by (t, end, longest first).
Within a step, the nodes of each end position (a group, at most max_len of them) are laid out as the columns
of a padded (width x groups) matrix, padding pointing at a sentinel node of score -inf, so the per-group
log-sum-exp and max are reductions over axis 0: `width` element-wise operations on contiguous rows. Groups
of different sizes (1, 2, 3-4, 5-8, 9+) go to separate blocks, so little of each matrix is padding. So: a
Python loop over (longest segment) steps x 5 blocks, each a handful of NumPy calls on thousands of nodes.

    forward    alpha[e] = logsumexp over nodes (s, e) of alpha[s] + score             alpha[begin] = 0
    backward   q[s] = sum over nodes (s, e) of r(s, e) * q[e],                           q[end] = 1
               with r(s, e) = exp(alpha[s] + score - alpha[e])  (the share of node (s, e) in alpha[e])

q[p] is the posterior probability that a piece boundary falls at p, and r(s, e) * q[e] the posterior of
node (s, e): its expected count, times the segment count. Everything stays in [0, 1], so the backward pass
needs no logarithms, and it runs over the same steps in reverse: the nodes ending at one step have distinct
starts, so `q[start] += r * q[end]` is a plain vectorised update.

The E-step works in float32 (as sentencepiece works in float) unless a segment is long enough for rounding to
matter; Viterbi in float64.
"""
from __future__ import annotations

import numpy as np

from tokenizers_kit.unigram_seeds import PieceTable

FLOAT32_MAX_LENGTH = 256  # longer segments run the E-step in float64
GROUP_CLASSES = np.array([1, 2, 4, 8])  # groups of sizes 1, 2, 3-4, 5-8, 9+ get separate padded blocks


def index_dtype(n: int) -> type:
    """The narrowest of int32 / int64 that holds indexes up to `n`: node arrays are most of the memory."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def estep_dtype(max_length: int) -> type:
    """float32 halves the memory traffic and speeds up exp, but alpha's rounding error grows with its magnitude
    (~ segment length), and the backward pass compounds it along the segment: long segments stay in float64."""
    return np.float32 if max_length <= FLOAT32_MAX_LENGTH else np.float64


class _Nodes:
    """Lattice nodes in forward order, with step, group and padded-block indexes."""

    def __init__(self, start: np.ndarray, ln: np.ndarray, piece: np.ndarray, local: np.ndarray,
                 max_t: int, sentinel_pos: int) -> None:
        # Sorted by (local t of end, end), longest node first within a group. The end is not kept: start and
        # a one-byte length are a quarter less memory, and a pass computes the ends once.
        self.start = start
        self.ln = ln
        self.piece = piece
        self.local = local
        self.max_t = max_t
        self.sentinel_pos = sentinel_pos  # a position whose alpha is always -inf
        self._index()

    def __len__(self) -> int:
        return len(self.piece)

    @property
    def end(self) -> np.ndarray:
        return self.start + self.ln

    def _index(self) -> None:
        end = self.end
        n = len(end)
        new = np.ones(n, dtype=bool)
        new[1:] = end[1:] != end[:-1]
        gstart = np.flatnonzero(new)  # first node of each group (nodes sharing an end)
        gsize = np.diff(np.append(gstart, n))
        gstep = self.local[end[gstart]]
        self.off = np.append(gstart, n)[np.searchsorted(gstep, np.arange(self.max_t + 2))]  # nodes of step t
        # Padded blocks: the groups of one step and one size class form a (width, groups) block, width = the
        # block's largest group; node j of the block's group k sits at row j, column k. Padding points at
        # node n, the sentinel (score -inf).
        order = np.lexsort((np.searchsorted(GROUP_CLASSES, gsize), gstep))  # groups by (step, class)
        key = gstep[order] * (len(GROUP_CLASSES) + 1) + np.searchsorted(GROUP_CLASSES, gsize[order])
        heads = np.flatnonzero(np.append(True, key[1:] != key[:-1]))  # first group of each block
        n_cols = np.diff(np.append(heads, len(order)))
        width = np.maximum.reduceat(gsize[order], heads) if len(heads) else np.zeros(0, dtype=np.int64)
        pad_off = np.concatenate([[0], np.cumsum(n_cols * width)])
        block = np.repeat(np.arange(len(heads)), n_cols)  # block of each (sorted) group
        col = pad_off[block] + np.arange(len(order)) - heads[block]  # row-0 slot of each sorted group
        row_len = n_cols[block]
        size = gsize[order]
        first = gstart[order]
        # node first[g] + j goes to col[g] + j * row_len[g]
        rank = np.arange(n) - np.repeat(np.cumsum(size) - size, size)  # j of each node, in sorted-group order
        pad = np.full(int(pad_off[-1]), n, dtype=index_dtype(n))
        pad[np.repeat(col, size) + rank * np.repeat(row_len, size)] = np.repeat(first, size) + rank
        self.pad = pad
        self.block_gend = end[first]  # the position each (sorted) group writes
        # blocks as (t, first group, last group + 1, first pad slot, last pad slot + 1, width), in step order
        self.blocks = list(zip(gstep[order[heads]].tolist(), heads.tolist(),
                               (heads + n_cols).tolist(), pad_off[:-1].tolist(), pad_off[1:].tolist(),
                               width.tolist()))

    def filter(self, keep_piece: np.ndarray, slack: float) -> None:
        """Drop the nodes of dead pieces, unless they are fewer than `slack` of all nodes."""
        m = keep_piece[self.piece]
        if len(m) - np.count_nonzero(m) <= slack * len(m):
            return
        self.ln = self.ln[m]
        self.start = self.start[m]
        self.piece = self.piece[m]
        self._index()

    def steps(self, ts: range):
        """Node slices [a, b) of the steps t in `ts` (the nodes ending at local position t)."""
        off = self.off
        for t in ts:
            a, b = off[t], off[t + 1]
            if a < b:
                yield a, b

    def pad_start(self) -> np.ndarray:
        """The start position of every padded slot (the sentinel's for padding): rebuilt per pass, not kept."""
        return np.append(self.start, self.start.dtype.type(self.sentinel_pos))[self.pad]


class CorpusLattice:
    """All lattice nodes of a set of segments, for a fixed universe of piece ids (some of them alive)."""

    def __init__(self, begin: np.ndarray, length: np.ndarray, count: np.ndarray, table: PieceTable | np.ndarray) -> None:
        """`table[p, L-1]`: piece id of the length-L node starting at position p, or -1 (a `PieceTable` or
        a dense matrix)."""
        table = PieceTable.of(table)
        n_pos, max_len = table.shape
        idx = index_dtype(n_pos + 1)
        self.begin = begin
        self.end = begin + length
        self.count = count
        self.n_pos = n_pos
        seg_of = np.repeat(np.arange(len(begin), dtype=idx), length + 1)
        self.seg_of = seg_of
        local = np.append(np.arange(n_pos, dtype=idx) - begin[seg_of].astype(idx), -1).astype(idx)  # sentinel: t = -1
        self.max_t = int(length.max()) if len(length) else 0
        small = local[:n_pos].astype(np.int32 if self.max_t >= 1 << 15 else np.int16)
        by_local = np.argsort(small, kind="stable")  # positions sorted by (local t, position): a radix sort
        rank = np.empty(n_pos, dtype=np.int64)
        rank[by_local] = np.arange(n_pos)
        start, ln, piece = table.entries()
        end = start + ln
        # Forward order: by (local t of the end, end), and within a group the longest node first, so the first
        # maximum is the node starting earliest (the one HF's Viterbi keeps).
        order = np.argsort(rank[end] * max_len + (max_len - ln))
        del end  # the node arrays are kept in the narrowest dtypes that hold them
        self.nodes = _Nodes(start[order].astype(idx), ln[order].astype(np.uint8 if max_len < 256 else np.int32),
                            piece[order], local, self.max_t, n_pos)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def keep(self, alive: np.ndarray, slack: float = 0.0) -> None:
        """Drop the nodes of pieces that are no longer alive. With `slack`, only once they are more than that
        fraction of the nodes: re-indexing costs more than carrying a few dead nodes, which callers must
        then score -inf."""
        self.nodes.filter(alive, slack)

    def _forward(self, sc: np.ndarray, dtype) -> np.ndarray:
        """alpha (log inside probabilities) at every position; `sc` is the score of every node."""
        nd = self.nodes
        alpha = np.full(self.n_pos + 1, -np.inf, dtype=dtype)
        alpha[self.begin] = 0.0
        pad_sc = np.append(sc, -np.inf).astype(dtype)[nd.pad]
        gend, pad_start = nd.block_gend, nd.pad_start()
        for _, g0, g1, p0, p1, w in nd.blocks:
            v = alpha[pad_start[p0:p1]] + pad_sc[p0:p1]
            if w == 1:  # one node per group: nothing to sum
                alpha[gend[g0:g1]] = v
                continue
            v = v.reshape(w, -1)
            m = v.max(axis=0)
            v -= m
            np.exp(v, out=v)
            alpha[gend[g0:g1]] = m + np.log(_column_sums(v))
        return alpha

    def posteriors(self, score: np.ndarray, dtype: type | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior probability of every node (in `self.nodes` order) and log Z of every segment. `dtype`:
        the E-step's float type (default: `estep_dtype` of the longest segment here)."""
        nd = self.nodes
        dtype = estep_dtype(self.max_t) if dtype is None else dtype
        sc = score[nd.piece].astype(dtype)
        alpha = self._forward(sc, dtype)
        end = nd.end
        share = alpha[nd.start] + sc - alpha[end]  # log r(s, e)
        np.exp(share, out=share)
        q = np.zeros(self.n_pos, dtype=dtype)
        q[self.end] = 1.0
        post = np.empty_like(share)
        for a, b in nd.steps(range(self.max_t, 0, -1)):
            c = share[a:b] * q[end[a:b]]
            q[nd.start[a:b]] += c  # distinct starts within a step
            post[a:b] = c
        return post, alpha[self.end].astype(np.float64)

    def expected_counts(self, score: np.ndarray, dtype: type | None = None) -> tuple[np.ndarray, float]:
        """E-step: expected count of every piece (weighted by segment counts), and the mean -log likelihood
        per segment occurrence. Dead pieces must score -inf."""
        expected, log_lik = self.expected_sums(score, dtype)
        return expected, -log_lik / float(self.count.sum())

    def expected_sums(self, score: np.ndarray, dtype: type | None = None) -> tuple[np.ndarray, float]:
        """Expected count of every piece and the total log likelihood (both weighted by segment counts)."""
        post, log_z = self.posteriors(score, dtype)
        weights = post * self.count[self.seg_of[self.nodes.end]]
        del post
        expected = np.bincount(self.nodes.piece, weights=weights, minlength=len(score))
        return expected, float(np.dot(log_z, self.count))

    def viterbi_counts(self, score: np.ndarray) -> np.ndarray:
        """How often each piece is used in the Viterbi segmentations of all segments (weighted by count)."""
        nd = self.nodes
        pad_sc = np.append(score[nd.piece], -np.inf)[nd.pad]
        best = np.full(self.n_pos + 1, -np.inf)
        best[self.begin] = 0.0
        back = np.zeros(self.n_pos, dtype=nd.pad.dtype)  # the best node ending at each position
        gend, pad_start, pad = nd.block_gend, nd.pad_start(), nd.pad
        for _, g0, g1, p0, p1, w in nd.blocks:
            v = (best[pad_start[p0:p1]] + pad_sc[p0:p1]).reshape(w, -1)
            k = v.argmax(axis=0)  # the first maximum: the longest best node
            cols = np.arange(v.shape[1])
            pos = gend[g0:g1]
            best[pos] = v[k, cols]
            back[pos] = pad[p0 + k * v.shape[1] + cols]
        pieces, segs = _backtrack(back, nd.start, nd.piece, self.end, self.begin)
        return np.bincount(pieces, weights=self.count[segs], minlength=len(score))


class BlockedLattice:
    """The lattice of every segment, built and run in blocks of segments of about `block_nodes` nodes each.

    A segment's lattice never touches another's, so the E-step and the Viterbi pass run block by block and
    add up; only one block's working arrays (scores, alpha, posteriors, weights, and while building, the sort
    keys) are alive at a time. The blocks' node arrays stay (narrow dtypes), so nothing is rebuilt per
    iteration. Segments go to blocks by length: a block of short segments runs few steps.

    Every node's posterior is the one the whole-corpus lattice gives (same operations on the same values,
    the E-step's float type chosen from the longest segment of the corpus, not of the block); only the
    order in which the blocks' expected counts are added differs."""

    def __init__(self, begin: np.ndarray, length: np.ndarray, count: np.ndarray, table: PieceTable | np.ndarray,
                 block_nodes: int | None = None) -> None:
        self.count = count
        self.dtype = estep_dtype(int(length.max()) if len(length) else 0)
        table = PieceTable.of(table)
        plan = plan_blocks(begin, length, table, block_nodes)
        if len(plan) == 1:  # the whole corpus: no copy of the table
            self.blocks = [CorpusLattice(begin, length, count, table)]
        else:
            self.blocks = [_block_lattice(begin, length, count, table, segs) for segs in plan]

    @property
    def n_nodes(self) -> int:
        return sum(b.n_nodes for b in self.blocks)

    def keep(self, alive: np.ndarray, slack: float = 0.0) -> None:
        for b in self.blocks:
            b.keep(alive, slack)

    def expected_counts(self, score: np.ndarray) -> tuple[np.ndarray, float]:
        """As `CorpusLattice.expected_counts`, summed block by block."""
        expected = np.zeros(len(score))
        log_lik = 0.0
        for b in self.blocks:
            e, ll = b.expected_sums(score, self.dtype)
            expected += e
            log_lik += ll
        return expected, -log_lik / float(self.count.sum())

    def viterbi_counts(self, score: np.ndarray) -> np.ndarray:
        """As `CorpusLattice.viterbi_counts` (integer sums: the same in any order)."""
        total = np.zeros(len(score))
        for b in self.blocks:
            total += b.viterbi_counts(score)
        return total


def nodes_per_segment(begin: np.ndarray, table: PieceTable) -> np.ndarray:
    """Lattice nodes of every segment (the pieces among the windows of its positions)."""
    if not len(begin):
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(table.pieces_per_row(), begin)  # segment s owns positions begin[s] .. begin[s + 1] - 1


def plan_blocks(begin: np.ndarray, length: np.ndarray, table: PieceTable, block_nodes: int | None) -> list[np.ndarray]:
    """Segment indices of each block: segments by length, cut into runs of about `block_nodes` nodes (a
    larger segment is a block of its own). One block when `block_nodes` is None."""
    if block_nodes is None or len(begin) == 0:
        return [np.arange(len(begin))]
    nodes = nodes_per_segment(begin, table)
    if int(nodes.sum()) <= block_nodes:
        return [np.arange(len(begin))]
    order = np.argsort(length, kind="stable")
    before = np.cumsum(nodes[order]) - nodes[order]  # nodes of the segments ahead of each one
    which = before // max(1, block_nodes)
    cuts = np.flatnonzero(which[1:] != which[:-1]) + 1
    return [np.sort(segs) for segs in np.split(order, cuts)]


def _block_lattice(begin: np.ndarray, length: np.ndarray, count: np.ndarray, table: PieceTable,
                   segs: np.ndarray) -> CorpusLattice:
    """The lattice of segments `segs` alone: their table rows (and each one's end row) copied out."""
    span = length[segs] + 1
    new_begin = np.zeros(len(segs), dtype=np.int64)
    np.cumsum(span[:-1], out=new_begin[1:])
    rows = np.repeat(begin[segs] - new_begin, span) + np.arange(int(span.sum()))
    return CorpusLattice(new_begin, length[segs], count[segs], table[rows])


def _column_sums(v: np.ndarray) -> np.ndarray:
    """Sums over axis 0, adding row after row in every column. NumPy sums a single column pairwise (it is
    contiguous then), which rounds differently: a node's posterior would depend on how many groups share its
    step, so on how the segments are cut into blocks."""
    if v.shape[1] == 1:
        return np.add.accumulate(v, axis=0)[-1]
    return v.sum(axis=0)


def _backtrack(back: np.ndarray, start_of: np.ndarray, piece_of: np.ndarray, end: np.ndarray,
               begin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow the best nodes from every segment end to its begin, all segments at once: (piece, segment)
    of every node on the best paths."""
    cur = end.copy()
    segs = np.arange(len(end))
    out_p, out_s = [], []
    while len(cur):
        nodes = back[cur]
        out_p.append(piece_of[nodes])
        out_s.append(segs)
        cur = start_of[nodes]
        more = cur > begin[segs]
        cur = cur[more]
        segs = segs[more]
    if not out_p:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_p), np.concatenate(out_s)


def second_best(table: PieceTable | np.ndarray, rep: np.ndarray, length: np.ndarray, score: np.ndarray,
                alive: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate piece: the best segmentation of its own string that does not use the piece itself.

    This is the second-best path of the piece's lattice when the piece alone is the best one (sentencepiece
    `NBest(2)` in `PruneSentencePieces`). The piece's lattice is read off the corpus table at one of its
    occurrences (`rep`): every piece that is a substring of it is a node there. A dense DP over the (at most
    max_len) positions of all candidates at once.

    Returns (score of that segmentation, -inf if none), and its nodes as flat (candidate index, piece) arrays.
    """
    order = np.argsort(-length[cand], kind="stable")  # longest first: the pieces still going are a prefix
    q_len = length[cand][order]
    q_rep = rep[cand][order]
    Q = len(cand)
    max_len = int(q_len[0]) if Q else 0
    score_ext = np.append(np.where(alive, score, -np.inf), -np.inf)  # piece -1 (no node) -> -inf
    best = np.full((Q, max_len + 1), -np.inf)
    best[:, 0] = 0.0
    back = np.zeros((Q, max_len + 1), dtype=np.int64)
    n_active = np.searchsorted(-q_len, -np.arange(max_len + 1), side="right")  # pieces with length >= j
    for j in range(1, max_len + 1):
        k = n_active[j]
        bj = np.full(k, -np.inf)
        bl = np.zeros(k, dtype=np.int64)
        for ln in range(j, 0, -1):  # longest node first; a later one must be strictly better
            cand_s = score_ext[table[q_rep[:k] + j - ln, ln - 1]]
            if ln == j:
                cand_s[q_len[:k] == j] = -np.inf  # the piece itself
            c = best[:k, j - ln] + cand_s
            better = c > bj
            bj[better] = c[better]
            bl[better] = ln
        best[:k, j] = bj
        back[:k, j] = bl
    alt_score = np.empty(Q)
    alt_score[order] = best[np.arange(Q), q_len]
    # Walk the best paths back, all candidates at once.
    owners, pieces = [], []
    q = np.flatnonzero(np.isfinite(best[np.arange(Q), q_len]))
    cur = q_len[q]
    while len(q):
        ln = back[q, cur]
        cur = cur - ln
        owners.append(order[q])
        pieces.append(table[q_rep[q] + cur, ln - 1].astype(np.int64))
        more = cur > 0
        q, cur = q[more], cur[more]
    if not owners:
        return alt_score, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return alt_score, np.concatenate(owners), np.concatenate(pieces)
