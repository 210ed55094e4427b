"""Highlighted snippets from character spans stored in the index (no re-analysis per request)."""

from __future__ import annotations

import html

SNIPPET_CHARS = 120
LEAD_CHARS = 24


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _best_window(spans: list[tuple[int, int]], width: int) -> int:
    """Start of the window of ``width`` characters covering the most highlighted characters."""
    best_start, best_cover = spans[0][0], -1
    for i, (start, _) in enumerate(spans):
        cover = sum(min(e, start + width) - s for s, e in spans[i:] if s < start + width)
        if cover > best_cover:
            best_start, best_cover = start, cover
    return best_start


def highlight(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    """HTML of the best part of ``text``, matches wrapped in ``<mark>``; everything escaped."""
    spans = _merge([(max(0, s), min(len(text), e)) for s, e in spans])
    if not spans:
        return ""
    start = max(0, _best_window(spans, width) - LEAD_CHARS)
    end = min(len(text), start + width)
    out = ["…"] if start > 0 else []
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[cursor:s]))
        out.append(f'<mark>{html.escape(text[s:e])}</mark>')
        cursor = e
    out.append(html.escape(text[cursor:end]))
    if end < len(text):
        out.append("…")
    return "".join(out).replace("\n", " ")


def plain(text: str, width: int = SNIPPET_CHARS) -> str:
    """The start of ``text``, escaped, when nothing in it matched."""
    cut = text[:width]
    return html.escape(cut).replace("\n", " ") + ("…" if len(text) > width else "")
