"""Character-level normalisation of Japanese text, keeping a map back to the original.

Everything that is searched goes through :func:`normalize` first, so that full- and half-width
forms, case, dash-like long-vowel marks, kana iteration marks and source line-break markers
(``＜改＞``) never decide whether a query matches. The offset map lets highlighting point at
the characters of the text the operator actually sees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Dash-like characters that, right after a kana, are a long-vowel mark typed another way.
_DASHES = frozenset("-‐‑‒–—―−－ｰ～〜~")
_LONG_VOWEL = "ー"
# Marks that compose with the preceding character under NFKC.
_COMBINING_KANA = frozenset("\u3099\u309a\uff9e\uff9f")
# Line-break markers such as ＜改＞ (and its NFKC form <改>) carry no meaning for search.
_MARKER = re.compile(r"[<＜][改][>＞]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff\ud800-\udfff]")

# Every character _fix_marks may replace.
_MARKS = _DASHES | frozenset("ゝヽゞヾ\t\r")

_HIRA_START, _HIRA_END = 0x3041, 0x3096
_KATA_OFFSET = 0x60


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalised text plus, for each of its characters, the span it came from."""

    text: str
    starts: list[int] | None  # None: identical layout to the original
    ends: list[int] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the normalised text to the span of the original text."""
        if self.starts is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _is_kana(ch: str) -> bool:
    code = ord(ch)
    return 0x3041 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF


def _needs_slow_path(text: str, nfkc: str) -> bool:
    if len(nfkc) != len(text):
        return True
    for ch in set(text):
        if ch in _COMBINING_KANA or unicodedata.combining(ch) or "\u1100" <= ch <= "\u11ff":
            return True
    return False


def _clusters(text: str):
    """Yield (start, end) of base characters with the marks that compose with them."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and (text[j] in _COMBINING_KANA or unicodedata.combining(text[j])):
            j += 1
        yield i, j
        i = j


def _fix_marks(chars: list[str]) -> None:
    """Long-vowel dashes after kana, and kana iteration marks, in place (length-preserving)."""
    if _MARKS.isdisjoint(chars):
        return
    prev = ""
    for i, ch in enumerate(chars):
        if ch in _DASHES and prev and (_is_kana(prev) or prev == _LONG_VOWEL):
            ch = _LONG_VOWEL
        elif ch in "ゝヽ" and prev and _is_kana(prev):
            ch = unicodedata.normalize("NFD", prev)[0]
        elif ch in "ゞヾ" and prev and _is_kana(prev):
            ch = unicodedata.normalize("NFC", unicodedata.normalize("NFD", prev)[0] + "\u3099")
        elif ch == "\t" or ch == "\r":
            ch = " "
        chars[i] = ch
        prev = ch


def normalize(text: str) -> NormalizedText:
    """NFKC, lower case, long-vowel and iteration marks, markers and control characters."""
    text = _CONTROL.sub(" ", text)
    nfkc = unicodedata.normalize("NFKC", text)
    if not _needs_slow_path(text, nfkc):
        lowered = nfkc.lower()
        if len(lowered) != len(nfkc):
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in nfkc)
        chars = list(_MARKER.sub(lambda m: " " * len(m.group()), lowered))
        _fix_marks(chars)
        return NormalizedText("".join(chars), None, None)

    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _clusters(text):
        piece = unicodedata.normalize("NFKC", text[start:end])
        for ch in piece:
            low = ch.lower()
            chars.append(low if len(low) == 1 else ch)
            starts.append(start)
            ends.append(end)
    joined = _MARKER.sub(lambda m: " " * len(m.group()), "".join(chars))
    chars = list(joined)
    _fix_marks(chars)
    return NormalizedText("".join(chars), starts, ends)


_FOLD_KANA = {code: code + _KATA_OFFSET for code in range(_HIRA_START, _HIRA_END + 1)}


def fold_kana(text: str) -> str:
    """Hiragana to katakana, so that a word typed in either kana matches."""
    return text.translate(_FOLD_KANA)


def is_hiragana(text: str) -> bool:
    """Is every character a hiragana or the long-vowel mark (ぱすわーど)?"""
    return all(_HIRA_START <= ord(c) <= _HIRA_END or c == "ー" for c in text)


def normalize_query_text(text: str) -> str:
    """The normalised form of a query, as logged and compared (no offsets needed)."""
    return " ".join(normalize(text).text.split())
