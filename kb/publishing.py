"""Saving an article from the editor: the state check, the safe write with history, the index
updated at once (just this article), and the loop check for the escalations it answers.

One place for it, used by the web editor, restore and the escalation's knowledge actions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from kb import escalations, kcs, workflow
from kb.article_store import ArticleStore, Conflict, Saved, revision_of
from kb.articles import Article, load_file, parse
from kb.editing import without_status
from kb.index import IndexStore
from kb.models import ArticleVersion, Escalation, Notice

KNOWLEDGE_ACTIONS = {"new_article": "新しい記事を作成", "existing_article": "既存の記事に言い回しを追加",
                     "no_article": "記事は不要"}
LOOP_TOP = 3


@dataclass(frozen=True)
class Editor:
    """Who is saving: their id and role."""

    id: int
    role: str


def last_author(store: ArticleStore, article_id: str) -> int | None:
    with store.db.read() as session:
        return session.scalar(
            select(ArticleVersion.author_id).where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.id.desc()).limit(1))


def save(store: ArticleStore, index: IndexStore, article_id: str, text: str,
         base_revision: str | None, editor: Editor, now: datetime, message: str = "",
         reviewer_must_differ: bool = False) -> tuple[Saved, Article]:
    """Check the change of state, write the file (Conflict when it changed since
    ``base_revision``), then index the article. Raises ArticleError, Conflict,
    workflow.TransitionError."""
    after = parse(text, f"{article_id}.md")  # invalid text: ArticleError before anything else
    current = store.read(article_id)
    if (current[1] if current else None) != base_revision:
        raise Conflict(article_id, current[0] if current else "", text)
    before = parse(current[0], f"{article_id}.md").status if current else None
    workflow.check(workflow.Change(
        before=before, after=after.status, role=editor.role, user_id=editor.id,
        last_author_id=last_author(store, article_id) if current else editor.id,
        text_changed=current is None or without_status(current[0]) != without_status(text),
    ), reviewer_must_differ)
    saved = store.save(article_id, text, base_revision, editor.id, now, message)
    article = load_file(store.path_for(article_id), store.root)
    index.apply([article])
    return saved, article


def restore(store: ArticleStore, index: IndexStore, article_id: str, version_id: int,
            editor: Editor, now: datetime, reviewer_must_differ: bool = False):
    """Save an earlier version again (through the same checks as any save)."""
    old = store.version(version_id)
    if old is None or old.article_id != article_id:
        raise KeyError(version_id)
    current = store.read(article_id)
    return save(store, index, article_id, old.text, current[1] if current else None, editor,
                now, f"版 {version_id} に戻す", reviewer_must_differ)


def check_loops(session, search, article: Article, now: datetime) -> list[Escalation]:
    """For each escalation the article lists: run its questions against the live index, keep
    the rank, and tell the operators who raised it or attached a call (once) that an article
    now answers it. Only a published article closes a loop."""
    if not article.searchable:
        return []
    checked = []
    for ref in article.escalations:
        esc = escalations.get(session, int(ref)) if ref.isdigit() else None
        if esc is None:
            continue
        questions = kcs.escalated_questions(esc)
        result = kcs.check_loop(search, article.id, questions)
        esc.loop_rank = result.worst
        esc.loop_detail = json.dumps(
            {"article": article.id, "ranks": result.ranks, "best": result.best},
            ensure_ascii=False)
        esc.loop_checked_at = now
        if esc.knowledge_article is None:
            esc.knowledge_article = article.id
        _notify(session, esc, article, now)
        checked.append(esc)
    return checked


def _notify(session, esc: Escalation, article: Article, now: datetime) -> None:
    people = {esc.operator_id, *(c.operator_id for c in esc.calls)}
    already = set(session.scalars(select(Notice.user_id).where(
        Notice.escalation_id == esc.id, Notice.article_id == article.id,
        Notice.kind == "article")))
    for user_id in sorted(people - already):
        session.add(Notice(
            user_id=user_id, escalation_id=esc.id, article_id=article.id, kind="article",
            text=f"エスカレーション #{esc.id}「{esc.query}」の記事ができました: {article.title}",
            at=now))


def loop_summary(esc: Escalation) -> dict | None:
    """What the escalation page says about the loop check, or None before one ran."""
    if esc.loop_checked_at is None:
        return None
    detail = json.loads(esc.loop_detail or "{}")
    rank = esc.loop_rank
    closed = rank is not None and rank <= LOOP_TOP
    return {
        "closed": closed,
        "rank": rank,
        "article": detail.get("article") or esc.knowledge_article,
        "ranks": detail.get("ranks", {}),
        "message": (f"この質問は検索で見つかるようになりました（{rank}位）" if closed else
                    "この質問ではまだ記事が上位3件に出ません。記事の言い回しを改善してください。"),
    }


__all__ = [
    "KNOWLEDGE_ACTIONS",
    "Conflict",
    "Editor",
    "check_loops",
    "loop_summary",
    "restore",
    "revision_of",
    "save",
]
