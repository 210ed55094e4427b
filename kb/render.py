"""Markdown to safe HTML (for pages) and to plain text (for the index and snippets)."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import markdown
import nh3

from kb.markdown_lists import ListIndentExtension

_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em",
    "b", "i", "code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "a",
    "del", "sup", "sub", "dl", "dt", "dd", "mark", "span",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "span": {"class"}}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


@lru_cache(maxsize=1024)
def to_html(text: str) -> str:
    """Render Markdown and sanitise it: no script, handler or foreign scheme survives.

    Cached: the live queue and the operators' pages poll every few seconds and show the same
    answers each time; rendering one costs milliseconds of CPU that would delay searches."""
    raw = markdown.markdown(
        text, extensions=["tables", "sane_lists", "fenced_code", ListIndentExtension()]
    )
    return sanitize(raw)


def sanitize(raw_html: str) -> str:
    return nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_LINE_PREFIX = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+)", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`+|~~)")
_TAG = re.compile(r"<[^>]+>")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t:|-]+\|[ \t:|-]*$", re.MULTILINE)


def to_text(text: str) -> str:
    """Markdown reduced to the text a reader sees (used for indexing and snippets)."""
    text = _MD_LINK.sub(r"\1", text)
    text = _TABLE_RULE.sub("", text)
    text = _MD_LINE_PREFIX.sub("", text)
    text = _MD_EMPHASIS.sub("", text)
    text = _TAG.sub("", text)
    text = text.replace("|", " ")
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
