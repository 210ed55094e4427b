"""What needs a review (要レビュー): articles past their ``review_by`` date, articles flagged by
operators' feedback, and escalation routing rules not reviewed for RULE_REVIEW_DAYS.

One list, shown to editors in the web app and printed by ``kb stale``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb import feedback
from kb.articles import Article
from kb.routing import ANY_CATEGORY, Routing

RULE_REVIEW_DAYS = 180
KINDS = {"review_by": "見直し期限", "flagged": "要改善", "routing": "ルーティング"}


@dataclass(frozen=True)
class Item:
    kind: str  # review_by | flagged | routing
    key: str  # the article id, or rules[i]
    title: str
    reason: str
    owner: str = ""
    article: bool = True  # an article (linkable when published) or a routing rule
    published: bool = False

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    def line(self) -> str:
        owner = f"（担当: {self.owner}）" if self.owner else ""
        return f"[{self.label}] {self.key} {self.title}{owner}: {self.reason}"


def _article_items(articles: list[Article], flagged: dict[str, feedback.Summary],
                   today: dt.date) -> list[Item]:
    items = []
    for article in sorted(articles, key=lambda a: a.id):
        common = {"key": article.id, "title": article.title, "owner": article.owner,
                  "published": article.searchable}
        if article.review_by is not None and article.review_by < today:
            late = (today - article.review_by).days
            items.append(Item("review_by", reason=(
                f"見直し期限 {article.review_by.isoformat()} を{late}日過ぎています"), **common))
        summary = flagged.get(article.id)
        if summary is not None and summary.flagged:
            items.append(Item("flagged", reason=(
                f"最近{feedback.FLAG_WINDOW_DAYS}日で{summary.not_helpful}人が"
                "「役に立たなかった」としています"), **common))
    return items


def _rule_items(routing: Routing, today: dt.date) -> list[Item]:
    items = []
    for i, rule in enumerate(routing.rules):
        level = routing.level(rule.level)
        category = "すべてのカテゴリ" if rule.category == ANY_CATEGORY else rule.category
        names = [routing.contact(c).name for c in (rule.primary, rule.backup)
                 if c and routing.contact(c)]
        title = (f"レベル{rule.level}{f' {level.name}' if level else ''} × {category}"
                 f" → {' / '.join(names)}")
        reviewed = routing.reviewed_on(rule)
        if reviewed is None:
            reason = "見直し日（reviewed）が書かれていません"
        elif (today - reviewed).days >= RULE_REVIEW_DAYS:
            reason = (f"最後の見直し {reviewed.isoformat()} から{(today - reviewed).days}日"
                      f"（{RULE_REVIEW_DAYS}日以上）経っています")
        else:
            continue
        items.append(Item("routing", f"rules[{i}]", title, reason, article=False))
    return items


def stale(articles: list[Article], flagged: dict[str, feedback.Summary], routing: Routing,
          today: dt.date) -> list[Item]:
    """Everything to review on ``today``: articles first (archived ones never), then rules."""
    current = [a for a in articles if a.status != "archived"]
    return _article_items(current, flagged, today) + _rule_items(routing, today)


def flagged_for(session, articles: list[Article], now: dt.datetime) -> dict[str, feedback.Summary]:
    """The flagged articles among ``articles`` (votes since each one's last update)."""
    return feedback.flagged(session, now, {a.id: a.updated for a in articles})
