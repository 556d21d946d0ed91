"""Regular expressions that come from files (a tokenizer.json `Split` pattern or `Replace` normalizer, which an
ARPA header can carry too): compiled with a clear error, and run under a time limit.

A hostile pattern can backtrack for ever (`(a|a)*$` on 40 characters never ends), so every call of a pattern
that is not one of the well-known pre-tokenizer patterns runs with `regex`'s own timeout, which grows with the
text; running out of it is a ModelFileError that says so. The well-known patterns (GPT-2, GPT-4, o200k) run
without it: the timeout makes each call about twice as slow, and they are known to be linear.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import regex

from tokenizers_kit.errors import ModelFileError

BASE_SECONDS = 2.0       # every call may take this long ...
SECONDS_PER_CHAR = 1e-6  # ... plus this per character (a sane pattern needs well under 0.1 us a character)
KNOWN_LINEAR: set[str] = set()  # filled by the modules that define the well-known patterns


def time_limit(text: str) -> float:
    return BASE_SECONDS + SECONDS_PER_CHAR * len(text)


class TimedPattern:
    """A compiled pattern whose findall/finditer/sub/search calls stop at `time_limit(text)`."""

    def __init__(self, compiled: regex.Pattern, where: str) -> None:
        self._re, self.where = compiled, where
        self.pattern = compiled.pattern

    def _run(self, call: Callable[[float], Any], text: str) -> Any:
        """call(timeout) with the limit for `text`; running out of time is a ModelFileError."""
        try:
            return call(time_limit(text))
        except TimeoutError:
            raise ModelFileError(f"{self.where}: the pattern {self.pattern[:60]!r} ran for more than "
                                 f"{time_limit(text):.0f} s on {len(text):,} characters (it backtracks without "
                                 "end): the file is broken or hostile; use another tokenizer") from None

    def findall(self, text: str) -> list[Any]:
        return self._run(lambda limit: self._re.findall(text, timeout=limit), text)

    def finditer(self, text: str) -> list[regex.Match]:
        return self._run(lambda limit: list(self._re.finditer(text, timeout=limit)), text)

    def search(self, text: str) -> regex.Match | None:
        return self._run(lambda limit: self._re.search(text, timeout=limit), text)

    def sub(self, repl: Any, text: str) -> str:
        return self._run(lambda limit: self._re.sub(repl, text, timeout=limit), text)


def compile_from_file(source: str, where: str) -> regex.Pattern | TimedPattern:
    """Compile a pattern read from a file; a ModelFileError if it does not compile."""
    try:
        compiled = regex.compile(source)
    except (regex.error, ValueError, OverflowError, RecursionError) as err:
        raise ModelFileError(f"{where}: invalid regex {source[:60]!r} ({err}): the file is corrupt") from None
    return compiled if source in KNOWN_LINEAR else TimedPattern(compiled, where)


def pattern_object(pattern: Any, where: str) -> dict[str, str]:
    """HF's pattern object, {"String": s} or {"Regex": r} (a bare str means a String), checked: a file may hold
    any JSON value here."""
    if isinstance(pattern, str):
        return {"String": pattern}
    if isinstance(pattern, dict) and len(pattern) == 1:
        (kind, value), = pattern.items()
        if kind in ("String", "Regex") and isinstance(value, str):
            return {kind: value}
    raise ModelFileError(f"{where}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}, not "
                         f"{str(pattern)[:60]}: the file is corrupt")
