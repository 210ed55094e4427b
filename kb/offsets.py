"""Character spans of every word of a text, worked out at index time and kept in the index.

Snippets highlight the query's words in a hit's title, questions and body. Finding where a
word occurs by walking the index's postings costs milliseconds per hit; re-analysing the stored
text per request costs more. Instead, each text field's spans are encoded when the document is
indexed, as one compact string (kept in the index's per-document ``spans`` column)::

    \\x1e term \\x1f start end start end … \\x1e term \\x1f … \\x1e

and the spans of a word are read back with a single ``str.find``. The separators are control
characters, which normalisation removes from every text, so no term can contain them.
"""

from __future__ import annotations

_RECORD = "\x1e"
_SPANS = "\x1f"


def encode(analyzer, text: str) -> str:
    """The spans of every term the analyzer produces for ``text``, in stored form."""
    spans: dict[str, list[str]] = {}
    for token in analyzer(text, chars=True, mode="index"):
        spans.setdefault(token.text, []).extend((str(token.startchar), str(token.endchar)))
    records = (f"{term}{_SPANS}{' '.join(offsets)}" for term, offsets in spans.items())
    return _RECORD + _RECORD.join(records) + _RECORD if spans else ""


def spans(encoded: str, term: str) -> list[tuple[int, int]]:
    """The (start, end) character spans of ``term`` in the text ``encoded`` was made from."""
    key = f"{_RECORD}{term}{_SPANS}"
    found = encoded.find(key)
    if found < 0:
        return []
    start = found + len(key)
    numbers = [int(n) for n in encoded[start : encoded.index(_RECORD, start)].split()]
    return list(zip(numbers[::2], numbers[1::2]))
