"""Building blocks for tests: article files written the way editors write them."""

from pathlib import Path

ARTICLE = """---
id: {id}
title: {title}
questions:
{questions}
tags: [{tags}]
category: {category}
status: {status}
owner: テストチーム
updated: 2026-10-01
review_by: 2027-04-01
---

## 問題
{title}

## 回答・対応手順
{answer}
"""


def write_article(root: Path, id: str, title: str, answer: str = "手順どおりにご案内します。",
                  questions=(), tags=(), category: str = "テスト", status: str = "published",
                  name: str | None = None) -> Path:
    path = root / (name or f"{id}.md")
    qs = "\n".join(f"  - {q}" for q in questions) or "  []"
    if not questions:
        qs = "  - " + title
    path.write_text(
        ARTICLE.format(id=id, title=title, questions=qs, tags=", ".join(tags), category=category,
                       status=status, answer=answer),
        encoding="utf-8",
    )
    return path
