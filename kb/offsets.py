"""Character spans of every word of a text, worked out at index time and kept in the index.

Snippets highlight the query's words in a hit's title, questions and body. Finding where a
word occurs by walking the index's postings costs milliseconds per hit; re-analysing the stored
text per request costs more. Instead, each text field's spans are encoded when the document is
indexed, as a compact string (kept in the index's per-document ``spans`` column)::

    \\x1e term \\x1f start end start end … \\x1e term \\x1f … \\x1e

and the spans of a word are read back with a single ``str.find``. The same spans are also kept
by each word's katakana reading, so that what a query typed in kana found (いやくきん: 違約金)
can be highlighted too: a dict from reading to ``"start end …"``, in a column of its own
(``readings``), read only for such queries, and matched against the readings a query accepts
by one set intersection. The separators of the word string are control characters, which
normalisation removes from every text, so no term can contain them.
"""

from __future__ import annotations

_RECORD = "\x1e"
_SPANS = "\x1f"


def _join(table: dict[str, list[str]]) -> str:
    records = [f"{key}{_SPANS}{' '.join(offsets)}" for key, offsets in table.items()]
    return _RECORD + _RECORD.join(records) + _RECORD if records else ""


def encode(analyzer, text: str) -> tuple[str, dict[str, str]]:
    """The spans of every term the analyzer produces for ``text`` in stored form, and the
    spans of every reading its tokens carry (``token.reading``)."""
    words: dict[str, list[str]] = {}
    readings: dict[str, list[str]] = {}
    for token in analyzer(text, chars=True, mode="index"):
        span = (str(token.startchar), str(token.endchar))
        words.setdefault(token.text, []).extend(span)
        reading = getattr(token, "reading", "")
        if reading:
            readings.setdefault(reading, []).extend(span)
    return _join(words), {reading: " ".join(spans) for reading, spans in readings.items()}


def _pairs(numbers: str) -> list[tuple[int, int]]:
    values = [int(n) for n in numbers.split()]
    return list(zip(values[::2], values[1::2]))


def spans(encoded: str, term: str) -> list[tuple[int, int]]:
    """The (start, end) character spans of ``term`` in the text ``encoded`` (the first string
    of :func:`encode`) was made from."""
    key = f"{_RECORD}{term}{_SPANS}"
    found = encoded.find(key)
    if found < 0:
        return []
    start = found + len(key)
    return _pairs(encoded[start : encoded.index(_RECORD, start)])


def reading_spans(readings: dict[str, str], accepted: frozenset[str]) -> list[tuple[int, int]]:
    """The spans of the words whose katakana reading is in ``accepted`` (``readings`` is the
    second value of :func:`encode`)."""
    return [span for reading in readings.keys() & accepted for span in _pairs(readings[reading])]
