"""The result of encoding one text: ids, token strings and character offsets (HF `Encoding`, single sequence)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Encoding:
    """The result of `Tokenizer.encode`: ids, token strings, and (start, end) char offsets into the input."""

    ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)
