"""A loss curve as a standalone SVG file, written by hand (no plotting library): train loss per step (thin
line), its moving average, and validation loss (dots joined by a line), with labelled axes."""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

from tokenizers_kit.atomic import atomic_open

W, H = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 36, 48
MAX_POINTS = 1500  # per polyline; longer runs are thinned


def nice_ticks(lo: float, hi: float, n: int = 8) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 x 10^k steps)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size < window:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    head = c[1:window] / np.arange(1, window)  # shorter windows at the start
    return np.concatenate([head, (c[window:] - c[:-window]) / window])


def loss_curve_svg(steps: Sequence[int], train: Sequence[float], val_steps: Sequence[int] = (),
                   val: Sequence[float] = (), title: str = "training loss") -> str:
    """The SVG text of the curve."""
    s = np.asarray(steps, dtype=float)
    tr = np.asarray(train, dtype=float)
    vs, vl = np.asarray(val_steps, dtype=float), np.asarray(val, dtype=float)
    every = np.concatenate([tr, vl]) if tr.size or vl.size else np.array([0.0, 1.0])
    every = every[np.isfinite(every)]
    y_lo, y_hi = float(np.min(every)), float(np.percentile(every, 99.5)) if every.size else 1.0
    pad = 0.05 * (y_hi - y_lo or 1.0)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x_hi = float(max(s.max() if s.size else 1.0, vs.max() if vs.size else 1.0, 1.0))
    x_lo = float(min(s.min() if s.size else 0.0, vs.min() if vs.size else 0.0))

    def px(x: np.ndarray) -> np.ndarray:
        return LEFT + (x - x_lo) / (x_hi - x_lo or 1.0) * (W - LEFT - RIGHT)

    def py(y: np.ndarray) -> np.ndarray:
        return TOP + (y_hi - np.clip(y, y_lo, y_hi)) / (y_hi - y_lo) * (H - TOP - BOTTOM)

    def polyline(xs: np.ndarray, ys: np.ndarray, style: str) -> str:
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(xs), py(ys)))
        return f'<polyline fill="none" {style} points="{pts}"/>'

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for t in nice_ticks(y_lo, y_hi):
        y = float(py(np.array(t)))
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in nice_ticks(x_lo, x_hi):
        x = float(px(np.array(t)))
        out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="black"/>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 10}" text-anchor="middle">step</text>')
    out.append(f'<text x="16" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(TOP + H - BOTTOM) / 2})">loss (nats/token)</text>')
    if tr.size:
        smooth = moving_average(tr, max(1, tr.size // 50))
        keep = slice(None, None, max(1, tr.size // MAX_POINTS))  # a few thousand points are plenty on screen
        out.append(polyline(s[keep], tr[keep], 'stroke="#9ecae1" stroke-width="0.8"'))
        out.append(polyline(s[keep], smooth[keep], 'stroke="#2171b5" stroke-width="1.8"'))
    if vl.size:
        out.append(polyline(vs, vl, 'stroke="#d94801" stroke-width="1.8"'))
        out.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="#d94801"/>' for a, b in zip(px(vs), py(vl)))
    legend = [("train", "#2171b5"), ("validation", "#d94801")]
    for i, (label, colour) in enumerate(legend):
        y = TOP + 10 + 16 * i
        out.append(f'<line x1="{W - RIGHT - 110}" x2="{W - RIGHT - 90}" y1="{y}" y2="{y}" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{W - RIGHT - 84}" y="{y + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_loss_curve(path: str | os.PathLike[str], steps: Sequence[int], train: Sequence[float],
                     val_steps: Sequence[int] = (), val: Sequence[float] = (), title: str = "training loss") -> None:
    with atomic_open(path, "w") as handle:
        handle.write(loss_curve_svg(steps, train, val_steps, val, title))
