"""Nested lists indented the way people write them, for Python-Markdown.

Python-Markdown nests a list item only when it is indented by four spaces. Editors (and
CommonMark) indent a nested item to the text of its parent instead: three spaces under
``1. `` and two under ``- ``, so those lists rendered flat. This preprocessor re-indents list
items, and the lines that continue them, by the CommonMark rule — a line belongs inside an
item when it is indented at least as far as that item's text — to four spaces per level.
Fenced code blocks are left as they are.
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( {1,4})(?=\S)")
_FENCE = re.compile(r"^ *(`{3,}|~{3,})")
_STEP = 4  # Python-Markdown's tab_length


def reindent_lists(lines: list[str]) -> list[str]:
    out: list[str] = []
    content_columns: list[int] = []  # of the open items, outermost first
    fence: str | None = None
    previous_blank = True
    for line in lines:
        fence_mark = _FENCE.match(line)
        if fence is not None:
            if fence_mark and fence_mark.group(1)[0] == fence[0] \
                    and len(fence_mark.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if fence_mark:
            fence = fence_mark.group(1)
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if not stripped:
            out.append(line)
            previous_blank = True
            continue
        item = _ITEM.match(line)
        if item or (content_columns and indent > 0):
            while content_columns and indent < content_columns[-1]:
                content_columns.pop()
            depth = len(content_columns)
            if item:
                content_columns.append(indent + len(item.group(2)) + len(item.group(3)))
                line = " " * (_STEP * depth) + item.group(2) + " " + line[item.end():]
            elif depth:
                line = " " * (_STEP * depth) + stripped
        elif indent == 0 and previous_blank:
            content_columns.clear()  # a paragraph after a blank line ends the list
        out.append(line)
        previous_blank = False
    return out


class _ListIndent(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return reindent_lists(lines)


class ListIndentExtension(Extension):
    def extendMarkdown(self, md) -> None:
        # After whitespace normalisation (30, tabs expanded) and fenced code (25), before
        # raw HTML blocks (20).
        md.preprocessors.register(_ListIndent(md), "kb_list_indent", 22)
