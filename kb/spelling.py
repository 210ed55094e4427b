"""'Did you mean' for katakana words typed the way they sounded (シュミレーション, サーバ...)."""

from __future__ import annotations

import re

_KATAKANA_WORD = re.compile(r"^[ァ-ヺー]{3,}$")


def is_katakana_word(text: str) -> bool:
    return bool(_KATAKANA_WORD.match(text))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


class KatakanaCorrector:
    """Closest known katakana word by edit distance, most frequent first on ties."""

    def __init__(self, vocabulary: dict[str, int]):
        self.by_length: dict[int, list[tuple[str, int]]] = {}
        for word, freq in vocabulary.items():
            self.by_length.setdefault(len(word), []).append((word, freq))

    def correct(self, word: str) -> str | None:
        limit = 1 if len(word) < 5 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            for candidate, freq in self.by_length.get(length, ()):
                dist = edit_distance(word, candidate, limit)
                if dist <= limit and (best is None or (dist, -freq) < best[:2]):
                    best = (dist, -freq, candidate)
        return best[2] if best else None
