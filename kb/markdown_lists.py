"""Nested lists indented the way people write them, for Python-Markdown.

Python-Markdown nests a list item only when it is indented by four spaces. Editors (and
CommonMark) indent a nested item to the text of its parent instead: three spaces under
``1. `` and two under ``- ``, so those lists rendered flat. This preprocessor re-indents the
lines inside a list by the CommonMark rule — a line belongs to an item when it is indented at
least as far as that item's text — to four spaces per level, keeping any indentation beyond
the item's text (code inside an item stays code). Outside lists nothing changes: a line
indented by four spaces with no list open is code, and ``- - -`` is a rule, not an item.

It runs after ``fenced_code`` and the raw HTML preprocessor, which have already set fenced code
blocks and HTML blocks aside. Lists inside block quotes are not re-indented (they stay flat,
as Python-Markdown renders them).
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

# Python-Markdown's list markers (it has no "1)" lists), then the spaces before the text.
_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}\.)( {1,4})(?=\S)")
_RULE = re.compile(r"^ {0,3}([-*_])(?: *\1){2,} *$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?: |$)")
_STEP = 4  # Python-Markdown's tab_length
_CODE_INDENT = 4


def reindent_lists(lines: list[str]) -> list[str]:
    out: list[str] = []
    content_columns: list[int] = []  # of the open items, outermost first
    previous_blank, previous_heading = True, False
    for line in lines:
        stripped = line.lstrip(" ")
        if not stripped:
            out.append(line)
            previous_blank = True
            continue
        indent = len(line) - len(stripped)
        item = None if _RULE.match(line) else _ITEM.match(line)
        if not content_columns:
            # Python-Markdown starts a list only after a blank line or a heading, never in
            # the middle of a paragraph (手順:\n- a is one paragraph).
            if item and indent < _CODE_INDENT and (previous_blank or previous_heading):
                content_columns.append(indent + len(item.group(2)) + len(item.group(3)))
        elif indent == 0 and not item:
            if previous_blank:
                content_columns.clear()  # a paragraph after a blank line ends the list
            # otherwise a lazy continuation line, left as it is
        else:
            while content_columns and indent < content_columns[-1]:
                content_columns.pop()
            depth = len(content_columns)
            if item and (depth == 0 or indent < content_columns[-1] + _CODE_INDENT):
                content_columns.append(indent + len(item.group(2)) + len(item.group(3)))
                if depth:
                    line = " " * (_STEP * depth) + item.group(2) + " " + line[item.end():]
            elif depth:
                extra = indent - content_columns[-1]
                line = " " * (_STEP * depth + extra) + stripped
        out.append(line)
        previous_blank = False
        previous_heading = bool(_HEADING.match(line))
    return out


class _ListIndent(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return reindent_lists(lines)


class ListIndentExtension(Extension):
    def extendMarkdown(self, md) -> None:
        # After whitespace normalisation (30, tabs expanded), fenced code (25) and raw HTML
        # blocks (20).
        md.preprocessors.register(_ListIndent(md), "kb_list_indent", 19)
