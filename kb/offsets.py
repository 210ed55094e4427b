"""Character spans of every word of a text, worked out at index time and kept in the index.

Snippets highlight the query's words in a hit's title, questions and body. Finding where a
word occurs by walking the index's postings costs milliseconds per hit; re-analysing the stored
text per request costs more. Instead, each text field's spans are encoded when the document is
indexed, as compact strings (kept in the index's per-document ``spans`` column)::

    \\x1e term \\x1f start end start end … \\x1e term \\x1f … \\x1e

and the spans of a word are read back with a single ``str.find``. A second string holds the
same records under each word's katakana reading, so that what a query typed in kana found
(いやくきん: 違約金) can be highlighted too; it is kept apart so that the word lookups of
every other query scan no more than the words. The separators are control characters, which
normalisation removes from every text, so no term or reading can contain them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_RECORD = "\x1e"
_SPANS = "\x1f"
_ANY_RECORD = re.compile(f"{_RECORD}([^{_SPANS}]*){_SPANS}([^{_RECORD}]*)")


# The stored spans of one text: (by word, by reading). A plain tuple, so that the index
# pickles no class of ours.
Encoded = tuple[str, str]
EMPTY: Encoded = ("", "")


def _join(table: dict[str, list[str]]) -> str:
    records = [f"{key}{_SPANS}{' '.join(offsets)}" for key, offsets in table.items()]
    return _RECORD + _RECORD.join(records) + _RECORD if records else ""


def encode(analyzer, text: str) -> Encoded:
    """The spans of every term the analyzer produces for ``text``, and of every reading its
    tokens carry (``token.reading``), in stored form."""
    words: dict[str, list[str]] = {}
    readings: dict[str, list[str]] = {}
    for token in analyzer(text, chars=True, mode="index"):
        span = (str(token.startchar), str(token.endchar))
        words.setdefault(token.text, []).extend(span)
        reading = getattr(token, "reading", "")
        if reading:
            readings.setdefault(reading, []).extend(span)
    return _join(words), _join(readings)


def _pairs(numbers: str) -> list[tuple[int, int]]:
    values = [int(n) for n in numbers.split()]
    return list(zip(values[::2], values[1::2]))


def spans(encoded: Encoded, term: str) -> list[tuple[int, int]]:
    """The (start, end) character spans of ``term`` in the text ``encoded`` was made from."""
    words = encoded[0]
    key = f"{_RECORD}{term}{_SPANS}"
    found = words.find(key)
    if found < 0:
        return []
    start = found + len(key)
    return _pairs(words[start : words.index(_RECORD, start)])


def reading_spans(encoded: Encoded, wanted: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The spans of the words whose katakana reading ``wanted`` accepts."""
    return [span for match in _ANY_RECORD.finditer(encoded[1]) if wanted(match.group(1))
            for span in _pairs(match.group(2))]
