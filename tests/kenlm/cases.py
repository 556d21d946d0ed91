"""The KenLM fixtures and the sentences they are scored on (shared by the golden generator and the tests)."""
from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kenlm_binary"
WORD_TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "kenlm" / "shakespeare_words.test.txt"
CHAR_TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "kenlm" / "limit_chars.txt"
# KenLM's edge cases: empty and blank text, a NUL inside a word, <s> and </s> inside the text, an unseen word,
# separators KenLM does not split on (U+00A0, 0x1C) and the six it does
EDGE = ["", "  \t", "the\0king", "<s> the </s> king", "zzzunseen the", "a\u00a0b c", "the\x1cking",
        "\x0bthe\x0c  king\r\n"]


def files() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.name.endswith((".probing", ".trie", ".arpa.gz")))


def sentences_for(name: str) -> list[str]:
    text = CHAR_TEXT if name.startswith("utf8") else WORD_TEXT
    return text.read_text(encoding="utf-8").split("\n")[:30] + EDGE
