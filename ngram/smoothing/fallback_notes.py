"""One warning for all the orders whose closed-form discounts fail, instead of one line per order (a high
--order on a small corpus has thousands of such orders)."""
from __future__ import annotations

from collections.abc import Sequence


def order_ranges(orders: Sequence[int]) -> str:
    """[3, 5, 6, 7, 9] -> "3, 5-7, 9"."""
    parts: list[str] = []
    start = prev = None
    for n in sorted(orders):
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def fallback_warning(model: str, failures: Sequence[tuple[int, str]], fallback: str, peer_note: str = "") -> list[str]:
    """[] when nothing failed, else one message naming every failing order and the first order's reason."""
    if not failures:
        return []
    orders = [n for n, _ in failures]
    first, reason = failures[0]
    more = f"; {len(failures) - 1} more order(s) fail likewise" if len(failures) > 1 else ""
    label = "order" if len(orders) == 1 else "orders"
    return [f"{model}: closed-form discounts fail for {label} {order_ranges(orders)} ({first}-grams: {reason}{more}); "
            f"using {fallback}{peer_note}"]
